"""Stories of forks and reorganisations, told in phases.

Each story starts with node A mining; a rival branch is built elsewhere and
delivered to A; the test checks where A ends up, what it narrated, and what
happened to its mempool.
"""

from __future__ import annotations

import pytest
from chainkit import raised

from lab.chain.events import (
    BlockOrphaned,
    BlockRejected,
    Reorg,
    SideBranch,
    TipChanged,
    TxEvicted,
    TxReturned,
)
from lab.chain.invariants import check_node
from lab.chain.tx import OutPoint, TxOut
from lab.errors import ValidationError
from lab.params import COIN


def kinds(events) -> list[str]:
    return [e.kind for e in events]


def test_a_shorter_side_branch_causes_no_reorg(world) -> None:
    # Phase 1: Alice mines three blocks.
    a = world.node("A")
    world.mine(a, 3)
    tip = a.chain.tip
    # Phase 2: a rival block forks off at height 1: shorter, stored as a side branch.
    shorter, level = world.branch(a, a.chain.active[1].hash, 2)
    result = a.process_block(shorter)
    assert result.status == "side-branch"
    assert [type(e) for e in result.events] == [SideBranch]
    # Phase 3: a second rival block brings the branch level with the tip: first seen still wins.
    assert a.process_block(level).status == "side-branch"
    assert a.chain.tip is tip
    assert a.chain.status_of(level.hash) == "side"
    assert check_node(a) == []


def test_a_longer_branch_reorgs_and_its_txs_return_to_the_mempool(funded) -> None:
    world, a = funded  # A has 4 blocks; the coinbases of blocks 1 and 2 are mature
    bob = world.key("B")
    # Phase 1: Alice pays Bob, then pays him again from her unconfirmed change.
    first = a.wallet.pay(bob.pkh, 10 * COIN)
    a.accept_tx(first)
    second = a.wallet.pay(bob.pkh, 60 * COIN)  # needs the 50 coin and the change
    a.accept_tx(second)
    assert any(i.prevout.txid == first.txid for i in second.inputs)
    # Phase 2: Alice mines both into block 5.
    (b5,) = world.mine(a)
    assert a.chain.tx_block(first.txid).hash == b5.hash
    assert len(a.mempool) == 0
    # Phase 3: a rival branch from height 4 grows to two blocks and overtakes.
    r5, r6 = world.branch(a, a.chain.active[4].hash, 2, to=bob.pkh)
    assert a.process_block(r5).status == "side-branch"
    result = a.process_block(r6)
    assert result.status == "new-tip"
    assert a.chain.tip.hash == r6.hash
    reorg = next(e for e in result.events if isinstance(e, Reorg))
    assert (reorg.fork_height, reorg.dropped, reorg.adopted) == (4, (b5.hash,), (r5.hash, r6.hash))
    assert kinds(result.events) == [
        "block-disconnected", "block-connected", "block-connected", "reorg", "tip-changed",
        "tx-returned", "tx-returned",
    ]
    # Phase 4: both payments are back in the mempool, in chain order; the coinbase is not.
    assert a.mempool.txs() == [first, second]
    assert [e.txid for e in result.events if isinstance(e, TxReturned)] == [first.txid, second.txid]
    assert b5.txs[0].txid not in a.mempool
    assert result.accepted_txs == (first, second)
    assert check_node(a) == []


def test_a_branch_that_double_spends_evicts_the_loser_and_its_child(funded) -> None:
    world, a = funded
    bob = world.key("B")
    pay = a.wallet.pay(bob.pkh, 10 * COIN)
    a.accept_tx(pay)
    child = a.wallet.pay(bob.pkh, 55 * COIN)  # the other mature coin plus pay's change
    assert any(i.prevout.txid == pay.txid for i in child.inputs)
    a.accept_tx(child)
    # A rival block spends the same coin elsewhere (Alice's key, another payee).
    op = pay.inputs[0].prevout
    out = a.chain.utxo[op].out
    theft = world.signed_tx(a.key, [(op, out)], [TxOut.to_pkh(out.value - 10_000, world.key("M").pkh)])
    result = a.process_block(world.block_on(a, txs=[theft]))
    evicted = [e for e in result.events if isinstance(e, TxEvicted)]
    assert [(e.txid, e.code) for e in evicted] == [(pay.txid, "conflict"), (child.txid, "conflict")]
    assert len(a.mempool) == 0
    assert check_node(a) == []


def test_a_reorg_evicts_what_is_no_longer_valid(funded) -> None:
    """A tx spending a coinbase of a dropped block cannot come back: that coin is gone."""
    world, a = funded
    world.mine(a, 3)  # blocks 5..7
    # Spend block 4's coinbase, valid in block 8 on A's chain.
    cb4 = a.chain.blocks[a.chain.active[4].hash].txs[0]
    spend = world.signed_tx(a.key, [(OutPoint(cb4.txid, 0), cb4.outputs[0])], [TxOut.to_pkh(cb4.outputs[0].value - 10_000, a.key.pkh)])
    a.accept_tx(spend)
    # A rival branch from height 3 outgrows A's chain: block 4 (and its coinbase) is dropped.
    rival = world.branch(a, a.chain.active[3].hash, 5, to=world.key("B").pkh)
    events = []
    for block in rival:
        events += a.process_block(block).events
    assert a.chain.tip.hash == rival[-1].hash
    evicted = [e for e in events if isinstance(e, TxEvicted)]
    assert [(e.txid, e.code) for e in evicted] == [(spend.txid, "bad-txns-inputs-missingorspent")]
    assert check_node(a) == []


def test_an_invalid_block_inside_a_longer_branch_leaves_the_node_on_its_valid_chain(funded) -> None:
    world, a = funded
    waiting = a.wallet.pay(world.key("B").pkh, COIN)
    a.accept_tx(waiting)
    world.mine(a, 1)  # height 5
    a.accept_tx(a.wallet.pay(world.key("B").pkh, 2 * COIN))
    tip, pool = a.chain.tip, a.mempool.txs()
    # Phase 1: a rival branch from height 3 reaches height 5: equal work, no reorg.
    r4, r5 = world.branch(a, a.chain.active[3].hash, 2)
    for block in (r4, r5):
        assert a.process_block(block).status == "side-branch"
    # Phase 2: its sixth block overpays its miner. It would win on work, so A tries it...
    r6 = world.block_on(a, r5.hash, fees=1)
    result = a.process_block(r6)
    assert result.status == "invalid" and result.error is not None
    assert result.error.code == "bad-cb-amount"
    events = result.events
    assert kinds(events)[:4] == ["block-disconnected", "block-disconnected", "block-connected", "block-connected"]
    assert BlockRejected(r6.hash, "bad-cb-amount", result.error.detail) in events
    # ...and comes back to its own chain, mempool intact.
    assert a.chain.tip is tip
    assert not any(isinstance(e, TipChanged) for e in events)
    assert a.mempool.txs() == pool
    assert a.chain.status_of(r6.hash) == "failed"
    # Phase 3: a block built on the invalid one is refused at once.
    r7 = world.block_on(a, r6.hash)
    with pytest.raises(ValidationError, match="bad-prevblk"):
        raised(a.process_block(r7))
    assert check_node(a) == []


def test_headers_first_branch_with_a_bad_middle_block(funded) -> None:
    """Blocks of a branch arrive last-first; the one that fails takes its descendants with it."""
    world, a = funded
    rival = world.branch(a, a.chain.active[2].hash, 1)  # height 3, valid
    # Build r4 as an overpaying block, then r5, r6 on top of it, on a scratch copy.
    scratch = world.node("S")
    for h in range(1, 3):
        scratch.process_block(a.chain.blocks[a.chain.active[h].hash])
    scratch.process_block(rival[0])
    r4 = world.block_on(scratch, rival[0].hash, fees=1)
    scratch.chain.accept_header(r4.header)
    r5 = world.block_on(scratch, r4.hash)
    scratch.chain.accept_header(r5.header)
    r6 = world.block_on(scratch, r5.hash)
    branch = [rival[0], r4, r5, r6]
    fetch = a.process_headers([b.header for b in branch])
    assert fetch == [b.hash for b in branch]
    assert a.chain.best_header.hash == r6.hash
    assert a.chain.missing_blocks(10) == fetch
    tip = a.chain.tip
    for block in reversed(branch[1:]):
        assert a.process_block(block).status == "side-branch"  # stored, parent data still missing
    result = a.process_block(branch[0])
    assert a.chain.tip is tip
    assert result.status == "side-branch"
    assert any(isinstance(e, BlockRejected) and e.hash == r4.hash for e in result.events)
    assert [a.chain.status_of(b.hash) for b in branch] == ["side", "failed", "failed", "failed"]
    assert a.chain.best_header is tip
    assert check_node(a) == []


def test_an_orphan_block_connects_when_its_parent_arrives(world) -> None:
    a = world.node("A")
    world.mine(a, 1)
    b2, b3, b4 = world.branch(a, a.chain.tip.hash, 3)
    for block in (b4, b3):
        result = a.process_block(block)
        assert result.status == "orphan"
        assert [type(e) for e in result.events] == [BlockOrphaned]
    assert a.chain.contains(b4.hash) and b4.hash not in a.chain.index
    result = a.process_block(b2)
    assert result.status == "new-tip"
    assert a.chain.tip.hash == b4.hash
    assert kinds(result.events) == ["block-connected"] * 3 + ["tip-changed"]
    assert not a.chain.orphans
    assert check_node(a) == []


def test_the_orphan_pool_is_bounded_and_evicts_the_oldest(world) -> None:
    a = world.node("A", max_orphan_blocks=2)
    source = world.node("src")
    world.mine(source, 1)
    b2, b3, b4 = world.branch(source, source.chain.tip.hash, 3)
    for block in (b4, b3, b2):  # b1 is still unknown to A: all three are orphans
        a.process_block(block)
    assert list(a.chain.orphans) == [b3.hash, b2.hash]  # b4, the oldest, was evicted
    a.process_block(source.chain.blocks[source.chain.tip.hash])
    assert a.chain.tip.hash == b3.hash
    assert a.process_block(b4).status == "new-tip"


def test_equal_work_first_seen_wins_then_more_work_wins(world) -> None:
    a = world.node("A")
    world.mine(a, 2)
    first = world.block_on(a)
    second = world.block_on(a, a.chain.tip.hash, to=world.key("B").pkh)
    assert a.process_block(first).status == "new-tip"
    assert a.process_block(second).status == "side-branch"
    assert a.chain.tip.hash == first.hash
    child = world.block_on(a, second.hash)
    assert a.process_block(child).status == "new-tip"
    assert a.chain.tip.hash == child.hash


def test_two_nodes_sync_by_locator_headers_and_blocks(world) -> None:
    a, b = world.node("A"), world.node("B")
    world.mine(a, 5, also=[b])
    world.mine(a, 20)  # B falls behind
    world.mine(b, 2)  # and mines a fork of its own
    headers = a.chain.headers_after(b.chain.locator())
    assert headers[0].prev_hash == a.chain.active[5].hash
    assert len(headers) == 20
    fetch = b.process_headers(headers)
    assert fetch == b.chain.missing_blocks(100) == [h.hash for h in headers]
    for h in fetch:
        b.process_block(a.get_block(h))
    assert b.chain.tip.hash == a.chain.tip.hash
    assert b.chain.utxo.snapshot() == a.chain.utxo.snapshot()
    assert check_node(a) == check_node(b) == []


def test_locator_shape(world) -> None:
    a = world.node("A")
    world.mine(a, 40)
    loc = a.chain.locator()
    heights = [a.chain.index[h].height for h in loc]
    assert heights[:10] == list(range(40, 30, -1))
    assert heights[-1] == 0
    assert all(x > y for x, y in zip(heights, heights[1:], strict=False))
    assert a.chain.find_fork(loc).hash == a.chain.tip.hash
    assert a.chain.headers_after(loc) == []
    stop = a.chain.active[8].hash
    assert [h.hash for h in a.chain.headers_after([a.chain.active[5].hash], stop)] == [
        a.chain.active[i].hash for i in (6, 7, 8)
    ]


# --- blocks are stored only when they earn it (issue 12) -------------------------------------------
def test_an_orphan_whose_bits_are_easier_than_the_lab_ever_requires_is_refused(make_world) -> None:
    world = make_world(4)
    a = world.node("A")
    world.mine(a, 2)
    from lab.chain.pow import bits_for_zero_bits

    easy = world.remine(world.block_on(a), prev_hash=b"\x42" * 32, bits=bits_for_zero_bits(1))
    result = a.process_block(easy)
    assert (result.status, result.error.code, result.error.punish) == ("invalid", "bad-diffbits", True)
    assert not a.chain.orphans
    same = world.remine(world.block_on(a), prev_hash=b"\x42" * 32)  # the lab's bits: kept as an orphan
    assert a.process_block(same).status == "orphan"


def test_the_orphan_pool_is_bounded_by_bytes_too(world) -> None:
    a = world.node("A")
    source = world.node("src")
    world.mine(source, 1)
    b2, b3, b4 = world.branch(source, source.chain.tip.hash, 3)
    a.chain.orphans.max_bytes = b3.size + b2.size  # room for two
    for block in (b4, b3, b2):
        assert a.process_block(block).status == "orphan"
    assert a.chain.orphans.bytes <= a.chain.orphans.max_bytes and list(a.chain.orphans) == [b3.hash, b2.hash]
    assert b2.hash in a.chain.orphans  # the newest stays, the oldest went


def test_an_unrequested_block_with_less_work_is_not_stored_but_an_equal_one_is(world) -> None:
    a = world.node("A")
    world.mine(a, 3)
    (low,) = world.branch(a, a.chain.active[1].hash, 1)  # height 2 < 3
    result = a.process_block(low, requested=False)
    assert (result.status, result.error.code, result.error.punish) == ("ignored", "unrequested-less-work", False)
    assert low.hash in a.chain.index and low.hash not in a.chain.blocks  # header checked and kept, data not
    assert a.process_block(low).status == "side-branch"  # asked for: stored
    (level,) = world.branch(a, a.chain.active[2].hash, 1)  # height 3: as much work as the tip
    assert a.process_block(level, requested=False).status == "side-branch"
    assert check_node(a) == []


def test_side_branches_are_bounded_by_bytes_least_work_first(world) -> None:
    a = world.node("A")
    world.mine(a, 4)
    deep = world.branch(a, a.chain.active[0].hash, 2)  # work 2
    shallow = world.branch(a, a.chain.active[2].hash, 1)  # work 3
    per_block = deep[0].size
    a.chain.side.max_bytes = 2 * per_block + per_block // 2  # room for two small blocks
    for block in deep + shallow:
        a.process_block(block)
    # deep[1] had the least work of the leaves when the cap was passed: its data, and header, went.
    assert deep[1].hash not in a.chain.index and deep[1].hash not in a.chain.blocks
    assert shallow[0].hash in a.chain.blocks and deep[0].hash in a.chain.blocks
    assert a.chain.side.bytes <= a.chain.side.max_bytes
    assert a.chain.tip.height == 4
    assert check_node(a) == []


def test_a_side_branch_with_the_tips_work_is_never_dropped(world) -> None:
    a = world.node("A")
    world.mine(a, 2)
    rival = world.branch(a, a.chain.active[0].hash, 2)
    a.chain.side.max_bytes = rival[0].size  # room for one block of the two
    for block in rival:
        a.process_block(block)
    assert all(b.hash in a.chain.blocks for b in rival)  # as much work as A's own chain: it may yet win
    more = world.block_on(a, rival[-1].hash)
    assert a.process_block(more).status == "new-tip"
    assert check_node(a) == []


def test_headers_ending_far_below_the_tips_work_are_ignored(make_world) -> None:
    from lab.params import MIN_CHAIN_WORK_DEPTH

    world = make_world(1)
    a = world.node("A")
    world.mine(a, MIN_CHAIN_WORK_DEPTH + 10)
    known = len(a.chain.index)
    low = world.branch(a, a.chain.active[0].hash, 5)  # ends MIN_CHAIN_WORK_DEPTH + 5 blocks below
    assert a.process_headers([b.header for b in low]) == []
    assert len(a.chain.index) == known
    near = world.branch(a, a.chain.active[a.chain.height - 3].hash, 2)  # a fork near the tip: kept
    assert a.process_headers([b.header for b in near]) == [b.hash for b in near]
