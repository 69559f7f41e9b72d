"""A full node: its own chain state, a listening socket, peers, and the protocol.

Message handling follows Bitcoin Core's net_processing in miniature
(realname: PeerManagerImpl::ProcessMessage). The node dispatches each frame
through one table (msgtype -> handler) to the layer that owns it:

- here: the handshake (version -> version + verack; nothing else counts before
  version; a second version is ignored), keep-alive, accepting blocks and
  transactions into the chain state, and what the node tells the lab (typed
  events, lab/events.py);
- lab/net/relay.py: inv / getdata / notfound, announcing new tips and txs;
- lab/net/sync.py: headers first (getheaders / headers);
- lab/net/download.py over lab/net/requests.py: every request, its retries.
- misbehaviour: malformed frames, oversized lists, consensus-invalid blocks or
  transactions and invalid headers get the peer disconnected and discouraged;
  a missing parent or missing inputs do not (they may just be early).

No exception raised while handling a peer's message escapes: it is caught,
narrated and the peer dropped, and the node keeps working.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lab import events as ev
from lab.errors import ProtocolError, ValidationError
from lab.net import messages as m
from lab.net.connection import LAB, Connection
from lab.net.download import Downloads
from lab.net.peer import BoundedSet, Peer
from lab.net.relay import Relay
from lab.net.requests import RequestTracker
from lab.net.sync import Sync
from lab.params import (
    MAX_HEADERS,
    MAX_KNOWN_INVENTORY,
    MAX_LIVE_PEERS,
    MAX_NARRATED_PER_PEER,
    MAX_ORPHAN_TXS,
    PROTOCOL_VERSION,
    USER_AGENT,
)

if TYPE_CHECKING:
    from lab.chain.block import Block
    from lab.chain.node_state import NodeState
    from lab.chain.tx import Tx
    from lab.net.fabric import Fabric

Emit = Callable[[Any], object]  # append one typed event (lab/events.py) to the lab's log

# What an outsider can make a node say as often as it likes; after
# MAX_NARRATED_PER_PEER such lines the rest are counted, not logged.
# Refusals that only mean "not yet at my tip": a node that is behind its peers
# (still syncing, just back from a partition) keeps such a tx and tries again.
NOT_YET_CODES = frozenset({"bad-txns-premature-spend-of-coinbase", "non-final"})

NOISY_EVENTS = frozenset({ev.FrameDropped, ev.TxRejected, ev.TxOrphan, ev.BlockRejected, ev.HeadersRejected,
                          ev.BlockOrphan, ev.RejectReceived})


class Node:
    def __init__(self, name: str, state: NodeState, fabric: Fabric, emit: Emit,
                 clock: Callable[[], int], host: str = "127.0.0.1") -> None:
        self.name = name
        self.state = state
        self.fabric = fabric
        self.clock = clock  # virtual unix seconds
        self.host = host
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self.online = False
        self.peers: dict[str, Peer] = {}  # remote name -> its protocol state and connection
        self.discouraged: set[str] = set()  # realname: m_discouraged (BanMan)
        self.recent_rejects = BoundedSet(MAX_KNOWN_INVENTORY)  # realname: m_recent_rejects
        self.waiting: dict[bytes, Tx] = {}  # txs from peers valid only at a taller tip, oldest first
        self.internal_errors: list[str] = []
        self.nonce_counter = 0
        self.blocks_mined = 0
        self._emit_lab = emit
        self._outsider: Peer | None = None  # the live peer whose frame is being handled
        self._source: str | None = None  # who sent the block being processed (for BlockStored)
        self._source_block: bytes | None = None
        state.listeners.append(self._on_chain_event)
        self.downloads = Downloads(self, fabric.sched)
        self.relay = Relay(self, self.downloads, self.recent_rejects)
        self.sync = Sync(self, self.downloads, self.emit, self.misbehaving)
        self._handlers: dict[str, Callable[[Peer, Any], None]] = {
            "version": self.on_version, "verack": self.on_verack, "ping": self.on_ping, "pong": self.on_pong,
            "getaddr": self.on_getaddr, "addr": self.on_addr, "reject": self.on_reject,
            "inv": self.relay.on_inv, "getdata": self.relay.on_getdata, "notfound": self.relay.on_notfound,
            "getheaders": self.sync.on_getheaders, "headers": self.sync.on_headers,
            "block": self.on_block, "tx": self.on_tx,
        }

    @property
    def requested(self) -> RequestTracker:
        """Every block and transaction asked for and not yet come (realname: mapBlocksInFlight)."""
        return self.downloads.tracker

    @property
    def relay_push(self) -> bool:
        return self.relay.push

    @relay_push.setter
    def relay_push(self, on: bool) -> None:
        self.relay.push = on

    # -- life cycle -----------------------------------------------------------------
    async def listen(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: Connection(self, inbound=True), self.host, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        self.online = True

    async def shutdown(self, reason: str = "node stopped") -> None:
        self.online = False
        server, self.server = self.server, None
        if server is not None:
            server.close()  # no new connections from here on
        # Close every connection *before* waiting for the server: since Python
        # 3.12.1, Server.wait_closed() also waits for the connections it accepted,
        # so waiting first never returned (`stop B` hung the lab).
        for peer in list(self.peers.values()):
            self.drop_peer(peer, reason, narrate=False)
            if peer.twin is not None:
                peer.twin.close(reason)
        if server is not None:
            try:
                await asyncio.wait_for(server.wait_closed(), 5)
            except TimeoutError:  # a connection not in self.peers yet: it closes on its own
                pass
        self.port = 0

    def emit(self, event: Any) -> None:
        """Tell the lab; an outsider's noise (rejections, bad frames) is logged only so often."""
        peer = self._outsider
        if peer is not None and type(event) in NOISY_EVENTS:
            peer.narrated += 1
            if peer.narrated > MAX_NARRATED_PER_PEER:
                if peer.narrated == MAX_NARRATED_PER_PEER + 1:
                    self._emit_lab(ev.PeerNoisy(self.name, peer.remote, MAX_NARRATED_PER_PEER))
                return
        self._emit_lab(event)

    def _on_chain_event(self, event: Any) -> None:
        """The chain stored a valid block: the moment this node first had it."""
        kind = event.kind
        if kind == "block-connected" or kind == "side-branch":
            self._emit_lab(ev.BlockStored(self.name, event.hash, event.height,
                                          self._source if event.hash == self._source_block else None))

    # -- peers ------------------------------------------------------------------------
    def accept(self, conn: Connection, host: str, port: int) -> bool:
        """An inbound connection: one end of a lab link being opened, or an outsider (if there is room)."""
        claim = self.fabric.claim(self.name, port)
        if claim is not None and not claim.done():
            conn.link = LAB
            Peer(conn)
            claim.set_result(conn)
            return True
        conn.remote = f"{host}:{port}"
        outsiders = sum(1 for p in self.peers.values() if not p.lab_link and not p.closed)
        if outsiders >= MAX_LIVE_PEERS:  # realname: the inbound slot limit
            return False
        peer = Peer(conn)
        self.peers[peer.remote] = peer
        self.emit(ev.PeerConnected(self.name, peer.remote, outsider=True))
        conn.start_handshake_timer(lambda: peer.active)
        return True

    def on_bad_stream(self, peer: Peer, reason: str) -> None:
        """Bytes that are not frames of our network: the peer is punished."""
        self.misbehaving(peer, reason)

    def add_lab_peer(self, peer: Peer) -> None:
        self.peers[peer.remote] = peer

    def start_handshake(self, peer: Peer) -> None:
        self._send_version(peer)

    def _send_version(self, peer: Peer) -> None:
        self.nonce_counter += 1
        peer.sent_version = True
        peer.send(m.MsgVersion(PROTOCOL_VERSION, m.NODE_NETWORK, self.clock(), self.nonce_counter,
                               USER_AGENT, self.state.chain.tip.height))

    def drop_peer(self, peer: Peer, reason: str, narrate: bool = True) -> None:
        if peer.closed:
            return
        peer.close(reason)
        if narrate:
            self.emit(ev.PeerDisconnected(self.name, peer.remote, reason))

    def on_peer_closed(self, peer: Peer) -> None:
        if self.peers.get(peer.remote) is peer:
            del self.peers[peer.remote]
        self.fabric.forget(peer.conn)
        self.downloads.peer_closed(peer)

    def misbehaving(self, peer: Peer, reason: str) -> None:
        """Disconnect and discourage (realname: Misbehaving + MaybeDiscourageAndDisconnect)."""
        if peer.closed:
            return
        self.discouraged.add(peer.remote)
        peer.close(f"misbehaving: {reason}")
        self.emit(ev.PeerPunished(self.name, peer.remote, reason))

    def active_peers(self) -> list[Peer]:
        return [p for p in self.peers.values() if p.active and not p.closed]

    # -- frames in ---------------------------------------------------------------------
    def on_frame(self, peer: Peer, command: str, payload: bytes | None) -> None:
        """Handle one frame. Nothing raised here escapes."""
        if peer.closed:
            return
        self._outsider = None if peer.lab_link else peer
        try:
            if payload is None:  # bad checksum: drop the message, keep the peer (Core)
                peer.bad_checksums += 1
                if peer.bad_checksums == 1:  # one line per peer, not one per frame of a flood
                    self.emit(ev.FrameDropped(self.name, peer.remote, command))
                return
            try:
                msg = m.decode_message(command, payload)
            except ProtocolError as e:
                self.misbehaving(peer, e.reason)
                return
            if msg is None:  # unknown command: ignored, as Bitcoin Core does
                return
            if peer.version is None and msg.msgtype != "version":
                return  # realname: "non-version message before version handshake"
            self._handlers[msg.msgtype](peer, msg)
        except Exception as e:  # a bug of ours must not take the node down
            detail = f"{type(e).__name__}: {e}"
            self.internal_errors.append(detail + "\n" + traceback.format_exc())
            self.emit(ev.InternalError(self.name, peer.remote, command, detail))
            self.drop_peer(peer, "internal error while handling its message")
        finally:
            self._outsider = None

    # -- handshake ----------------------------------------------------------------------
    def on_version(self, peer: Peer, msg: m.MsgVersion) -> None:
        if peer.version is not None:
            return  # a second version is ignored (Core: "redundant version message")
        peer.version = msg
        peer.best_height = max(0, msg.start_height)
        if not peer.sent_version:
            self._send_version(peer)
        peer.send(m.MsgVerack())
        self._maybe_active(peer)

    def on_verack(self, peer: Peer, msg: m.MsgVerack) -> None:
        peer.got_verack = True
        self._maybe_active(peer)

    def _maybe_active(self, peer: Peer) -> None:
        if peer.active or peer.version is None or not peer.got_verack:
            return
        peer.active = True
        if peer.lab_link:
            self.emit(ev.PeerConnected(self.name, peer.remote, outsider=False))
        # headers-first sync from every new peer, then share what our mempool holds
        self.sync.ask_headers(peer)
        txids = [tx.txid for tx in self.state.mempool.txs()]
        if txids:
            self.relay.announce_to(peer, [m.InvItem(m.MSG_TX, t) for t in txids])

    # -- keep-alive and addresses ----------------------------------------------------
    def on_ping(self, peer: Peer, msg: m.MsgPing) -> None:
        peer.send(m.MsgPong(msg.nonce))

    def on_pong(self, peer: Peer, msg: m.MsgPong) -> None:
        pass

    def on_getaddr(self, peer: Peer, msg: m.MsgGetaddr) -> None:
        entries = []
        for other in self.active_peers():
            if other is peer or other.transport is None:
                continue
            host, port = other.transport.get_extra_info("peername")[:2]
            entries.append(m.AddrEntry.ipv4(self.clock(), host, port))
        peer.send(m.MsgAddr(tuple(entries[:1000])))

    def on_addr(self, peer: Peer, msg: m.MsgAddr) -> None:
        pass  # the lab decides its topology; addresses are accepted and not used

    def on_reject(self, peer: Peer, msg: m.MsgReject) -> None:
        self.emit(ev.RejectReceived(self.name, peer.remote, msg.message, msg.hash, msg.reason))

    # -- blocks ------------------------------------------------------------------------------
    def on_block(self, peer: Peer, msg: m.MsgBlock) -> None:
        block = msg.block
        peer.known.add(block.hash)
        self.downloads.answered(block.hash)
        self._submit_block(block, peer, mined=False)
        self.downloads.fetch_blocks(peer)

    def mined(self, block: Block) -> str:
        """A block this node's own miner found on its tip: say so, then store and announce it."""
        tip = self.state.chain.tip
        reward = block.txs[0].total_out()
        fees = reward - self.state.consensus.subsidy(tip.height + 1)
        self.blocks_mined += 1
        self.emit(ev.BlockMined(self.name, block.hash, tip.height + 1, tip.hash, len(block.txs), reward, fees))
        return self._submit_block(block, None, mined=True)

    def submit_block(self, block: Block, source: Peer | None = None) -> str:
        """Validate and store a block from a peer (or handed in locally); announce a new tip. Returns the status."""
        return self._submit_block(block, source, mined=False)

    def _submit_block(self, block: Block, source: Peer | None, mined: bool) -> str:
        frm = source.remote if source is not None else self.name
        old_tip = self.state.chain.tip
        self._source, self._source_block = (None if mined else frm), block.hash
        try:
            res = self.state.process_block(block)
        except ValidationError as e:
            self.emit(ev.BlockRejected(self.name, block.hash, e.code, e.detail, frm, direct=True))
            if source is not None:
                if e.punish:
                    self.misbehaving(source, f"sent an invalid block ({e.code})")
                else:
                    source.send(m.MsgReject("block", m.REJECT_INVALID, e.code, block.hash))
            return "rejected"
        finally:
            self._source = self._source_block = None
        self._report_block(block, res, frm, mined)
        if res.status == "orphan" and source is not None:
            self.sync.ask_headers(source)
        if res.status == "side-branch" and source is not None and self._missing_before(block.hash):
            # Its branch has more work but blocks before it never came (their requests
            # were lost and given up): fetch them from the peer that has this one
            # (realname: FindNextBlocksToDownload). Without this the node stayed behind.
            self.downloads.queue_blocks(self.state.chain.missing_blocks(MAX_HEADERS), source.remote)
        if self.state.chain.tip is not old_tip:
            self.recent_rejects.clear()  # realname: m_recent_rejects reset on a new tip
            self.relay.new_tip(old_tip, source)
            if self.waiting:
                self._retry_waiting()
        self.relay.returned(res.events)
        return res.status

    def _missing_before(self, block_hash: bytes) -> bool:
        """Stored, with more work than the tip, but not connectable: earlier blocks lack data."""
        idx = self.state.chain.index.get(block_hash)
        return idx is not None and not idx.available and idx.chain_work > self.state.chain.tip.chain_work

    def _report_block(self, block: Block, res: Any, frm: str, mined: bool) -> None:
        """The typed events of one processed block, in the order they happened."""
        idx = self.state.chain.index.get(block.hash)
        returned = tuple(e.txid for e in res.events if e.kind == "tx-returned")
        for e in res.events:
            kind = e.kind
            if kind == "reorg":
                self.emit(ev.Reorg(self.name, e.fork, e.fork_height, tuple(e.dropped), tuple(e.adopted), returned))
            elif kind == "tx-returned":
                self.emit(ev.TxReturned(self.name, e.txid))
            elif kind == "tx-evicted":
                self.emit(ev.TxEvicted(self.name, e.txid, e.code, e.detail))
            elif kind == "block-rejected" and e.hash != block.hash:
                self.emit(ev.BlockRejected(self.name, e.hash, e.code, e.detail, frm, direct=False))
        if mined:
            return  # BlockMined said it
        status = res.status
        if status == "new-tip":
            self.emit(ev.BlockAccepted(self.name, block.hash, idx.height if idx is not None else -1, frm))
        elif status == "side-branch" and self._missing_before(block.hash):
            self.emit(ev.BlockOrphan(self.name, block.hash, frm, idx.height if idx is not None else None))
        elif status == "side-branch":
            tip = self.state.chain.tip
            self.emit(ev.ForkSeen(self.name, block.hash, idx.height if idx is not None else -1, frm, tip.hash,
                                  tip.height, idx is not None and tip.chain_work > idx.chain_work))
        elif status == "orphan":
            self.emit(ev.BlockOrphan(self.name, block.hash, frm, None))

    # -- transactions -----------------------------------------------------------------------
    def on_tx(self, peer: Peer, msg: m.MsgTx) -> None:
        tx = msg.tx
        peer.known.add(tx.txid)
        self.downloads.answered(tx.txid)
        self.submit_tx(tx, peer)

    def submit_tx(self, tx: Tx, source: Peer | None = None) -> str:
        frm = source.remote if source is not None else self.name
        try:
            res = self.state.accept_tx(tx)
        except ValidationError as e:
            if e.code in NOT_YET_CODES and source is not None:
                self._wait(tx)  # nobody would announce it again once our chain catches up
            else:
                self.recent_rejects.add(tx.txid)
            self.emit(ev.TxRejected(self.name, tx.txid, e.code, e.detail, frm))
            if source is not None:
                if e.punish:
                    self.misbehaving(source, f"sent an invalid transaction ({e.code})")
                else:
                    source.send(m.MsgReject("tx", m.REJECT_INVALID, e.code, tx.txid))
            if source is None:
                raise
            return "rejected"
        if res.status == "orphan":
            tracker = self.downloads.tracker
            for c in res.events:
                if (c.kind == "tx-orphaned" and source is not None and c.missing not in tracker
                        and tracker.tx_room(source.remote) > 0):
                    self.downloads.ask(source, [m.InvItem(m.MSG_TX, c.missing)])
            self.emit(ev.TxOrphan(self.name, tx.txid, frm))
            if source is not None:
                self._wait(tx)  # its parent may come in a block that leaves it premature here
            return "orphan"
        self._accepted(res.accepted, tx, source)
        return res.status

    def _wait(self, tx: Tx) -> None:
        if len(self.waiting) >= MAX_ORPHAN_TXS:
            del self.waiting[next(iter(self.waiting))]  # the oldest goes
        self.waiting[tx.txid] = tx

    def _retry_waiting(self) -> None:
        """The tip moved: try again the txs that were premature (or orphans) here."""
        for txid, tx in list(self.waiting.items()):
            if txid in self.state.mempool or txid in self.state.chain.tx_index:
                del self.waiting[txid]
                continue
            if txid in self.state.mempool.orphans:
                continue  # the mempool retries it when its parent arrives
            try:
                res = self.state.accept_tx(tx)
            except ValidationError as e:
                if e.code not in NOT_YET_CODES:
                    del self.waiting[txid]  # invalid now for good (spent, conflicting)
                continue
            del self.waiting[txid]
            if res.status == "accepted":
                self._accepted(res.accepted, None, None, waited=True)

    def _accepted(self, accepted: list[Tx], tx: Tx | None, source: Peer | None, waited: bool = False) -> None:
        """Tell the lab and the peers about transactions that entered the mempool."""
        frm = source.remote if source is not None else self.name
        for t in accepted:
            origin = "caught-up" if waited else "own" if source is None and t is tx else "relayed"
            self.emit(ev.TxAccepted(self.name, t.txid, frm, origin))
        self.relay.txs([t.txid for t in accepted], source)
