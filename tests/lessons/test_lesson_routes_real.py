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
