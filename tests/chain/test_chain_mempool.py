"""The mempool: chains of unconfirmed txs, orphans, templates by fee rate, following blocks."""

from __future__ import annotations

import pytest

from lab.chain.events import TxAccepted, TxEvicted, TxOrphaned, TxRejected
from lab.chain.invariants import check_node
from lab.chain.tx import OutPoint, TxOut, make_coinbase
from lab.errors import ValidationError
from lab.params import COIN


def coin(a, height: int):
    cb = a.chain.blocks[a.chain.active[height].hash].txs[0]
    return OutPoint(cb.txid, 0), cb.outputs[0]


def split(world, a, height: int, values: list[int], fee: int = 10_000):
    """A tx spending A's coinbase at `height` into outputs of `values` (rest is change... or fee)."""
    op, out = coin(a, height)
    outs = [TxOut.to_pkh(v, a.key.pkh) for v in values]
    rest = out.value - sum(values) - fee
    if rest:
        outs.append(TxOut.to_pkh(rest, a.key.pkh))
    return world.signed_tx(a.key, [(op, out)], outs)


def spend_output(world, a, tx, index: int, fee: int):
    out = tx.outputs[index]
    return world.signed_tx(a.key, [(OutPoint(tx.txid, index), out)], [TxOut.to_pkh(out.value - fee, a.key.pkh)])


def test_a_chain_of_unconfirmed_transactions(funded) -> None:
    world, a = funded
    parent = split(world, a, 1, [10 * COIN])
    child = spend_output(world, a, parent, 0, 10_000)
    grandchild = spend_output(world, a, child, 0, 10_000)
    for tx in (parent, child, grandchild):
        assert a.accept_tx(tx).status == "accepted"
    assert a.mempool.ancestors(grandchild.txid) == [child.txid, parent.txid]
    assert a.mempool.descendants(parent.txid) == [child.txid, grandchild.txid]
    (block,) = world.mine(a)
    assert [t.txid for t in block.txs[1:]] == [parent.txid, child.txid, grandchild.txid]
    assert len(a.mempool) == 0
    assert check_node(a) == []


def test_orphans_wait_for_their_parent_then_enter_in_order(funded) -> None:
    world, a = funded
    parent = split(world, a, 1, [10 * COIN])
    child = spend_output(world, a, parent, 0, 10_000)
    grandchild = spend_output(world, a, child, 0, 10_000)
    r = a.accept_tx(grandchild)
    assert (r.status, r.events) == ("orphan", (TxOrphaned(grandchild.txid, child.txid),))
    assert a.accept_tx(child).status == "orphan"
    assert a.has_tx(child.txid) and not a.get_tx(child.txid)
    r = a.accept_tx(parent)
    assert r.status == "accepted"
    assert r.accepted == [parent, child, grandchild]
    assert [e.txid for e in r.events if isinstance(e, TxAccepted)] == [parent.txid, child.txid, grandchild.txid]
    assert not a.mempool.orphans


def test_an_orphan_whose_parent_is_confirmed_in_a_block_is_retried(funded) -> None:
    world, a = funded
    b = world.node("B")
    for blk in list(a.chain.blocks.values())[1:]:
        b.process_block(blk)
    parent = split(world, a, 1, [10 * COIN])
    child = spend_output(world, a, parent, 0, 10_000)
    a.accept_tx(parent)
    assert b.accept_tx(child).status == "orphan"
    world.mine(a, also=[b])
    assert child.txid in b.mempool and not b.mempool.orphans


def test_the_orphan_pool_is_bounded(funded) -> None:
    world, a = funded
    small = world.node("S", max_orphan_txs=2)
    parent = split(world, a, 1, [10 * COIN, 10 * COIN, 10 * COIN])
    kids = [spend_output(world, a, parent, i, 10_000) for i in range(3)]
    for k in kids:
        small.accept_tx(k)
    assert list(small.mempool.orphans) == [kids[1].txid, kids[2].txid]


def test_an_orphan_that_turns_out_invalid_is_rejected(funded) -> None:
    world, a = funded
    parent = split(world, a, 1, [10 * COIN])
    greedy = world.signed_tx(a.key, [(OutPoint(parent.txid, 0), parent.outputs[0])], [TxOut.to_pkh(11 * COIN, a.key.pkh)])
    assert a.accept_tx(greedy).status == "orphan"
    r = a.accept_tx(parent)
    assert r.accepted == [parent]
    assert TxRejected(greedy.txid, "bad-txns-in-belowout", "inputs hold 10 coins, outputs pay 11") in r.events


def test_first_seen_wins_a_conflict(funded) -> None:
    world, a = funded
    first = split(world, a, 1, [10 * COIN])
    second = split(world, a, 1, [20 * COIN])
    a.accept_tx(first)
    with pytest.raises(ValidationError) as info:
        a.accept_tx(second)
    assert info.value.code == "txn-mempool-conflict"
    assert a.has_tx(second.txid)  # remembered as rejected until the next tip
    world.mine(a)
    assert not a.has_tx(second.txid)


def test_template_orders_by_fee_rate_with_parents_first(funded) -> None:
    world, a = funded
    low = split(world, a, 1, [10 * COIN], fee=1_000)  # ~0.3/ byte... cheap parent
    rich_child = spend_output(world, a, low, 0, 500_000)  # pays for its parent (CPFP)
    mid = split(world, a, 2, [10 * COIN], fee=50_000)
    for tx in (low, rich_child, mid):
        a.accept_tx(tx)
    chosen = a.mempool.select(1_000_000)
    assert [t.txid for t in chosen] == [low.txid, rich_child.txid, mid.txid]
    # With room for only one small tx, the best single tx that fits is taken.
    assert [t.txid for t in a.mempool.select(mid.size)] == [mid.txid]


def test_template_fees_go_to_the_miner(funded) -> None:
    world, a = funded
    tx = split(world, a, 1, [10 * COIN], fee=123_456)
    a.accept_tx(tx)
    t = a.block_template()
    assert (t.fees, t.height, t.coinbase_value) == (123_456, 5, 50 * COIN + 123_456)
    block = a.mine_block()
    assert block.txs[0].total_out() == 50 * COIN + 123_456
    assert a.process_block(block).status == "new-tip"


def test_a_full_mempool_evicts_the_lowest_fee_rate_leaf(funded) -> None:
    world, a = funded
    small = world.node("S", max_mempool=2)
    for blk in list(a.chain.blocks.values())[1:]:
        small.process_block(blk)
    world.mine(a, 1, also=[small])  # a third mature coinbase
    cheap = split(world, a, 1, [10 * COIN], fee=10_000)
    mid = split(world, a, 2, [10 * COIN], fee=20_000)
    rich = split(world, a, 3, [10 * COIN], fee=30_000)
    small.accept_tx(cheap)
    small.accept_tx(mid)
    r = small.accept_tx(rich)
    assert TxEvicted(cheap.txid, "mempool-full", "the mempool was full and it paid the lowest fee rate") in r.events
    assert small.mempool.txs() == [mid, rich]


def test_coinbase_never_enters_and_confirmed_txs_leave(funded) -> None:
    world, a = funded
    tx = split(world, a, 1, [10 * COIN])
    a.accept_tx(tx)
    (block,) = world.mine(a)
    assert a.accept_tx(block.txs[0]).code == "txn-already-known"
    with pytest.raises(ValidationError, match="coinbase"):
        a.accept_tx(make_coinbase(a.chain.height + 1, COIN, a.key.pkh))
    assert tx.txid not in a.mempool
    assert a.accept_tx(tx).code == "txn-already-known"


def test_events_reach_listeners_in_order(funded) -> None:
    world, a = funded
    seen = []
    a.listeners.append(seen.append)
    tx = split(world, a, 1, [10 * COIN])
    r = a.accept_tx(tx)
    world.mine(a)
    assert seen[0] == r.events[0]
    assert [e.kind for e in seen] == ["tx-accepted", "block-connected", "tip-changed"]


# --- chain limits and bounded eviction (issue 12) -------------------------------------------------
def test_a_chain_stops_at_25_unconfirmed_ancestors(funded) -> None:
    world, a = funded
    tx = split(world, a, 1, [10 * COIN])
    a.accept_tx(tx)
    for _ in range(24):
        tx = spend_output(world, a, tx, 0, 1_000)
        a.accept_tx(tx)
    too_long = spend_output(world, a, tx, 0, 1_000)
    with pytest.raises(ValidationError, match="too-long-mempool-chain") as info:
        a.accept_tx(too_long)
    assert not info.value.punish and "ancestors" in info.value.detail
    assert len(a.mempool) == 25
    assert check_node(a) == []
    (block,) = world.mine(a)  # the 25 confirm; the 26th fits now
    assert len(block.txs) == 26
    assert a.accept_tx(too_long).status == "accepted"
    assert check_node(a) == []


def test_a_tx_may_not_give_a_mempool_ancestor_more_than_25_descendants(funded) -> None:
    world, a = funded
    fan = split(world, a, 1, [COIN] * 30)
    a.accept_tx(fan)
    children = [spend_output(world, a, fan, i, 1_000) for i in range(25)]
    for c in children[:24]:
        a.accept_tx(c)
    with pytest.raises(ValidationError, match="too-long-mempool-chain") as info:
        a.accept_tx(children[24])
    assert "descendants" in info.value.detail
    assert check_node(a) == []


def test_a_mempool_full_by_bytes_evicts_and_says_so(funded) -> None:
    world, a = funded
    cheap = split(world, a, 1, [10 * COIN], fee=10_000)
    rich = split(world, a, 2, [10 * COIN], fee=90_000)
    a.mempool.max_bytes = cheap.size + rich.size - 1  # both do not fit
    a.accept_tx(cheap)
    r = a.accept_tx(rich)
    assert any(isinstance(e, TxEvicted) and e.txid == cheap.txid and e.code == "mempool-full" for e in r.events)
    assert a.mempool.txs() == [rich]
    assert check_node(a) == []


def test_a_template_from_a_full_pool_of_chains_takes_every_tx_parents_first(funded) -> None:
    """Twenty chains of 25 (how long building the template takes is not asserted here)."""
    world, a = funded
    fan = split(world, a, 1, [COIN] * 20)
    a.accept_tx(fan)
    world.mine(a)
    for i in range(20):
        tx = fan
        op = i
        for _ in range(25):
            tx = spend_output(world, a, tx, op, 1_000)
            a.accept_tx(tx)
            op = 0
    assert len(a.mempool) == 500
    chosen = a.mempool.select(1_000_000)
    assert len(chosen) == 500 and {t.txid for t in chosen} == {t.txid for t in a.mempool.txs()}
    position = {t.txid: n for n, t in enumerate(chosen)}
    for n, t in enumerate(chosen):
        assert all(position.get(i.prevout.txid, -1) < n for i in t.inputs), "a child before its parent"
    assert check_node(a) == []


def test_a_block_confirming_the_front_of_chains_leaves_the_rest_with_true_totals(funded) -> None:
    """The block takes a fan-out and the first two links of each chain; the tails stay, each with the
    ancestor and descendant totals a recount gives (the confirmed leave the mempool at once)."""
    world, a = funded
    fan = split(world, a, 1, [COIN] * 3)
    chains = []
    for i in range(3):
        tx, links = spend_output(world, a, fan, i, 1_000), []
        for _ in range(4):
            links.append(tx)
            tx = spend_output(world, a, tx, 0, 1_000)
        chains.append(links)
    for tx in [fan, *(t for links in chains for t in links)]:
        assert a.accept_tx(tx).status == "accepted"
    front = (fan, *(t for links in chains for t in links[:2]))
    fees = 10_000 + 1_000 * 6
    block = world.block_on(a, txs=front, fees=fees)
    a.process_block(block)
    assert a.chain.tip.hash == block.hash
    assert [t.txid for t in a.mempool.txs()] == [t.txid for links in chains for t in links[2:]]
    assert [a.mempool.totals[links[2].txid].anc_count for links in chains] == [1, 1, 1]
    assert [a.mempool.totals[links[3].txid].anc_count for links in chains] == [2, 2, 2]
    assert check_node(a) == []
