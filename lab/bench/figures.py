"""Every figure `lab bench` measures, and the run that prints them (the table or JSON)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from lab.bench import experiments, grading, keeping, network, process, sighash, workload
from lab.bench.drive import now
from lab.bench.machine import machine
from lab.bench.table import Figure, Part, Sample, render_table, run_figure
from lab.classroom.bench import fig_class  # separate `lab` processes, measured from outside


def _in_loop(fn: Callable[[bool, int], Coroutine[Any, Any, list[Sample]]]) -> Callable[[bool, int], list[Sample]]:
    def measure(quick: bool, runs: int) -> list[Sample]:
        return asyncio.run(fn(quick, runs))
    return measure


def _floor_parts(unit: str) -> list[Part]:
    return [Part("floor", unit, label="floor: a bare asyncio relay of the same frame along the same links"),
            Part("ratio", "x", label="lab / floor: what the lab's own layers cost")]


FIGURES: list[Figure] = [
    Figure("start", "process start to a ready 4-node lab (lab -c status)", process.start, 7,
           [Part("value", "ms", 250, "<=")]),
    Figure("hashrate", "miner double-SHA-256 per second, one core", process.hashrate, 5,
           [Part("value", "M/s", 1.2, ">=")]),
    Figure("hop", "wall time per hop, block along a 50-node line, zero latency", _in_loop(network.hop), 7,
           [Part("value", "us", 150, "<="), *_floor_parts("us")]),
    Figure("flood", "a new block reaches every node, 100-node random-8 lab", _in_loop(network.flood), 7,
           [Part("value", "ms", 100, "<="), *_floor_parts("ms")]),
    Figure("experiment", f"1,000 auto-mined blocks, 20-node random-4, difficulty {workload.EXPERIMENT_DIFFICULTY}",
           _in_loop(workload.experiment), 3, [Part("value", "s", 20, "<=")]),
    Figure("stale-experiment", "experiment stale latency 1s,5s,10s blocks 500 (three fresh 11-node labs)",
           _in_loop(experiments.stale), 3, [Part("value", "s", 20, "<=")]),
    Figure("selfish-experiment", "experiment selfish alpha 0.25,0.33,0.4 blocks 1000 runs 1 (three fresh 5-node labs)",
           _in_loop(experiments.selfish), 3, [Part("value", "s", 20, "<=")]),
    Figure("sync", "a fresh node syncs a 10,000-block chain", _in_loop(workload.sync), 3,
           [Part("value", "s", 10, "<=")]),
    Figure("sigs", "1,000 signed txs relayed through a 10-node line, then mined", _in_loop(workload.sigs), 3,
           [Part("value", "verifications/s", 1000, ">="),
            Part("connect", "ms per 100 tx", 2, "<=", "block of seen txs connects")]),
    Figure("sighash", f"check a {sighash.BIG:,}-input tx (every signature, policy flags)", sighash.sighash, 5,
           [Part("value", "ms", 1000, "<="), Part("small", "ms", label=f"check a {sighash.SMALL}-input tx"),
            Part("per_input", "x", 2, "<=", f"per-input cost, {sighash.BIG:,} vs {sighash.SMALL} inputs (1: linear)")]),
    Figure("keep", "save a 10,000-block lab; load it; back on a 1,000-block lab", _in_loop(keeping.keep), 3,
           [Part("value", "s", 1, "<=", "save, 10,000 blocks"), Part("load", "s", 1, "<=", "load, 10,000 blocks (from its state)"),
            Part("back", "ms", 300, "<=", "back, 1,000 blocks (replay)")]),
    Figure("scale", "1,000 nodes random 4: start, connect, agree on one block", process.scale, 3,
           [Part("value", "s"), Part("memory", "MB", 300, "<=", "peak memory of the lab process (RSS high-water mark)")]),
    Figure("responsive", "event-loop stall p99, 4 auto-miners in live mode (speed 10000)",
           _in_loop(workload.responsive), 3, [Part("value", "ms", 20, "<=")]),
    Figure("grade", f"lab grade: {grading.CLASS_SIZE} submissions of a 5-step lesson, each replayed", grading.grade, 3,
           [Part("value", "s", 10, "<=")]),
    Figure("class", "a host and 30 student processes join and sync a 200-block class chain", fig_class, 1,
           [Part("value", "s", 10, "<="), Part("block", "s", 1, "<=", "a student's block on every participant"),
            Part("memory", "MB", 60, "<=", "peak memory of a student process")]),
]
BY_NAME = {f.name: f for f in FIGURES}


def main(as_json: bool = False, quick: bool = False, only: str | None = None, runs: int | None = None) -> int:
    """Run the figures; print the table (or JSON). 0 when every figure ran, 1 if one failed, 2 on bad usage."""
    if only is not None:
        names = [x.strip().lower() for x in only.split(",") if x.strip()]
        unknown = [x for x in names if x not in BY_NAME]
        if unknown:
            print(f"lab bench: no figure named {', '.join(unknown)}; figures: {', '.join(BY_NAME)}", file=sys.stderr)
            return 2
        figures = [BY_NAME[x] for x in names]
    else:
        figures = FIGURES
    results: dict[str, Any] = {"machine": machine()}
    failed = False
    for fig in figures:
        n = runs or (1 if quick else fig.runs)
        if not as_json:
            print(f"measuring {fig.name} ({n} run{'s' if n != 1 else ''}) ...", file=sys.stderr, flush=True)
        t0 = now()
        try:
            results[fig.name] = run_figure(fig, quick, n)
        except Exception as e:  # one broken figure must not hide the others
            failed = True
            results[fig.name] = {"error": f"{type(e).__name__}: {e}"}
        results[fig.name]["elapsed_s"] = round(now() - t0, 3)  # how long measuring this figure took
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        print(render_table(results, quick, FIGURES))
    return 1 if failed else 0
