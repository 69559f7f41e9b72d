"""The formulas give the numbers printed in the papers they come from."""

from __future__ import annotations

import math
import random

import pytest

from lab.experiments.theory import (
    confirmations_needed,
    double_spend_probability,
    double_spend_race,
    selfish_revenue,
    selfish_threshold,
    stale_rate,
)


def test_stale_rate_is_one_minus_e_to_the_minus_tau_over_t():
    assert stale_rate(0, 600) == 0
    assert stale_rate(60, 600) == pytest.approx(1 - math.exp(-0.1))
    # Andresen's simulator write-up quotes the formula at 0.17 % for 1 s and 3.28 % for 20 s
    assert stale_rate(1, 600) == pytest.approx(0.0017, abs=5e-5)
    assert stale_rate(20, 600) == pytest.approx(0.0328, abs=5e-5)


def test_selfish_revenue_matches_eyal_and_sirer():
    assert selfish_revenue(0.4, 0) == pytest.approx(0.484, abs=0.0005)
    assert selfish_revenue(1 / 3, 0) == pytest.approx(1 / 3)
    assert selfish_revenue(0.25, 0.5) == pytest.approx(0.25)
    assert selfish_revenue(0, 0.5) == 0


def test_below_the_threshold_selfish_mining_earns_less_than_its_hashrate():
    for gamma in (0, 0.5, 1):
        t = selfish_threshold(gamma)
        assert selfish_revenue(t, gamma) == pytest.approx(t, abs=1e-12)
        if t > 0.02:
            assert selfish_revenue(t - 0.02, gamma) < t - 0.02
        assert selfish_revenue(t + 0.02, gamma) > t + 0.02


def test_threshold_values():
    assert selfish_threshold(0) == pytest.approx(1 / 3)
    assert selfish_threshold(0.5) == pytest.approx(1 / 4)
    assert selfish_threshold(1) == 0


def test_double_spend_matches_the_whitepaper_tables():
    # Bitcoin whitepaper §11, first table (q = 0.1) and second (q = 0.3), 7 decimals as printed
    printed = {
        (0.1, 0): 1.0, (0.1, 1): 0.2045873, (0.1, 2): 0.0509779, (0.1, 3): 0.0131722,
        (0.1, 4): 0.0034552, (0.1, 5): 0.0009137, (0.1, 10): 0.0000012,
        (0.3, 0): 1.0, (0.3, 5): 0.1773523, (0.3, 10): 0.0416605, (0.3, 15): 0.0101008,
        (0.3, 20): 0.0024804, (0.3, 50): 0.0000006,
    }
    for (q, z), p in printed.items():
        assert round(double_spend_probability(q, z), 7) == p, (q, z)
    assert double_spend_probability(0.3, 2) == pytest.approx(0.4457, abs=5e-5)


def test_confirmations_needed_for_less_than_a_tenth_of_a_percent():
    table = {0.10: 5, 0.15: 8, 0.20: 11, 0.25: 15, 0.30: 24, 0.35: 41, 0.40: 89, 0.45: 340}
    for q, z in table.items():
        assert confirmations_needed(q) == z, q


def test_a_majority_attacker_always_wins():
    assert double_spend_probability(0.5, 6) == 1.0
    assert double_spend_probability(0.6, 100) == 1.0


@pytest.mark.parametrize("call", [
    lambda: stale_rate(-1, 600), lambda: stale_rate(1, 0),
    lambda: selfish_revenue(0.6, 0), lambda: selfish_revenue(0.3, 1.5),
    lambda: selfish_threshold(-0.1), lambda: double_spend_probability(0.1, -1),
    lambda: confirmations_needed(0.5), lambda: double_spend_race(0.1, 2, give_up=0),
    lambda: double_spend_race(1.2, 2),
])
def test_out_of_range_inputs_are_refused(call):
    with pytest.raises(ValueError):
        call()


def _rosenfeld(q: float, z: int) -> float:
    p = 1 - q
    return 1 - sum(math.comb(m + z - 1, m) * (p**z * q**m - p**m * q**z) for m in range(z + 1))


def test_the_exact_race_with_one_block_head_start_is_rosenfelds_formula():
    for q in (0.05, 0.1, 0.2, 0.3, 0.45):
        for z in (1, 2, 3, 5, 8, 12):
            assert double_spend_race(q, z) == pytest.approx(_rosenfeld(q, z), rel=1e-9, abs=1e-15)
    assert double_spend_race(0.1, 1) == pytest.approx(0.2)  # against Nakamoto's 0.2046


def test_nakamotos_number_is_an_approximation_that_undershoots_for_many_confirmations():
    assert double_spend_race(0.1, 5) > 1.9 * double_spend_probability(0.1, 5)
    assert double_spend_race(0.3, 10) == pytest.approx(0.0651, abs=1e-4)


def test_giving_up_and_no_head_start_only_lower_the_chance():
    for q, z in ((0.1, 2), (0.3, 5), (0.45, 3)):
        full = double_spend_race(q, z)
        assert double_spend_race(q, z, give_up=3) < full
        assert double_spend_race(q, z, head_start=0) < full
        assert double_spend_race(q, z, give_up=200) == pytest.approx(full, rel=1e-6)
    assert double_spend_race(0.5, 4) == 1.0 and double_spend_race(0, 3) == 0.0
    assert double_spend_race(0, 3, head_start=4) == 1.0


def test_the_exact_race_agrees_with_playing_it_out():
    rng = random.Random(5)
    q, z, head_start, give_up, trials = 0.3, 3, 0, 3, 20_000
    wins = 0
    for _ in range(trials):
        lead, honest = head_start, 0
        while -give_up < lead and not (honest >= z and lead >= 1):
            if rng.random() < q:
                lead += 1
            else:
                lead, honest = lead - 1, honest + 1
        wins += lead >= 1
    expected = double_spend_race(q, z, head_start=head_start, give_up=give_up)
    assert abs(wins / trials - expected) < 4 * math.sqrt(expected * (1 - expected) / trials)
