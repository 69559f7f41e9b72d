"""Mempool packages: ancestor/descendant totals, chain limits, and block template selection.

realname: CTxMemPoolEntry's nSizeWithAncestors / nModFeesWithAncestors /
nCountWithDescendants, CTxMemPool::CalculateMemPoolAncestors with its limits
(-limitancestorcount 25, -limitancestorsize 101 kvB, and the same for
descendants), and BlockAssembler::addPackageTxs.

Totals are kept per entry and updated as transactions enter and leave
(incremental), so a template starts from them instead of walking every
ancestor of every transaction. With the limits, every walk in here visits at
most MAX_ANCESTORS or MAX_DESCENDANTS transactions, so neither acceptance nor
a template can be made slow by a long chain of unconfirmed transactions.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from lab.chain.crypto import hash_hex
from lab.chain.validation import fail

if TYPE_CHECKING:
    from lab.chain.mempool import Mempool
    from lab.chain.tx import Tx


@dataclass(slots=True)
class Totals:
    """A mempool tx's package totals, itself included (realname: ...WithAncestors / ...WithDescendants)."""

    anc_count: int
    anc_size: int  # bytes
    anc_fee: int  # base units
    desc_count: int
    desc_size: int  # bytes


def walk(start: list[bytes], step: Callable[[bytes], list[bytes]], stop_after: int) -> list[bytes]:
    """Breadth-first closure of `start` under `step`, in discovery order; stops past `stop_after` found."""
    out: list[bytes] = []
    seen: set[bytes] = set()
    queue = list(start)
    for t in queue:
        if t not in seen:
            seen.add(t)
            out.append(t)
            if len(out) > stop_after:
                break
            queue.extend(step(t))
    return out


def check_chain_limits(pool: Mempool, tx: Tx) -> list[bytes]:
    """The mempool ancestors of `tx`, or too-long-mempool-chain if a limit would be broken."""
    parents = list(dict.fromkeys(i.prevout.txid for i in tx.inputs if i.prevout.txid in pool.entries))
    ancestors = walk(parents, pool.parents, pool.max_ancestors)
    if len(ancestors) + 1 > pool.max_ancestors:
        raise fail("too-long-mempool-chain", f"too many unconfirmed ancestors [limit: {pool.max_ancestors}]", punish=False)
    size = tx.size + sum(pool.entries[a].size for a in ancestors)
    if size > pool.max_ancestor_bytes:
        raise fail("too-long-mempool-chain", f"exceeds ancestor size limit [limit: {pool.max_ancestor_bytes}]", punish=False)
    for a in ancestors:
        t = pool.totals[a]
        if t.desc_count + 1 > pool.max_descendants:
            raise fail("too-long-mempool-chain", f"too many descendants for tx {hash_hex(a)[:12]} "
                       f"[limit: {pool.max_descendants}]", punish=False)
        if t.desc_size + tx.size > pool.max_descendant_bytes:
            raise fail("too-long-mempool-chain", f"exceeds descendant size limit for tx {hash_hex(a)[:12]} "
                       f"[limit: {pool.max_descendant_bytes}]", punish=False)
    return ancestors


def added(pool: Mempool, txid: bytes, ancestors: list[bytes]) -> None:
    """`txid` just entered with these ancestors: its totals, and theirs."""
    e = pool.entries[txid]
    pool.totals[txid] = Totals(
        len(ancestors) + 1,
        e.size + sum(pool.entries[a].size for a in ancestors),
        e.fee + sum(pool.entries[a].fee for a in ancestors),
        1,
        e.size,
    )
    for a in ancestors:
        t = pool.totals[a]
        t.desc_count += 1
        t.desc_size += e.size


def removing(pool: Mempool, txid: bytes) -> None:
    """`txid` is about to leave: take it out of its ancestors' and descendants' totals."""
    e = pool.entries[txid]
    for a in pool.ancestors(txid):
        t = pool.totals[a]
        t.desc_count -= 1
        t.desc_size -= e.size
    for d in pool.descendants(txid):
        t = pool.totals[d]
        t.anc_count -= 1
        t.anc_size -= e.size
        t.anc_fee -= e.fee
    del pool.totals[txid]


def removing_staged(pool: Mempool, staged: list[bytes]) -> None:
    """`staged` is about to leave at once (realname: RemoveStaged / UpdateForRemoveFromMempool).

    Only the transactions that stay have totals to fix: each staying descendant
    loses its staged ancestors, each staying ancestor its staged descendants. A
    block that confirms whole chains of the mempool (the usual case) leaves none
    behind, so this costs one walk over `staged` instead of one walk over every
    remaining descendant per removed transaction (quadratic in a chain's length).
    Same totals as removing them one by one, parents first, as a block orders them.
    """
    if not staged:
        return
    gone = set(staged)
    everything = len(pool.entries)
    for d in walk(staged, pool.children, everything):
        if d not in gone:
            t = pool.totals[d]
            for a in pool.ancestors(d):
                if a in gone:
                    e = pool.entries[a]
                    t.anc_count -= 1
                    t.anc_size -= e.size
                    t.anc_fee -= e.fee
    for a in walk(staged, pool.parents, everything):
        if a not in gone:
            t = pool.totals[a]
            for d in pool.descendants(a):
                if d in gone:
                    t.desc_count -= 1
                    t.desc_size -= pool.entries[d].size
    for txid in staged:
        del pool.totals[txid]


def select(pool: Mempool, max_bytes: int) -> list[Tx]:
    """Txs for a block template, best ancestor fee rate first, parents before children.

    A tx's score is the fee rate of its package: itself and its ancestors not
    selected yet. It starts from the totals kept per entry and is lowered as
    ancestors are selected (realname: mapModifiedTx in addPackageTxs).

    The heap may hold stale entries: every candidate has an entry at least as
    good as its current score, and a popped entry whose score is no longer
    current is re-queued at the true one. So the pick is always the best
    current score, lowest arrival on a tie.
    """
    entries = pool.entries
    selected: set[bytes] = set()
    too_big: set[bytes] = set()
    order: list[Tx] = []
    room = max_bytes
    pkg_fee = {t: pool.totals[t].anc_fee for t in entries}
    pkg_size = {t: pool.totals[t].anc_size for t in entries}
    queued = {t: (pkg_fee[t], pkg_size[t]) for t in entries}  # a score some heap entry of t has, at least
    heap = [(-Fraction(pkg_fee[t], pkg_size[t]), e.seq, t) for t, e in entries.items()]
    heapq.heapify(heap)
    while heap:
        neg, seq, txid = heapq.heappop(heap)
        if txid in selected or txid in too_big:
            continue
        current = Fraction(pkg_fee[txid], pkg_size[txid])
        if current != -neg:  # an ancestor was selected since: re-queue at its true score
            heapq.heappush(heap, (-current, seq, txid))
            queued[txid] = (pkg_fee[txid], pkg_size[txid])
            continue
        size = pkg_size[txid]
        if size > room:
            too_big.add(txid)
            continue
        # with its unselected ancestors (what is selected has its ancestors selected)
        pkg = [txid, *(a for a in pool.ancestors(txid) if a not in selected)]
        pkg.sort(key=lambda t: entries[t].seq)
        for t in pkg:
            selected.add(t)
            order.append(entries[t].tx)
        room -= size
        changed: dict[bytes, None] = {}
        for t in pkg:
            e = entries[t]
            for d in pool.descendants(t):
                if d not in selected:
                    pkg_fee[d] -= e.fee
                    pkg_size[d] -= e.size
                    changed[d] = None
        for d in changed:  # only a better score needs a new entry; a worse one is caught when popped
            qf, qs = queued[d]
            if pkg_fee[d] * qs > qf * pkg_size[d]:
                heapq.heappush(heap, (-Fraction(pkg_fee[d], pkg_size[d]), entries[d].seq, d))
                queued[d] = (pkg_fee[d], pkg_size[d])
    return order
