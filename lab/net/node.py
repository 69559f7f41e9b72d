"""A full node: its own chain state, a listening socket, peers, and the protocol.

Message handling follows Bitcoin Core's net_processing in miniature
(realname: PeerManagerImpl::ProcessMessage), dispatched through a table of
`on_<msgtype>` methods:

- handshake: version -> version + verack; nothing else counts before version;
  a second version is ignored.
- relay: a new tip or a newly accepted transaction is announced with `inv` to
  every peer that does not know it yet; the receiver asks with `getdata` for
  what it lacks and gets `block` / `tx`.
- sync, headers first: on connect, and whenever a block's parent is unknown,
  `getheaders` with a block locator; the answer `headers` is checked (proof of
  work, difficulty, time), then the blocks are fetched in batches.
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

from lab.chain.crypto import short_hex
from lab.chain.events import TxEvicted
from lab.errors import ProtocolError, ValidationError
from lab.net import messages as m
from lab.net.peer import BoundedSet, Peer
from lab.params import (
    GETDATA_BATCH,
    MAX_HEADERS,
    MAX_KNOWN_INVENTORY,
    MAX_NARRATED_PER_PEER,
    MAX_ORPHAN_TXS,
    MAX_PEER_BLOCK_REQUESTS,
    MAX_PEER_TX_REQUESTS,
    MAX_REQUEST_TRIES,
    PROTOCOL_VERSION,
    REQUEST_TIMEOUT,
    USER_AGENT,
)

if TYPE_CHECKING:
    from lab.chain.block import Block
    from lab.chain.node_state import NodeState
    from lab.chain.tx import Tx
    from lab.net.fabric import Fabric

Narrate = Callable[..., None]  # narrate(kind, text, **data)

# What an outsider can make a node say as often as it likes; after
# MAX_NARRATED_PER_PEER such lines the rest are counted, not logged.
# Refusals that only mean "not yet at my tip": a node that is behind its peers
# (still syncing, just back from a partition) keeps such a tx and tries again.
NOT_YET_CODES = frozenset({"bad-txns-premature-spend-of-coinbase", "non-final"})

NOISY_KINDS = frozenset({"frame-dropped", "tx-rejected", "tx-orphan", "block-rejected", "orphan", "reject-received"})


class Node:
    def __init__(self, name: str, state: NodeState, fabric: Fabric, narrate: Narrate,
                 clock: Callable[[], int], host: str = "127.0.0.1") -> None:
        self.name = name
        self.state = state
        self.fabric = fabric
        self._narrate_lab = narrate
        self._outsider: Peer | None = None  # the live peer whose frame is being handled
        self.clock = clock  # virtual unix seconds
        self.host = host
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self.online = False
        self.peers: dict[str, Peer] = {}  # remote name -> connection
        self.discouraged: set[str] = set()  # realname: m_discouraged (BanMan)
        self.requested: dict[bytes, str] = {}  # block/tx hash -> peer we asked (realname: mapBlocksInFlight)
        self.requested_at: dict[bytes, tuple[int, int]] = {}  # hash -> (virtual time asked, tries)
        self._retry_ev = None  # the one retry timer, while a request is open
        self.fetch_queue: dict[bytes, str] = {}  # block hashes to fetch -> peer that has them
        self.recent_rejects = BoundedSet(MAX_KNOWN_INVENTORY)  # realname: m_recent_rejects
        self.waiting: dict[bytes, Tx] = {}  # txs from peers valid only at a taller tip, oldest first
        self.internal_errors: list[str] = []
        self.nonce_counter = 0
        self.blocks_mined = 0
        self.relay_push = False  # BIP 152-style: push a new tip block instead of announcing it

    # -- life cycle -----------------------------------------------------------------
    async def listen(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: Peer(self, inbound=True), self.host, 0)
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

    def narrate(self, kind: str, text: str, **data: Any) -> None:
        """Tell the lab; an outsider's noise (rejections, bad frames) is narrated only so often."""
        peer = self._outsider
        if peer is not None and kind in NOISY_KINDS:
            peer.narrated += 1
            if peer.narrated > MAX_NARRATED_PER_PEER:
                if peer.narrated == MAX_NARRATED_PER_PEER + 1:
                    self._narrate_lab("peer-noisy", f"{self.name} stops narrating rejections from {peer.remote}: "
                                      f"it sent more than {MAX_NARRATED_PER_PEER}", node=self.name, peer=peer.remote)
                return
        self._narrate_lab(kind, text, **data)

    def loop_call_soon(self, fn: Callable[[], Any]) -> None:
        asyncio.get_running_loop().call_soon(fn)

    # -- peers ------------------------------------------------------------------------
    def on_live_peer(self, peer: Peer) -> None:
        self.peers[peer.remote] = peer
        self.narrate("peer-connected", f"{self.name} accepted a connection from {peer.remote} (outside the lab)",
                     node=self.name, peer=peer.remote)

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
            self.narrate("peer-disconnected", f"{self.name} disconnected {peer.remote}: {reason}",
                         node=self.name, peer=peer.remote)

    def on_peer_closed(self, peer: Peer) -> None:
        if self.peers.get(peer.remote) is peer:
            del self.peers[peer.remote]
        self.fabric.forget_peer(peer)
        orphaned = [h for h, who in self.requested.items() if who == peer.remote]
        if orphaned and self.online:
            self._retry(orphaned)  # ask someone else who announced them
        self._arm_retry()
        for h in [h for h, who in self.fetch_queue.items() if who == peer.remote]:
            del self.fetch_queue[h]

    def misbehaving(self, peer: Peer, reason: str) -> None:
        """Disconnect and discourage (realname: Misbehaving + MaybeDiscourageAndDisconnect)."""
        if peer.closed:
            return
        self.discouraged.add(peer.remote)
        peer.close(f"misbehaving: {reason}")
        self.narrate("peer-punished", f"{self.name} disconnected {peer.remote} and discourages it: {reason}",
                     node=self.name, peer=peer.remote, reason=reason)

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
                    self.narrate("frame-dropped", f"{self.name} dropped a '{command}' frame from {peer.remote}: "
                                 "bad checksum (more are dropped silently)", node=self.name, peer=peer.remote)
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
            handler = getattr(self, "on_" + msg.msgtype)
            handler(peer, msg)
        except Exception as e:  # a bug of ours must not take the node down
            detail = f"{type(e).__name__}: {e}"
            self.internal_errors.append(detail + "\n" + traceback.format_exc())
            self.narrate("internal-error", f"{self.name} hit an internal error handling '{command}' from {peer.remote}: {detail}",
                         node=self.name)
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
            self.narrate("peer-connected", f"{self.name} completed the handshake with {peer.remote}",
                         node=self.name, peer=peer.remote, quiet=True)
        # headers-first sync from every new peer, then share what our mempool holds
        peer.send(m.MsgGetheaders(tuple(self.state.chain.locator())))
        txids = [tx.txid for tx in self.state.mempool.txs()]
        if txids:
            self._announce_to(peer, [m.InvItem(m.MSG_TX, t) for t in txids])

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
        self.narrate("reject-received", f"{self.name} learns from {peer.remote} that its {msg.message} "
                     f"{short_hex(msg.hash)} was refused: {msg.reason}", node=self.name, peer=peer.remote, quiet=True)

    # -- inventory ------------------------------------------------------------------------
    def _requests_to(self, peer: Peer) -> int:
        """Requests this peer has not answered yet (realname: MAX_PEER_TX_ANNOUNCEMENTS bookkeeping)."""
        return sum(1 for who in self.requested.values() if who == peer.remote)

    def on_inv(self, peer: Peer, msg: m.MsgInv) -> None:
        want: list[m.InvItem] = []
        tx_room = MAX_PEER_TX_REQUESTS - self._requests_to(peer)
        more_blocks = False
        for item in msg.items:
            peer.known.add(item.hash)
            if item.type == m.MSG_BLOCK:
                if not self.state.chain.contains(item.hash) and item.hash not in self.requested:
                    if len(peer.blocks_in_flight) >= MAX_PEER_BLOCK_REQUESTS:
                        more_blocks = True  # fetch the rest headers-first instead
                        continue
                    peer.blocks_in_flight.add(item.hash)
                    want.append(item)
            elif item.type == m.MSG_TX:
                if (not self.state.has_tx(item.hash) and item.hash not in self.requested
                        and item.hash not in self.recent_rejects and tx_room > 0):
                    tx_room -= 1  # an outsider cannot make us hold unbounded requests
                    want.append(item)
        if want:
            self._ask(peer, want)
        if more_blocks:
            peer.send(m.MsgGetheaders(tuple(self.state.chain.locator())))

    def _ask(self, peer: Peer, items: list[m.InvItem]) -> None:
        """getdata, remembering whom we asked and when; unanswered requests are retried."""
        now = self.fabric.sched.now
        for item in items:
            self.requested[item.hash] = peer.remote
            _, tries = self.requested_at.get(item.hash, (0, 0))
            self.requested_at[item.hash] = (now, tries + 1)
        peer.send(m.MsgGetdata(tuple(items)))
        self._arm_retry()

    def _arm_retry(self) -> None:
        # realname: block stalling / getdata expiry. One timer per node; a "retry"
        # event keeps the network busy, so it exists only while a request is open.
        sched = self.fabric.sched
        if self._retry_ev is not None and not self._retry_ev.cancelled:
            sched.cancel(self._retry_ev)
        self._retry_ev = None
        open_times = [self.requested_at[h][0] for h in self.requested if h in self.requested_at]
        if open_times and self.online:
            self._retry_ev = sched.at(min(open_times) + REQUEST_TIMEOUT, self._on_retry_timer, kind="retry")

    def _on_retry_timer(self) -> None:
        self._retry_ev = None
        self._retry(list(self.requested), expired_only=True)
        self._arm_retry()

    def _answered(self, h: bytes) -> None:
        self.requested.pop(h, None)
        self.requested_at.pop(h, None)
        if not self.requested and self._retry_ev is not None:
            self.fabric.sched.cancel(self._retry_ev)
            self._retry_ev = None

    def _retry(self, hashes: list[bytes], expired_only: bool = False) -> None:
        """Ask again, from a peer that announced it, what was asked for and never came."""
        if not self.online:
            return
        now = self.fabric.sched.now
        by_peer: dict[str, list[m.InvItem]] = {}
        for h in hashes:
            if self.state.get_block(h) is not None or self.state.has_tx(h):
                self._answered(h)
                continue
            asked_at, tries = self.requested_at.get(h, (0, 0))
            if expired_only and (h not in self.requested or now - asked_at < REQUEST_TIMEOUT):
                continue
            self.requested.pop(h, None)
            last = None
            for p in self.peers.values():  # no longer in flight anywhere, even if we give up
                if p.blocks_in_flight and h in p.blocks_in_flight:
                    p.blocks_in_flight.discard(h)
                    last = p.remote
            if tries >= MAX_REQUEST_TRIES:
                self._answered(h)  # give up until it is announced again
                continue
            holders = [p for p in self.active_peers() if h in p.known]
            if not holders:
                continue
            others = [p for p in holders if p.remote != last] or holders
            target = others[tries % len(others)]
            kind = m.MSG_TX if self.state.chain.index.get(h) is None and h not in self.fetch_queue else m.MSG_BLOCK
            if kind == m.MSG_BLOCK:
                target.blocks_in_flight.add(h)
            by_peer.setdefault(target.remote, []).append(m.InvItem(kind, h))
        for name, items in by_peer.items():
            self._ask(self.peers[name], items)

    def on_getdata(self, peer: Peer, msg: m.MsgGetdata) -> None:
        missing = []
        for item in msg.items:
            if item.type == m.MSG_BLOCK:
                block = self.state.get_block(item.hash)
                if block is not None:
                    peer.known.add(item.hash)
                    peer.send(m.MsgBlock(block))
                    continue
            elif item.type == m.MSG_TX:
                tx = self.state.get_tx(item.hash)
                if tx is not None:
                    peer.known.add(item.hash)
                    peer.send(m.MsgTx(tx))
                    continue
            missing.append(item)
        if missing:
            peer.send(m.MsgNotfound(tuple(missing)))

    def on_notfound(self, peer: Peer, msg: m.MsgNotfound) -> None:
        missing = []
        for item in msg.items:
            peer.known.discard(item.hash)  # it does not have it after all
            peer.blocks_in_flight.discard(item.hash)
            if self.requested.get(item.hash) == peer.remote:
                missing.append(item.hash)
        if missing:
            self._retry(missing)  # ask another peer that announced it, or give up
        self._fetch_blocks(peer)

    # -- headers-first sync ----------------------------------------------------------------
    def on_getheaders(self, peer: Peer, msg: m.MsgGetheaders) -> None:
        stop = None if msg.hash_stop == b"\x00" * 32 else msg.hash_stop
        headers = self.state.chain.headers_after(list(msg.locator), stop, MAX_HEADERS)
        peer.send(m.MsgHeaders(tuple(headers)))

    def on_headers(self, peer: Peer, msg: m.MsgHeaders) -> None:
        if not msg.headers:
            return
        for h in msg.headers:
            peer.known.add(h.hash)
        try:
            wanted = self.state.process_headers(list(msg.headers))
        except ValidationError as e:
            if e.punish:
                self.narrate("block-rejected", f"{self.name} rejected headers from {peer.remote}: {e.code}"
                             + (f" ({e.detail})" if e.detail else ""), node=self.name, code=e.code, peer=peer.remote)
                self.misbehaving(peer, f"invalid header: {e.code}")
            else:  # they don't connect to what we know yet: ask from our locator
                peer.send(m.MsgGetheaders(tuple(self.state.chain.locator())))
            return
        for h in wanted:
            if h not in self.fetch_queue and h not in self.requested:
                self.fetch_queue[h] = peer.remote
        self._fetch_blocks(peer)
        if len(msg.headers) == MAX_HEADERS:  # there may be more: continue from the last one
            last = msg.headers[-1].hash
            peer.send(m.MsgGetheaders((last, *self.state.chain.locator())[:101]))

    def _fetch_blocks(self, peer: Peer) -> None:
        """Ask `peer` for blocks it announced, at most GETDATA_BATCH in flight."""
        if peer.closed or not peer.active:
            return
        room = GETDATA_BATCH - len(peer.blocks_in_flight)
        if room <= 0:
            return
        batch = []
        for h, who in list(self.fetch_queue.items()):
            if who != peer.remote:
                continue
            del self.fetch_queue[h]
            if self.state.chain.contains(h) and self.state.get_block(h) is not None:
                continue
            if h in self.requested:
                continue
            peer.blocks_in_flight.add(h)
            batch.append(m.InvItem(m.MSG_BLOCK, h))
            if len(batch) >= room:
                break
        if batch:
            self._ask(peer, batch)

    # -- blocks ------------------------------------------------------------------------------
    def on_block(self, peer: Peer, msg: m.MsgBlock) -> None:
        block = msg.block
        peer.known.add(block.hash)
        requested = block.hash in self.requested or block.hash in peer.blocks_in_flight
        peer.blocks_in_flight.discard(block.hash)
        self._answered(block.hash)
        self.submit_block(block, peer, requested=requested)
        self._fetch_blocks(peer)

    def submit_block(self, block: Block, source: Peer | None = None, *, mined: bool = False,
                     requested: bool = True) -> str:
        """Validate and store a block; narrate; announce a new tip. Returns the status."""
        frm = source.remote if source is not None else self.name
        old_tip = self.state.chain.tip
        res = self.state.process_block(block, requested=requested or source is None or source.lab_link)
        if res.status == "ignored":
            return "ignored"  # not asked for, less work than our tip: not stored (Core's AcceptBlock)
        if res.error is not None:
            e = res.error
            self.narrate("block-rejected",
                         f"{self.name} rejected block {block.short} from {frm}: {e.code}" + (f" ({e.detail})" if e.detail else ""),
                         node=self.name, block=block.hash, code=e.code, peer=frm)
            if source is not None:
                if e.punish:
                    self.misbehaving(source, f"sent an invalid block ({e.code})")
                else:
                    source.send(m.MsgReject("block", m.REJECT_INVALID, e.code, block.hash))
            return "rejected"
        self._narrate_block(block, res, frm, old_tip, mined)
        if res.status == "orphan" and source is not None:
            source.send(m.MsgGetheaders(tuple(self.state.chain.locator())))
        if res.status == "side-branch" and source is not None and self._missing_before(block.hash):
            # Its branch has more work but blocks before it never came (their requests
            # were lost and given up): fetch them from the peer that has this one
            # (realname: FindNextBlocksToDownload). Without this the node stayed behind.
            for h in self.state.chain.missing_blocks(MAX_HEADERS):
                if h not in self.requested:
                    self.fetch_queue.setdefault(h, source.remote)
        if self.state.chain.tip is not old_tip:
            self.recent_rejects.clear()  # realname: m_recent_rejects reset on a new tip
            self._announce_new_tip(old_tip, source)
            if self.waiting:
                self._retry_waiting()
        self._announce_returned(res.events)
        return res.status

    def _missing_before(self, block_hash: bytes) -> bool:
        """Stored, with more work than the tip, but not connectable: earlier blocks lack data."""
        idx = self.state.chain.index.get(block_hash)
        return idx is not None and not idx.available and idx.chain_work > self.state.chain.tip.chain_work

    def _narrate_block(self, block: Block, res: Any, frm: str, old_tip: Any, mined: bool) -> None:
        idx = self.state.chain.index.get(block.hash)
        height = idx.height if idx is not None else "?"
        for ev in res.events:
            if ev.kind == "reorg":
                dropped = ", ".join(short_hex(h) for h in ev.dropped)
                adopted = ", ".join(short_hex(h) for h in ev.adopted)
                self.narrate("reorg", f"{self.name} reorganised to a chain with more work: back to block "
                             f"{ev.fork_height} {short_hex(ev.fork)}, dropped {len(ev.dropped)} ({dropped}), "
                             f"adopted {len(ev.adopted)} ({adopted})",
                             node=self.name, fork=ev.fork, dropped=ev.dropped, adopted=ev.adopted)
            elif ev.kind == "tx-returned":
                self.narrate("tx-returned", f"{self.name}: transaction {short_hex(ev.txid)} from a dropped block is back in the mempool",
                             node=self.name, tx=ev.txid)
            elif ev.kind == "tx-evicted":
                self.narrate("tx-evicted", f"{self.name}: transaction {short_hex(ev.txid)} left the mempool: {ev.code}"
                             + (f" ({ev.detail})" if ev.detail else ""), node=self.name, tx=ev.txid, code=ev.code)
            elif ev.kind == "block-rejected" and ev.hash != block.hash:
                self.narrate("block-rejected", f"{self.name} rejected block {short_hex(ev.hash)}: {ev.code}"
                             + (f" ({ev.detail})" if ev.detail else ""), node=self.name, block=ev.hash, code=ev.code, peer=frm)
        if mined:
            return  # the lab narrates a mined block itself
        if res.status == "new-tip":
            self.narrate("block-accepted", f"{self.name} accepted block {height} {block.short} from {frm}: new tip",
                         node=self.name, block=block.hash, peer=frm, quiet=True)
        elif res.status == "side-branch" and self._missing_before(block.hash):
            self.narrate("orphan", f"{self.name} got block {height} {block.short} from {frm}: its branch has more work, "
                         "but blocks before it have not arrived; fetching them", node=self.name, block=block.hash,
                         peer=frm, quiet=True)
        elif res.status == "side-branch":
            tip = self.state.chain.tip
            why = ("which has more work" if idx is not None and tip.chain_work > idx.chain_work
                   else "which has as much work and came first")
            self.narrate("fork", f"{self.name} sees a fork: block {height} {block.short} from {frm} is on a side branch; "
                         f"it stays on {tip.height} {short_hex(tip.hash)}, {why}",
                         node=self.name, block=block.hash, peer=frm)
        elif res.status == "orphan":
            self.narrate("orphan", f"{self.name} got block {block.short} from {frm} but not its parent yet; asking for headers",
                         node=self.name, block=block.hash, peer=frm, quiet=True)

    def _announce_new_tip(self, old_tip: Any, source: Peer | None) -> None:
        chain = self.state.chain
        new = []
        idx = chain.tip
        while idx is not None and idx is not old_tip and len(new) < 8 and not chain_contains(old_tip, idx):
            new.append(idx.hash)
            idx = idx.parent
        new.reverse()
        items = [m.InvItem(m.MSG_BLOCK, h) for h in new]
        # realname: BIP 152 high-bandwidth mode: a tip that extends the old one by one
        # block is pushed whole, unasked, to peers that opted in; anything else is announced
        push = self.relay_push and len(new) == 1 and chain.tip.parent is old_tip
        for peer in self.active_peers():
            if peer is source:
                continue
            if push and new[0] not in peer.known:
                peer.known.add(new[0])
                peer.send(m.MsgBlock(self.state.get_block(new[0])))
            else:
                self._announce_to(peer, items)

    def _announce_to(self, peer: Peer, items: list[m.InvItem]) -> None:
        fresh = [i for i in items if i.hash not in peer.known]
        if fresh:
            for i in fresh:
                peer.known.add(i.hash)
            peer.send(m.MsgInv(tuple(fresh)))

    def _announce_returned(self, events: list[Any]) -> None:
        txids = [ev.txid for ev in events if ev.kind == "tx-returned"]
        if txids:
            items = [m.InvItem(m.MSG_TX, t) for t in txids if self.state.has_tx(t)]
            for peer in self.active_peers():
                self._announce_to(peer, items)

    # -- transactions -----------------------------------------------------------------------
    def on_tx(self, peer: Peer, msg: m.MsgTx) -> None:
        tx = msg.tx
        peer.known.add(tx.txid)
        self._answered(tx.txid)
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
            self.narrate("tx-rejected", f"{self.name} rejected transaction {short_hex(tx.txid)} from {frm}: {e.code}"
                         + (f" ({e.detail})" if e.detail else ""), node=self.name, tx=tx.txid, code=e.code, peer=frm)
            if source is not None:
                if e.punish:
                    self.misbehaving(source, f"sent an invalid transaction ({e.code})")
                else:
                    source.send(m.MsgReject("tx", m.REJECT_INVALID, e.code, tx.txid))
            if source is None:
                raise
            return "rejected"
        if res.status == "orphan":
            for ev in res.events:
                if (ev.kind == "tx-orphaned" and source is not None and ev.missing not in self.requested
                        and self._requests_to(source) < MAX_PEER_TX_REQUESTS):
                    self._ask(source, [m.InvItem(m.MSG_TX, ev.missing)])
            self.narrate("tx-orphan", f"{self.name} holds transaction {short_hex(tx.txid)} from {frm} until its parent arrives",
                         node=self.name, tx=tx.txid, quiet=True)
            if source is not None:
                self._wait(tx)  # its parent may come in a block that leaves it premature here
            return "orphan"
        self._accepted(res.accepted, tx, source)
        for ev in res.events:  # a full mempool made room: say which tx left, never silently
            if isinstance(ev, TxEvicted):
                self.narrate("tx-evicted", f"{self.name}: transaction {short_hex(ev.txid)} left the mempool: {ev.code}"
                             + (f" ({ev.detail})" if ev.detail else ""), node=self.name, tx=ev.txid, code=ev.code)
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
        """Narrate and announce transactions that entered the mempool."""
        frm = source.remote if source is not None else self.name
        for t in accepted:
            if waited:
                text = f"{self.name} accepted transaction {short_hex(t.txid)} into its mempool now that its chain has caught up"
            elif source is None and t is tx:
                text = f"{self.name} checked its own transaction {short_hex(t.txid)}, keeps it in its mempool and announces it"
            else:
                text = f"{self.name} accepted transaction {short_hex(t.txid)} from {frm} into its mempool"
            self.narrate("tx-accepted", text, node=self.name, tx=t.txid, peer=frm, quiet=source is not None or waited)
        items = [m.InvItem(m.MSG_TX, t.txid) for t in accepted]
        for peer in self.active_peers():
            if peer is not source:
                self._announce_to(peer, items)


def chain_contains(tip: Any, idx: Any) -> bool:
    """Is block index `idx` an ancestor of (or equal to) `tip`?"""
    if tip is None or idx.height > tip.height:
        return False
    return tip.ancestor(idx.height) is idx
