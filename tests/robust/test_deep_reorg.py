"""Family 7: a 200-block reorganisation and back, with transactions on both sides.

The story: Alice (A) is cut off from Bob and Carol (B, C). Each side mines
about 200 blocks and makes payments; Bob also double-spends one of
Alice's payments on his side. Bob's side mines one block more. Heal: Alice
drops her 200 blocks and adopts Bob's 201; her payments that do not
conflict come back to the mempool, the double-spent one is gone, the ones
paid from her orphaned coinbases are dead. Then Alice's old branch grows
again, overtakes, and every node reorganises *back* 200+ blocks: Bob's
payments return and Alice's are confirmed again.

After each reorganisation: every node on the most-work tip, identical UTXO
sets equal to a replay, no double spend on the chain, coins issued never
exceed subsidies, undo data round-trips, nothing lost, no internal error.
"""

from __future__ import annotations

import pytest
from labtest import lab_session
from robustkit import converged_problems, internal_errors, lost_transactions, run
from test_nemesis import conflicting

from lab.chain.miner import make_template, mine
from lab.lab import Lab
from lab.params import COIN


def watch(lab: Lab) -> set[bytes]:
    accepted: set[bytes] = set()
    for node in lab.nodes.values():
        node.state.listeners.append(lambda ev: accepted.add(ev.txid) if ev.kind == "tx-accepted" else None)
    return accepted


def all_good(lab: Lab, accepted: set[bytes]) -> list[str]:
    return converged_problems(lab) + lost_transactions(lab, accepted) + internal_errors(lab)


def deepest_reorg(lab: Lab, node: str, since: int) -> int:
    return max((len(e.data["dropped"]) for e in lab.log[since:] if e.kind == "reorg" and e.node == node), default=0)


async def grow(lab: Lab, miner: str, blocks: int, payer: str, payee: str, every: int = 25) -> list[bytes]:
    """`miner` mines `blocks` blocks; `payer` pays `payee` every `every` blocks. Returns the txids."""
    paid = []
    for i in range(blocks):
        if i % every == 0:
            tx = await lab.send(payer, payee, 1 * COIN + i)
            paid.append(tx.txid)
        await lab.mine(miner)
        if i % 50 == 49:
            await lab.settle()
    await lab.settle()
    return paid


async def deep_reorg_and_back(depth: int) -> None:
    async with lab_session(nodes=3, difficulty=4, latency_ms=5) as (lab, _):
        accepted = watch(lab)
        # Everyone starts with coins; a first payment from Alice is confirmed everywhere.
        for name in ("A", "B"):
            await lab.mine(name, 6)
            await lab.settle()
        await lab.send("A", "C", 3 * COIN)
        await lab.mine("C")
        await lab.settle()
        assert not all_good(lab, accepted)

        # The split. Alice pays from coins everyone knows, then from her new rewards.
        await lab.partition([["A"], ["B", "C"]])
        fork_height = lab.nodes["A"].state.chain.height
        early = await lab.send("A", "B", 2 * COIN)  # spends a pre-split coin
        left = await grow(lab, "A", depth, "A", "C")
        left_tip = lab.nodes["A"].state.chain.tip.hash
        # Bob's side double-spends Alice's early payment, then outgrows her by one block.
        twin = conflicting(lab, "A", early, "C")
        lab.nodes["B"].submit_tx(twin)
        right = await grow(lab, "B", depth + 1, "B", "C")
        assert lab.nodes["B"].state.chain.height == fork_height + depth + 1

        # Heal: Alice reorganises 200 blocks deep onto Bob's chain.
        mark = len(lab.log)
        await lab.heal()
        await lab.settle()
        assert deepest_reorg(lab, "A", mark) >= depth
        problems = all_good(lab, accepted)
        assert not problems, problems
        a = lab.nodes["A"].state
        assert a.chain.tx_block(twin.txid) is not None  # the double spend that won is confirmed
        assert early.txid not in a.mempool and a.chain.tx_block(early.txid) is None  # the loser is gone
        assert all(lab.nodes[x].state.chain.tx_block(t) is not None for t in right for x in "ABC")
        assert left_tip in a.chain.index and not a.chain.on_active(left_tip)

        # And back: Alice's old branch grows until it has the most work again.
        mark = len(lab.log)
        node = lab.nodes["A"]
        parent = node.state.chain.index[left_tip]
        while node.state.chain.tip.hash != parent.hash:
            block = mine(make_template(node.state.chain, parent, node.state.key.pkh))
            node.submit_block(block)
            parent = node.state.chain.index[block.hash]
        await lab.settle()
        for name in "ABC":
            assert deepest_reorg(lab, name, mark) >= depth, name
        problems = all_good(lab, accepted)
        assert not problems, problems
        # Alice's left-side payments are confirmed again; Bob's first right-side payment (paid
        # from a coin both branches share) is back in every mempool. (Later ones that spent
        # right-side coinbases are dead now: all_good has checked that each is accounted for.)
        for t in left:
            assert lab.nodes["C"].state.chain.tx_block(t) is not None
        assert all(right[0] in lab.nodes[x].state.mempool for x in "ABC")
        # One more block confirms what the mempools hold; still nothing lost.
        await lab.mine("C")
        await lab.settle()
        problems = all_good(lab, accepted)
        assert not problems, problems
        print(f"deep reorg: {depth} blocks each way, height {lab.nodes['A'].state.chain.height}, "
              f"{len(accepted)} txs accepted, reorgs {lab.reorg_counts}")


def test_a_200_block_reorg_and_back_with_transactions():
    run(deep_reorg_and_back(200), timeout=200)


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_a_1000_block_reorg_and_back():
    run(deep_reorg_and_back(1000), timeout=900)


def test_a_payment_from_a_dropped_coinbase_comes_back_when_its_block_does():
    """Regression (found by the nemesis, seed 1069): a reorg away and straight back lost a payment.

    D paid from the coinbase of a block that a reorg dropped, so the payment
    left every mempool; when a second reorg brought the block back, the
    payment stayed lost. Now it waits aside and returns with its block.
    """
    async def story():
        async with lab_session(nodes=3, difficulty=4, latency_ms=5) as (lab, _):
            accepted = watch(lab)
            await lab.mine("A", 4)
            await lab.settle()
            # B mines a block alone, and pays from its coinbase once it has matured.
            await lab.partition([["A", "C"], ["B"]])
            await lab.mine("B", 4)
            b_tip = lab.nodes["B"].state.chain.tip
            pay = await lab.send("B", "C", 10 * COIN)
            spent = {i.prevout.txid for i in pay.inputs}
            assert spent & {lab.nodes["B"].state.chain.blocks[x.hash].txs[0].txid for x in lab.nodes["B"].state.chain.active[5:]}
            # The other side outgrows B: B reorganises away, its coinbases (and the payment) vanish.
            await lab.mine("A", 6)
            await lab.heal()
            await lab.settle()
            assert pay.txid not in lab.nodes["B"].state.mempool
            # B's branch comes back with more work: the payment must come back with it.
            node = lab.nodes["B"]
            parent = node.state.chain.index[b_tip.hash]
            while node.state.chain.tip.hash != parent.hash:
                block = mine(make_template(node.state.chain, parent, node.state.key.pkh))
                node.submit_block(block)
                parent = node.state.chain.index[block.hash]
            await lab.settle()
            assert pay.txid in node.state.mempool
            problems = all_good(lab, accepted)
            assert not problems, problems

    run(story())
