"""A lesson played from a script (piped `lab lesson`, `lab grade`'s replay) goes as it goes at the prompt.

In particular `back`, which takes the lesson back with the lab: a learner who
stepped back at the prompt is graded by a replay that steps back the same way.
"""

from __future__ import annotations

import pytest
from labtest import run

from lab.commands.grading_cli import replay_async
from lab.commands.lesson_runner import SessionRunner
from lab.commands.session import Session
from lab.lessons.loader import find_lesson
from lab.lessons.progress import Progress
from lab.lessons.script import run_lesson_script
from lab.world.persist import lab_digest


@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path_factory.mktemp("state")))


def _route(key: str) -> list[str]:
    """Step 1's solution, then back twice and its last two lines again, a stray `mine`, `back`, the rest."""
    steps = find_lesson(key).steps
    first = list(steps[0].solution)
    lines = first + ["back", "back", *first[-2:], "mine A", "back"]
    for step in steps[1:]:
        lines += [*step.solution, "objective"]
    return lines


async def _at_the_prompt(key: str, lines: list[str]) -> tuple[list[int], str]:
    s = await Session().start()
    try:
        await s.execute(f"lesson {key}")
        steps = []
        for line in lines:
            await s.execute(line)
            assert s.lesson is not None
            steps.append(s.lesson.index)
        return steps, lab_digest(s.need_lab())
    finally:
        await s.close()


async def _from_a_script(key: str, lines: list[str]) -> tuple[list[int], str]:
    s = Session()
    steps: list[int] = []

    async def watch(line, ls):
        if line is not None:
            steps.append(ls.index)

    try:
        await run_lesson_script(find_lesson(key), SessionRunner(s), lines, progress=Progress(None), watch=watch)
        return steps, lab_digest(s.need_lab())
    finally:
        await s.close()


@pytest.mark.parametrize("key", ["forks", "double-spend"])
def test_back_in_a_scripted_lesson_takes_the_lesson_back_as_at_the_prompt(key):
    lines = _route(key)
    prompt_steps, prompt_digest = run(_at_the_prompt(key, lines))
    script_steps, script_digest = run(_from_a_script(key, lines))
    assert script_steps == prompt_steps
    assert script_digest == prompt_digest
    assert max(prompt_steps) > 0 and 0 in prompt_steps[len(find_lesson(key).steps[0].solution):]  # back stepped back


@pytest.mark.parametrize("key", ["forks"])
def test_a_graded_replay_of_a_route_with_back_verifies_every_step_the_prompt_reached(key):
    lines = _route(key)
    lesson = find_lesson(key)
    reached, digest = run(replay_async(lesson, lesson.start.seed, lines))
    assert reached == tuple(range(1, len(lesson.steps) + 1))
    assert digest == run(_at_the_prompt(key, lines))[1]
