"""A full node: its own chain state, a listening socket, peers, and the protocol.

Message handling follows Bitcoin Core's net_processing in miniature
(realname: PeerManagerImpl::ProcessMessage). The node dispatches each frame
through one table (msgtype -> handler) to the layer that owns it:

- here: the handshake (version -> version + verack; nothing else counts before
  version; a second version is ignored), keep-alive, peers and punishment,
  and what the node tells the lab (typed events, lab/events.py);
- lab/net/intake.py: block / tx into the chain state, then report and relay;
- lab/net/relay.py: inv / getdata / notfound, announcing new tips and txs;
- lab/net/sync.py: headers first (getheaders / headers);
- lab/net/download.py over lab/net/requests.py: every request, its retries.

Below them, lab/net/connection.py moves frames and knows nothing of messages;
each layer calls downward, or up through a narrow Protocol (Owner, NodeCore).
- misbehaviour: malformed frames, oversized lists, consensus-invalid blocks or
  transactions and invalid headers get the peer disconnected and discouraged;
  a missing parent or missing inputs do not (they may just be early).

No exception raised while handling a peer's message escapes: it is caught,
narrated and the peer dropped, and the node keeps working.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from lab import events as ev
from lab.errors import ProtocolError
from lab.net import messages as m
from lab.net.banman import Discouraged
from lab.net.bigblock import take_block, worth_slicing
from lab.net.connection import LAB, Connection
from lab.net.download import Downloads
from lab.net.intake import Intake
from lab.net.peer import BoundedSet, Peer
from lab.net.relay import Relay
from lab.net.requests import RequestTracker
from lab.net.sync import Sync
from lab.params import (
    MAX_BLOCK_SIZE,
    MAX_KNOWN_INVENTORY,
    MAX_LIVE_PEERS,
    MAX_NARRATED_PER_PEER,
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
# MAX_NARRATED_PER_PEER such events the rest are counted, not logged.
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
        self.discouraged = Discouraged()  # realname: BanMan's discouragement (lab nodes by name, outsiders by host)
        self.recent_rejects = BoundedSet(MAX_KNOWN_INVENTORY)  # realname: m_recent_rejects
        self.internal_errors: list[str] = []
        self.nonce_counter = 0
        self.blocks_mined = 0
        self._emit_lab = emit
        self._outsider: Peer | None = None  # the live peer whose frame is being handled
        self.classroom: Any = None  # a class network's hook on live links (lab/classroom/room.py), or None
        self.downloads = Downloads(self, fabric.sched)
        self.relay = Relay(self, self.downloads, self.recent_rejects)
        self.sync = Sync(self, self.downloads, self.emit, self.misbehaving)
        self.intake = Intake(self, self.downloads, self.relay, self.sync, self.recent_rejects, emit)
        self.sync.relay = self.relay
        self._handlers: dict[str, Callable[[Peer, Any], None]] = {
            "version": self.on_version, "verack": self.on_verack, "ping": self.on_ping, "pong": self.on_pong,
            "getaddr": self.on_getaddr, "addr": self.on_addr, "reject": self.on_reject,
            "inv": self.relay.on_inv, "getdata": self.relay.on_getdata, "notfound": self.relay.on_notfound,
            "getheaders": self.sync.on_getheaders, "headers": self.sync.on_headers,
            "block": self.intake.on_block, "tx": self.intake.on_tx,
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
    async def listen(self, port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: Connection(self, inbound=True), self.host, port)
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
        if self.discouraged.refuses(host):  # realname: CConnman::AcceptConnection, IsDiscouraged
            conn.close_reason = "its host is discouraged"
            return False
        outsiders = sum(1 for p in self.peers.values() if not p.lab_link and not p.closed)
        limit = MAX_LIVE_PEERS if self.classroom is None else self.classroom.inbound_limit()
        if outsiders >= limit:  # realname: the inbound slot limit
            return False
        peer = Peer(conn)
        self.peers[peer.remote] = peer
        self.emit(ev.PeerConnected(self.name, peer.remote, outsider=True))
        room = self.classroom  # a class: the handshake ends with admission (a split may turn `active` off)
        conn.start_handshake_timer(lambda: peer.active if room is None else room.admitted(peer))
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
        if self.classroom is not None and not peer.lab_link:
            self.classroom.on_closed(peer)

    def send_pending(self, peer: Peer) -> bool:
        """One turn of an outsider's queued getdata; False when none waits. Nothing raised escapes."""
        if peer.closed or not peer.getdata:
            return False
        try:
            return self.relay.send_pending(peer)
        except Exception as e:  # a bug of ours must not take the node down
            detail = f"{type(e).__name__}: {e}"
            self.internal_errors.append(detail + "\n" + traceback.format_exc())
            self.emit(ev.InternalError(self.name, peer.remote, "getdata", detail))
            self.drop_peer(peer, "internal error while serving its getdata")
            return False

    def misbehaving(self, peer: Peer, reason: str) -> None:
        """Disconnect and discourage (realname: Misbehaving + MaybeDiscourageAndDisconnect)."""
        if peer.closed:
            return
        self.discouraged.add(peer.remote, lab_node=peer.lab_link)
        peer.close(f"misbehaving: {reason}")
        self.emit(ev.PeerPunished(self.name, peer.remote, reason))

    def active_peers(self) -> list[Peer]:
        return [p for p in self.peers.values() if p.active and not p.conn.closed]

    # -- frames in ---------------------------------------------------------------------
    def on_frame(self, peer: Peer, command: str, payload: bytes | None) -> Coroutine[Any, Any, None] | None:
        """Handle one frame. Nothing raised here escapes.

        A large block from an outsider returns a coroutine instead: the connection
        runs it as a task and holds this peer's next frames until it is done.
        """
        if peer.closed:
            return None
        room = self.classroom if not peer.lab_link else None  # a class: only admitted peers' blocks are sliced
        if (payload is not None and (room is None or room.chain_ok(peer)) and worth_slicing(peer, command, payload)
                and len(payload) <= MAX_BLOCK_SIZE):
            return take_block(self, peer, payload)
        self.guarded(peer, command, self._frame, peer, command, payload)
        return None

    def guarded(self, peer: Peer, command: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Run fn(*args) for a frame of `peer`: an outsider's noise counted, nothing raised escapes."""
        self._outsider = None if peer.lab_link else peer
        try:
            return fn(*args)
        except Exception as e:  # a bug of ours must not take the node down
            detail = f"{type(e).__name__}: {e}"
            self.internal_errors.append(detail + "\n" + traceback.format_exc())
            self.emit(ev.InternalError(self.name, peer.remote, command, detail))
            self.drop_peer(peer, "internal error while handling its message")
            return None
        finally:
            self._outsider = None

    def _frame(self, peer: Peer, command: str, payload: bytes | None) -> None:
        if payload is None:  # bad checksum: drop the message, keep the peer (Core)
            peer.bad_checksums += 1
            if peer.bad_checksums == 1:  # one line per peer, not one per frame of a flood
                self.emit(ev.FrameDropped(self.name, peer.remote, command))
            return
        if len(payload) > 100_000 and self.intake.refuse_oversized(peer, command, payload):
            return
        if command == "block" and peer.lab_link and peer.version is not None and len(payload) >= 80 \
                and self.intake.on_known_block(peer, payload):
            return
        try:
            msg = m.decode_message(command, payload)
        except ProtocolError as e:
            self.misbehaving(peer, e.reason)
            return
        room = self.classroom if not peer.lab_link else None
        if msg is None and room is not None:  # a class message (lab/classroom/messages.py)?
            try:
                msg = room.decode(command, payload)
            except ProtocolError as e:
                self.misbehaving(peer, e.reason)
                return
        if msg is None:  # unknown command: ignored, as Bitcoin Core does
            return
        if peer.version is None and msg.msgtype != "version":
            return  # realname: "non-version message before version handshake"
        if room is not None and not room.allow(peer, msg):
            return  # a class message (handled there), or chain traffic the class refuses
        self._handlers[msg.msgtype](peer, msg)

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
        elif self.classroom is not None:
            self.classroom.on_active(peer)  # class admission first; it calls start_relay once admitted
            return
        self.start_relay(peer)

    def start_relay(self, peer: Peer) -> None:
        """Headers-first sync from a new peer, then share what our mempool holds."""
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

    # -- blocks and transactions (lab/net/intake.py) -------------------------------------
    def mined(self, block: Block) -> str:
        """A block this node's own miner found on its tip: it says so, stores and announces it."""
        self.blocks_mined += 1
        return self.intake.mined(block)

    def publish(self, hashes: list[bytes]) -> None:
        """Announce blocks this node withheld, oldest first (an attacker's move; see Relay.withheld)."""
        self.relay.publish(hashes)

    def submit_block(self, block: Block, source: Peer | None = None) -> str:
        """Validate and store a block from a peer (or handed in locally). Returns the status."""
        return self.intake.submit_block(block, source)

    def submit_tx(self, tx: Tx, source: Peer | None = None) -> str:
        """Validate a transaction; keep, relay and report it. A local one that is refused raises."""
        return self.intake.submit_tx(tx, source)
