"""One end of a TCP connection between two nodes (realname: CNode).

A Peer is an asyncio Protocol: bytes arrive in `data_received`, are cut into
frames by a FrameBuffer (magic and length checked before the payload is
read), and then:

- on a *lab link* (both ends are nodes of this lab) each frame waits in the
  inbox until the scheduler's delivery event takes it (`take`), so the frame
  counts as arrived at its virtual arrival time;
- on a *live link* (a peer outside the lab: a raw socket, a classmate's
  node) each frame is handled on arrival, with wall-clock timeouts for the
  handshake and for half-received frames.

Sends never block: a peer whose unread output exceeds MAX_SEND_QUEUE is
dropped instead of waiting on `drain()` forever, and nothing more is queued
for it. Every other per-peer structure an outsider can grow is capped too:
the frame being read (MAX_PAYLOAD), the hashes it is known to have
(MAX_KNOWN_INVENTORY), and the number of outsiders at once (MAX_LIVE_PEERS).
An outsider dropped by the node is aborted, not closed politely: a polite
close would keep its unread output buffered until it chose to read.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Hashable
from typing import TYPE_CHECKING

from lab.errors import ProtocolError
from lab.net.messages import Message, describe
from lab.net.wire import FrameBuffer, encode_frame
from lab.params import (
    FRAME_TIMEOUT,
    HANDSHAKE_TIMEOUT,
    MAX_KNOWN_INVENTORY,
    MAX_LIVE_PEERS,
    MAX_NARRATED_PER_PEER,  # noqa: F401  (re-exported for the node and the tests)
    MAX_PEER_BLOCK_REQUESTS,  # noqa: F401
    MAX_PEER_TX_REQUESTS,  # noqa: F401
    MAX_SEND_QUEUE,
)

if TYPE_CHECKING:
    from lab.net.node import Node

# One receive buffer per thread, shared by its peers: asyncio calls get_buffer,
# recv_into and buffer_updated in one go, and buffer_updated copies the bytes out
# at once. (A plain Protocol makes asyncio allocate a fresh 256 KiB bytes object
# per read, ~20 µs each on Linux: more than the rest of a small frame's trip.)
_RECV = threading.local()


class Peer(asyncio.BufferedProtocol):
    def __init__(self, node: Node, *, inbound: bool, remote: str = "?", lab_link: bool = False) -> None:
        self.node = node
        self.inbound = inbound  # True: the other side connected to us
        self.remote = remote  # the other node's name, or "host:port" for a live peer
        self.lab_link = lab_link
        self.twin: Peer | None = None  # the other end, when both are lab nodes
        self.transport: asyncio.Transport | None = None
        self.frames = FrameBuffer()
        self.closed = False
        self.close_reason = ""
        # handshake (realname: fSuccessfullyConnected)
        self.sent_version = False
        self.version = None  # their MsgVersion once received
        self.got_verack = False
        self.active = False
        # frame accounting: index of each frame on this connection, per direction
        self.sent = 0
        self.received = 0
        self._inbox: dict[int, tuple[str, bytes | None]] = {}
        self._waiters: dict[int, asyncio.Future] = {}
        self._discard_below = 0
        # relay bookkeeping (realname: m_tx_inventory_known_filter, mapBlocksInFlight)
        self.known = BoundedSet(MAX_KNOWN_INVENTORY)  # hashes this peer has (told us, or we sent it)
        self.blocks_in_flight: set[bytes] = set()
        self.best_height = 0
        self._timers: list[asyncio.TimerHandle] = []
        self._frame_timer: asyncio.TimerHandle | None = None
        self.send_full = False  # the send queue overflowed: nothing more is written
        self.narrated = 0  # noisy events (rejections, bad frames) narrated for this outsider
        self.bad_checksums = 0  # frames dropped for a bad checksum (the peer is kept, as in Core)

    # -- asyncio Protocol ---------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.inbound:
            host, port = transport.get_extra_info("peername")[:2]
            claim = self.node.fabric.claim(self.node.name, port)
            if claim is not None and not claim.done():
                self.lab_link = True
                claim.set_result(self)
            else:
                self.remote = f"{host}:{port}"
                outsiders = sum(1 for p in self.node.peers.values() if not p.lab_link and not p.closed)
                if outsiders >= MAX_LIVE_PEERS:  # realname: the inbound slot limit
                    self.closed = True
                    self.close_reason = "too many outsiders connected"
                    transport.abort()
                    return
                self.node.on_live_peer(self)
                loop = asyncio.get_running_loop()
                self._timers.append(loop.call_later(HANDSHAKE_TIMEOUT, self._handshake_timeout))

    def get_buffer(self, sizehint: int) -> memoryview:
        try:
            return _RECV.buf
        except AttributeError:
            _RECV.buf = memoryview(bytearray(64 * 1024))
            return _RECV.buf

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(_RECV.buf[:nbytes])

    def data_received(self, data: bytes | memoryview) -> None:
        if self.closed:
            return
        try:
            frames = self.frames.feed(data)
        except ProtocolError as e:
            self.node.misbehaving(self, e.reason)
            return
        for command, payload in frames:
            idx = self.received
            self.received += 1
            if self.lab_link:
                if idx < self._discard_below:
                    continue
                fut = self._waiters.pop(idx, None)
                if fut is not None and not fut.done():
                    fut.set_result((command, payload))
                else:
                    self._inbox[idx] = (command, payload)
            else:
                self.node.on_frame(self, command, payload)
                if self.closed:
                    return
        if not self.lab_link:
            self._arm_frame_timer(new_frame=bool(frames))

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed("connection closed by the other side" if not self.closed else self.close_reason)

    # -- lab-link delivery ----------------------------------------------------------
    async def take(self, index: int) -> tuple[str, bytes | None] | None:
        """The frame with this index once it has been read off the socket; None if closed."""
        for k in [k for k in self._inbox if k < index]:
            del self._inbox[k]
        self._discard_below = index  # frames before it were dropped or lost
        if index in self._inbox:
            return self._inbox.pop(index)
        if self.closed:
            return None
        fut = asyncio.get_running_loop().create_future()
        self._waiters[index] = fut
        return await fut

    # -- sending ------------------------------------------------------------------------
    def send(self, msg: Message) -> None:
        """Serialise, frame and send; on a lab link the fabric times the arrival."""
        if self.closed or self.transport is None or self.send_full:
            return
        frame = encode_frame(msg.msgtype, msg.serialize())
        if self.lab_link and self.twin is not None:
            self.node.fabric.transmit(self, msg.msgtype, frame, describe(msg))
        else:
            self.write_frame(frame)

    def write_frame(self, frame: bytes) -> int:
        """Write bytes now; returns this frame's index on the connection."""
        idx = self.sent
        self.sent += 1
        if self.send_full or self.transport is None:
            return idx
        if self.transport.get_write_buffer_size() + len(frame) > MAX_SEND_QUEUE:
            # Queue nothing more (a getdata of 50,000 blocks would otherwise be
            # buffered whole) and drop the peer once the current handler is done.
            self.send_full = True
            self.node.loop_call_soon(lambda: self.node.drop_peer(self, "send queue full: the peer does not read"))
            return idx
        self.transport.write(frame)
        return idx

    # -- closing ------------------------------------------------------------------------
    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.close_reason = reason
        if self.transport is not None:
            if self.lab_link:
                self.transport.close()  # lab nodes read everything: an orderly close
            else:
                self.transport.abort()  # an outsider may never read: free its buffers now
        self._closed(reason)
        # Both ends of a lab link live in this process: the other end learns of the
        # close now, not whenever the event loop reads the FIN, so a run stays exact.
        twin = self.twin
        if self.lab_link and twin is not None and not twin.closed:
            twin.close("the other side closed the connection")

    def _closed(self, reason: str) -> None:
        first = not self.closed
        self.closed = True
        if reason and not self.close_reason:
            self.close_reason = reason
        for t in self._timers:
            t.cancel()
        if self._frame_timer:
            self._frame_timer.cancel()
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()
        self._inbox.clear()
        if first:
            self.node.on_peer_closed(self)

    # -- live-peer timeouts (wall clock) ----------------------------------------------
    def _handshake_timeout(self) -> None:
        if not self.active and not self.closed:
            self.node.drop_peer(self, "handshake not finished in time")

    def _arm_frame_timer(self, new_frame: bool) -> None:
        """The deadline runs from a frame's first byte: trickling bytes does not extend it."""
        if self._frame_timer is not None and (new_frame or not self.frames.partial or self.closed):
            self._frame_timer.cancel()
            self._frame_timer = None
        if self._frame_timer is None and self.frames.partial and not self.closed:
            loop = asyncio.get_running_loop()
            self._frame_timer = loop.call_later(FRAME_TIMEOUT, self._frame_timeout)

    def _frame_timeout(self) -> None:
        if not self.closed:
            self.node.drop_peer(self, "stalled in the middle of a frame")

    def __repr__(self) -> str:
        return f"Peer({self.node.name}<->{self.remote}, {'in' if self.inbound else 'out'}, {'lab' if self.lab_link else 'live'})"


class BoundedSet:
    """A set that forgets its oldest entries beyond `cap` (realname: CRollingBloomFilter).

    Like Bitcoin's rolling filter it is approximate at the edges (an entry
    removed and added again may be forgotten early); its memory never is.
    """

    __slots__ = ("cap", "_items", "_order")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._items: set[Hashable] = set()
        self._order: deque[Hashable] = deque()

    def add(self, item: Hashable) -> None:
        if item in self._items:
            return
        self._items.add(item)
        self._order.append(item)
        while len(self._order) > self.cap:
            self._items.discard(self._order.popleft())

    def discard(self, item: Hashable) -> None:
        self._items.discard(item)

    def clear(self) -> None:
        self._items.clear()
        self._order.clear()

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self._items)
