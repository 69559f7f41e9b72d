"""The miners' strategies: Eyal & Sirer's selfish rules move by move, then their long-run share."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lab.chain.strategies as strategies
from lab.chain.strategies import (
    HEARD,
    HONEST,
    MINED,
    SELFISH,
    STRATEGIES,
    Adopt,
    KeepMining,
    Publish,
    View,
)
from lab.experiments.markov import simulate_selfish
from lab.experiments.theory import selfish_revenue


def test_a_hand_played_selfish_race():
    # The pool finds a block and keeps it.
    d = SELFISH.on_mined(View(private=1, public=0, unpublished=1))
    assert (d.action, d.move.rule) == (KeepMining(), "withhold")
    # The honest miners find one too: the pool publishes its block to tie and race.
    d = SELFISH.on_heard(View(private=1, public=1, unpublished=1))
    assert (d.action, d.move.rule, d.move.published) == (Publish(1), "match", 1)
    # The pool finds the next block during the tie: publishing it wins the race.
    d = SELFISH.on_mined(View(private=2, public=1, unpublished=1))
    assert (d.action, d.move.rule) == (Publish(1), "win-race")
    assert (d.move.strategy, d.move.event, d.move.private, d.move.public) == ("selfish", MINED, 2, 1)


def test_the_pool_loses_a_tie_when_the_honest_side_finds_the_next_block():
    d = SELFISH.on_heard(View(private=1, public=2, unpublished=0))
    assert (d.action, d.move.rule, d.move.event) == (Adopt(), "adopt", HEARD)


def test_a_lead_of_two_is_cashed_in_when_the_honest_side_gains_one():
    assert SELFISH.on_mined(View(private=2, public=0, unpublished=2)).action == KeepMining()
    d = SELFISH.on_heard(View(private=2, public=1, unpublished=2))
    assert (d.action, d.move.rule) == (Publish(2), "override")


def test_far_ahead_the_pool_publishes_one_block_at_a_time():
    d = SELFISH.on_heard(View(private=5, public=1, unpublished=5))
    assert (d.action, d.move.rule) == (Publish(1), "keep-ahead")
    d = SELFISH.on_heard(View(private=5, public=2, unpublished=4))
    assert d.action == Publish(1)
    d = SELFISH.on_heard(View(private=5, public=3, unpublished=3))  # lead was 3, now 2: still one
    assert d.action == Publish(1)
    d = SELFISH.on_heard(View(private=5, public=4, unpublished=2))  # lead was 2: publish the rest
    assert (d.action, d.move.rule) == (Publish(2), "override")


def test_a_pool_with_no_lead_adopts_the_public_chain():
    assert SELFISH.on_heard(View(private=0, public=1, unpublished=0)).action == Adopt()


def test_honest_publishes_at_once_and_follows_the_longer_chain():
    d = HONEST.on_mined(View(private=1, public=0, unpublished=1))
    assert (d.action, d.move.rule) == (Publish(1), "publish")
    assert HONEST.on_heard(View(private=0, public=1, unpublished=0)).action == Adopt()
    tie = HONEST.on_heard(View(private=1, public=1, unpublished=0))
    assert (tie.action, tie.move.rule) == (KeepMining(), "first-seen")
    assert set(STRATEGIES) == {"honest", "selfish"}


@pytest.mark.parametrize("alpha", [0.25, 0.33, 0.4])
@pytest.mark.parametrize("gamma", [0, 0.5])
def test_over_100000_blocks_the_selfish_share_matches_eyal_and_sirer(alpha, gamma):
    tally = simulate_selfish(alpha, gamma, 100_000, seed=1)
    assert tally.share == pytest.approx(selfish_revenue(alpha, gamma), abs=0.01)
    assert tally.honest_orphaned > 0  # the honest miners lost blocks to the pool's races


def test_below_the_threshold_selfish_mining_does_not_pay_and_above_it_does():
    below = simulate_selfish(0.25, 0, 50_000, seed=2)
    above = simulate_selfish(0.4, 0, 50_000, seed=2)
    assert below.share < 0.25 and above.share > 0.4


def test_an_honest_pool_gets_its_hashrate_share_and_loses_nothing():
    tally = simulate_selfish(0.3, 0.5, 50_000, seed=3, strategy=HONEST)
    assert tally.share == pytest.approx(0.3, abs=0.01)
    assert tally.pool_orphaned == tally.honest_orphaned == 0


def test_same_seed_same_tally():
    assert simulate_selfish(0.33, 0.5, 5_000, seed=9) == simulate_selfish(0.33, 0.5, 5_000, seed=9)


def test_strategies_import_nothing_from_the_lab():
    tree = ast.parse(Path(strategies.__file__).read_text())
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m.startswith("lab")]
