"""Lessons 13-16 (issue 13, "Teach what is missing"): facts their notices state, diagnosing hints, routes.

Each step of these lessons declares the facts its notice states as
predicates (`facts`). They are checked whenever the goal is reached: after
the reference solution (`lab lessons check`, here `check_lesson`) and on
every route in routes/*.txt (test_lesson_routes_real.py replays them and
fails on a "LESSON BUG" line). The tests below check that machinery itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from labtest import run

from lab.commands.lesson_runner import SessionRunner
from lab.commands.session import Session
from lab.errors import LessonError
from lab.lessons.loader import find_lesson, parse_lesson
from lab.lessons.script import check_lesson, run_lesson_script
from lab.lessons.session import LessonSession

NEW = ("work", "gossip", "headers", "tx-propagation")
ROUTES = Path(__file__).parent / "routes"

WRONG_FACT = """
id = "wrong"
title = "A notice that lies"
summary = "Its notice claims a reorg that never happens."
concepts = ["testing"]
outro = "Done."

[start]
nodes = 2
topology = "line"
difficulty = 6

[[steps]]
say = "Mine a block on A."
goal = ["height A >= 1"]
hints = ["Type `mine A`."]
solution = ["mine A"]
notice = "B reorganised."
facts = ["reorgs B >= 1"]
"""


@pytest.mark.parametrize("key", NEW)
def test_every_step_states_its_facts_and_diagnoses_and_a_second_route_exists(key):
    lesson = find_lesson(key)
    assert 13 <= lesson.number <= 16
    assert (ROUTES / f"{lesson.number:02d}-{lesson.id}.txt").exists()
    for step in lesson.steps:
        assert step.notice and step.facts, f"{lesson.id}: {step.title} states no checked facts"
        assert len(step.hints) >= 2, "tiered hints"
    assert sum(len(s.diagnose) for s in lesson.steps) >= len(lesson.steps) - 1


@pytest.mark.parametrize("key", NEW)
def test_the_reference_solution_reaches_every_goal_and_every_notice_fact_holds(key):
    async def go():
        s = Session()
        try:
            return await check_lesson(find_lesson(key), SessionRunner(s))
        finally:
            await s.close()

    result = run(go())
    assert result.ok, result.text


def test_a_notice_fact_that_does_not_hold_is_reported_on_every_path():
    lesson = parse_lesson(WRONG_FACT, "99-wrong.toml")

    async def go():
        s = Session()
        try:
            checked = await check_lesson(lesson, SessionRunner(s))
            reached, transcript = await run_lesson_script(lesson, SessionRunner(s), ["mine A"])
            return checked, reached, transcript
        finally:
            await s.close()

    checked, reached, transcript = run(go())
    assert not checked.ok and "the notice states `reorgs B >= 1`" in checked.text
    assert not reached and "LESSON BUG: step 1's notice states `reorgs B >= 1`: B reorganised 0 times" in transcript


def test_a_diagnosis_names_what_is_wrong_in_the_learners_lab_and_how_to_get_back():
    async def go():
        s = Session()
        try:
            runner = SessionRunner(s)
            lesson = LessonSession(find_lesson("gossip"), runner)
            await lesson.start(step=0)
            first = (await lesson.hint()).text
            line = "mine C as b1"  # the middle of the line: fewer than 5 hops
            await lesson.after_command(line, await runner.execute(line))
            second = (await lesson.hint()).text
            await lesson.hint()
            await lesson.hint()
            last = (await lesson.hint()).text
            return first, second, last
        finally:
            await s.close()

    first, second, last = run(go())
    assert "In your lab" not in first  # no b1 yet: nothing to diagnose, only the tiered hint
    assert second.startswith("In your lab: b1 was mined away from the end") and "`undo`" in second
    assert "Hint 2/3" in second
    assert "In your lab: b1" in last and "No more hints" in last


def test_a_diagnosis_with_a_bad_predicate_fails_on_load():
    bad = WRONG_FACT.replace('facts = ["reorgs B >= 1"]', '[[steps.diagnose]]\nwhen = "heigth A > 1"\nsay = "x"')
    with pytest.raises(LessonError, match=r"steps\[0\]\.diagnose\[0\]"):
        parse_lesson(bad, "99-wrong.toml")
    bad = WRONG_FACT.replace('facts = ["reorgs B >= 1"]', '[[steps.diagnose]]\nwhen = "stale > 1"\nsaid = "x"')
    with pytest.raises(LessonError, match="unknown field 'said'"):
        parse_lesson(bad, "99-wrong.toml")
