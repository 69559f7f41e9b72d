"""Invariants any honest node must keep, checked from scratch (tests and soak runs).

These restate "after a partition heals" (docs/ARCHITECTURE.md) as code that
does not trust the structures it checks: the UTXO set is compared with a
replay of the active chain from genesis, the mempool is re-checked input by
input. Each check returns plain sentences; an empty list means all is well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.chain.tx import OutPoint
from lab.chain.utxo import Coin, UtxoSet
from lab.chain.validation import connect_block
from lab.params import MAX_ORPHAN_TX_BYTES

if TYPE_CHECKING:
    from lab.chain.chainstate import ChainState
    from lab.chain.node_state import NodeState


def replay_utxo(chain: ChainState) -> dict[OutPoint, Coin]:
    """The UTXO set rebuilt by applying the active chain's blocks from genesis, naively."""
    coins: dict[OutPoint, Coin] = {}
    for idx in chain.active[1:]:  # the genesis coinbase is never spendable
        for tx in chain.blocks[idx.hash].txs:
            if not tx.is_coinbase():
                for txin in tx.inputs:
                    coins.pop(txin.prevout, None)
            for n, out in enumerate(tx.outputs):
                coins[OutPoint(tx.txid, n)] = Coin(out, idx.height, tx.is_coinbase())
    return coins


def double_spends(chain: ChainState) -> list[OutPoint]:
    """Outpoints spent more than once on the active chain (must be empty)."""
    seen: set[OutPoint] = set()
    twice: list[OutPoint] = []
    for idx in chain.active[1:]:
        for tx in chain.blocks[idx.hash].txs[1:]:
            for txin in tx.inputs:
                if txin.prevout in seen:
                    twice.append(txin.prevout)
                seen.add(txin.prevout)
    return twice


def check_undo_roundtrip(chain: ChainState) -> list[str]:
    """Disconnecting the tip on a copy of the UTXO set, then connecting it again, restores it exactly."""
    tip = chain.tip
    if tip.parent is None:
        return []
    before = chain.utxo.snapshot()
    copy = UtxoSet()
    for op, coin in before.items():
        copy.add(op, coin)
    block = chain.blocks[tip.hash]
    copy.disconnect_block(block.txs, chain.undo[tip.hash])
    problems = []
    if len(copy) > len(before) + sum(len(t.inputs) for t in block.txs[1:]):
        problems.append("disconnecting the tip restored more coins than it spent")
    undo = connect_block(block, tip.height, copy, chain.consensus, chain.sigcache)
    if copy.snapshot() != before:
        problems.append("disconnect then connect of the tip did not restore the UTXO set")
    if undo != chain.undo[tip.hash]:
        problems.append("reconnecting the tip produced different undo data")
    return problems


def check_chain(chain: ChainState) -> list[str]:
    problems: list[str] = []
    replay = replay_utxo(chain)
    if chain.utxo.snapshot() != replay:
        missing = len(replay.keys() - chain.utxo.snapshot().keys())
        extra = len(chain.utxo.snapshot().keys() - replay.keys())
        problems.append(f"UTXO set differs from a replay of the active chain ({missing} missing, {extra} extra)")
    for op in double_spends(chain):
        problems.append(f"outpoint {op} is spent twice on the active chain")
    issued = sum(chain.consensus.subsidy(h) for h in range(1, chain.height + 1))
    if chain.utxo.total_value() > issued:
        problems.append(f"{chain.utxo.total_value()} base units exist but only {issued} were issued")
    tip = chain.tip
    for idx in chain.index.values():
        if idx.available and not idx.failed and idx.chain_work > tip.chain_work:
            problems.append(f"valid block {idx.header.short} has more work than the tip {tip.header.short}")
    for height, idx in enumerate(chain.active):
        if idx.height != height or (height and chain.active[height - 1] is not idx.parent) or idx.failed:
            problems.append(f"active chain is broken at height {height}")
    expected_index = {tx.txid for idx in chain.active[1:] for tx in chain.blocks[idx.hash].txs}
    if set(chain.tx_index) != expected_index:
        problems.append("tx index does not match the active chain")
    problems += check_undo_roundtrip(chain)
    return problems


def check_mempool(state: NodeState) -> list[str]:
    problems: list[str] = []
    chain, pool = state.chain, state.mempool
    spenders: dict[OutPoint, bytes] = {}
    for txid, entry in pool.entries.items():
        if txid in chain.tx_index:
            problems.append(f"mempool tx {entry.tx.txid_hex[:12]} is already confirmed")
        if entry.tx.is_coinbase():
            problems.append(f"mempool holds coinbase {entry.tx.txid_hex[:12]}")
        for txin in entry.tx.inputs:
            op = txin.prevout
            if op in spenders:
                problems.append(f"mempool txs {entry.tx.txid_hex[:12]} and {spenders[op].hex()[:12]} conflict on {op}")
            spenders[op] = txid
            parent = pool.entries.get(op.txid)
            if op not in chain.utxo and (parent is None or op.index >= len(parent.tx.outputs)):
                problems.append(f"mempool tx {entry.tx.txid_hex[:12]} spends missing output {op}")
            if parent is not None and parent.seq > entry.seq:
                problems.append(f"mempool tx {entry.tx.txid_hex[:12]} arrived before its parent")
    if spenders != pool.spent_by:
        problems.append("mempool spent_by index is out of step with its transactions")
    return problems


def check_limits(state: NodeState) -> list[str]:
    """The bounded stores (issue 12) hold what their counters say, within their caps."""
    problems: list[str] = []
    chain, pool = state.chain, state.mempool
    side = {h: b.size for h, b in chain.blocks.items() if not chain.on_active(h)}
    if side != chain.side.sizes or chain.side.bytes != sum(side.values()):
        problems.append("side-branch byte count is out of step with the stored blocks")
    tip_work = chain.tip.chain_work
    droppable = [h for h in side if chain.index[h].chain_work < tip_work
                 and not any(c.have_data for c in chain.index[h].children)]  # a least-work branch tip
    if chain.side.over() and droppable:
        problems.append(f"side branches hold {chain.side.bytes} bytes, over {chain.side.max_bytes}")
    if chain.orphans.bytes != sum(b.size for _, b in chain.orphans.items()) or chain.orphans.bytes > chain.orphans.max_bytes:
        problems.append("orphan pool bytes are wrong or over the cap")
    if sum(t.size for t in pool.orphans.values()) > MAX_ORPHAN_TX_BYTES or len(pool.orphans) > pool.max_orphans:
        problems.append("the orphan transaction pool is over its cap")
    if pool.bytes != sum(e.size for e in pool.entries.values()):
        problems.append("mempool byte count is out of step with its transactions")
    for txid, e in pool.entries.items():
        anc = [txid, *pool.ancestors(txid)]
        desc = [txid, *pool.descendants(txid)]
        t = pool.totals.get(txid)
        want = (len(anc), sum(pool.entries[a].size for a in anc), sum(pool.entries[a].fee for a in anc),
                len(desc), sum(pool.entries[d].size for d in desc))
        if t is None or (t.anc_count, t.anc_size, t.anc_fee, t.desc_count, t.desc_size) != want:
            problems.append(f"mempool totals of {e.tx.txid_hex[:12]} are out of step")
        elif len(anc) > pool.max_ancestors or len(desc) > pool.max_descendants:
            problems.append(f"mempool tx {e.tx.txid_hex[:12]} breaks the chain limits")
    return problems


def check_node(state: NodeState) -> list[str]:
    """Every invariant of one node; an empty list means all hold."""
    return check_chain(state.chain) + check_mempool(state) + check_limits(state)
