"""Run an `experiment` command on real labs: every point, `runs` fresh labs each, one Row per point.

The sweep's seeds (`stats.run_seeds`) and estimates (`sweep.estimate`) are
the foundations'; here each run is a real lab (`labs.MEASURES`), and the
theory column is the formula for the game the nodes actually play:

- stale: 1 − e^(−τ/T) at the propagation time τ the runs measured;
- selfish: R(α, γ) at the γ the network gives (`labs.SelfishNet.gamma`);
- double-spend: the exact race with a one-block head start and a stated
  give-up depth (`theory.double_spend_race`), not Nakamoto's Poisson
  approximation, which the report shows beside it.

Ctrl-C (the session's stop request) ends the run under way early and keeps
the rows finished so far.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from lab.experiments import labs
from lab.experiments.results import Row
from lab.experiments.spec import ExperimentSpec, Point
from lab.experiments.stats import run_seeds
from lab.experiments.sweep import Outcome, estimate
from lab.experiments.theory import double_spend_race, selfish_revenue, stale_rate
from lab.sched import SECOND

OnRun = Callable[[int, int, Point], None]  # (runs done, runs in all, the point being measured)


@dataclass(frozen=True, slots=True)
class Report:
    """What an experiment measured: its rows, and the facts the theory column used."""

    spec: ExperimentSpec
    rows: tuple[Row, ...]  # the points finished, in order
    points: int  # points asked for
    stopped: bool  # True when Ctrl-C stopped it before the last point
    taus: tuple[float | None, ...]  # stale: the mean propagation time per row, virtual seconds
    gammas: tuple[float, ...]  # selfish: the γ the network gives per row


def theory(point: Point, outcomes: list[Outcome]) -> float | None:
    """The formula for this point, for the game the lab's nodes play."""
    if point.experiment == "selfish":
        return selfish_revenue(point["alpha"], labs.selfish_net(point["gamma"]).gamma)
    if point.experiment == "double-spend":
        return double_spend_race(point["q"], int(point["z"]), labs.HEAD_START, labs.GIVE_UP)
    tau = mean_tau(outcomes)
    return None if tau is None else stale_rate(tau, point["interval"] / SECOND)


def mean_tau(outcomes: list[Outcome]) -> float | None:
    taus = [o.tau for o in outcomes if o.tau is not None]
    return math.fsum(taus) / len(taus) if taus else None


async def run_experiment(spec: ExperimentSpec, open_lab: labs.OpenLab, on_run: OnRun | None = None,
                         stop: Callable[[], bool] = lambda: False) -> Report:
    """Measure every point of `spec` on fresh labs; when `stop()` turns true (Ctrl-C), end the run
    under way early, drop it, and return the rows finished so far."""
    measure = labs.MEASURES[spec.experiment]
    points = spec.points()
    total = len(points) * spec.runs
    rows: list[Row] = []
    taus: list[float | None] = []
    gammas: list[float] = []
    done = 0
    try:
        for point in points:
            outcomes = []
            for seed in run_seeds(spec.seed, spec.experiment, point.param, point.value, spec.runs):
                if stop():
                    raise labs.Stopped
                outcomes.append(await measure(open_lab, point, seed, spec.blocks, stop))
                done += 1
                if on_run is not None:
                    on_run(done, total, point)
            rows.append(Row.of(point, estimate(spec.experiment, outcomes), theory(point, outcomes),
                               spec.runs, spec.blocks))
            taus.append(mean_tau(outcomes))
            if spec.experiment == "selfish":
                gammas.append(labs.selfish_net(point["gamma"]).gamma)
    except labs.Stopped:
        return Report(spec, tuple(rows), len(points), len(rows) < len(points), tuple(taus), tuple(gammas))
    return Report(spec, tuple(rows), len(points), False, tuple(taus), tuple(gammas))
