"""The wallet: balances as the node sees them, deterministic coin selection, clear refusals."""

from __future__ import annotations

import pytest

from lab.chain.tx import TxOut
from lab.chain.wallet import Wallet
from lab.errors import ValidationError, WalletError
from lab.params import COIN, DEFAULT_FEE


def test_balance_confirmed_immature_pending(funded) -> None:
    world, a = funded  # 4 blocks: heights 1, 2 mature; 3, 4 maturing
    b = a.wallet.balance()
    assert (b.confirmed, b.immature, b.pending_in, b.pending_out, b.spendable) == (100 * COIN, 100 * COIN, 0, 0, 100 * COIN)
    tx = a.wallet.pay(world.key("B").pkh, 10 * COIN)
    a.accept_tx(tx)
    b = a.wallet.balance()
    change = 40 * COIN - DEFAULT_FEE
    assert (b.confirmed, b.pending_out, b.pending_in) == (100 * COIN, 50 * COIN, change)
    assert b.spendable == 50 * COIN + change  # own unconfirmed change is spendable
    assert b.total == 200 * COIN - 10 * COIN - DEFAULT_FEE


def test_the_payee_sees_incoming_coins_as_pending_not_spendable(funded) -> None:
    world, a = funded
    bob = Wallet("B", world.key("B"), a.chain, a.mempool)  # Bob's key, seen through A's node
    a.accept_tx(a.wallet.pay(bob.pkh, 10 * COIN))
    b = bob.balance()
    assert (b.pending_in, b.spendable) == (10 * COIN, 0)
    with pytest.raises(WalletError) as info:
        bob.pay(a.key.pkh, COIN)
    assert info.value.message == "B has 0 coins spendable (10 unconfirmed from others); 1 asked (+0.0001 fee)"
    world.mine(a)
    assert bob.balance().spendable == 10 * COIN


def test_coin_selection_is_oldest_first_and_deterministic(funded) -> None:
    world, a = funded
    tx = a.wallet.pay(world.key("B").pkh, 60 * COIN)
    first_block_cb = a.chain.blocks[a.chain.active[1].hash].txs[0].txid
    second_block_cb = a.chain.blocks[a.chain.active[2].hash].txs[0].txid
    assert [i.prevout.txid for i in tx.inputs] == [first_block_cb, second_block_cb]
    assert [o.value for o in tx.outputs] == [60 * COIN, 40 * COIN - DEFAULT_FEE]
    assert a.wallet.pay(world.key("B").pkh, 60 * COIN) == tx  # same inputs, same signatures


def test_dust_change_goes_to_the_fee(funded) -> None:
    world, a = funded
    tx = a.wallet.pay(world.key("B").pkh, 50 * COIN - DEFAULT_FEE - 100)
    assert len(tx.outputs) == 1
    assert a.accept_tx(tx).events[0].fee == DEFAULT_FEE + 100


def test_refusals_a_learner_understands(funded) -> None:
    world, a = funded
    with pytest.raises(WalletError) as info:
        a.wallet.pay(world.key("B").pkh, 150 * COIN)
    err = info.value
    assert err.message == "A has 100 coins spendable (100 still maturing); 150 asked (+0.0001 fee)"
    assert err.hint == "mined coins mature after 3 blocks: `mine A 2` first"  # 150.0001 needs block 4
    with pytest.raises(WalletError, match="send less"):
        a.wallet.pay(world.key("B").pkh, 500 * COIN)
    with pytest.raises(WalletError, match="dust"):
        a.wallet.pay(world.key("B").pkh, 100)
    with pytest.raises(WalletError, match="above 0"):
        a.wallet.pay(world.key("B").pkh, 0)
    with pytest.raises(WalletError, match="too low"):
        a.wallet.pay(world.key("B").pkh, COIN, fee=10)


def test_coins_listing(funded) -> None:
    world, a = funded
    a.accept_tx(a.wallet.pay(world.key("B").pkh, 10 * COIN))
    states = [c.state for c in a.wallet.coins()]
    assert states == ["pending-out", "spendable", "immature", "immature", "spendable"]


def test_respend_builds_a_deliberate_double_spend(funded) -> None:
    world, a = funded
    bob, mallory = world.key("B"), world.key("M")
    first = a.wallet.pay(bob.pkh, 10 * COIN)
    a.accept_tx(first)
    spends = [(i.prevout, a.chain.utxo[i.prevout].out) for i in first.inputs]
    again = a.wallet.respend(spends, mallory.pkh, 30 * COIN)
    assert [i.prevout for i in again.inputs] == [i.prevout for i in first.inputs]
    assert again.outputs[0] == TxOut.to_pkh(30 * COIN, mallory.pkh)
    with pytest.raises(ValidationError, match="txn-mempool-conflict"):
        a.accept_tx(again)
    with pytest.raises(WalletError, match="hold 50"):
        a.wallet.respend(spends, mallory.pkh, 60 * COIN)
    with pytest.raises(WalletError, match="does not belong"):
        Wallet("B", bob, a.chain, a.mempool).respend(spends, mallory.pkh, COIN)
