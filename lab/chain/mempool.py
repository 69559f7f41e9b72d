"""The mempool: valid transactions waiting for a block (realname: CTxMemPool).

Follows Bitcoin Core's validation.cpp (MemPoolAccept) and txmempool.cpp:

- A transaction is fully validated against the active tip before it enters:
  consensus rules (validation.py), then policy rules a node applies only to
  what it relays (size, dust, minimum relay fee, low-S signatures).
- First seen wins: a transaction spending an output another mempool
  transaction already spends is refused (txn-mempool-conflict; the lab has
  no replace-by-fee).
- Chains of unconfirmed transactions are allowed: a child may spend a
  parent that is itself still in the mempool.
- A transaction whose parent we have never seen waits in an orphan pool
  bounded by count and bytes (realname: TxOrphanage; oldest evicted) and is
  retried when the parent arrives.
- When a block connects, its transactions leave the mempool, and so do
  transactions that spend what it spent, with their descendants
  (realname: removeForBlock). After a reorg, transactions from the
  disconnected blocks come back unless they now conflict or are invalid.
- Chains of unconfirmed transactions are limited: at most 25 ancestors and
  25 descendants per transaction, 101 kB each way (too-long-mempool-chain,
  realname: -limitancestorcount and friends), so nothing here walks far.
- The pool is bounded by count and by bytes. When full, a new transaction
  pushes out the lowest fee-rate leaves if it pays more; every eviction is
  a TxEvicted event with a code and a plain detail, never silent.
- Block templates pick transactions by fee rate, counting a transaction
  together with its unconfirmed ancestors, so parents always come before
  children (realname: BlockAssembler::addPackageTxs, "ancestor score"),
  from totals kept up to date per entry (packages.py).

Coinbase transactions never enter a mempool.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from lab.chain.block import Block
from lab.chain.chainstate import ChainState, TipUpdate
from lab.chain.crypto import hash_hex
from lab.chain.events import Event, TxAccepted, TxEvicted, TxOrphaned, TxRejected, TxReturned
from lab.chain.packages import Totals, added, check_chain_limits, removing, removing_staged, select
from lab.chain.policy import check_inputs_standard, check_standard_tx
from lab.chain.sigcache import SigCache
from lab.chain.tx import OutPoint, Tx
from lab.chain.utxo import MEMPOOL_HEIGHT, Coin
from lab.chain.validation import (
    check_transaction,
    check_tx_inputs,
    check_tx_signatures,
    fail,
    is_final_tx,
)
from lab.errors import ValidationError
from lab.params import (
    MAX_ANCESTOR_BYTES,
    MAX_ANCESTORS,
    MAX_DESCENDANT_BYTES,
    MAX_DESCENDANTS,
    MAX_MEMPOOL_BYTES,
    MAX_MEMPOOL_TXS,
    MAX_ORPHAN_TX_BYTES,
    MAX_ORPHAN_TXS,
    MIN_RELAY_FEE_PER_KB,
)

# Rejections that are about this node's state or policy, not the sender's honesty.
_NO_PUNISH = frozenset({"bad-txns-inputs-missingorspent", "bad-txns-premature-spend-of-coinbase"})


def min_relay_fee(size: int) -> int:
    """The smallest fee a transaction of `size` bytes must pay to be relayed (realname: GetFee)."""
    return size * MIN_RELAY_FEE_PER_KB // 1000


@dataclass(frozen=True, slots=True)
class MempoolEntry:
    """A transaction in the mempool with what the node learned checking it (realname: CTxMemPoolEntry)."""

    tx: Tx
    fee: int  # base units: inputs minus outputs
    seq: int  # arrival order; parents always arrive before their children
    time: int  # the node's clock when it arrived

    @property
    def size(self) -> int:
        return self.tx.size

    @property
    def feerate(self) -> Fraction:
        """Base units per byte, exact."""
        return Fraction(self.fee, self.tx.size)


@dataclass(frozen=True, slots=True)
class AcceptResult:
    status: str  # "accepted" | "orphan"
    accepted: tuple[Tx, ...]  # the tx (if accepted) and every orphan it unlocked, in order


class Mempool:
    """One node's pool of unconfirmed transactions."""

    def __init__(
        self,
        chain: ChainState,
        *,
        sigcache: SigCache | None = None,
        emit: Callable[[Event], None] | None = None,
        max_txs: int = MAX_MEMPOOL_TXS,
        max_orphans: int = MAX_ORPHAN_TXS,
        max_bytes: int = MAX_MEMPOOL_BYTES,
    ) -> None:
        self.chain = chain
        self.sigcache = sigcache
        self.events: list[Event] = []
        self.emit: Callable[[Event], None] = emit if emit is not None else self.events.append
        self.max_txs = max_txs
        self.max_orphans = max_orphans
        self.max_bytes = max_bytes
        self.max_ancestors, self.max_ancestor_bytes = MAX_ANCESTORS, MAX_ANCESTOR_BYTES
        self.max_descendants, self.max_descendant_bytes = MAX_DESCENDANTS, MAX_DESCENDANT_BYTES
        self.totals: dict[bytes, Totals] = {}  # txid -> package totals, kept as txs come and go
        self.bytes = 0  # serialised size of every entry
        self.entries: dict[bytes, MempoolEntry] = {}  # txid -> entry, in arrival order (mapTx)
        self.spent_by: dict[OutPoint, bytes] = {}  # outpoint -> txid of the mempool tx spending it (mapNextTx)
        self.orphans: dict[bytes, Tx] = {}  # txid -> tx waiting for a parent, oldest first
        self._seq = 0

    # --- queries ----------------------------------------------------------------
    def __contains__(self, txid: object) -> bool:
        return txid in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, txid: bytes) -> Tx | None:
        e = self.entries.get(txid)
        return e.tx if e else None

    def txs(self) -> list[Tx]:
        """Mempool transactions in arrival order."""
        return [e.tx for e in self.entries.values()]

    def total_fees(self) -> int:
        return sum(e.fee for e in self.entries.values())

    def get_coin(self, op: OutPoint) -> Coin | None:
        """An output from the chain's UTXO set or from a mempool tx (realname: CCoinsViewMemPool)."""
        coin = self.chain.utxo.get(op)
        if coin is not None:
            return coin
        e = self.entries.get(op.txid)
        if e is not None and op.index < len(e.tx.outputs):
            return Coin(e.tx.outputs[op.index], MEMPOOL_HEIGHT, False)
        return None

    def parents(self, txid: bytes) -> list[bytes]:
        """Mempool txs that `txid` spends from, in input order, each once."""
        out: list[bytes] = []
        for txin in self.entries[txid].tx.inputs:
            p = txin.prevout.txid
            if p in self.entries and p not in out:
                out.append(p)
        return out

    def children(self, txid: bytes) -> list[bytes]:
        """Mempool txs spending an output of `txid`, in output order."""
        out: list[bytes] = []
        for n in range(len(self.entries[txid].tx.outputs)):
            c = self.spent_by.get(OutPoint(txid, n))
            if c is not None and c not in out:
                out.append(c)
        return out

    def descendants(self, txid: bytes) -> list[bytes]:
        """Every mempool tx that depends on `txid`, breadth first (not including it)."""
        out: list[bytes] = []
        seen: set[bytes] = set()  # `out` in order, `seen` for the lookups: a long chain stays linear
        queue = deque([txid])
        while queue:
            for c in self.children(queue.popleft()):
                if c not in seen:
                    seen.add(c)
                    out.append(c)
                    queue.append(c)
        return out

    def ancestors(self, txid: bytes) -> list[bytes]:
        """Every mempool tx `txid` depends on (not including it)."""
        out: list[bytes] = []
        seen: set[bytes] = set()
        queue = deque([txid])
        while queue:
            for p in self.parents(queue.popleft()):
                if p not in seen:
                    seen.add(p)
                    out.append(p)
                    queue.append(p)
        return out

    # --- acceptance ---------------------------------------------------------------
    def accept(self, tx: Tx) -> AcceptResult:
        """realname: AcceptToMemoryPool. Raises ValidationError; missing parents -> orphan pool."""
        fee = self._accept_one(tx, allow_orphan=True)
        if fee is None:
            return AcceptResult("orphan", ())
        self.emit(TxAccepted(tx.txid, fee))
        return AcceptResult("accepted", (tx, *self._process_orphans([tx.txid])))

    def _accept_one(self, tx: Tx, *, allow_orphan: bool) -> int | None:
        """Validate and add one tx; return its fee, or None when it went to the orphan pool."""
        txid = tx.txid
        if txid in self.entries:
            raise fail("txn-already-in-mempool", punish=False)
        if txid in self.chain.tx_index or txid in self.orphans:
            raise fail("txn-already-known", punish=False)
        check_transaction(tx)
        if tx.is_coinbase():
            raise fail("coinbase")  # Bitcoin Core: TX_CONSENSUS, the peer is punished
        check_standard_tx(tx)  # policy (realname: IsStandardTx): rules for relay, not for blocks
        tip = self.chain.tip
        if not is_final_tx(tx, tip.height + 1, tip.median_time_past()):
            raise fail("non-final", f"locktime {tx.locktime} not reached for the next block", punish=False)
        for txin in tx.inputs:
            other = self.spent_by.get(txin.prevout)
            if other is not None:
                raise fail(
                    "txn-mempool-conflict",
                    f"output {txin.prevout} is already spent by mempool tx {hash_hex(other)[:12]}",
                    punish=False,
                )
        for txin in tx.inputs:
            if self.get_coin(txin.prevout) is None:
                parent = txin.prevout.txid
                if not allow_orphan or parent in self.chain.tx_index or parent in self.entries:
                    raise fail(
                        "bad-txns-inputs-missingorspent",
                        f"output {txin.prevout} is missing or already spent",
                        punish=False,
                    )
                self._add_orphan(tx, parent)
                return None
        try:
            coins, fee = check_tx_inputs(tx, self.get_coin, tip.height + 1, self.chain.consensus)
        except ValidationError as e:
            if e.code in _NO_PUNISH:
                e.punish = False
            raise
        need = min_relay_fee(tx.size)
        if fee < need:
            raise fail(
                "min relay fee not met",
                f"fee {fee} < {need} base units ({tx.size} bytes at {MIN_RELAY_FEE_PER_KB} per 1000 bytes)",
                punish=False,
            )
        ancestors = check_chain_limits(self, tx)
        victims = self._room_for(tx, fee)
        check_inputs_standard(tx, coins)
        check_tx_signatures(tx, coins, self.sigcache, policy=True)
        for victim in victims:
            if victim in self.entries:
                self._remove_recursive(victim, "mempool-full", "the mempool was full and it paid the lowest fee rate")
        self._add(tx, fee, ancestors)
        return fee

    def _room_for(self, tx: Tx, fee: int) -> list[bytes]:
        """When full: the txs to evict for `tx` (lowest fee rate leaves first), or raise mempool-full.

        realname: CTxMemPool::TrimToSize, simplified: only txs without
        children, and only those paying a lower fee rate than `tx`.
        """
        count = len(self.entries) + 1 - self.max_txs
        size = self.bytes + tx.size - self.max_bytes
        if count <= 0 and size <= 0:
            return []
        keep = {txin.prevout.txid for txin in tx.inputs}
        for p in list(keep):
            if p in self.entries:
                keep.update(self.ancestors(p))
        rate = Fraction(fee, tx.size)
        leaves = sorted((e for t, e in self.entries.items() if t not in keep and self.totals[t].desc_count == 1),
                        key=lambda e: (e.feerate, -e.seq))  # lowest rate first; newest on a tie
        victims = []
        for e in leaves:
            if e.feerate >= rate:
                break
            victims.append(e.tx.txid)
            count, size = count - 1, size - e.size
            if count <= 0 and size <= 0:
                return victims
        raise fail("mempool-full", f"the mempool holds {len(self.entries)} txs ({self.bytes} bytes), "
                   "all paying at least this fee rate", punish=False)

    def _add(self, tx: Tx, fee: int, ancestors: list[bytes]) -> None:
        self._seq += 1
        self.entries[tx.txid] = MempoolEntry(tx, fee, self._seq, self.chain.clock())
        self.bytes += tx.size
        for txin in tx.inputs:
            self.spent_by[txin.prevout] = tx.txid
        added(self, tx.txid, ancestors)

    def _remove(self, txid: bytes) -> MempoolEntry:
        removing(self, txid)
        return self._forget(txid)

    def _forget(self, txid: bytes) -> MempoolEntry:
        """Drop the entry and its spends; its package totals are already accounted for."""
        e = self.entries.pop(txid)
        self.bytes -= e.size
        for txin in e.tx.inputs:
            if self.spent_by.get(txin.prevout) == txid:
                del self.spent_by[txin.prevout]
        return e

    def _remove_recursive(self, txid: bytes, code: str, detail: str) -> None:
        """Evict `txid` and everything depending on it (realname: removeRecursive)."""
        doomed = [txid, *self.descendants(txid)]
        for t in doomed:
            self._remove(t)
            self.emit(TxEvicted(t, code, detail if t == txid else f"its parent {hash_hex(txid)[:12]} left the mempool"))

    # --- orphans ------------------------------------------------------------------------
    def _add_orphan(self, tx: Tx, missing: bytes) -> None:
        """Keep `tx` until its parent comes; the oldest go first past MAX_ORPHAN_TXS or MAX_ORPHAN_TX_BYTES."""
        while self.orphans and (len(self.orphans) >= self.max_orphans
                                or sum(t.size for t in self.orphans.values()) + tx.size > MAX_ORPHAN_TX_BYTES):
            del self.orphans[next(iter(self.orphans))]  # evict the oldest
        self.orphans[tx.txid] = tx
        self.emit(TxOrphaned(tx.txid, missing))

    def _process_orphans(self, new_txids: list[bytes]) -> list[Tx]:
        """Retry orphans that spend any of `new_txids` (and then their own children)."""
        accepted: list[Tx] = []
        queue = list(new_txids)
        while queue and self.orphans:
            parent = queue.pop(0)
            for otxid, otx in list(self.orphans.items()):
                if otxid not in self.orphans or not any(i.prevout.txid == parent for i in otx.inputs):
                    continue
                del self.orphans[otxid]
                try:
                    fee = self._accept_one(otx, allow_orphan=True)
                except ValidationError as e:
                    self.emit(TxRejected(otxid, e.code, e.detail))
                    continue
                if fee is not None:
                    self.emit(TxAccepted(otxid, fee))
                    accepted.append(otx)
                    queue.append(otxid)
        return accepted

    def _drop_orphans_for(self, blocks: tuple[Block, ...]) -> None:
        """Forget orphans a block confirmed or made impossible (realname: EraseForBlock)."""
        if not self.orphans:
            return
        txids = {tx.txid for b in blocks for tx in b.txs}
        spent = {i.prevout for b in blocks for tx in b.txs[1:] for i in tx.inputs}
        for otxid, otx in list(self.orphans.items()):
            if otxid in txids or any(i.prevout in spent for i in otx.inputs):
                del self.orphans[otxid]

    # --- following the chain -------------------------------------------------------------
    def remove_for_block(self, block: Block) -> None:
        """realname: removeForBlock: drop what the block confirmed, evict what conflicts with it."""
        confirmed = [tx.txid for tx in block.txs[1:] if tx.txid in self.entries]
        removing_staged(self, confirmed)  # at once: a confirmed chain does not walk itself once per member
        for txid in confirmed:
            self._forget(txid)
        for tx in block.txs[1:]:
            for txin in tx.inputs:
                other = self.spent_by.get(txin.prevout)
                if other is not None and other != tx.txid and other in self.entries:
                    self._remove_recursive(other, "conflict", f"block {block.short} spent {txin.prevout} first")
        self._drop_orphans_for((block,))

    def update_for_tip(self, update: TipUpdate) -> list[Tx]:
        """Follow the active chain's move; return txs that (re)entered the mempool.

        Without a reorg, each adopted block is removed as above. With one
        (realname: MaybeUpdateMempoolForReorg), the simplest correct way: take
        the disconnected blocks' transactions in chain order, then the mempool
        in arrival order, empty the pool and accept each again. Whatever fails
        now is evicted with the rule it breaks.
        """
        confirmed_txids = [tx.txid for b in update.adopted for tx in b.txs]
        if not update.dropped:
            for b in update.adopted:
                self.remove_for_block(b)
            return self._process_orphans(confirmed_txids)
        confirmed = set(confirmed_txids)
        spent_by_blocks = {i.prevout: b for b in update.adopted for tx in b.txs[1:] for i in tx.inputs}
        returning = [tx for b in update.dropped for tx in b.txs[1:] if tx.txid not in confirmed]
        existing = [e.tx for e in self.entries.values() if e.tx.txid not in confirmed]
        self.entries.clear()
        self.spent_by.clear()
        self.totals.clear()
        self.bytes = 0
        self._drop_orphans_for(update.adopted)
        back: list[Tx] = []
        for tx, is_returning in [(t, True) for t in returning] + [(t, False) for t in existing]:
            clash = next((i.prevout for i in tx.inputs if i.prevout in spent_by_blocks), None)
            if clash is not None:
                self.emit(TxEvicted(tx.txid, "conflict", f"block {spent_by_blocks[clash].short} spent {clash} first"))
                continue
            try:
                self._accept_one(tx, allow_orphan=False)
            except ValidationError as e:
                self.emit(TxEvicted(tx.txid, e.code, f"after the reorg: {e.detail}"))
                gone = next((i.prevout.txid for i in tx.inputs if self.get_coin(i.prevout) is None
                             and i.prevout.txid not in self.chain.tx_index), None)
                if e.code == "bad-txns-inputs-missingorspent" and gone is not None:
                    # Its parent left with the dropped blocks (their coinbase, or a tx
                    # evicted above). Keep it aside like an orphan: if a later reorg
                    # brings the parent back, the tx comes back too instead of being lost.
                    self._add_orphan(tx, gone)
                continue
            if is_returning:
                self.emit(TxReturned(tx.txid))
                back.append(tx)
        return back + self._process_orphans(confirmed_txids + [t.txid for t in back])

    # --- block templates ---------------------------------------------------------------------
    def select(self, max_bytes: int) -> list[Tx]:
        """Txs for a block template, best ancestor fee rate first, parents before children (packages.py)."""
        return select(self, max_bytes)
