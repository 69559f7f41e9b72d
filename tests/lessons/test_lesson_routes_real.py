"""The second routes in routes/*.txt, and undo/reset, on the real lab.

`undo` and `reset` rebuild the lab from the lesson's scenario and replay
commands; that only works because the lab is deterministic. These tests
check it: after an undo, every node is on exactly the block it was on before
the undone command, and labels name the same transactions.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from labtest import lab_session, run

from lab.commands.lesson_cli import run_lesson_stdin
from lab.commands.lesson_runner import SessionRunner
from lab.commands.session import Session
from lab.lessons.loader import find_lesson
from lab.lessons.session import LessonSession

ROUTES = sorted((Path(__file__).parent / "routes").glob("*.txt"))


@pytest.mark.parametrize("route", ROUTES, ids=[r.stem for r in ROUTES])
def test_a_second_route_reaches_every_goal(route, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path))
    out: list[str] = []
    lesson_id = route.stem.split("-", 1)[1]
    code = run(run_lesson_stdin(lesson_id, iter(route.read_text().splitlines()), out.append))
    assert code == 0, "\n".join(out)


async def _tips(s: Session) -> dict[str, bytes]:
    return {name: node.state.chain.tip.hash for name, node in s.lab.nodes.items()}


def test_undo_and_reset_rebuild_the_same_lab():
    async def story():
        async with lab_session() as (_, s):
            runner = SessionRunner(s)
            lesson = LessonSession(find_lesson("partition"), runner)
            await lesson.start(step=0)

            async def learner(line: str):
                return await lesson.after_command(line, await runner.execute(line))

            await learner("partition A,B | C,D")  # step 1 reached
            await learner("send A B 5 as left")
            tips, left = await _tips(s), s.lab.resolve("left").hash
            await learner("mine C 3")  # a block on the wrong side: take it back
            assert (await _tips(s)) != tips
            reply = await lesson.undo()
            assert reply.text.startswith("Undid `mine C 3`")
            assert (await _tips(s)) == tips, "the replay reached the very same blocks"
            assert s.lab.resolve("left").hash == left, "and signed the very same transaction"

            await learner("mine A")  # step 2 reached
            start_of_step_3 = await _tips(s)
            await learner("send C D 5 as right")
            await learner("mine D")
            await lesson.reset()
            assert lesson.index == 2
            assert (await _tips(s)) == start_of_step_3
            return lesson

    run(story())


def test_undo_at_the_start_of_a_step_steps_back_into_the_step_before():
    """Issue 13 leftover: `undo` with nothing typed in this step yet said "Nothing to undo"; it takes
    back the line that reached the step before's goal, and the lesson is in that step again."""
    async def story():
        async with lab_session() as (_, s):
            assert (await s.execute("lesson partition")).ok
            before = await _tips(s)
            await s.execute("mine A; partition A,B | C,D")  # reaches step 1's goal in one line
            assert s.lesson.index == 1
            reply = (await s.execute("undo")).text
            assert reply.startswith("Undid `mine A; partition A,B | C,D`, which reached step 1's goal")
            assert "Step 1/5" in reply and "Goal: `peers A == 1`" in reply
            assert s.lesson.index == 0 and not s.lesson.all_reached
            assert await _tips(s) == before, "the lab is as it was before that line"
            assert "not yet" in (await s.execute("goal")).text
            assert (await s.execute("undo")).text.startswith("Nothing to undo in this step yet")  # step 1: nothing before
            await s.execute("partition A,B | C,D")  # the learner's other route
            reached = await _tips(s)
            assert s.lesson.index == 1
            assert (await s.execute("back")).ok and s.lesson.index == 0  # `back` takes the same line back
            assert (await s.execute("partition A,B | C,D")).ok and await _tips(s) == reached
            assert (await s.execute("next")).ok and s.lesson.index == 2  # step 2 skipped: no line of the learner's
            assert (await s.execute("undo")).text.startswith("Nothing to undo in this step yet")
            assert s.lesson.index == 2

    run(story())


def test_a_command_ctrl_c_cut_short_is_kept_in_the_lesson_as_what_it_did():
    """`mine C 500` stopped after a few blocks counts in the lesson as `mine C K`: an `undo` that replays
    the step's commands rebuilds the lab the learner saw, not one with 500 blocks."""
    import asyncio

    async def story():
        async with lab_session() as (_, s):
            assert (await s.execute("lesson partition")).ok
            await s.execute("partition A,B | C,D")
            c = s.lab.nodes["C"]
            mined = c.blocks_mined
            task = asyncio.ensure_future(s.execute("mine C 500"))
            while c.blocks_mined < mined + 3:
                await asyncio.sleep(0)
            assert s.request_stop()
            assert "Interrupted" in (await task).text
            found = c.blocks_mined - mined
            assert found < 500
            tips = await _tips(s)
            await s.execute("mine A")
            assert (await s.execute("undo")).text.startswith("Undid `mine A`")
            assert await _tips(s) == tips and s.lab.nodes["C"].state.chain.height == 8 + found

    run(story())


def test_undo_after_the_last_goal_steps_back_into_the_last_step():
    async def story():
        async with lab_session() as (_, s):
            assert (await s.execute("lesson partition")).ok
            for _ in range(4):
                assert (await s.execute("next")).ok
            before = await _tips(s)
            assert "Lesson 7 complete" in (await s.execute("mine A")).text and s.lesson.finished
            reply = (await s.execute("undo")).text
            assert reply.startswith("Undid `mine A`, which reached step 5's goal") and "Step 5/5" in reply
            assert not s.lesson.finished and s.lesson.index == 4 and await _tips(s) == before
            assert "Lesson 7 complete" in (await s.execute("mine A")).text  # and it can be finished again

    run(story())
