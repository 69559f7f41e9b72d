"""The figures measured in their own process (start, scale) or below the lab (hashrate)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from typing import Any

from lab.bench import drive
from lab.bench.drive import now, run
from lab.bench.machine import child_env, peak_rss_mb
from lab.bench.table import Sample


def start(quick: bool, runs: int) -> list[Sample]:
    """`python -m lab -c status` from process start to exit: a 4-node mesh, connected and quiet.

    Measured as an installed lab starts: with its bytecode cached. The warm-up run
    writes the cache even where PYTHONDONTWRITEBYTECODE is set (as in some
    sandboxes); without it every start would compile the lab again (~100 ms).
    """
    env = child_env()
    env["NO_COLOR"] = "1"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-m", "lab", "-c", "status"]
    subprocess.run(cmd, capture_output=True, env=env, check=False)  # warm the disk cache and write .pyc files
    out = []
    for _ in range(runs):
        t0 = now()
        r = subprocess.run(cmd, capture_output=True, env=env, check=False)
        dt = now() - t0
        if r.returncode != 0:
            raise RuntimeError(f"`lab -c status` exited {r.returncode}: {r.stderr.decode(errors='replace')[-300:]}")
        out.append({"value": dt * 1e3})
    return out


def hashrate(quick: bool, runs: int) -> list[Sample]:
    """Miner.search at a target it never meets: pure double-SHA-256 with the midstate trick.

    The one figure below the command language: it is the miner's inner loop alone.
    """
    from lab.chain import pow
    from lab.chain.consensus import Consensus
    from lab.chain.crypto import PrivateKey
    from lab.chain.miner import Miner
    from lab.chain.node_state import NodeState
    from lab.lab import LAB_EPOCH

    state = NodeState("A", PrivateKey.derive(1, "A"), Consensus(), lambda: LAB_EPOCH)
    template = replace(state.block_template(), bits=pow.bits_for_zero_bits(200))
    nonces = 200_000 if quick else 2_000_000
    out = []
    for _ in range(runs):
        miner = Miner(template)
        t0 = now()
        found = miner.search(nonces)
        dt = now() - t0
        if found is not None:
            raise RuntimeError("the miner met a target of 200 zero bits")
        out.append({"value": miner.hashes_done / dt / 1e6})
    return out


def scale(quick: bool, runs: int) -> list[Sample]:
    """A child process builds the lab and mines one block; its peak memory is its own."""
    n, k = (30, 4) if quick else (1_000, 4)
    out = []
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-m", "lab.bench", "scale-child", str(n), str(k)],
                           capture_output=True, text=True, check=False, env=child_env())
        if r.returncode != 0:
            raise RuntimeError(f"scale child exited {r.returncode}: {r.stderr[-500:]}")
        got = json.loads(r.stdout.strip().splitlines()[-1])
        if not got["agree"]:
            raise RuntimeError(f"{n} nodes did not agree on one block")
        out.append({"value": got["seconds"], "memory": got["maxrss_mb"]})
    return out


async def scale_child(n: int, k: int) -> dict[str, Any]:
    """`lab --nodes N --topology "random K" -c "mine A; check same-tip"`, timed from before the lab starts."""
    t0 = now()
    async with drive.session(nodes=n, topology="random", k=k, seed=1) as s:
        await run(s, f"mine {drive.names(s)[0]}")
        dt = now() - t0
        agree = (await s.execute("check same-tip")).ok
        links = len(drive.edges(s))
    return {"seconds": dt, "maxrss_mb": peak_rss_mb(), "agree": agree, "links": links}
