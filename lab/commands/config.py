"""How a lab is built: nodes, topology, seed, difficulty, latency, where nodes listen."""

from __future__ import annotations

from dataclasses import dataclass

from lab.params import (
    DEFAULT_DIFFICULTY,
    DEFAULT_JITTER,
    DEFAULT_LATENCY_MS,
    DEFAULT_NODES,
    DEFAULT_SEED,
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
