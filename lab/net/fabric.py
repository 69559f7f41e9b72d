"""The network fabric: links between lab nodes, and when each frame arrives.

Bytes travel over real TCP at once; the fabric decides when a frame *counts
as arrived*: send time + link latency (+ seeded jitter), or never (loss, a
one-way cut). A held link keeps its frames until released. Each frame in
flight is a Flight with an id the learner can `drop` or inspect (`msg ID`).

Per link (one direction, src -> dst): latency, loss, held, cut. Arrival
times on one link never go backwards, as TCP keeps a connection in order.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from lab.net.messages import describe
from lab.sched import MS, Event, Scheduler

if TYPE_CHECKING:
    from lab.net.connection import Connection


@dataclass(slots=True)
class LinkState:
    """One direction of a link between two named nodes."""

    latency: int  # virtual microseconds, before jitter
    loss: float = 0.0  # probability a frame is lost, 0..1
    held: bool = False  # frames wait until `release`
    cut: bool = False  # one-way cut: every frame is lost
    last_due: int = 0  # arrival of the last frame scheduled (keeps FIFO order)
    held_flights: deque = field(default_factory=deque)


@dataclass(slots=True)
class Flight:
    """One frame between two lab nodes, from send to delivery."""

    id: int  # the learner-visible message id
    src: str  # sending node's name
    dst: str  # receiving node's name
    command: str  # msgtype
    frame: bytes  # the exact bytes written to the socket
    msg: Any  # the message those bytes encode (immutable)
    sent: int  # virtual microseconds
    due: int | None  # None while held
    index: int  # position of this frame on its connection (TCP order)
    receiver: Connection | None = None  # the receiving end
    event: Event | None = None
    status: str = "in-flight"  # in-flight | held | delivered | dropped | lost

    @property
    def summary(self) -> str:
        """One line about the message, for `queue`, `step` and `msg` (made only when shown)."""
        return describe(self.msg)


class Fabric:
    def __init__(self, sched: Scheduler, seed: int, latency_ms: float, jitter: float) -> None:
        self.sched = sched
        self.rng = random.Random(f"fabric|{seed}")
        self.default_latency = int(latency_ms * MS)
        self.jitter = jitter
        self.links: dict[tuple[str, str], LinkState] = {}
        self.flights: dict[int, Flight] = {}  # in flight or held
        self.history: deque[Flight] = deque(maxlen=2_000)  # delivered, dropped, lost
        self._next_id = 0
        self._expected: dict[tuple[str, int], Any] = {}  # (dst, src port) -> future
        self.on_deliver: Callable[[Flight], None] | None = None  # optional hook before a frame is handled

    # -- links --------------------------------------------------------------------
    def link(self, src: str, dst: str) -> LinkState:
        key = (src, dst)
        ls = self.links.get(key)
        if ls is None:
            ls = self.links[key] = LinkState(self.default_latency)
        return ls

    def set_latency(self, src: str, dst: str, latency_us: int) -> None:
        self.link(src, dst).latency = latency_us

    def set_all_latency(self, latency_us: int) -> None:
        self.default_latency = latency_us
        for ls in self.links.values():
            ls.latency = latency_us

    # -- lab connections: matching the accepting side to the connecting side ------
    def expect(self, dst: str, port: int, future: Any) -> None:
        """The connection from local port `port` to node `dst` is a lab link."""
        self._expected[(dst, port)] = future

    def claim(self, dst: str, port: int) -> Any:
        return self._expected.pop((dst, port), None)

    # -- frames ---------------------------------------------------------------------
    def transmit(self, sender: Connection, command: str, frame: bytes, msg: Any) -> Flight | None:
        """Write a frame from `sender` to its twin and schedule its arrival."""
        src, dst = sender.owner.name, sender.remote
        ls = self.links.get((src, dst)) or self.link(src, dst)
        self._next_id += 1
        flight = Flight(self._next_id, src, dst, command, frame, msg, self.sched.now, None, -1)
        if ls.cut or (ls.loss > 0 and self.rng.random() < ls.loss):
            flight.status = "lost"  # never written: the receiver's frame count stays in step
            self.history.append(flight)
            return None
        flight.index = sender.write_frame(frame)
        flight.receiver = sender.twin
        self.flights[flight.id] = flight
        if ls.held:
            flight.status = "held"
            ls.held_flights.append(flight)
        else:
            self._schedule(flight, ls)
        return flight

    def _schedule(self, flight: Flight, ls: LinkState) -> None:
        delay = ls.latency
        if delay and self.jitter:
            delay = int(delay * (1 + self.jitter * (2 * self.rng.random() - 1)))
        due = max(self.sched.now + delay, ls.last_due)
        ls.last_due = due
        flight.due = due
        flight.status = "in-flight"
        flight.event = self.sched.at(due, partial(self._deliver, flight), kind="frame", data=flight)

    def _deliver(self, flight: Flight) -> Coroutine[Any, Any, None] | None:
        """Hand the frame to its receiver now; if its bytes are not read yet, a coroutine that waits for them."""
        self.flights.pop(flight.id, None)
        flight.event = None  # the event is spent; keeping it would make a cycle only the GC frees
        conn = flight.receiver
        if conn is None or conn.closed:
            flight.status = "lost"
            self.history.append(flight)
            return None
        got = conn.take(flight.index)
        if isinstance(got, asyncio.Future):
            return self._deliver_when_read(flight, conn, got)
        self._handle(flight, conn, got)
        return None

    async def _deliver_when_read(self, flight: Flight, conn: Connection,
                                 fut: asyncio.Future[tuple[str, bytes | None] | None]) -> None:
        self._handle(flight, conn, await fut)

    def _handle(self, flight: Flight, conn: Connection, got: tuple[str, bytes | None] | None) -> None:
        if got is None:
            flight.status = "lost"
            self.history.append(flight)
            return
        flight.status = "delivered"
        self.history.append(flight)
        if self.on_deliver:
            self.on_deliver(flight)
        conn.owner.on_frame(conn.peer, got[0], got[1])

    def hold(self, src: str, dst: str) -> int:
        """Hold a link: frames in flight and new ones wait for `release`."""
        ls = self.link(src, dst)
        ls.held = True
        n = 0
        for f in sorted(self.flights.values(), key=lambda f: f.index):
            if f.src == src and f.dst == dst and f.status == "in-flight" and f.event is not None:
                self.sched.cancel(f.event)
                f.status, f.due, f.event = "held", None, None
                ls.held_flights.append(f)
                n += 1
        return n

    def release(self, src: str, dst: str) -> int:
        ls = self.link(src, dst)
        ls.held = False
        n = 0
        while ls.held_flights:
            f = ls.held_flights.popleft()
            if f.status == "held":
                self._schedule(f, ls)
                n += 1
        return n

    def drop(self, flight_id: int) -> Flight | None:
        f = self.flights.pop(flight_id, None)
        if f is None:
            return None
        if f.event is not None:
            self.sched.cancel(f.event)
        f.status = "dropped"
        self.history.append(f)
        return f

    def find(self, flight_id: int) -> Flight | None:
        f = self.flights.get(flight_id)
        if f is not None:
            return f
        for h in reversed(self.history):
            if h.id == flight_id:
                return h
        return None

    def forget(self, conn: Connection) -> None:
        """A connection closed: its frames in flight, both ways, are lost."""
        twin = conn.twin
        for f in list(self.flights.values()):
            if f.receiver is conn or (f.receiver is twin and twin is not None):
                if f.event is not None:
                    self.sched.cancel(f.event)
                self.flights.pop(f.id, None)
                f.status = "lost"
                self.history.append(f)

    def in_flight(self) -> list[Flight]:
        """Frames not yet delivered, in the order they will arrive (held ones last)."""
        live = [f for f in self.flights.values() if f.status == "in-flight" and f.event is not None]
        live.sort(key=lambda f: (f.event.due, f.event.seq) if f.event is not None else (0, 0))
        held = [f for f in self.flights.values() if f.status == "held"]
        held.sort(key=lambda f: f.id)
        return live + held
