"""Every lesson against the real lab: its goals don't hold at each step's start,
its reference solution reaches every goal, and other routes count too."""

from __future__ import annotations

import pytest
from labtest import lab_session, run

from lab.commands.lesson_cli import run_lesson_stdin
from lab.commands.lesson_runner import SessionRunner
from lab.lessons.loader import find_lesson, load_all
from lab.lessons.script import check_lesson

LESSONS = load_all()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: f"{lesson.number:02d}-{lesson.id}")
def test_reference_solution_reaches_every_goal_and_no_goal_holds_early(lesson):
    async def go():
        async with lab_session() as (_, s):
            return await check_lesson(lesson, SessionRunner(s)), s.internal_errors

    result, errors = run(go())
    assert result.ok, result.text
    assert errors == []


# Routes a learner might take that differ from the reference solutions.
OTHER_ROUTES = {
    "partition": [
        "disconnect A C; disconnect A D; disconnect B C; disconnect B D",  # a partition by hand
        "send A B 5 as left",
        "mine B",  # B mines instead of A
        "send C D 5 as right",
        "mine D",
        "mine C",  # both right-side miners
        "heal",
        "connect A C",
        "connect B D",
        "mine B",
    ],
    "sync": [
        "add-node E",
        "stop D",
        "mine B 3",
        "mine C 2",
        "start D",
    ],
    "forks": [
        "mode step",
        "mine B as b1",
        "mine A as a1",
        "run until quiet",
        "mine D",
        "run until quiet",
        "hold A D",
        "mine B as b2",
        "mine A as a2",
        "run until quiet",
        "release A D",
        "run until quiet",
    ],
}


@pytest.mark.parametrize("key", sorted(OTHER_ROUTES))
def test_another_route_reaches_every_goal(key, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path))
    out: list[str] = []
    code = run(run_lesson_stdin(key, iter(OTHER_ROUTES[key]), out.append))
    assert code == 0, "\n".join(out)


def test_a_route_that_stops_short_exits_1(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path))
    out: list[str] = []
    assert run(run_lesson_stdin("network", iter(["mine B", "nodes"]), out.append)) == 1
    assert "Not every goal was reached" in out[-1]
    assert find_lesson("1").id == "network"
