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
- A block whose parent is unknown waits in an orphan pool bounded by bytes
  (oldest evicted first) and is connected when the parent arrives. Its own
  proof of work is checked first, and its bits may not be easier than any the
  lab's rules ever require, so junk costs the sender real work.
- Blocks are stored only when they earn it (realname: AcceptBlock): a block
  nobody asked for whose chain has less work than the tip is not processed
  ("Don't process less-work chains"); side-branch data is bounded by bytes
  (blocklimits.py); a headers message whose chain ends far below the tip's
  work is not stored (realname: nMinimumChainWork, headers presync).

Nothing here touches the mempool: node_state.py tells it what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lab.chain.block import GENESIS, Block, BlockHeader
from lab.chain.blockindex import BlockIndex, last_common_ancestor
from lab.chain.blocklimits import OrphanBlocks, SideBlocks, drop_side_blocks
from lab.chain.chainwalks import ChainWalks
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
    min_chain_work,
    orphan_check_bits,
)
from lab.errors import ValidationError
from lab.params import (
    MAX_ORPHAN_BLOCK_BYTES,
    MAX_ORPHAN_BLOCKS,
    MAX_SIDE_BRANCH_BYTES,
    MIN_CHAIN_WORK_DEPTH,
)

__all__ = ["BlockIndex", "BlockOutcome", "ChainState", "TipUpdate", "last_common_ancestor"]


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
    """What process_block did; it never raises for a bad block.

    status: "new-tip" | "side-branch" | "orphan" | "duplicate" | "invalid" | "ignored".
    "invalid": the block broke a rule (before or after it was stored); `error`
    says which, and `error.punish` whether the sender should be penalised.
    "ignored": not stored and not wrong (an unrequested less-work block);
    `error` holds the reason, with punish False.
    """

    status: str
    update: TipUpdate | None = None  # how the active chain moved, also when the block itself failed
    error: ValidationError | None = None


class ChainState(ChainWalks):
    """One node's view of the block tree, active chain and UTXO set (realname: Chainstate)."""

    def __init__(
        self,
        consensus: Consensus,
        clock: Callable[[], int],
        *,
        sigcache: SigCache | None = None,
        emit: Callable[[Event], None] | None = None,
        max_orphans: int = MAX_ORPHAN_BLOCKS,
        max_orphan_bytes: int = MAX_ORPHAN_BLOCK_BYTES,
        max_side_bytes: int = MAX_SIDE_BRANCH_BYTES,
    ) -> None:
        self.consensus = consensus
        self.clock = clock  # virtual unix seconds; never time.time()
        self.sigcache = sigcache
        self.events: list[Event] = []  # kept only when no `emit` is given
        self.emit: Callable[[Event], None] = emit if emit is not None else self.events.append

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
        self.orphans = OrphanBlocks(max_orphans, max_orphan_bytes)  # parent unknown, oldest first
        self.side = SideBlocks(max_side_bytes)  # stored blocks off the active chain, by size
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
        """Accept a `headers` message; return hashes whose blocks we should fetch, in order.

        The whole message is judged first: if its chain ends with far less work
        than the tip (MIN_CHAIN_WORK_DEPTH tip blocks below), nothing is stored
        and nothing is fetched; the sender is not punished (realname: headers
        presync; Core ignores such a "low-work chain"). So a long cheap chain
        forking deep costs the sender its proof of work and the node nothing.
        """
        for i, header in enumerate(headers):
            if i and header.prev_hash != headers[i - 1].hash:
                raise fail("non-continuous-headers", "each header must build on the one before it")
        parent = self.index.get(headers[0].prev_hash) if headers else None
        if parent is not None and headers[-1].hash not in self.index:
            end_work = parent.chain_work + sum(work_from_bits(h.bits) for h in headers)
            if end_work < min_chain_work(self.tip, MIN_CHAIN_WORK_DEPTH):
                return []  # too-little-chainwork: ignored, as Core's "Ignoring low-work chain"
        fetch = []
        for header in headers:
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
    def process_block(self, block: Block, *, requested: bool = True) -> BlockOutcome:
        """A block arrived (realname: ProcessNewBlock): store it, then activate the best chain.

        Never raises for a bad block: the outcome says what happened (see
        BlockOutcome). `requested` is False for a block the node did not ask
        for (an outsider's push): if its chain has less work than the tip it
        is not processed at all (realname: AcceptBlock's fRequested, "Don't
        process less-work chains"); its header is still checked and kept.
        """
        h = block.hash
        idx = self.index.get(h)
        if idx is not None and idx.have_data:
            if idx.failed:
                return self._refused(h, fail("duplicate-invalid", f"block {block.short} was already rejected ({idx.fail_code})"))
            return BlockOutcome("duplicate")
        if h in self.orphans:
            return BlockOutcome("duplicate")
        if block.prev_hash not in self.index:
            try:  # junk (too easy bits, no proof of work, bad merkle) never enters the pool
                orphan_check_bits(block.header, self.consensus)
                check_block(block)
            except ValidationError as e:
                return self._refused(h, e)
            self.orphans.add(block)
            self.emit(BlockOrphaned(h, block.prev_hash))
            return BlockOutcome("orphan")
        try:
            idx = self.accept_header(block.header)
            if not requested and not idx.have_data and idx.chain_work < self.tip.chain_work:
                return BlockOutcome("ignored", None, fail(
                    "unrequested-less-work", f"block {block.short} at height {idx.height} was not asked for and "
                    "its chain has less work than the tip", punish=False))
            self._accept_block(block)
        except ValidationError as e:
            return self._refused(h, e)
        stored = [h, *self._accept_orphans(h)]
        update, failures = self.activate_best_chain()
        drop_side_blocks(self)  # may drop what just came, if it has the least work
        for sh in stored:
            sidx = self.index.get(sh)
            if sidx is not None and not sidx.failed and sidx.available and not self.on_active(sh):
                self.emit(SideBranch(sh, sidx.height, self.tip.hash))
        idx = self.index.get(h)
        if idx is None or not idx.have_data:
            return BlockOutcome("ignored", update, fail(
                "side-branches-full", f"block {block.short} has the least work of the side branches kept", punish=False))
        if idx.failed:
            error = failures.get(h) or fail("bad-prevblk", f"it builds on {idx.fail_code}-rejected blocks", punish=False)
            return BlockOutcome("invalid", update, error)
        return BlockOutcome("new-tip" if self.on_active(h) else "side-branch", update)

    def _refused(self, block_hash: bytes, error: ValidationError) -> BlockOutcome:
        self.emit(BlockRejected(block_hash, error.code, error.detail))
        return BlockOutcome("invalid", None, error)

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
        self.side.add(idx.hash, block.size)  # until it connects
        idx.have_data = True
        self._received_data(idx)
        return idx

    def drop_candidate(self, block_hash: bytes) -> None:
        self._candidates.pop(block_hash, None)

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

    def _accept_orphans(self, parent_hash: bytes) -> list[bytes]:
        """Store orphans that descend from `parent_hash`, breadth first, in arrival order."""
        if not self.orphans:
            return []
        stored: list[bytes] = []
        queue, dead = [parent_hash], list[bytes]()
        while queue or dead:
            if queue:
                parent = queue.pop(0)
                for oh, ob in list(self.orphans.items()):
                    if ob.prev_hash != parent:
                        continue
                    self.orphans.pop(oh)
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
                        self.orphans.pop(oh)
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
        candidates = self._candidates
        if len(candidates) == 1:
            return next(iter(candidates.values()))
        return max(candidates.values(), key=lambda c: (c.chain_work, -c.seq))

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
        self.side.discard(idx.hash)
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
        self.side.add(idx.hash, block.size)
        for tx in block.txs:
            if self.tx_index.get(tx.txid) == idx.hash:
                del self.tx_index[tx.txid]
        self.emit(BlockDisconnected(idx.hash, idx.height))
