"""One TCP connection: bytes in, frames out, and a bounded send queue (realname: CNode's transport).

A Connection knows nothing about messages, blocks or peers' protocol state:
it cuts the incoming byte stream into frames (FrameBuffer: magic and length
checked before the payload is read), writes frames, and closes. What happens
to a frame depends on its link, behind one interface (`Link`):

- a *lab link* (both ends are nodes of this lab) is timed by the fabric:
  frames sent go through `Fabric.transmit`, frames read wait in the inbox
  until the scheduler's delivery event takes them (`take`), so a frame counts
  as arrived at its virtual arrival time;
- a *live link* (a peer outside the lab: a raw socket, a classmate's node)
  is immediate: frames are written at once and handled on arrival, with
  wall-clock timeouts for the handshake and for half-received frames.

Upward it calls only its owner, through the narrow `Owner` protocol.

Sends never block: a connection whose unread output exceeds MAX_SEND_QUEUE
is dropped instead of waiting on `drain()` forever, and nothing more is
queued for it. The frame being read is capped (MAX_PAYLOAD), and so is the
number of outsiders at once (MAX_LIVE_PEERS, decided by the owner). An
outsider dropped is aborted, not closed politely: a polite close would keep
its unread output buffered until it chose to read.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol, cast

from lab.errors import ProtocolError
from lab.net.wire import FrameBuffer
from lab.params import (
    FRAME_TIMEOUT,
    HANDSHAKE_TIMEOUT,
    MAX_SEND_QUEUE,
    RECV_PAUSE_BYTES,
    SEND_PAUSE_BYTES,
)

if TYPE_CHECKING:
    from lab.net.fabric import Fabric

# One receive buffer per thread, shared by its connections: asyncio calls get_buffer,
# recv_into and buffer_updated in one go, and buffer_updated copies the bytes out
# at once. (A plain Protocol makes asyncio allocate a fresh 256 KiB bytes object
# per read, ~20 µs each on Linux: more than the rest of a small frame's trip.)
_RECV = threading.local()


class Owner(Protocol):
    """What a connection may call on the node that owns it."""

    name: str
    fabric: Fabric

    def accept(self, conn: Connection, host: str, port: int) -> bool: ...
    def on_frame(self, peer: Any, command: str, payload: bytes | None) -> Coroutine[Any, Any, None] | None: ...
    def on_bad_stream(self, peer: Any, reason: str) -> None: ...
    def drop_peer(self, peer: Any, reason: str) -> None: ...
    def on_peer_closed(self, peer: Any) -> None: ...
    def send_pending(self, peer: Any) -> bool: ...


class Connection(asyncio.BufferedProtocol):
    def __init__(self, owner: Owner, *, inbound: bool, remote: str = "?", lab_link: bool = False) -> None:
        self.owner = owner
        self.inbound = inbound  # True: the other side connected to us
        self.remote = remote  # the other node's name, or "host:port" for a live peer
        self.link: Link = LAB if lab_link else LIVE
        self.peer: Any = None  # the owner's protocol state for this connection (lab/net/peer.py)
        self.twin: Connection | None = None  # the other end, when both are lab nodes
        self.transport: asyncio.Transport | None = None
        self.frames = FrameBuffer()
        self.closed = False
        self.close_reason = ""
        self.send_full = False  # the send queue overflowed: nothing more is written
        # frame accounting: index of each frame on this connection, per direction
        self.sent = 0
        self.received = 0
        self.bytes_sent = 0  # bytes of the frames written
        # lab link: frames read, waiting for their delivery event
        self._inbox: dict[int, tuple[str, bytes | None]] = {}
        self._waiters: dict[int, asyncio.Future[tuple[str, bytes | None] | None]] = {}
        self._discard_below = 0
        # live link: wall-clock timers
        self._timers: list[asyncio.TimerHandle] = []
        self._frame_timer: asyncio.TimerHandle | None = None
        self.delay = 0.0  # live link: seconds each frame waits before it is written (a class's latency)
        # live link: frames read and not yet handled, one per turn of the event loop
        # (realname: vProcessMsg, fPauseRecv), and whether the peer's send buffer is full (fPauseSend)
        self.backlog: deque[tuple[str, bytes | None]] = deque()
        self.backlog_bytes = 0
        self.pause_send = False
        self._reading_paused = False
        self._work_due = False
        self._task: asyncio.Task[None] | None = None  # a large block being taken in slices

    @property
    def lab_link(self) -> bool:
        return self.link is LAB

    # -- asyncio Protocol ---------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if self.inbound:
            host, port = transport.get_extra_info("peername")[:2]
            if not self.owner.accept(self, host, port):
                self.closed = True
                self.close_reason = self.close_reason or "too many outsiders connected"
                self.transport.abort()
                return
        if self.link is LIVE:  # pause_writing() once this much is unread by the peer (realname: fPauseSend)
            self.transport.set_write_buffer_limits(high=SEND_PAUSE_BYTES)

    def pause_writing(self) -> None:
        self.pause_send = True

    def resume_writing(self) -> None:
        self.pause_send = False
        if self.link is LIVE:
            self.schedule_work()

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
            frames = self.frames.feed(data)  # type: ignore[arg-type]  # a memoryview is copied at once
        except ProtocolError as e:
            self.owner.on_bad_stream(self.peer, e.reason)
            return
        self.link.received(self, frames)

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed("connection closed by the other side" if not self.closed else self.close_reason)

    # -- sending ------------------------------------------------------------------------
    def send(self, command: str, frame: bytes, msg: Any) -> None:
        """Send one frame (its decoded message kept for the fabric's `queue` and `msg` views)."""
        if self.closed or self.transport is None or self.send_full:
            return
        self.link.send(self, command, frame, msg)

    def write_frame(self, frame: bytes) -> int:
        """Write bytes now; returns this frame's index on the connection."""
        idx = self.sent
        self.sent += 1
        transport = self.transport
        if self.send_full or transport is None:
            return idx
        if transport.get_write_buffer_size() + len(frame) > MAX_SEND_QUEUE:
            # Queue nothing more (a getdata of 50,000 blocks would otherwise be
            # buffered whole) and drop the peer once the current handler is done.
            self.send_full = True
            asyncio.get_running_loop().call_soon(
                lambda: self.owner.drop_peer(self.peer, "send queue full: the peer does not read"))
            return idx
        transport.write(frame)
        self.bytes_sent += len(frame)
        return idx

    # -- lab-link delivery ----------------------------------------------------------
    def take(self, index: int) -> tuple[str, bytes | None] | asyncio.Future[tuple[str, bytes | None] | None] | None:
        """The frame with this index if it has been read off the socket, else a future of it; None if closed.

        (Not a coroutine: most frames are already read when their delivery is due.)
        """
        inbox = self._inbox
        while inbox:  # keys ascend (frames are read in order): those before `index` were dropped or lost
            first = next(iter(inbox))
            if first >= index:
                break
            del inbox[first]
        self._discard_below = index  # frames before it were dropped or lost
        got = inbox.pop(index, None)
        if got is not None:
            return got
        if self.closed:
            return None
        if self._read_now():
            got = inbox.pop(index, None)
            if got is not None:
                return got
            if self.closed:
                return None
        fut: asyncio.Future[tuple[str, bytes | None] | None] = asyncio.get_running_loop().create_future()
        self._waiters[index] = fut
        return fut

    def _read_now(self) -> bool:
        """Read what the socket holds now, as the event loop would on its next turn; False if it cannot.

        Both ends of a lab link are in this process and a frame written on loopback is
        in the receiver's socket buffer as soon as `send` returns: a delivery that is
        due need not wait a turn of the event loop (a poll and a task switch) for it.
        The transport's own read step is used, so EOF and errors go the usual way.
        """
        transport = self.transport
        read = getattr(transport, "_read_ready", None)  # asyncio's selector transport; others wait
        if read is None or transport is None or not transport.is_reading():
            return False
        read()
        return True

    # -- live-link work: one message (or a few getdata items) per turn of the event loop -------
    def schedule_work(self) -> None:
        if not self._work_due and not self.closed:
            self._work_due = True
            asyncio.get_running_loop().call_soon(self._work)

    def _work(self) -> None:
        """One turn for this peer (realname: ProcessMessages): its pending getdata first, else one frame.

        Nothing is done while the peer does not read what it asked for (pause_send);
        resume_writing() brings it back. Other peers and the lab get the loop in between.
        """
        self._work_due = False
        if self.closed or self.pause_send or self._task is not None:
            return
        owner, peer = self.owner, self.peer
        if owner.send_pending(peer):
            more = True
        elif self.backlog:
            command, payload = self.backlog.popleft()
            self.backlog_bytes -= len(payload) if payload is not None else 0
            slow = owner.on_frame(peer, command, payload)
            if slow is not None:  # a large block, taken in slices: this peer waits until it is done
                self._task = asyncio.get_running_loop().create_task(slow)
                self._task.add_done_callback(self._slow_done)
            if self._reading_paused and self.backlog_bytes < RECV_PAUSE_BYTES // 2 and not self.closed:
                self._reading_paused = False
                if self.transport is not None:
                    self.transport.resume_reading()
            more = True  # its getdata may have queued work: the next turn looks
        else:
            more = False
        if more and not self.closed and not self.pause_send:
            self.schedule_work()

    def _slow_done(self, task: asyncio.Task[None]) -> None:
        self._task = None
        if not task.cancelled():
            task.exception()  # the node's guard catches everything; never "exception was never retrieved"
        self.schedule_work()

    # -- closing ------------------------------------------------------------------------
    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.close_reason = reason
        if self.transport is not None:
            self.link.close_transport(self.transport)
        self._closed(reason)
        # Both ends of a lab link live in this process: the other end learns of the
        # close now, not whenever the event loop reads the FIN, so a run stays exact.
        twin = self.twin
        if self.link is LAB and twin is not None and not twin.closed:
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
        self.backlog.clear()
        self.backlog_bytes = 0
        if first and self.peer is not None:
            self.owner.on_peer_closed(self.peer)

    # -- live-link timeouts (wall clock) ----------------------------------------------
    def start_handshake_timer(self, active: Any) -> None:
        """Drop the peer unless `active()` holds after HANDSHAKE_TIMEOUT seconds."""
        def check() -> None:
            if not active() and not self.closed:
                self.owner.drop_peer(self.peer, "handshake not finished in time")
        self._timers.append(asyncio.get_running_loop().call_later(HANDSHAKE_TIMEOUT, check))

    def arm_frame_timer(self, new_frame: bool) -> None:
        """The deadline runs from a frame's first byte: trickling bytes does not extend it."""
        if self._frame_timer is not None and (new_frame or not self.frames.partial or self.closed):
            self._frame_timer.cancel()
            self._frame_timer = None
        if self._frame_timer is None and self.frames.partial and not self.closed:
            loop = asyncio.get_running_loop()
            self._frame_timer = loop.call_later(FRAME_TIMEOUT, self._frame_timeout)

    def _frame_timeout(self) -> None:
        if not self.closed:
            self.owner.drop_peer(self.peer, "stalled in the middle of a frame")

    def __repr__(self) -> str:
        return (f"Connection({self.owner.name}<->{self.remote}, {'in' if self.inbound else 'out'}, "
                f"{'lab' if self.link is LAB else 'live'})")


class Link:
    """How frames travel on a connection: the one interface of lab and live links."""

    def send(self, conn: Connection, command: str, frame: bytes, msg: Any) -> None:
        raise NotImplementedError

    def received(self, conn: Connection, frames: list[tuple[str, bytes | None]]) -> None:
        raise NotImplementedError

    def close_transport(self, transport: asyncio.Transport) -> None:
        raise NotImplementedError


class LabLink(Link):
    """Timed by the fabric: sent frames get a virtual arrival time; read frames wait for it."""

    def __reduce__(self) -> str:
        return "LAB"  # the one instance (connections compare `link is LAB`), also in a saved lab

    def send(self, conn: Connection, command: str, frame: bytes, msg: Any) -> None:
        if conn.twin is not None:
            conn.owner.fabric.transmit(conn, command, frame, msg)
        else:
            conn.write_frame(frame)

    def received(self, conn: Connection, frames: list[tuple[str, bytes | None]]) -> None:
        waiters, inbox = conn._waiters, conn._inbox
        for got in frames:
            idx = conn.received
            conn.received += 1
            if idx < conn._discard_below:
                continue
            fut = waiters.pop(idx, None) if waiters else None
            if fut is not None and not fut.done():
                fut.set_result(got)
            else:
                inbox[idx] = got

    def close_transport(self, transport: asyncio.Transport) -> None:
        transport.close()  # lab nodes read everything: an orderly close


class LiveLink(Link):
    """Immediate: frames are written at once and handled as they arrive."""

    def __reduce__(self) -> str:
        return "LIVE"

    def send(self, conn: Connection, command: str, frame: bytes, msg: Any) -> None:
        if conn.delay > 0:
            asyncio.get_running_loop().call_later(conn.delay, lambda: conn.closed or conn.write_frame(frame))
        else:
            conn.write_frame(frame)

    def received(self, conn: Connection, frames: list[tuple[str, bytes | None]]) -> None:
        """Frames wait in the backlog, handled one per turn (a flood of them cannot hold the loop).

        Past RECV_PAUSE_BYTES waiting, the socket is not read until the backlog drains (fPauseRecv).
        """
        if frames:
            conn.received += len(frames)
            conn.backlog.extend(frames)
            conn.backlog_bytes += sum(len(p) for _, p in frames if p is not None)
            if conn.backlog_bytes > RECV_PAUSE_BYTES and not conn._reading_paused and conn.transport is not None:
                conn._reading_paused = True
                conn.transport.pause_reading()
            conn.schedule_work()
        conn.arm_frame_timer(new_frame=bool(frames))

    def close_transport(self, transport: asyncio.Transport) -> None:
        transport.abort()  # an outsider may never read: free its buffers now


LAB = LabLink()
LIVE = LiveLink()
