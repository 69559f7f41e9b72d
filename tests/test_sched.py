"""The virtual clock: order by due time, ties by creation, frames counted for quiet."""

import asyncio

from lab.sched import Scheduler


def test_events_run_in_time_order_and_ties_in_creation_order():
    async def go():
        s = Scheduler()
        out = []
        s.at(5, lambda: out.append("b"))
        s.at(5, lambda: out.append("c"), kind="frame")
        s.at(1, lambda: out.append("a"))

        async def later():
            out.append("d")
            s.after(3, lambda: out.append("e"), kind="frame")

        s.at(7, later, kind="frame")
        while not s.quiet and await s.run_next() is not None:  # what the lab's settle does
            pass
        return out, s.now, s.quiet

    out, now, quiet = asyncio.run(go())
    assert out == ["a", "b", "c", "d", "e"]
    assert now == 10 and quiet


def test_cancelled_frames_do_not_count_as_in_flight():
    s = Scheduler()
    ev = s.at(10, lambda: None, kind="frame")
    assert not s.quiet
    s.cancel(ev)
    assert s.quiet


def test_run_until_moves_the_clock_even_when_nothing_is_due():
    async def go():
        s = Scheduler()
        ran = []
        s.at(50, lambda: ran.append(1))
        await s.run_until(20)
        return s.now, ran

    assert asyncio.run(go()) == (20, [])


def test_step_runs_timers_due_before_the_next_frame():
    async def go():
        s = Scheduler()
        out = []
        s.at(3, lambda: out.append("timer"))
        s.at(5, lambda: out.append("frame"), kind="frame")
        s.at(9, lambda: out.append("late timer"))
        ev = await s.run_next(kind="frame")
        return out, ev.due, await s.run_next(kind="frame")

    out, due, nothing = asyncio.run(go())
    assert out == ["timer", "frame"] and due == 5 and nothing is None


def test_a_run_asked_to_stop_finishes_the_instant_it_is_in_and_keeps_the_clock_there():
    """Ctrl-C during `run`: the events due at the current instant all run, later ones do not, and the
    clock stays at that instant, so the lab is what `run_until(now)` makes (a replay does exactly that)."""
    async def go(stop_after: int | None):
        s = Scheduler()
        out: list[str] = []
        for due, name in ((5, "a"), (10, "b"), (10, "c"), (10, "d"), (20, "e")):
            s.at(due, lambda name=name: out.append(name))
        asked = 0

        def keep_going() -> bool:
            nonlocal asked
            asked += 1
            return stop_after is None or asked < stop_after

        await s.run_until(100, keep_going) if stop_after is not None else await s.run_until(s.now + 10)
        return out, s.now

    out, now = asyncio.run(go(stop_after=2))  # stop asked after "b": "c" and "d" are due at the same instant
    assert out == ["a", "b", "c", "d"] and now == 10
    assert asyncio.run(go(stop_after=None)) == (["a", "b", "c", "d"], 10)  # the same as a run to that instant
