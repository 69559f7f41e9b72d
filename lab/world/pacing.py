"""Pacing: how virtual time moves (docs/ARCHITECTURE.md, "How a message travels").

- auto: after each command the network runs until no frame is in flight;
- step: nothing moves until `step` (one frame each) or `run`;
- live: virtual time follows the wall clock times `speed`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from lab.errors import CommandError
from lab.events import StillBusy
from lab.net.fabric import Fabric, Flight
from lab.params import SETTLE_MAX_BLOCKS
from lab.sched import SECOND, Scheduler

MODES = ("auto", "step", "live")


class Pacing:
    def __init__(self, sched: Scheduler, fabric: Fabric, emit: Callable[[Any], object]) -> None:
        self.sched = sched
        self.emit = emit
        self.mode = "auto"  # auto | step | live
        self.speed = 1.0  # live mode: virtual seconds per wall second
        self.delivered: list[Flight] = []  # flights delivered by `step` during the current command
        self._stepping = False  # only `step` collects them: a long `run` would hold every frame sent
        self._pump_task: asyncio.Task[None] | None = None
        fabric.on_deliver = self._on_deliver

    def _on_deliver(self, flight: Flight) -> None:
        if self._stepping:
            self.delivered.append(flight)

    async def settle(self, force: bool = False) -> int:
        """In auto mode, run the network until no frame is in flight."""
        if self.mode == "auto" or force:
            return await self.run_until_quiet()
        return 0

    async def step(self, n: int = 1) -> list[Flight]:
        done: list[Flight] = []
        self._stepping = True
        try:
            for _ in range(n):
                before = len(self.delivered)
                ev = await self.sched.run_next(kind="frame")
                if ev is None:
                    break
                done.extend(self.delivered[before:])
        finally:
            self._stepping = False
        return done

    async def run_for(self, duration_us: int, keep_going: Callable[[], bool] | None = None) -> None:
        """Let `duration_us` of virtual time pass; `keep_going` (not in live mode) may stop it early."""
        if self.mode == "live":
            await asyncio.sleep(duration_us / SECOND / self.speed)
        else:
            await self.sched.run_until(self.sched.now + duration_us, keep_going)

    async def run_until_quiet(self) -> int:
        """Run events in time order until no frame is in flight. Returns how many ran.

        Auto-miners that find blocks faster than the network spreads them (a short
        interval, long latencies) would keep it busy for ever: after SETTLE_MAX_BLOCKS
        auto-mined blocks the prompt comes back with frames still in flight, and says so.
        """
        n = mined = 0
        sched = self.sched
        while not sched.quiet:
            ev = await sched.run_next()
            if ev is None:
                break
            n += 1
            if ev.kind == "mine":
                mined += 1
                if mined >= SETTLE_MAX_BLOCKS:
                    self.emit(StillBusy(mined))
                    break
        return n

    async def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise CommandError(f"unknown mode '{mode}'", "type: mode auto | mode step | mode live")
        if self.mode == "live" and mode != "live":
            await self.stop_live()
        self.mode = mode
        if mode == "live":
            self._pump_task = asyncio.get_running_loop().create_task(self._pump())
        elif mode == "auto":
            await self.settle()

    def resume_live(self) -> None:
        """A lab thawed in live mode (lab/world/snapshot.py): its clock follows the wall clock again."""
        if self.mode == "live" and self._pump_task is None:
            self._pump_task = asyncio.get_running_loop().create_task(self._pump())

    async def stop_live(self) -> None:
        task, self._pump_task = self._pump_task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _pump(self) -> None:
        """Live mode: virtual time follows the wall clock times `speed`."""
        loop = asyncio.get_running_loop()
        base_v, base_w = self.sched.now, loop.time()
        speed = self.speed
        while True:
            if speed != self.speed:
                base_v, base_w, speed = self.sched.now, loop.time(), self.speed
            target = base_v + int((loop.time() - base_w) * speed * SECOND)
            await self.sched.run_until(target)
            nxt = self.sched.peek()
            wait = 0.05
            if nxt is not None:
                wait = min(wait, max(0.0, (nxt.due - self.sched.now) / SECOND / speed))
            await asyncio.sleep(wait)
