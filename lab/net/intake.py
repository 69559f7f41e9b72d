"""Taking blocks and transactions into the node's chain state (realname: ProcessBlock, AcceptToMemoryPool callers).

What came in (from a peer, the node's own miner or wallet) is validated by
the chain state; then the node tells the lab what happened as typed events
(lab/events.py), punishes a peer that sent something invalid, and relays what
is new. Transactions valid only at a taller tip wait here (the waiting room)
and are tried again whenever the tip moves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from lab import events as ev
from lab.chain.crypto import sha256d
from lab.chain.events import TxEvicted, TxOrphaned
from lab.errors import ValidationError
from lab.net import messages as m
from lab.net.download import Downloads, NodeCore
from lab.net.relay import Relay
from lab.net.sync import Sync
from lab.params import MAX_BLOCK_SIZE, MAX_HEADERS, MAX_ORPHAN_TXS, MAX_TX_SIZE

if TYPE_CHECKING:
    from lab.chain.block import Block
    from lab.chain.tx import Tx
    from lab.net.peer import BoundedSet, Peer

# Refusals that only mean "not yet at my tip": a node that is behind its peers
# (still syncing, just back from a partition) keeps such a tx and tries again.
NOT_YET_CODES = frozenset({"bad-txns-premature-spend-of-coinbase", "non-final"})


class NodeServices(NodeCore, Protocol):
    """What intake needs from its node beyond NodeCore."""

    def emit(self, event: Any) -> None: ...
    def misbehaving(self, peer: Peer, reason: str) -> None: ...


class Intake:
    def __init__(self, node: NodeServices, downloads: Downloads, relay: Relay, sync: Sync,
                 recent_rejects: BoundedSet, emit_lab: Callable[[Any], object]) -> None:
        self.node = node
        self.downloads = downloads
        self.relay = relay
        self.sync = sync
        self.recent_rejects = recent_rejects  # realname: m_recent_rejects
        self.waiting: dict[bytes, Tx] = {}  # txs from peers valid only at a taller tip, oldest first
        self._emit_lab = emit_lab
        self._source: str | None = None  # who sent the block being processed (for BlockStored)
        self._source_block: bytes | None = None
        self.own: set[bytes] = set()  # blocks this node mined and transactions it made (what an eclipser feeds)
        self.on_heard: Callable[[bytes], None] | None = None  # told of each valid block a peer sent (a strategy)
        node.state.listeners.append(self._on_chain_event)

    def _on_chain_event(self, event: Any) -> None:
        """The chain stored a valid block: the moment this node first had it."""
        kind = event.kind
        if kind == "block-connected" or kind == "side-branch":
            self._emit_lab(ev.BlockStored(self.node.name, event.hash, event.height,
                                          self._source if event.hash == self._source_block else None))

    # -- before parsing ----------------------------------------------------------------------
    def refuse_oversized(self, peer: Peer, command: str, payload: bytes) -> bool:
        """A block or tx payload too big to be valid is refused before it is parsed (True).

        A frame may carry MAX_PAYLOAD (4 MB): parsing 4 MB of tiny inputs held the
        loop ~0.5 s. Nothing over MAX_BLOCK_SIZE can be valid (realname:
        bad-blk-length, bad-txns-oversize: the sender is punished); a transaction over
        MAX_TX_SIZE is refused by policy unparsed (tx-size: a reject, no punishment).
        Its hash is the hash of its bytes: the header's for a block, all of it for a tx.
        """
        size = len(payload)
        node = self.node
        if command == "block" and size > MAX_BLOCK_SIZE:
            h = sha256d(payload[:80])
            node.emit(ev.BlockRejected(node.name, h, "bad-blk-length", f"{size} bytes, limit {MAX_BLOCK_SIZE}",
                                       peer.remote, direct=True))
            node.misbehaving(peer, "sent an invalid block (bad-blk-length)")
            return True
        if command == "tx" and size > MAX_TX_SIZE:
            txid = sha256d(payload)
            code = "bad-txns-oversize" if size > MAX_BLOCK_SIZE else "tx-size"
            self.recent_rejects.add(txid)
            node.emit(ev.TxRejected(node.name, txid, code, f"{size} bytes, relay limit is {MAX_TX_SIZE}", peer.remote))
            if code == "tx-size":
                peer.send(m.MsgReject("tx", m.REJECT_NONSTANDARD, code, txid))
            else:
                node.misbehaving(peer, f"sent an invalid transaction ({code})")
            return True
        return False

    # -- blocks ------------------------------------------------------------------------------
    def on_block(self, peer: Peer, msg: m.MsgBlock) -> None:
        block = msg.block
        peer.known.add(block.hash)
        requested = block.hash in self.downloads.tracker  # asked for (realname: fRequested)
        self.downloads.answered(block.hash)
        self.submit_block(block, peer, requested=requested)
        self.downloads.fetch_blocks(peer)

    def on_known_block(self, peer: Peer, payload: bytes) -> bool:
        """A lab peer's `block` whose header hashes to a block stored here, valid: True, handled unparsed.

        With relay push every peer sends each new block, so most copies a node
        gets are of a block it already has. Parsing one only to learn that costs
        more than the rest of its handling; the outcome is the same as on_block's
        for a duplicate (the peer has it, its request is answered, nothing else).
        Only lab links: an outsider's bytes are always parsed and checked.
        A block on a tip that has no child yet cannot be known (a stored header is
        its parent's child): that one, the new block of a relay, is not hashed twice.
        """
        chain = self.node.state.chain
        tip = chain.tip
        if not tip.children and payload[4:36] == tip.hash:
            return False
        h = sha256d(payload[:80])
        idx = chain.index.get(h)
        if idx is None or not idx.have_data or idx.failed:
            return False
        peer.known.add(h)
        self.downloads.answered(h)
        self.downloads.fetch_blocks(peer)
        return True

    def mined(self, block: Block) -> str:
        """A block this node's own miner found on its tip: say so, then store and announce it."""
        node = self.node
        tip = node.state.chain.tip
        parent = tip if block.prev_hash == tip.hash else node.state.chain.index.get(block.prev_hash, tip)
        reward = block.txs[0].total_out()
        fees = reward - node.state.consensus.subsidy(parent.height + 1)
        self.own.add(block.hash)
        node.emit(ev.BlockMined(node.name, block.hash, parent.height + 1, parent.hash, len(block.txs), reward, fees))
        res = self._process(block, None)
        if res is None or res.status == "ignored":
            return "rejected" if res is None else res.status
        self._report_changes(block, res, node.name)
        self._after(block, res, None, tip)
        return res.status

    def submit_block(self, block: Block, source: Peer | None = None, *, requested: bool = True) -> str:
        """Validate and store a block from a peer (or handed in); tell the lab; announce a new tip. The status.

        `requested`: False for a block an outsider pushed unasked; if its chain has
        less work than the tip it is "ignored", not stored (Core's AcceptBlock).
        The lab's own nodes are trusted to push (relay push), so for them it is True.
        """
        frm = source.remote if source is not None else self.node.name
        old_tip = self.node.state.chain.tip
        res = self._process(block, source, requested or source is None or source.lab_link)
        if res is None:
            return "rejected"
        if res.status == "ignored":
            return "ignored"
        self._report_changes(block, res, frm)
        self._report_arrival(block, res, frm)
        self._after(block, res, source, old_tip)
        if self.on_heard is not None and source is not None and res.status in ("new-tip", "side-branch"):
            self.on_heard(block.hash)
        return res.status

    def _process(self, block: Block, source: Peer | None, requested: bool = True) -> Any:
        """The chain state's verdict; an invalid block is reported and its sender punished (None)."""
        node = self.node
        self._source, self._source_block = (source.remote if source is not None else None), block.hash
        try:
            res = node.state.process_block(block, requested=requested)
        finally:
            self._source = self._source_block = None
        e = res.error
        if res.status != "invalid" or e is None:
            return res
        self.refused(source, block.hash, e)
        return None

    def refused(self, source: Peer | None, block_hash: bytes, e: ValidationError) -> None:
        """An invalid block: say so; punish its sender (or tell it why, when that is not misbehaviour)."""
        node = self.node
        frm = source.remote if source is not None else node.name
        node.emit(ev.BlockRejected(node.name, block_hash, e.code, e.detail, frm, direct=True))
        if source is not None:
            if e.punish:
                node.misbehaving(source, f"sent an invalid block ({e.code})")
            else:
                source.send(m.MsgReject("block", m.REJECT_INVALID, e.code, block_hash))

    def _after(self, block: Block, res: Any, source: Peer | None, old_tip: Any) -> None:
        """Ask for what is missing, announce a new tip, retry waiting txs, re-announce returned ones."""
        chain = self.node.state.chain
        if res.status == "orphan" and source is not None:
            self.sync.ask_headers(source)
        if res.status == "side-branch" and source is not None and self._missing_before(block.hash):
            # Its branch has more work but blocks before it never came (their requests
            # were lost and given up): fetch them from the peer that has this one
            # (realname: FindNextBlocksToDownload). Without this the node stayed behind.
            self.downloads.queue_blocks(chain.missing_blocks(MAX_HEADERS), source.remote)
        if chain.tip is not old_tip:
            self.recent_rejects.clear()  # realname: m_recent_rejects reset on a new tip
            self.relay.new_tip(old_tip, source)
            if self.waiting:
                self._retry_waiting()
        self.relay.returned(res.events)

    def _missing_before(self, block_hash: bytes) -> bool:
        """Stored, with more work than the tip, but not connectable: earlier blocks lack data."""
        idx = self.node.state.chain.index.get(block_hash)
        return idx is not None and not idx.available and idx.chain_work > self.node.state.chain.tip.chain_work

    def _report_changes(self, block: Block, res: Any, frm: str) -> None:
        """What processing the block changed (reorgs, txs back or out, earlier blocks refused), in order."""
        node = self.node
        returned = tuple(e.txid for e in res.events if e.kind == "tx-returned")
        for e in res.events:
            kind = e.kind
            if kind == "reorg":
                node.emit(ev.Reorg(node.name, e.fork, e.fork_height, tuple(e.dropped), tuple(e.adopted), returned))
            elif kind == "tx-returned":
                node.emit(ev.TxReturned(node.name, e.txid))
            elif kind == "tx-evicted":
                node.emit(ev.TxEvicted(node.name, e.txid, e.code, e.detail))
            elif kind == "block-rejected" and e.hash != block.hash:
                node.emit(ev.BlockRejected(node.name, e.hash, e.code, e.detail, frm, direct=False))

    def _report_arrival(self, block: Block, res: Any, frm: str) -> None:
        """Where a block from a peer went: the new tip, a side branch (a fork), or waiting for its parent."""
        node = self.node
        idx = node.state.chain.index.get(block.hash)
        status = res.status
        if status == "new-tip":
            node.emit(ev.BlockAccepted(node.name, block.hash, idx.height if idx is not None else -1, frm))
        elif status == "side-branch" and self._missing_before(block.hash):
            node.emit(ev.BlockOrphan(node.name, block.hash, frm, idx.height if idx is not None else None))
        elif status == "side-branch":
            tip = node.state.chain.tip
            node.emit(ev.ForkSeen(node.name, block.hash, idx.height if idx is not None else -1, frm, tip.hash,
                                  tip.height, idx is not None and tip.chain_work > idx.chain_work))
        elif status == "orphan":
            node.emit(ev.BlockOrphan(node.name, block.hash, frm, None))

    # -- transactions -----------------------------------------------------------------------
    def on_tx(self, peer: Peer, msg: m.MsgTx) -> None:
        tx = msg.tx
        peer.known.add(tx.txid)
        self.downloads.answered(tx.txid)
        self.submit_tx(tx, peer)

    def submit_tx(self, tx: Tx, source: Peer | None = None) -> str:
        frm = source.remote if source is not None else self.node.name
        try:
            res = self.node.state.accept_tx(tx)
        except ValidationError as e:
            if e.code in NOT_YET_CODES and source is not None:
                self._wait(tx)  # nobody would announce it again once our chain catches up
            else:
                self.recent_rejects.add(tx.txid)
            self.node.emit(ev.TxRejected(self.node.name, tx.txid, e.code, e.detail, frm))
            if source is not None:
                if e.punish:
                    self.node.misbehaving(source, f"sent an invalid transaction ({e.code})")
                else:
                    source.send(m.MsgReject("tx", m.REJECT_INVALID, e.code, tx.txid))
            if source is None:
                raise
            return "rejected"
        if res.status == "orphan":
            tracker = self.downloads.tracker
            for c in res.events:
                if (isinstance(c, TxOrphaned) and source is not None and c.missing not in tracker
                        and tracker.tx_room(source.remote) > 0):
                    self.downloads.ask(source, [m.InvItem(m.MSG_TX, c.missing)])
            self.node.emit(ev.TxOrphan(self.node.name, tx.txid, frm))
            if source is not None:
                self._wait(tx)  # its parent may come in a block that leaves it premature here
            return "orphan"
        self._accepted(res.accepted, tx, source)
        for c in res.events:  # a full mempool made room: say which tx left, never silently
            if isinstance(c, TxEvicted):
                self.node.emit(ev.TxEvicted(self.node.name, c.txid, c.code, c.detail))
        return res.status

    def _wait(self, tx: Tx) -> None:
        if len(self.waiting) >= MAX_ORPHAN_TXS:
            del self.waiting[next(iter(self.waiting))]  # the oldest goes
        self.waiting[tx.txid] = tx

    def _retry_waiting(self) -> None:
        """The tip moved: try again the txs that were premature (or orphans) here."""
        for txid, tx in list(self.waiting.items()):
            if txid in self.node.state.mempool or txid in self.node.state.chain.tx_index:
                del self.waiting[txid]
                continue
            if txid in self.node.state.mempool.orphans:
                continue  # the mempool retries it when its parent arrives
            try:
                res = self.node.state.accept_tx(tx)
            except ValidationError as e:
                if e.code not in NOT_YET_CODES:
                    del self.waiting[txid]  # invalid now for good (spent, conflicting)
                continue
            del self.waiting[txid]
            if res.status == "accepted":
                self._accepted(res.accepted, None, None, waited=True)

    def _accepted(self, accepted: list[Tx], tx: Tx | None, source: Peer | None, waited: bool = False) -> None:
        """Tell the lab and the peers about transactions that entered the mempool."""
        frm = source.remote if source is not None else self.node.name
        for t in accepted:
            origin = "caught-up" if waited else "own" if source is None and t is tx else "relayed"
            if origin == "own":
                self.own.add(t.txid)
            self.node.emit(ev.TxAccepted(self.node.name, t.txid, frm, origin))
        self.relay.txs([t.txid for t in accepted], source)
