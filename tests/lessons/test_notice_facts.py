"""Issue 13.4: a notice states only facts true on the learner's route.

Each step declares the facts its notice states (`facts`, predicates). They must hold when the goal is
reached by the reference solution (`lab lessons check` checks that) and by every alternative route in
routes/*.txt, replayed here through a lesson session as a learner would type them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from labtest import run

from lab.commands.lesson_runner import SessionRunner
from lab.commands.session import Session
from lab.lessons.loader import find_lesson, load_all
from lab.lessons.script import check_lesson
from lab.lessons.session import LessonSession

ROUTES = sorted((Path(__file__).parent / "routes").glob("*.txt"))
ISSUE_LESSONS = (1, 3, 5, 6, 8, 9, 10, 12)  # the lessons whose notices the issue found false


def test_every_lesson_states_its_notice_facts():
    numbers = {lesson.number for lesson in load_all() if any(step.facts for step in lesson.steps)}
    assert set(ISSUE_LESSONS) <= numbers
    assert numbers == {lesson.number for lesson in load_all()}, "a lesson whose notices state no checkable fact"


@pytest.mark.parametrize("number", [17, 18, 19, 20])
def test_every_step_of_the_attack_lessons_states_its_facts(number):
    """Lessons 17-20 came without `facts`: every notice there states something about the learner's lab."""
    lesson = find_lesson(str(number))
    assert all(step.facts for step in lesson.steps), [step.title for step in lesson.steps if not step.facts]


@pytest.mark.parametrize("route", ROUTES, ids=[r.stem for r in ROUTES])
def test_notice_facts_hold_on_an_alternative_route(route, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path))
    lesson = find_lesson(route.stem.split("-", 1)[1])

    async def replay():
        s = Session()
        try:
            runner = SessionRunner(s)
            learner = LessonSession(lesson, runner)
            await learner.start(step=0)
            for line in route.read_text().splitlines():
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                if await learner.dispatch(line) is None:
                    await learner.after_command(line, await runner.execute(line))
            return learner.finished, learner.false_facts
        finally:
            await s.close()

    finished, false = run(replay())
    assert finished
    assert false == [], "notices stating facts this route made false: " + "; ".join(
        f"step {k + 1}: `{fact}` ({found})" for k, fact, found in false)


@pytest.mark.parametrize("number", [1, 12, 17, 18, 19, 20])
def test_notice_facts_hold_after_the_reference_solution(number):
    lesson = find_lesson(str(number))

    async def check():
        s = Session()
        try:
            return await check_lesson(lesson, SessionRunner(s))
        finally:
            await s.close()

    result = run(check())
    assert result.ok, result.text


def test_a_notice_fact_that_does_not_hold_fails_the_check():
    from dataclasses import replace

    lesson = find_lesson("1")
    first = replace(lesson.steps[0], facts=("height B >= 5",))  # "B mined five blocks": not after `mine B`
    wrong = replace(lesson, steps=(first, *lesson.steps[1:]))

    async def check():
        s = Session()
        try:
            return await check_lesson(wrong, SessionRunner(s))
        finally:
            await s.close()

    result = run(check())
    assert not result.ok and "the notice states `height B >= 5`" in result.text
