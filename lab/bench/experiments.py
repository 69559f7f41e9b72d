"""The figures of the `experiment` command: typed at a lab's prompt, fresh real labs inside."""

from __future__ import annotations

from lab.bench import drive
from lab.bench.drive import now, run
from lab.bench.table import Sample

STALE = "experiment stale latency 1s,5s,10s blocks {blocks}"  # three fresh 11-node labs
SELFISH = "experiment selfish alpha 0.25,0.33,0.4 blocks {blocks} runs 1"  # three fresh 5-node labs


async def _timed(line: str, runs: int) -> list[Sample]:
    """Wall time of one `experiment ...` command (no progress display: the bench has no terminal line)."""
    out: list[Sample] = []
    for _ in range(runs):
        async with drive.session() as s:
            t0 = now()
            await run(s, line)
            out.append({"value": now() - t0})
    return out


async def stale(quick: bool, runs: int) -> list[Sample]:
    return await _timed(STALE.format(blocks=30 if quick else 500), runs)


async def selfish(quick: bool, runs: int) -> list[Sample]:
    return await _timed(SELFISH.format(blocks=30 if quick else 1000), runs)
