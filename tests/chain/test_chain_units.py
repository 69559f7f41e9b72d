"""Small modules on their own: amounts, consensus parameters, retargeting, UTXO undo, sig cache."""

from __future__ import annotations

import pytest
from chainkit import raised

from lab.chain import pow
from lab.chain.amount import format_amount, parse_amount
from lab.chain.consensus import Consensus
from lab.chain.crypto import sha256d
from lab.chain.sigcache import SigCache
from lab.chain.tx import OutPoint, Tx, TxIn, TxOut, make_coinbase
from lab.chain.utxo import Coin, UtxoError, UtxoSet
from lab.errors import ValidationError
from lab.params import COIN, INITIAL_SUBSIDY, MAX_MONEY

# --- amounts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"),
    [("12.5", 1_250_000_000), ("0.0001", 10_000), ("50", 50 * COIN), (".5", COIN // 2), ("0.00000001", 1), ("1_000", 1000 * COIN)],
)
def test_parse_amount(text: str, units: int) -> None:
    assert parse_amount(text) == units


@pytest.mark.parametrize("text", ["", "abc", "-1", "1.123456789", "21000001", "1.2.3", ".", "1e5"])
def test_parse_amount_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text)


@pytest.mark.parametrize(("units", "text"), [(1_250_000_000, "12.5"), (10_000, "0.0001"), (50 * COIN, "50"), (0, "0"), (1, "0.00000001"), (-COIN, "-1")])
def test_format_amount(units: int, text: str) -> None:
    assert format_amount(units) == text
    if units >= 0:
        assert parse_amount(text) == units


def test_max_money_parses() -> None:
    assert parse_amount("21000000") == MAX_MONEY


# --- consensus parameters ------------------------------------------------------------


def test_subsidy_halves() -> None:
    c = Consensus()
    assert c.subsidy(1) == INITIAL_SUBSIDY
    assert c.subsidy(c.halving_interval) == INITIAL_SUBSIDY // 2
    assert c.subsidy(64 * c.halving_interval) == 0


def test_difficulty_schedule_activates_by_height() -> None:
    c = Consensus.with_difficulty(1)
    c.set_difficulty(10, 3)
    c.set_difficulty(5, 2)
    assert [c.difficulty_at(h) for h in (1, 4, 5, 9, 10, 100)] == [1, 1, 2, 2, 3, 3]
    c.set_difficulty(5, 4)  # replaces the entry at 5
    assert c.difficulty_at(5) == 4 and len(c.schedule) == 3
    with pytest.raises(ValueError):
        c.set_difficulty(0, 3)


def test_default_difficulty_matches_genesis_bits() -> None:
    from lab.chain.block import GENESIS_BITS

    assert Consensus().scheduled_bits(1) == GENESIS_BITS


def test_a_schedule_change_is_enforced_as_bad_diffbits(world) -> None:
    a = world.node("A")
    world.mine(a, 2)
    world.consensus.set_difficulty(3, 4)
    block = world.block_on(a)
    assert block.header.bits == pow.bits_for_zero_bits(4)
    stale = world.remine(block, bits=pow.bits_for_zero_bits(1))
    with pytest.raises(ValidationError, match="bad-diffbits"):
        raised(a.process_block(stale))
    assert a.process_block(block).status == "new-tip"


class TestRetarget:
    """Every 4 blocks the target follows the time the window took, at most x4 or /4."""

    def grow(self, world, spacing: int, n: int):
        a = world.nodes.get("A") or world.node("A")
        for _ in range(n):
            t = (a.chain.tip.time if a.chain.height else world.clock()) + spacing
            world.clock.now = max(world.clock.now, t)
            a.process_block(world.block_on(a, time=t))
        return a

    def target_at(self, a, height: int) -> int:
        return pow.bits_to_target(a.chain.active[height].header.bits)

    def test_on_schedule_keeps_the_target(self, make_world) -> None:
        world = make_world(8, retarget_interval=4)
        a = self.grow(world, 600, 9)
        assert a.chain.active[4].header.bits == a.chain.active[3].header.bits == pow.bits_for_zero_bits(8)
        assert self.target_at(a, 8) == self.target_at(a, 4)

    def test_fast_blocks_clamp_at_four_times_harder(self, make_world) -> None:
        world = make_world(4, retarget_interval=4)
        a = self.grow(world, 1, 5)  # blocks one second apart: 600x too fast
        assert self.target_at(a, 4) == pytest.approx(self.target_at(a, 3) / 4, rel=1e-4)  # compact bits round

    def test_slow_blocks_clamp_at_four_times_easier(self, make_world) -> None:
        world = make_world(12, retarget_interval=4)
        a = self.grow(world, 600 * 100, 5)  # 100x too slow
        assert self.target_at(a, 4) == pytest.approx(self.target_at(a, 3) * 4, rel=1e-4)

    def test_inside_a_window_the_parent_bits_are_required(self, make_world) -> None:
        world = make_world(4, retarget_interval=4)
        a = self.grow(world, 1, 5)
        block = world.block_on(a, time=a.chain.tip.time + 1)
        assert block.header.bits == a.chain.tip.header.bits
        wrong = world.remine(block, bits=pow.bits_for_zero_bits(4))
        with pytest.raises(ValidationError, match="bad-diffbits"):
            raised(a.process_block(wrong))


# --- UTXO set ----------------------------------------------------------------------


def test_apply_then_undo_restores_exactly() -> None:
    pkh = b"\x01" * 20
    utxo = UtxoSet()
    cb = make_coinbase(1, 50 * COIN, pkh)
    utxo.apply_tx(cb, 1)
    before = utxo.snapshot()
    spend = Tx((TxIn(OutPoint(cb.txid, 0)),), (TxOut.to_pkh(20 * COIN, pkh), TxOut.to_pkh(30 * COIN, b"\x02" * 20)))
    undo = utxo.apply_tx(spend, 2)
    assert undo == (Coin(cb.outputs[0], 1, True),)
    assert [op.index for op, _ in utxo.coins_for(pkh)] == [0]
    utxo.undo_tx(spend, undo)
    assert utxo.snapshot() == before
    assert utxo.total_value() == 50 * COIN


def test_utxo_refuses_impossible_moves() -> None:
    utxo = UtxoSet()
    with pytest.raises(UtxoError):
        utxo.spend(OutPoint(b"\x00" * 32, 0))
    coin = Coin(TxOut.to_pkh(1, b"\x01" * 20), 1, False)
    utxo.add(OutPoint(b"\x01" * 32, 0), coin)
    with pytest.raises(UtxoError):
        utxo.add(OutPoint(b"\x01" * 32, 0), coin)


# --- signature cache ------------------------------------------------------------------


def test_sigcache_answers_repeats_and_stays_bounded(world) -> None:
    k = world.key("A")
    cache = SigCache(max_entries=2)
    digests = [sha256d(bytes([i])) for i in range(3)]
    sigs = [k.sign(d) for d in digests]
    assert cache.verify(k.pubkey, sigs[0], digests[0])
    assert cache.verify(k.pubkey, sigs[0], digests[0])
    assert (cache.hits, cache.misses) == (1, 1)
    assert not cache.verify(k.pubkey, sigs[0], digests[1])  # wrong digest: not cached
    assert len(cache) == 1
    cache.verify(k.pubkey, sigs[1], digests[1])
    cache.verify(k.pubkey, sigs[2], digests[2])
    assert len(cache) == 2
    assert not cache.contains(digests[0], k.pubkey, sigs[0])  # the oldest went first
    assert cache.contains(digests[2], k.pubkey, sigs[2])
