"""The block tree and the active chain: which chain this node believes, and why.

Follows Bitcoin Core's validation.cpp (realname: ChainstateManager /
Chainstate):

- Every header that passes its checks gets a BlockIndex in a tree, with the
  cumulative work of the chain ending there (realname: CBlockIndex,
  nChainWork). Block data may arrive later (headers-first sync).
- The active chain (realname: m_chain) is the valid chain with the most
  work among those whose blocks we all have. On equal work the one whose
  blocks we had first wins (realname: nSequenceId), so a node does not flip
  between two equally good tips.
- Switching chains (realname: ActivateBestChain) disconnects blocks back to
  the fork point using undo data, then connects the new branch block by
  block. If a block fails while connecting, it and its descendants are
  marked failed and the loop starts again: the node ends on the best chain
  that is still valid, usually the one it came from.
- A block whose parent is unknown waits in a bounded orphan pool (oldest
  evicted first) and is connected when the parent arrives.

Nothing here touches the mempool: node_state.py tells it what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lab.chain.block import GENESIS, Block, BlockHeader
from lab.chain.consensus import Consensus
from lab.chain.events import (
    BlockConnected,
    BlockDisconnected,
    BlockOrphaned,
    BlockRejected,
    Event,
    Reorg,
    SideBranch,
    TipChanged,
)
from lab.chain.pow import work_from_bits
from lab.chain.sigcache import SigCache
from lab.chain.utxo import BlockUndo, UtxoSet
from lab.chain.validation import (
    MUTATION_CODES,
    check_block,
    check_block_header,
    connect_block,
    contextual_check_block,
    contextual_check_block_header,
    fail,
)
from lab.errors import ValidationError
from lab.params import MAX_HEADERS, MAX_LOCATOR, MAX_ORPHAN_BLOCKS, MEDIAN_TIME_SPAN


class BlockIndex:
    """One known header in the block tree (realname: CBlockIndex)."""

    __slots__ = (
        "hash",
        "header",
        "height",
        "chain_work",
        "parent",
        "children",
        "have_data",
        "available",
        "failed",
        "fail_code",
        "seq",
        "header_seq",
    )

    def __init__(self, header: BlockHeader, parent: BlockIndex | None, header_seq: int) -> None:
        self.hash: bytes = header.hash
        self.header = header
        self.parent = parent  # realname: pprev
        self.height: int = parent.height + 1 if parent else 0  # realname: nHeight
        self.chain_work: int = (parent.chain_work if parent else 0) + work_from_bits(header.bits)  # nChainWork
        self.children: list[BlockIndex] = []  # in the order their headers arrived
        self.have_data = False  # we hold the full block (realname: BLOCK_HAVE_DATA)
        self.available = False  # we hold it and every ancestor (realname: nChainTx != 0)
        self.failed = False  # it or an ancestor broke a rule (realname: BLOCK_FAILED_MASK)
        self.fail_code = ""  # the reason code; "bad-prevblk" when an ancestor failed
        self.seq = 1 << 62  # order in which it became available; lower wins a tie (nSequenceId)
        self.header_seq = header_seq  # order in which its header arrived

    @property
    def time(self) -> int:
        return self.header.time

    def ancestor(self, height: int) -> BlockIndex:
        """The block at `height` on the chain ending here (realname: GetAncestor)."""
        if not 0 <= height <= self.height:
            raise ValueError(f"no ancestor at height {height} of a block at height {self.height}")
        idx = self
        while idx.height > height:
            idx = idx.parent  # type: ignore[assignment]
        return idx

    def median_time_past(self) -> int:
        """Median time of this block and the 10 before it (realname: GetMedianTimePast)."""
        times = []
        idx: BlockIndex | None = self
        while idx is not None and len(times) < MEDIAN_TIME_SPAN:
            times.append(idx.header.time)
            idx = idx.parent
        times.sort()
        return times[len(times) // 2]

    def __repr__(self) -> str:
        state = "failed" if self.failed else ("data" if self.have_data else "header")
        return f"BlockIndex({self.header.short} h={self.height} {state})"


def last_common_ancestor(a: BlockIndex, b: BlockIndex) -> BlockIndex:
    """The fork point of two chains (realname: LastCommonAncestor)."""
    while a.height > b.height:
        a = a.parent  # type: ignore[assignment]
    while b.height > a.height:
        b = b.parent  # type: ignore[assignment]
    while a is not b:
        a, b = a.parent, b.parent  # type: ignore[assignment]
    return a


@dataclass(frozen=True, slots=True)
class TipUpdate:
    """How the active chain moved during one activation (the net change)."""

    old_tip: BlockIndex
    new_tip: BlockIndex
    fork: BlockIndex
    dropped: tuple[Block, ...]  # left the active chain, ascending height
    adopted: tuple[Block, ...]  # joined the active chain, ascending height


@dataclass(frozen=True, slots=True)
class BlockOutcome:
    """What process_block did: status, the tip change, and the block's own failure if any."""

    status: str  # "new-tip" | "side-branch" | "orphan" | "duplicate" | "invalid"
    update: TipUpdate | None
    error: ValidationError | None = None


class ChainState:
    """One node's view of the block tree, active chain and UTXO set (realname: Chainstate)."""

    def __init__(
        self,
        consensus: Consensus,
        clock: Callable[[], int],
        *,
        sigcache: SigCache | None = None,
        emit: Callable[[Event], None] | None = None,
        max_orphans: int = MAX_ORPHAN_BLOCKS,
    ) -> None:
        self.consensus = consensus
        self.clock = clock  # virtual unix seconds; never time.time()
        self.sigcache = sigcache
        self.events: list[Event] = []  # kept only when no `emit` is given
        self.emit: Callable[[Event], None] = emit if emit is not None else self.events.append
        self.max_orphans = max_orphans

        self._header_seq = 0
        self._seq = 0
        genesis = BlockIndex(GENESIS.header, None, self._next_header_seq())
        genesis.have_data = genesis.available = True
        genesis.seq = self._next_seq()
        self.genesis = GENESIS
        self.index: dict[bytes, BlockIndex] = {genesis.hash: genesis}  # realname: m_block_index
        self.blocks: dict[bytes, Block] = {genesis.hash: GENESIS}  # the block store (blk*.dat)
        self.undo: dict[bytes, BlockUndo] = {}  # rev*.dat, for blocks on the active chain
        self.active: list[BlockIndex] = [genesis]  # realname: m_chain, indexed by height
        self.best_header: BlockIndex = genesis  # realname: m_best_header
        # The genesis coinbase is never added: in Bitcoin it cannot be spent either.
        self.utxo = UtxoSet()  # realname: CoinsTip()
        self.tx_index: dict[bytes, bytes] = {}  # txid -> hash of the active block holding it (-txindex)
        self.orphans: dict[bytes, Block] = {}  # blocks whose parent is unknown, oldest first
        self._candidates: dict[bytes, BlockIndex] = {genesis.hash: genesis}  # setBlockIndexCandidates

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _next_header_seq(self) -> int:
        self._header_seq += 1
        return self._header_seq

    # --- queries -----------------------------------------------------------------
    @property
    def tip(self) -> BlockIndex:
        return self.active[-1]

    @property
    def height(self) -> int:
        return len(self.active) - 1

    def contains(self, block_hash: bytes) -> bool:
        """True when this node needs no copy of the block: stored, orphaned or known bad."""
        idx = self.index.get(block_hash)
        return block_hash in self.blocks or block_hash in self.orphans or (idx is not None and idx.failed)

    def on_active(self, block_hash: bytes) -> bool:
        idx = self.index.get(block_hash)
        return idx is not None and idx.height < len(self.active) and self.active[idx.height] is idx

    def status_of(self, block_hash: bytes) -> str:
        """'active', 'side', 'failed', 'header-only', 'orphan' or 'unknown', for renderers."""
        idx = self.index.get(block_hash)
        if idx is None:
            return "orphan" if block_hash in self.orphans else "unknown"
        if idx.failed:
            return "failed"
        if self.on_active(block_hash):
            return "active"
        return "side" if idx.have_data else "header-only"

    def tx_block(self, txid: bytes) -> BlockIndex | None:
        """The active-chain block that confirms `txid`, or None."""
        h = self.tx_index.get(txid)
        return self.index[h] if h is not None else None

    def confirmations(self, txid: bytes) -> int:
        idx = self.tx_block(txid)
        return 0 if idx is None else self.height - idx.height + 1

    def locator(self, start: BlockIndex | None = None) -> list[bytes]:
        """Hashes back from `start` (default tip): 10 one by one, then doubling gaps, then genesis."""
        idx = start or self.tip
        out: list[bytes] = []
        step = 1
        height = idx.height
        while height > 0 and len(out) < MAX_LOCATOR - 1:
            out.append(idx.ancestor(height).hash if start else self.active[height].hash)
            if len(out) >= 10:
                step *= 2
            height -= step
        out.append(self.active[0].hash)
        return out

    def find_fork(self, locator: list[bytes]) -> BlockIndex:
        """The first locator entry on our active chain (realname: FindForkInGlobalIndex)."""
        for h in locator:
            if self.on_active(h):
                return self.index[h]
        return self.active[0]

    def headers_after(self, locator: list[bytes], stop: bytes | None = None, limit: int = MAX_HEADERS) -> list[BlockHeader]:
        """Active-chain headers after the fork with `locator`, up to `stop` or `limit` (getheaders)."""
        return [idx.header for idx in self._after(locator, stop, limit)]

    def blocks_after(self, locator: list[bytes], stop: bytes | None = None, limit: int = 500) -> list[bytes]:
        """Active-chain block hashes after the fork with `locator` (getblocks)."""
        return [idx.hash for idx in self._after(locator, stop, limit)]

    def _after(self, locator: list[bytes], stop: bytes | None, limit: int) -> list[BlockIndex]:
        fork = self.find_fork(locator)
        out = []
        for idx in self.active[fork.height + 1 :]:
            if len(out) >= limit:
                break
            out.append(idx)
            if idx.hash == stop:
                break
        return out

    def missing_blocks(self, limit: int) -> list[bytes]:
        """Blocks along best_header's chain we have only headers for, lowest first."""
        out = []
        idx: BlockIndex | None = self.best_header
        while idx is not None and not self.on_active(idx.hash):
            if not idx.have_data:
                out.append(idx.hash)
            idx = idx.parent
        out.reverse()
        return out[:limit]

    # --- headers -------------------------------------------------------------------
    def accept_header(self, header: BlockHeader) -> BlockIndex:
        """Check a header and add it to the tree (realname: AcceptBlockHeader)."""
        idx = self.index.get(header.hash)
        if idx is not None:
            if idx.failed:
                raise fail("duplicate-invalid", f"block {header.short} was already rejected ({idx.fail_code})")
            return idx
        check_block_header(header)
        parent = self.index.get(header.prev_hash)
        if parent is None:
            raise fail("prev-blk-not-found", f"parent {header.prev_hash[::-1].hex()[:16]}.. is unknown", punish=False)
        if parent.failed:
            raise fail("bad-prevblk", f"parent {parent.header.short} was rejected ({parent.fail_code})")
        contextual_check_block_header(header, parent, self.consensus, self.clock())
        idx = BlockIndex(header, parent, self._next_header_seq())
        self.index[idx.hash] = idx
        parent.children.append(idx)
        if idx.chain_work > self.best_header.chain_work:
            self.best_header = idx
        return idx

    def process_headers(self, headers: list[BlockHeader]) -> list[bytes]:
        """Accept a `headers` message; return hashes whose blocks we should fetch, in order."""
        fetch = []
        for i, header in enumerate(headers):
            if i and header.prev_hash != headers[i - 1].hash:
                raise fail("non-continuous-headers", "each header must build on the one before it")
            try:
                idx = self.accept_header(header)
            except ValidationError as e:
                if e.code != "prev-blk-not-found":
                    self.emit(BlockRejected(header.hash, e.code, e.detail))
                raise
            if not idx.have_data and not idx.failed:
                fetch.append(idx.hash)
        return fetch

    # --- blocks ------------------------------------------------------------------------
    def process_block(self, block: Block) -> BlockOutcome:
        """A block arrived (realname: ProcessNewBlock): store it, then activate the best chain.

        Raises ValidationError when the block is refused before it is stored. A
        block that fails only while connecting is returned with status "invalid"
        and its error, after the node is back on its best valid chain.
        """
        h = block.hash
        idx = self.index.get(h)
        if idx is not None and idx.have_data:
            if idx.failed:
                e = fail("duplicate-invalid", f"block {block.short} was already rejected ({idx.fail_code})")
                self.emit(BlockRejected(h, e.code, e.detail))
                raise e
            return BlockOutcome("duplicate", None)
        if h in self.orphans:
            return BlockOutcome("duplicate", None)
        if block.prev_hash not in self.index:
            try:
                check_block(block)  # junk (no proof of work, bad merkle) never enters the pool
            except ValidationError as e:
                self.emit(BlockRejected(h, e.code, e.detail))
                raise
            self._add_orphan(block)
            return BlockOutcome("orphan", None)
        try:
            self._accept_block(block)
        except ValidationError as e:
            self.emit(BlockRejected(h, e.code, e.detail))
            raise
        stored = [h, *self._accept_orphans(h)]
        update, failures = self.activate_best_chain()
        for sh in stored:
            sidx = self.index[sh]
            if not sidx.failed and sidx.available and not self.on_active(sh):
                self.emit(SideBranch(sh, sidx.height, self.tip.hash))
        idx = self.index[h]
        if idx.failed:
            error = failures.get(h) or fail("bad-prevblk", f"it builds on {idx.fail_code}-rejected blocks", punish=False)
            return BlockOutcome("invalid", update, error)
        return BlockOutcome("new-tip" if self.on_active(h) else "side-branch", update)

    def _accept_block(self, block: Block) -> BlockIndex:
        """Check a block whose parent we know and store it (realname: AcceptBlock)."""
        idx = self.accept_header(block.header)
        if idx.have_data:
            return idx
        try:
            check_block(block)
            contextual_check_block(block, idx.parent, self.consensus)  # type: ignore[arg-type]
        except ValidationError as e:
            # A mutated block (bad merkle) says nothing about the header: the
            # right transactions may still come, so the hash is not marked.
            if e.code not in MUTATION_CODES:
                self._mark_failed(idx, e.code)
            raise
        self.blocks[idx.hash] = block
        idx.have_data = True
        self._received_data(idx)
        return idx

    def _received_data(self, idx: BlockIndex) -> None:
        """Mark blocks whose whole chain is now on disk as candidates (ReceivedBlockTransactions)."""
        if idx.parent is not None and not idx.parent.available:
            return
        queue = [idx]
        while queue:
            b = queue.pop(0)
            b.available = True
            b.seq = self._next_seq()
            if not b.failed:
                self._candidates[b.hash] = b
            queue.extend(c for c in b.children if c.have_data and not c.available)

    def _add_orphan(self, block: Block) -> None:
        if len(self.orphans) >= self.max_orphans:
            del self.orphans[next(iter(self.orphans))]  # evict the oldest
        self.orphans[block.hash] = block
        self.emit(BlockOrphaned(block.hash, block.prev_hash))

    def _accept_orphans(self, parent_hash: bytes) -> list[bytes]:
        """Store orphans that descend from `parent_hash`, breadth first, in arrival order."""
        stored: list[bytes] = []
        queue, dead = [parent_hash], []
        while queue or dead:
            if queue:
                parent = queue.pop(0)
                for oh, ob in list(self.orphans.items()):
                    if ob.prev_hash != parent:
                        continue
                    del self.orphans[oh]
                    try:
                        self._accept_block(ob)
                    except ValidationError as e:
                        self.emit(BlockRejected(oh, e.code, e.detail))
                        dead.append(oh)
                    else:
                        stored.append(oh)
                        queue.append(oh)
            else:  # children of a rejected orphan are rejected too
                parent = dead.pop(0)
                for oh, ob in list(self.orphans.items()):
                    if ob.prev_hash == parent:
                        del self.orphans[oh]
                        self.emit(BlockRejected(oh, "bad-prevblk", "its parent was rejected"))
                        dead.append(oh)
        return stored

    def _mark_failed(self, idx: BlockIndex, code: str) -> None:
        """realname: InvalidBlockFound / InvalidChainFound: the block and all descendants fail."""
        idx.failed, idx.fail_code = True, code
        stack = list(idx.children)
        while stack:
            d = stack.pop()
            if not d.failed:
                d.failed, d.fail_code = True, "bad-prevblk"
            stack.extend(d.children)
        for h in [h for h, c in self._candidates.items() if c.failed]:
            del self._candidates[h]
        if self.best_header.failed:
            best = self.active[0]
            for c in self.index.values():
                if not c.failed and (c.chain_work, -c.header_seq) > (best.chain_work, -best.header_seq):
                    best = c
            self.best_header = best

    # --- the active chain ------------------------------------------------------------
    def _find_most_work_chain(self) -> BlockIndex:
        """realname: FindMostWorkChain: most work, then earliest available."""
        return max(self._candidates.values(), key=lambda c: (c.chain_work, -c.seq))

    def activate_best_chain(self) -> tuple[TipUpdate | None, dict[bytes, ValidationError]]:
        """realname: ActivateBestChain: move to the most-work valid chain, block by block."""
        old_tip = self.tip
        failures: dict[bytes, ValidationError] = {}
        while True:
            best = self._find_most_work_chain()
            if best is self.tip:
                break
            fork = last_common_ancestor(self.tip, best)
            while self.tip is not fork:
                self._disconnect_tip()
            path = []
            idx = best
            while idx is not fork:
                path.append(idx)
                idx = idx.parent  # type: ignore[assignment]
            for idx in reversed(path):
                try:
                    self._connect_tip(idx)
                except ValidationError as e:
                    self._mark_failed(idx, e.code)
                    failures[idx.hash] = e
                    self.emit(BlockRejected(idx.hash, e.code, e.detail))
                    break  # look for the best chain again: it no longer includes idx
        tip = self.tip
        for h in [h for h, c in self._candidates.items() if c.chain_work < tip.chain_work]:
            del self._candidates[h]
        if tip is old_tip:
            return None, failures
        fork = last_common_ancestor(old_tip, tip)
        dropped = []
        idx = old_tip
        while idx is not fork:
            dropped.append(self.blocks[idx.hash])
            idx = idx.parent  # type: ignore[assignment]
        dropped.reverse()
        adopted = tuple(self.blocks[i.hash] for i in self.active[fork.height + 1 :])
        if dropped:
            self.emit(Reorg(fork.hash, fork.height, tuple(b.hash for b in dropped), tuple(b.hash for b in adopted)))
        self.emit(TipChanged(old_tip.hash, tip.hash, tip.height))
        return TipUpdate(old_tip, tip, fork, tuple(dropped), adopted), failures

    def _connect_tip(self, idx: BlockIndex) -> None:
        """realname: ConnectTip: validate the block against the UTXO set and make it the tip."""
        block = self.blocks[idx.hash]
        self.undo[idx.hash] = connect_block(block, idx.height, self.utxo, self.consensus, self.sigcache)
        self.active.append(idx)
        for tx in block.txs:
            self.tx_index[tx.txid] = idx.hash
        self.emit(BlockConnected(idx.hash, idx.height, len(block.txs)))

    def _disconnect_tip(self) -> None:
        """realname: DisconnectTip: give back the coins the tip block spent."""
        idx = self.active[-1]
        if idx.parent is None:
            raise ValueError("cannot disconnect the genesis block")
        block = self.blocks[idx.hash]
        self.utxo.disconnect_block(block.txs, self.undo.pop(idx.hash))
        self.active.pop()
        for tx in block.txs:
            if self.tx_index.get(tx.txid) == idx.hash:
                del self.tx_index[tx.txid]
        self.emit(BlockDisconnected(idx.hash, idx.height))
