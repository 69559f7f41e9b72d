"""`lab lesson ID < route.txt` and `lab lessons check`, against the fake lab."""

from __future__ import annotations

from dataclasses import replace

from lessonfakes import FakeRunner, run

from lab.errors import CommandError
from lab.lessons.script import check_lesson, run_lesson_script


def test_a_route_that_reaches_every_goal(demo_lesson, runner):
    lines = ["# my route", "", "mine A\n", "hint", "tree", "mine B", "heal"]
    reached, transcript = run(run_lesson_script(demo_lesson, runner, lines))
    assert reached
    assert transcript.startswith("Lesson 99 · A demo")
    assert "> mine A\nran mine A" in transcript
    assert "> hint\nHint 1/1: the only hint" in transcript
    assert "+ Goal reached! You used 2 commands; the reference solution uses 2." in transcript
    assert transcript.endswith("Every goal of lesson 99 (demo) was reached.")
    assert "# my route" not in transcript


def test_a_route_that_falls_short_says_which_steps(demo_lesson, runner):
    reached, transcript = run(run_lesson_script(demo_lesson, runner, ["mine A", "mine B"]))
    assert not reached
    assert transcript.endswith("Not every goal was reached: step 2 of lesson 99 (demo).")


def test_skipping_with_next_does_not_count_as_reaching(demo_lesson, runner):
    reached, transcript = run(run_lesson_script(demo_lesson, runner, ["next", "heal"]))
    assert not reached
    assert "Skipped step 1" in transcript and "step 1 of lesson 99" in transcript


def test_quit_ends_the_script_and_errors_do_not(demo_lesson, runner):
    lines = ["fail here", "solution", "solution yes", "mine A", "quit", "heal"]
    reached, transcript = run(run_lesson_script(demo_lesson, runner, lines))
    assert not reached
    assert "✗ unknown command 'fail'" in transcript
    assert "Type `solution yes` to see it." in transcript
    assert "Reference solution for step 1" in transcript
    assert "heal" not in runner.executed


def test_check_lesson_replays_the_solutions(demo_lesson, runner):
    result = run(check_lesson(demo_lesson, runner))
    assert result.ok
    assert [(s.held_before, s.held_after) for s in result.steps] == [(False, True), (False, True)]
    assert runner.executed == ["mine A 4", "nodes", "mine A", "mine B", "heal"]
    assert result.text == "lesson 99 demo: ok\n  step 1 First: ok\n  step 2 Second: ok"


def test_check_lesson_reports_a_goal_that_held_too_early(demo_lesson):
    runner = FakeRunner(initial={"same-tip": True})
    result = run(check_lesson(demo_lesson, runner))
    assert not result.ok
    assert result.steps[0].ok and not result.steps[1].ok
    assert "step 2 Second: FAILED\n    the goal already held before the solution ran" in result.text


def test_check_lesson_reports_failed_commands_and_unmet_goals(demo_lesson):
    runner = FakeRunner(effects={"mine A": {"height A >= 1": True}})  # heal does nothing here
    runner.effects["nodes"] = {}
    result = run(check_lesson(demo_lesson, runner))
    assert not result.ok
    assert "after the solution, `same-tip` does not hold: found: same-tip is false" in result.text

    steps = list(demo_lesson.steps)
    steps[0] = replace(steps[0], solution=("fail to mine", "mine A"))
    result = run(check_lesson(replace(demo_lesson, steps=tuple(steps)), FakeRunner()))
    assert "command failed: `fail to mine`: ✗ unknown command 'fail'" in result.text


def test_check_lesson_reports_a_scenario_that_cannot_be_built(demo_lesson):
    class Broken(FakeRunner):
        async def reset(self, start):
            raise CommandError("setup `mine Z` failed: no node Z")

    result = run(check_lesson(demo_lesson, Broken()))
    assert not result.ok
    assert (
        result.text
        == "lesson 99 demo: FAILED\n  the scenario could not be built: setup `mine Z` failed: no node Z"
    )
