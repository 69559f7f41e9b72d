"""The virtual clock and its event queue.

Virtual time is an integer count of microseconds since the lab started. Every
future happening (a frame arriving, an auto-miner finding a block, a timer)
is an Event in one heap ordered by (due time, sequence number). The sequence
number is handed out in the order events are created, and events are created
in a deterministic order, so ties break the same way on every machine: the
same seed and the same commands replay exactly.

An event's action may be a plain function or a coroutine function; the
scheduler awaits it to completion before it takes the next event, so each
delivery is handled whole (including the sends it makes) before time moves.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

YIELD_EVERY = 0.02  # wall seconds of events run back to back before the event loop gets a turn

US = 1
MS = 1_000
SECOND = 1_000_000
BUSY = ("frame", "retry")  # while any of these is pending the network is not quiet


@dataclass(order=True, slots=True)
class Event:
    due: int  # virtual microseconds
    seq: int  # creation order; breaks ties deterministically
    action: Callable[[], Any] = field(compare=False)
    kind: str = field(default="timer", compare=False)  # "frame" | "mine" | "timer"
    cancelled: bool = field(default=False, compare=False)
    data: Any = field(default=None, compare=False)  # e.g. the Flight of a frame event

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """Owns virtual time. Nothing else moves it."""

    def __init__(self) -> None:
        self.now = 0  # virtual microseconds
        # (due, seq, event): heapq compares the two ints in C; comparing Events
        # through the dataclass's generated __lt__ cost more than the rest of a push
        self._heap: list[tuple[int, int, Event]] = []
        self._seq = 0
        self.frames_pending = 0  # live (not cancelled) frame events in the heap
        self.processed = 0  # events run so far
        self._last_yield = time.perf_counter()  # wall clock of the last turn given to the event loop
        self.running: Event | None = None  # the event whose action is being awaited (a save waits it out)

    # -- scheduling ---------------------------------------------------------
    def at(self, due: int, action: Callable[[], Any], kind: str = "timer", data: Any = None) -> Event:
        self._seq += 1
        ev = Event(max(due, self.now), self._seq, action, kind, False, data)
        heapq.heappush(self._heap, (ev.due, ev.seq, ev))
        if kind in BUSY:
            self.frames_pending += 1
        return ev

    def after(self, delay: int, action: Callable[[], Any], kind: str = "timer", data: Any = None) -> Event:
        return self.at(self.now + max(0, delay), action, kind, data)

    def cancel(self, ev: Event) -> None:
        if not ev.cancelled:
            ev.cancelled = True
            if ev.kind in BUSY:
                self.frames_pending -= 1

    # -- inspection ------------------------------------------------------------
    def _prune(self) -> None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)

    def peek(self, kind: str | None = None) -> Event | None:
        """The next live event (of `kind`, if given) without running it."""
        self._prune()
        if kind is None:
            return self._heap[0][2] if self._heap else None
        live = [e for _, _, e in self._heap if not e.cancelled and e.kind == kind]
        return min(live) if live else None

    def pending(self, kind: str | None = None) -> list[Event]:
        return sorted(e for _, _, e in self._heap if not e.cancelled and (kind is None or e.kind == kind))

    @property
    def quiet(self) -> bool:
        """No frame in flight and no request awaiting its retry (held frames don't count)."""
        return self.frames_pending == 0

    # -- running -----------------------------------------------------------------
    async def run_event(self, ev: Event) -> None:
        """Advance the clock to `ev` and run it to completion."""
        if ev.cancelled:
            return
        ev.cancelled = True  # consumed
        if ev.kind in BUSY:
            self.frames_pending -= 1
        self.now = max(self.now, ev.due)
        self.processed += 1
        result = ev.action()
        if result is not None and inspect.isawaitable(result):
            self.running = ev
            try:
                await result
            finally:
                self.running = None

    async def run_next(self, until: int | None = None, kind: str | None = None) -> Event | None:
        """Run events in order until one (of `kind`, if given) has run; None if none is due.

        With `kind="frame"` this is one `step`: the next frame is delivered, and
        any timer due before it (an auto-miner's block) runs first, in order.
        """
        while True:
            if kind == "frame" and self.quiet:
                return None
            self._prune()
            if not self._heap:
                return None
            top = self._heap[0][2]
            if until is not None and top.due > until:
                return None
            heapq.heappop(self._heap)
            await self.run_event(top)
            now = time.perf_counter()
            if now - self._last_yield >= YIELD_EVERY:
                # Thousands of frames run back to back held the event loop for seconds: every
                # 20 ms of work, sockets and outsiders get a turn. Lab frames still run in
                # virtual-time order (a delivery whose bytes are not read yet waits the same way).
                await asyncio.sleep(0)
                self._last_yield = time.perf_counter()
            if kind is None or top.kind == kind:
                return top

    async def run_until(self, until: int, keep_going: Callable[[], bool] | None = None) -> int:
        """Run every event due at or before `until`, then set the clock to `until`.

        `keep_going()` is asked after each event; once it says False (Ctrl-C) the run stops as soon
        as the current instant is over: every event due at `now` has run and the clock stays at
        `now`, so the lab is exactly what `run_until(now)` would have made (a replay can do the same).
        """
        n = 0
        while await self.run_next(until) is not None:
            n += 1
            if keep_going is not None and not keep_going():
                self._prune()
                if not self._heap or self._heap[0][2].due > self.now:
                    return n
        self.now = max(self.now, until)
        return n
