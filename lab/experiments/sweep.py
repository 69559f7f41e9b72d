"""Run an experiment's sweep: every point of the spec, `runs` fresh labs each, one `Row` per point.

The lab itself is not imported here: the caller passes `measure(point, seed)`,
an async function that builds a fresh lab from `seed`, plays one run and
returns an `Outcome`. `sweep` derives the seeds, gathers the outcomes, turns
them into an estimate with its 95 % interval and puts the theory beside it.
Rows come out one by one as their points finish, so a caller that is stopped
(Ctrl-C) keeps every row finished so far.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from lab.experiments.results import Row
from lab.experiments.spec import ExperimentSpec, Point
from lab.experiments.stats import Estimate, mean_interval, run_seeds, wilson
from lab.experiments.theory import double_spend_probability, selfish_revenue, stale_rate
from lab.sched import SECOND


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one run measured."""

    hits: int  # stale blocks | the pool's blocks on the best chain | 1 if the payment was reversed
    trials: int  # blocks mined | blocks on the best chain | 1 (one attempt)
    tau: float | None = None  # stale: the run's mean propagation time, virtual seconds
    batches: tuple[float, ...] = ()  # selfish: the pool's share in stretches of the chain (stats.batch_shares)


Measure = Callable[[Point, int], Awaitable[Outcome]]
OnRun = Callable[[int, int, Point], None]  # (runs done, runs in all, the point being measured)


async def sweep(spec: ExperimentSpec, measure: Measure, on_run: OnRun | None = None) -> AsyncIterator[Row]:
    """Measure every point of `spec`; yield its row as soon as its runs are done."""
    points = spec.points()
    total = len(points) * spec.runs
    done = 0
    for point in points:
        outcomes = []
        for seed in run_seeds(spec.seed, spec.experiment, point.param, point.value, spec.runs):
            outcomes.append(await measure(point, seed))
            done += 1
            if on_run is not None:
                on_run(done, total, point)
        yield row_for(spec, point, outcomes)


def row_for(spec: ExperimentSpec, point: Point, outcomes: list[Outcome]) -> Row:
    """One point's outcomes as a row: the estimate, its interval and the theory."""
    return Row.of(point, estimate(spec.experiment, outcomes), theory(point, outcomes), spec.runs, spec.blocks)


def estimate(experiment: str, outcomes: list[Outcome]) -> Estimate:
    """Stale and double-spend: a pooled proportion (Wilson). Selfish: a share per run (t interval)."""
    if not outcomes:
        raise ValueError("no outcomes")
    if experiment != "selfish":
        return wilson(sum(o.hits for o in outcomes), sum(o.trials for o in outcomes))
    shares = [o.hits / o.trials if o.trials else 0.0 for o in outcomes]
    if len(shares) > 1:
        return mean_interval(shares)
    one = outcomes[0]
    spread = mean_interval(one.batches) if len(one.batches) > 1 else None
    if spread is None or spread.low is None:
        return Estimate(shares[0], None, None)
    half = (spread.value - spread.low)
    return Estimate(shares[0], max(0.0, shares[0] - half), min(1.0, shares[0] + half))


def theory(point: Point, outcomes: list[Outcome]) -> float | None:
    """The formula's value at this point (stale: at the propagation time the runs measured)."""
    if point.experiment == "selfish":
        return selfish_revenue(point["alpha"], point["gamma"])
    if point.experiment == "double-spend":
        return double_spend_probability(point["q"], int(point["z"]))
    taus = [o.tau for o in outcomes if o.tau is not None]
    if not taus:
        return None
    return stale_rate(math.fsum(taus) / len(taus), point["interval"] / SECOND)
