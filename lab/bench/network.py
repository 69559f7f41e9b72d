"""`hop` and `flood`: how fast a new block crosses the lab, beside the floor of a bare relay.

Each run mines a block with the miner's frames held (`mode step`: mining is not
timed), then times `run until quiet` until the last other node has connected
the block. The same block's `block` frame then crosses a bare asyncio relay
(floor.py) on the same links from the same miner; the run's ratio is lab / floor.
"""

from __future__ import annotations

from lab.bench import drive
from lab.bench.drive import ConnectWatch, now, run
from lab.bench.floor import FloorNet
from lab.bench.table import Sample
from lab.commands.session import Session
from lab.net.wire import encode_frame


async def _propagation(s: Session, runs: int, hops: int, rotate: bool, scale: float) -> list[Sample]:
    """`value` and `floor` in wall seconds per hop times `scale`, and their ratio."""
    names = drive.names(s)
    watch = ConnectWatch(s)
    floor = await FloorNet.open(names, drive.edges(s))
    try:
        await run(s, "mode step")
        out: list[Sample] = []
        for r in range(runs + 1):  # the first block warms up the code paths and is not counted
            miner = names[r % len(names)] if rotate else names[0]
            await run(s, f"mine {miner}")
            block_hash = drive.tip_hash(s, miner)
            watch.expect(block_hash)
            t0 = now()
            await run(s, "run until quiet")
            others = len(names) - 1
            if len(watch.times) != others:
                raise RuntimeError(f"the block reached {len(watch.times)} of {others} nodes")
            await run(s, "check same-tip")
            lab_s = (max(watch.times.values()) - t0) / hops
            block = drive.the_lab(s).nodes[miner].state.get_block(block_hash)
            floor_s = max((await floor.flood(miner, encode_frame("block", block.serialize()))).values()) / hops
            if r:
                out.append({"value": lab_s * scale, "floor": floor_s * scale, "ratio": lab_s / floor_s})
        return out
    finally:
        await floor.close()


async def hop(quick: bool, runs: int) -> list[Sample]:
    """Per hop of a block along a line at zero latency, in µs."""
    n = 10 if quick else 50
    async with drive.session(nodes=n, topology="line", seed=1, latency_ms=0, jitter=0) as s:
        return await _propagation(s, runs, n - 1, rotate=False, scale=1e6)


async def flood(quick: bool, runs: int) -> list[Sample]:
    """Until a new block reached every node of a random-K lab, in ms; the miner changes every run."""
    n, k = (20, 4) if quick else (100, 8)
    async with drive.session(nodes=n, topology="random", k=k, seed=1) as s:
        return await _propagation(s, runs, 1, rotate=True, scale=1e3)
