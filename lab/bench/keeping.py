"""The `keep` figure (issue 15): `save` and `load` of a 10,000-block lab, `back` on a 1,000-block lab.

`load` thaws the lab's objects saved beside its record (lab/world/snapshot.py);
`back` rebuilds the lab by replaying the commands that changed it
(lab/commands/saving.py), so it costs about what those commands cost the
first time, less the proof of work (answers found once are kept). The labs
are built once, not timed: 2 nodes, 1 zero bit, `mine A 1000` at a time.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from lab.bench import drive
from lab.bench.drive import now
from lab.bench.table import Sample
from lab.commands.session import Session


async def _timed(s: Session, line: str) -> float:
    t0 = now()
    out = await s.execute(line)
    if not out.ok:
        raise RuntimeError(f"`{line}` failed: {out.text}")
    return now() - t0


async def _mine(s: Session, blocks: int) -> None:
    while blocks > 0:
        await _timed(s, f"mine A {min(blocks, 1000)}")
        blocks -= 1000


async def keep(quick: bool, runs: int) -> list[Sample]:
    big, small = (200, 50) if quick else (10_000, 1_000)
    out: list[Sample] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.lab"
        async with drive.session(nodes=2, difficulty=1, latency_ms=5) as s:
            await _mine(s, big)
            for _ in range(runs):
                save = await _timed(s, f"save {path}")
                load = await _timed(s, f"load {path}")
                out.append({"value": save, "load": load})
        async with drive.session(nodes=2, difficulty=1, latency_ms=5) as s:
            await _mine(s, small)
            for sample in out:
                await _timed(s, "mine B")
                sample["back"] = await _timed(s, "back") * 1000
    return out
