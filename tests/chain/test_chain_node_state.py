"""The facade net/ and the lab use: forged blocks, the sig cache at work, what a node already has."""

from __future__ import annotations

import pytest
from chainkit import raised

from lab.chain.invariants import check_node, replay_utxo
from lab.chain.node_state import FORGE_RULES
from lab.chain.tx import OutPoint, TxOut
from lab.chain.utxo import Coin
from lab.errors import ValidationError, WalletError
from lab.params import COIN

EXPECTED = {
    "overpay": "bad-cb-amount",
    "double-spend": "bad-txns-inputs-missingorspent",
    "bad-signature": "mandatory-script-verify-flag-failed (Script evaluated without error but finished with a false/empty top stack element)",
    "bad-merkle": "bad-txnmrklroot",
    "future-time": "time-too-new",
    "bad-pow": "high-hash",
}


@pytest.mark.parametrize("rule", FORGE_RULES)
def test_forged_blocks_break_exactly_their_rule(funded, rule: str) -> None:
    world, a = funded
    b = world.node("B")
    for blk in list(a.chain.blocks.values())[1:]:
        b.process_block(blk)
    forged = a.forge_block(rule)
    with pytest.raises(ValidationError) as info:
        raised(b.process_block(forged))
    assert info.value.code == EXPECTED[rule]
    assert b.chain.tip is b.chain.index[a.chain.tip.hash]
    assert check_node(b) == []


def test_double_spend_without_coins_spends_the_same_outpoint_twice(world) -> None:
    a = world.node("A")
    with pytest.raises(ValidationError, match="bad-txns-inputs-duplicate"):
        raised(a.process_block(a.forge_block("double-spend")))
    with pytest.raises(WalletError, match="no mature coin"):
        a.forge_block("bad-signature")
    with pytest.raises(ValueError, match="unknown rule"):
        a.forge_block("nonsense")


def test_a_block_of_txs_already_in_the_mempool_skips_signature_checks(funded) -> None:
    world, a = funded
    b = world.node("B")
    for blk in list(a.chain.blocks.values())[1:]:
        b.process_block(blk)
    # Split a coin into 10 outputs, confirm it, then spend each output in its own tx.
    op = OutPoint(a.chain.blocks[a.chain.active[1].hash].txs[0].txid, 0)
    out = a.chain.utxo[op].out
    split = world.signed_tx(a.key, [(op, out)], [TxOut.to_pkh(4 * COIN, a.key.pkh)] * 10 + [TxOut.to_pkh(out.value - 40 * COIN - 10_000, a.key.pkh)])
    a.accept_tx(split)
    world.mine(a, also=[b])
    txs = [
        world.signed_tx(a.key, [(OutPoint(split.txid, i), split.outputs[i])], [TxOut.to_pkh(4 * COIN - 10_000, world.key("C").pkh)])
        for i in range(10)
    ]
    for tx in txs:
        a.accept_tx(tx)
        b.accept_tx(tx)
    misses = b.sigcache.misses
    block = a.mine_block()
    assert len(block.txs) == 11
    assert b.process_block(block).status == "new-tip"
    assert b.sigcache.misses == misses  # every signature answered from the cache
    cold = world.node("cold")
    for blk in list(b.chain.blocks.values())[1:-1]:
        cold.process_block(blk)
    before = cold.sigcache.misses
    cold.process_block(block)
    assert cold.sigcache.misses - before == 10


def test_what_a_node_already_has(funded) -> None:
    world, a = funded
    tx = a.wallet.pay(world.key("B").pkh, COIN)
    assert not a.has_tx(tx.txid)
    a.accept_tx(tx)
    assert a.has_tx(tx.txid) and a.get_tx(tx.txid) == tx
    (block,) = world.mine(a)
    assert a.has_tx(tx.txid) and a.get_tx(tx.txid) is None  # confirmed
    assert a.get_block(block.hash) == block
    bad = a.forge_block("overpay")
    with pytest.raises(ValidationError):
        raised(a.process_block(bad))
    assert a.chain.contains(bad.hash) and a.get_block(bad.hash) is None  # never served
    assert a.process_block(block).status == "duplicate"


def test_invariant_checks_notice_corruption(funded) -> None:
    world, a = funded
    assert check_node(a) == []
    assert replay_utxo(a.chain) == a.chain.utxo.snapshot()
    a.chain.utxo.add(OutPoint(b"\x99" * 32, 0), Coin(TxOut.to_pkh(COIN, a.key.pkh), 1, False))
    problems = check_node(a)
    assert any("replay" in p for p in problems)
