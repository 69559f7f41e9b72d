"""The sweep runs every point with its own seeds and turns outcomes into rows, one at a time."""

from __future__ import annotations

import asyncio
import random

import pytest

from lab.experiments.results import csv_text
from lab.experiments.spec import Point, parse_experiment
from lab.experiments.stats import batch_shares, run_seeds
from lab.experiments.sweep import Outcome, estimate, sweep
from lab.experiments.theory import double_spend_probability, selfish_revenue, stale_rate


def _collect(spec, measure, on_run=None):
    async def go():
        return [row async for row in sweep(spec, measure, on_run)]
    return asyncio.run(go())


def test_double_spend_rows_are_wilson_proportions_against_nakamoto():
    spec = parse_experiment("double-spend q 0.1 z 1,2 runs 40 seed 3")
    seen: list[tuple[str, int]] = []

    async def measure(point: Point, seed: int) -> Outcome:
        seen.append((point.value, seed))
        rng = random.Random(seed)  # stands in for a fresh lab built from the seed
        return Outcome(int(rng.random() < double_spend_probability(point["q"], int(point["z"]))), 1)

    rows = _collect(spec, measure)
    assert [r.value for r in rows] == ["1", "2"]
    assert [s for v, s in seen if v == "1"] == list(run_seeds(3, "double-spend", "z (q=0.1)", "1", 40))
    assert rows[0].theory == pytest.approx(0.2045873, abs=1e-7)
    assert rows[0].low <= rows[0].measured <= rows[0].high and rows[0].runs == 40
    assert csv_text(rows) == csv_text(_collect(spec, measure))  # same command, same bytes


def test_stale_theory_uses_the_propagation_time_the_runs_measured():
    spec = parse_experiment("stale latency 1s interval 60s runs 2 blocks 100")

    async def measure(point: Point, seed: int) -> Outcome:
        return Outcome(hits=3, trials=100, tau=5.0)

    [row] = _collect(spec, measure)
    assert row.measured == pytest.approx(0.03)
    assert row.theory == pytest.approx(stale_rate(5.0, 60.0))


def test_selfish_shares_per_run_or_batches_in_one_run():
    spec = parse_experiment("selfish alpha 0.4 runs 3")

    async def measure(point: Point, seed: int) -> Outcome:
        return Outcome(hits=480 + seed % 7, trials=1000)

    [row] = _collect(spec, measure)
    assert row.theory == pytest.approx(selfish_revenue(0.4, 0)) and row.low < row.measured < row.high
    flags = [i % 2 == 0 for i in range(1000)]
    one = estimate("selfish", [Outcome(500, 1000, batches=batch_shares(flags, 10))])
    assert one.value == 0.5 and one.low == pytest.approx(0.5) and one.high == pytest.approx(0.5)
    assert estimate("selfish", [Outcome(500, 1000)]).low is None  # no batches, one run: no interval


def test_progress_is_reported_after_every_run():
    spec = parse_experiment("double-spend q 0.3 z 1,2,3 runs 2")
    calls: list[tuple[int, int]] = []

    async def measure(point: Point, seed: int) -> Outcome:
        return Outcome(0, 1)

    _collect(spec, measure, lambda done, total, point: calls.append((done, total)))
    assert calls == [(n, 6) for n in range(1, 7)]


def test_a_stopped_sweep_keeps_the_rows_finished_so_far():
    spec = parse_experiment("double-spend q 0.3 z 1,2,3 runs 2")

    async def measure(point: Point, seed: int) -> Outcome:
        if point.value == "2":
            raise KeyboardInterrupt  # Ctrl-C while the second point runs
        return Outcome(1, 1)

    kept = []

    async def go():
        async for row in sweep(spec, measure):
            kept.append(row)

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(go())
    assert [r.value for r in kept] == ["1"]


def test_batch_shares_split_the_chain_into_stretches():
    assert batch_shares([True] * 5 + [False] * 5, 2) == (1.0, 0.0)
    assert batch_shares([True, False, True], 10) == ()
