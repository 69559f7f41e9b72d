"""How a lab is built: nodes, topology, seed, difficulty, latency, where nodes listen."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lab.params import (
    DEFAULT_DIFFICULTY,
    DEFAULT_JITTER,
    DEFAULT_LATENCY_MS,
    DEFAULT_NODES,
    DEFAULT_SEED,
    MIN_DIFFICULTY,
)


@dataclass
class LabConfig:
    nodes: int | list[str] = DEFAULT_NODES
    topology: str = "mesh"
    k: int = 3
    seed: int = DEFAULT_SEED
    difficulty: int = DEFAULT_DIFFICULTY
    latency_ms: float = DEFAULT_LATENCY_MS
    jitter: float = DEFAULT_JITTER
    host: str = "127.0.0.1"  # where nodes listen; another address only when asked (--host)

    def to_json(self) -> dict[str, Any]:
        """How the lab was built, for its record (lab/world/record.py); `host` is not kept:
        a loaded lab listens where the lab that loads it was asked to."""
        nodes = self.nodes if isinstance(self.nodes, int) else list(self.nodes)
        return {"nodes": nodes, "topology": self.topology, "k": self.k, "seed": self.seed,
                "difficulty": self.difficulty, "latency_ms": self.latency_ms, "jitter": self.jitter}

    @classmethod
    def from_json(cls, value: dict[str, Any], host: str = "127.0.0.1") -> LabConfig:
        """The config `to_json` wrote; ValueError when a field has the wrong type or a value no lab has
        (a hand-made save: difficulty 0 or a NaN latency failed inside the lab as an internal error)."""
        nodes = value["nodes"]
        if not (isinstance(nodes, int) or isinstance(nodes, list) and all(isinstance(n, str) for n in nodes)):
            raise ValueError(f"nodes {nodes!r}")
        cfg = cls(nodes=nodes if isinstance(nodes, int) else list(nodes), topology=str(value["topology"]),
                  k=int(value["k"]), seed=int(value["seed"]), difficulty=int(value["difficulty"]),
                  latency_ms=float(value["latency_ms"]), jitter=float(value["jitter"]), host=host)
        if not MIN_DIFFICULTY <= cfg.difficulty <= 255:  # what lab/chain/pow.py can make a target of
            raise ValueError(f"difficulty {cfg.difficulty}")
        for name, v in (("latency_ms", cfg.latency_ms), ("jitter", cfg.jitter)):
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"{name} {v!r}")
        return cfg
