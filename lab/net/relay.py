"""Relay: telling peers about new blocks and transactions, and answering what they ask for.

- a new tip is announced with `inv`, or pushed whole to every peer when it
  extends the old tip by one block and the node relays by push (realname:
  BIP 152 high-bandwidth mode);
- a transaction that entered the mempool is announced with `inv`;
- `inv` from a peer: ask with `getdata` for what we lack (through Downloads);
- `getdata`: send the block or transaction, `notfound` for the rest.

Each peer's `known` set (realname: m_tx_inventory_known_filter) keeps us from
announcing to a peer what it already has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from lab.net import messages as m
from lab.net.download import Downloads, NodeCore
from lab.net.wire import encode_frame
from lab.params import GETDATA_BYTES_PER_TURN, GETDATA_TXS_PER_TURN

if TYPE_CHECKING:
    from lab.chain.chainstate import BlockIndex
    from lab.net.peer import BoundedSet, Peer


class Relay:
    def __init__(self, node: NodeCore, downloads: Downloads, recent_rejects: BoundedSet) -> None:
        self.node = node
        self.downloads = downloads
        self.recent_rejects = recent_rejects  # realname: m_recent_rejects
        self.push = False  # BIP 152-style: push a new tip block instead of announcing it
        # An attacker's node (not Core's: Core has no withholding) keeps some blocks to itself,
        # oldest first (`withhold`, `strategy selfish`), and an eclipser relays to its victim only
        # what passes a filter (`eclipse`): peer name -> may this hash go to that peer?
        self.withheld: dict[bytes, None] = {}
        self.only: dict[str, Callable[[bytes], bool]] = {}

    @property
    def filtering(self) -> bool:
        return bool(self.withheld or self.only)

    def allowed(self, peer: Peer, h: bytes) -> bool:
        """May this node tell `peer` about block or transaction `h`? (Always, for an honest node.)"""
        if h in self.withheld:
            return False
        only = self.only.get(peer.remote)
        return only is None or only(h)

    # -- in ------------------------------------------------------------------------------------
    def on_inv(self, peer: Peer, msg: m.MsgInv) -> None:
        state = self.node.state
        tracker = self.downloads.tracker
        want: list[m.InvItem] = []
        tx_room = tracker.tx_room(peer.remote)  # an outsider cannot make us hold unbounded requests
        block_room = tracker.block_room(peer.remote)
        more_blocks = False
        known = peer.known
        for item in msg.items:
            h = item.hash
            known.add(h)
            if item.type == m.MSG_BLOCK:
                if not state.chain.contains(h) and h not in tracker:
                    if block_room <= 0:
                        more_blocks = True  # fetch the rest headers-first instead
                        continue
                    block_room -= 1
                    want.append(item)
            elif item.type == m.MSG_TX:
                if not state.has_tx(h) and h not in tracker and h not in self.recent_rejects and tx_room > 0:
                    tx_room -= 1
                    want.append(item)
        if want:
            self.downloads.ask(peer, want)
        if more_blocks:
            peer.send(m.MsgGetheaders(tuple(state.chain.locator())))

    def on_getdata(self, peer: Peer, msg: m.MsgGetdata) -> None:
        """A lab peer is served at once (its frames are timed by the fabric); an outsider's items
        wait in its queue and are served a few per turn (send_pending)."""
        if peer.lab_link:
            self.serve(peer, msg.items)
            return
        peer.getdata.extend(msg.items)

    def send_pending(self, peer: Peer) -> bool:
        """One turn of an outsider's getdata (realname: ProcessGetData); False when nothing waits.

        Items are served in batches (up to GETDATA_TXS_PER_TURN transactions, or one
        block) until GETDATA_BYTES_PER_TURN bytes went out or the peer's send buffer
        is full (fPauseSend: the caller then waits for it to read).
        """
        queue = peer.getdata
        if not queue:
            return False
        conn = peer.conn
        start = conn.bytes_sent
        while queue and conn.bytes_sent - start < GETDATA_BYTES_PER_TURN and not (conn.pause_send or conn.send_full):
            items: list[m.InvItem] = []
            while queue and len(items) < GETDATA_TXS_PER_TURN:
                item = queue.popleft()
                items.append(item)
                if item.type == m.MSG_BLOCK:
                    break
            self.serve(peer, items)
        return True

    def serve(self, peer: Peer, items: Iterable[m.InvItem]) -> None:
        state = self.node.state
        missing = []
        filtering = self.filtering
        for item in items:
            if filtering and not self.allowed(peer, item.hash):
                missing.append(item)  # withheld, or not for an eclipsed victim: as if we had none
                continue
            if item.type == m.MSG_BLOCK:
                block = state.get_block(item.hash)
                if block is not None:
                    peer.known.add(item.hash)
                    peer.send(m.MsgBlock(block))
                    continue
            elif item.type == m.MSG_TX:
                tx = state.get_tx(item.hash)
                if tx is not None:
                    peer.known.add(item.hash)
                    peer.send(m.MsgTx(tx))
                    continue
            missing.append(item)
        if missing:
            peer.send(m.MsgNotfound(tuple(missing)))

    def on_notfound(self, peer: Peer, msg: m.MsgNotfound) -> None:
        for item in msg.items:
            peer.known.discard(item.hash)  # it does not have it after all
        self.downloads.not_found(peer, [item.hash for item in msg.items])
        self.downloads.fetch_blocks(peer)

    # -- out -----------------------------------------------------------------------------------
    def new_tip(self, old_tip: BlockIndex, source: Peer | None) -> None:
        state = self.node.state
        chain = state.chain
        new: list[bytes] = []
        idx: BlockIndex | None = chain.tip
        while idx is not None and idx is not old_tip and len(new) < 8 and not chain_contains(old_tip, idx):
            new.append(idx.hash)
            idx = idx.parent
        new.reverse()
        if self.withheld:
            new = [h for h in new if h not in self.withheld]
            if not new:
                return
        items: list[m.InvItem] = []  # the announcement, made for the first peer that gets one
        # realname: BIP 152 high-bandwidth mode: a tip that extends the old one by one
        # block is pushed whole, unasked, to peers that opted in; anything else is announced
        push = self.push and len(new) == 1 and chain.tip.parent is old_tip
        block = state.get_block(new[0]) if push else None
        msg: m.MsgBlock | None = None
        frame = b""
        for peer in self.node.active_peers():
            if peer is source:
                continue
            if block is not None and self.only and not self.allowed(peer, new[0]):
                continue
            if block is not None and new[0] not in peer.known:
                peer.known.add(new[0])
                if msg is None:  # one message, framed once, for every peer it goes to
                    msg = m.MsgBlock(block)
                    frame = encode_frame(msg.msgtype, msg.serialize())
                peer.send(msg, frame)
            else:
                items = items or [m.InvItem(m.MSG_BLOCK, h) for h in new]
                self.announce_to(peer, items)

    def announce_to(self, peer: Peer, items: list[m.InvItem]) -> None:
        known = peer.known
        fresh = [i for i in items if i.hash not in known]
        if fresh and self.filtering:
            fresh = [i for i in fresh if self.allowed(peer, i.hash)]
        if fresh:
            for i in fresh:
                known.add(i.hash)
            peer.send(m.MsgInv(tuple(fresh)))

    def publish(self, hashes: list[bytes]) -> None:
        """Withheld blocks (oldest first) are released: pushed whole when one and relaying by push, else announced."""
        for h in hashes:
            self.withheld.pop(h, None)
        state = self.node.state
        items = [m.InvItem(m.MSG_BLOCK, h) for h in hashes]
        for peer in self.node.active_peers():
            if self.push and len(hashes) == 1 and hashes[0] not in peer.known and self.allowed(peer, hashes[0]):
                block = state.get_block(hashes[0])
                if block is not None:
                    peer.known.add(hashes[0])
                    peer.send(m.MsgBlock(block))
                    continue
            self.announce_to(peer, items)

    def txs(self, txids: list[bytes], source: Peer | None = None) -> None:
        """Announce transactions to every active peer but `source`."""
        items = [m.InvItem(m.MSG_TX, t) for t in txids]
        for peer in self.node.active_peers():
            if peer is not source:
                self.announce_to(peer, items)

    def returned(self, events: Any) -> None:
        """Transactions of dropped blocks, back in the mempool, are announced again."""
        txids = [e.txid for e in events if e.kind == "tx-returned"]
        if txids:
            self.txs([t for t in txids if self.node.state.has_tx(t)])


def chain_contains(tip: Any, idx: Any) -> bool:
    """Is block index `idx` an ancestor of (or equal to) `tip`?"""
    if tip is None or idx.height > tip.height:
        return False
    return tip.ancestor(idx.height) is idx
