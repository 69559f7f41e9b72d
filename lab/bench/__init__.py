"""`lab bench`: measure this machine - how many nodes it runs, how fast blocks travel.

Every figure drives a lab the way a learner does: a Session running command
lines (`mine A`, `run until quiet`, `add-node`, `send A J 0.01` ...) on real
nodes on real 127.0.0.1 sockets, the scheduler's virtual clock, real proof of
work and real ECDSA. The bench only reads what the lab reports (tips, counts,
each node's chain events); it replaces nothing inside the lab. Each figure
runs several times; the table shows the median with the min and max, next to
its target on a 2-core machine and a pass/miss mark.

    lab bench                 the full run (a few minutes)
    lab bench --quick         a smoke run of a few seconds (sizes cut down:
                              CI runs it; its timings are not comparable)
    lab bench --only sync     one figure
    lab bench --json          one JSON object keyed by figure name, each with
                              median, min, max and unit, plus `machine`

Figures (figures.py has the exact sizes):

    start       process start to a ready 4-node lab: `python -m lab -c status`
    hashrate    the miner's double-SHA-256 per second on one core
    hop         wall time per hop of a block along a 50-node line, zero latency
    flood       wall time until a new block reached every node of a 100-node random-8 lab
    experiment  wall time of 1,000 auto-mined blocks on a 20-node random-4 lab (virtual time)
    stale-experiment    `experiment stale latency 1s,5s,10s blocks 500`, typed at the prompt
    selfish-experiment  `experiment selfish alpha 0.25,0.33,0.4 blocks 1000 runs 1`, typed at the prompt
    sync        wall time for a fresh node to sync a 10,000-block chain
    sigs        signature verifications per second while 1,000 payments cross a
                10-node line; and ms per 100 transactions to connect the block
                that confirms them (signatures already verified: sig cache)
    sighash     ms to check a 1,000-input and a 100-input tx (every signature), and
                the per-input ratio of the two: 1 when the legacy sighash is linear
    keep        `save` and `load` of a 10,000-block lab; `back` on a 1,000-block lab
    scale       1,000 nodes, random 4: start, connect, agree on one block; peak memory
    responsive  event-loop stall p99 while 4 auto-miners run in live mode
    class       a host and 30 student `lab join` processes: join and sync a 200-block
                class chain; a student's block on every participant; a student's peak memory
                (lab/classroom/bench.py)

`hop` and `flood` also report their floor: the same block frame relayed along
the same links by a bare asyncio relay (floor.py), and the ratio lab / floor.

Modules: figures (the list and the run), table (summaries and the text
table), drive (sessions and what the bench reads), network (hop, flood),
floor (the bare relay), workload (experiment, sync, sigs, responsive),
experiments (the `experiment` command's figures),
process (start, hashrate, scale), sighash (below the lab, as hashrate),
keeping (keep), machine (what it ran on).
"""

from __future__ import annotations

from typing import Any

from lab.bench import table
from lab.bench.figures import BY_NAME, FIGURES, main
from lab.bench.machine import machine

__all__ = ["BY_NAME", "FIGURES", "machine", "main", "render_table"]


def render_table(results: dict[str, Any], quick: bool) -> str:
    """The text table of a run's results (as `main` prints it)."""
    return table.render_table(results, quick, FIGURES)
