"""Intervals cover what they should and seeds come out the same everywhere."""

from __future__ import annotations

import random
import statistics

import pytest

from lab.experiments.stats import SEED_LIMIT, derive_seed, mean_interval, run_seeds, t975, wilson


def test_wilson_interval_known_values():
    # Wilson score interval for 8 of 10, 95 %: [0.4902, 0.9433] (Newcombe 1998, table I style)
    e = wilson(8, 10)
    assert e.value == 0.8
    assert e.low == pytest.approx(0.4902, abs=1e-4)
    assert e.high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_at_the_edges_stays_inside_zero_and_one():
    none = wilson(0, 50)
    assert none.value == 0 and none.low == 0 and 0 < none.high < 0.08
    every = wilson(50, 50)
    assert every.high == 1 and 0.92 < every.low < 1


def test_wilson_covers_the_true_share_about_95_percent_of_the_time():
    rng = random.Random(7)
    p, n, trials = 0.05, 200, 2000
    covered = sum(wilson(sum(rng.random() < p for _ in range(n)), n).contains(p) for _ in range(trials))
    assert 0.93 <= covered / trials <= 0.97


def test_mean_interval_is_the_t_interval():
    values = [0.46, 0.49, 0.50, 0.47, 0.48]
    e = mean_interval(values)
    assert e.value == pytest.approx(0.48)
    half = 2.776 * statistics.stdev(values) / len(values) ** 0.5
    assert (e.low, e.high) == (pytest.approx(0.48 - half), pytest.approx(0.48 + half))


def test_one_run_has_no_interval():
    e = mean_interval([0.3])
    assert (e.value, e.low, e.high) == (0.3, None, None)
    assert not e.contains(0.3)


def test_t_quantiles_join_the_normal_smoothly():
    assert t975(1) == 12.706 and t975(30) == 2.042
    assert t975(31) == pytest.approx(2.0395, abs=2e-4)
    assert t975(120) == pytest.approx(1.9799, abs=2e-4)
    assert t975(10_000) == pytest.approx(1.96, abs=1e-3)


def test_seeds_are_fixed_by_the_command_seed_and_differ_per_run():
    seeds = run_seeds(1, "selfish", "alpha", "0.25", 5)
    assert seeds == run_seeds(1, "selfish", "alpha", "0.25", 5)
    assert len(set(seeds)) == 5 and all(0 <= s < SEED_LIMIT for s in seeds)
    assert seeds != run_seeds(2, "selfish", "alpha", "0.25", 5)
    assert seeds[0] != run_seeds(1, "selfish", "alpha", "0.33", 1)[0]
    # pinned: the same command must start the same labs on every machine and Python version
    assert derive_seed(1, "selfish", "alpha", "0.25", 0) == seeds[0] == 956479393


@pytest.mark.parametrize("args", [(3, 2), (-1, 5), (0, 0)])
def test_wilson_refuses_impossible_counts(args):
    with pytest.raises(ValueError):
        wilson(*args)
