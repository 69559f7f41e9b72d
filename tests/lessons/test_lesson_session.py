"""A learner in a lesson, against a fake lab whose predicates are a dict.

The demo lesson (lessonfakes.DEMO_LESSON) has two steps: mine on A
(goal `height A >= 1` and `not forked`), then heal (goal `same-tip`, whose
reference solution is `mine B` and `heal`).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from lessonfakes import FakeRunner, run

from lab.errors import CommandError
from lab.lessons.progress import Progress
from lab.lessons.runner import CommandOutcome
from lab.lessons.session import LessonSession

SETUP_AND_DEMO = ["mine A 4", "nodes"]


def act(session: LessonSession, runner: FakeRunner, line: str):
    """What the REPL does: run the line on the lab, then tell the session."""
    outcome = run(runner.execute(line))
    return run(session.after_command(line, outcome))


def started(lesson, runner, progress=None) -> LessonSession:
    session = LessonSession(lesson, runner, progress)
    run(session.start(step=0))
    return session


def test_start_builds_the_scenario_narrates_and_runs_the_demo(demo_lesson, runner):
    session = LessonSession(demo_lesson, runner)
    reply = run(session.start())
    assert runner.resets == 1 and runner.scenarios == [demo_lesson.start]
    assert runner.executed == SETUP_AND_DEMO
    text = reply.text
    assert text.startswith("Lesson 99 · A demo\nA lesson for the tests.")
    assert "Step 1/2 · First" in text and "Mine a block on A." in text
    assert "> nodes\nran nodes" in text
    assert "Goal: `height A >= 1` and `not forked`" in text
    assert session.status() == "lesson 99 · step 1/2"


def test_reaching_a_goal_counts_commands_shows_the_notice_and_moves_on(demo_lesson, runner):
    session = started(demo_lesson, runner)
    assert act(session, runner, "tree").text == ""  # a view: nothing happens
    reply = act(session, runner, "mine A")
    assert reply.reached and not reply.finished
    assert "✓ Goal reached! You used 1 command; the reference solution uses 1." in reply.text
    assert "Notice one." in reply.text
    assert "Step 2/2 · Second" in reply.text and "Heal the network." in reply.text
    assert session.index == 1


def test_views_and_lesson_commands_are_not_counted(demo_lesson, runner):
    session = started(demo_lesson, runner)
    act(session, runner, "mine A")
    act(session, runner, "mine B; tree")  # one action, one view
    act(session, runner, "balance A")
    act(session, runner, "hint")  # a lesson command passed by mistake: ignored
    act(session, runner, "fail this")  # failed: not counted
    reply = act(session, runner, "heal  # at last")
    assert reply.finished
    assert "You used 2 commands; the reference solution uses 2." in reply.text
    assert "Lesson 99 complete: A demo." in reply.text and "That was the demo." in reply.text
    assert session.all_reached and session.status() == "lesson 99 · done"


def test_hints_come_one_tier_at_a_time(demo_lesson, runner):
    session = started(demo_lesson, runner)
    texts = [run(session.hint()).text for _ in range(4)]
    assert texts[0] == "Hint 1/3: tier one (`hint` again for more)"
    assert texts[1] == "Hint 2/3: tier two (`hint` again for more)"
    assert texts[2] == "Hint 3/3: tier three"
    assert texts[3].startswith("No more hints for this step.")
    act(session, runner, "mine A")
    assert run(session.hint()).text == "Hint 1/1: the only hint", "each step has its own ladder"


def test_the_solution_asks_for_confirmation_while_unsolved(demo_lesson, runner):
    session = started(demo_lesson, runner)
    ask = run(session.solution())
    assert ask.needs_confirm and "mine A" not in ask.text and "gives the answer away" in ask.text
    shown = run(session.solution(confirm=True))
    assert not shown.needs_confirm
    assert shown.text.startswith("Reference solution for step 1 (1 command):\n  mine A")
    assert not run(session.solution()).needs_confirm, "once seen, no more asking"
    assert runner.executed == SETUP_AND_DEMO, "showing the solution runs nothing"


def test_dispatch_routes_lesson_commands(demo_lesson, runner):
    session = started(demo_lesson, runner)
    assert run(session.dispatch("mine A")) is None
    assert run(session.dispatch("  ")) is None
    ask = run(session.dispatch("solution"))
    assert ask.needs_confirm and ask.text.endswith("Type `solution yes` to see it.")
    assert "  mine A" in run(session.dispatch("solution yes")).text
    assert run(session.dispatch("hint")).text.startswith("Hint 1/3")
    assert "Mine a block on A." in run(session.dispatch("objective")).text
    assert "goal (all must hold)" in run(session.dispatch("goal")).text


def test_goal_shows_each_predicate_with_glyph_word_and_why(demo_lesson, runner):
    session = started(demo_lesson, runner)
    reply = run(session.goal())
    assert not reply.reached and reply.goal is not None
    assert [(i.predicate, i.ok) for i in reply.goal.items] == [
        ("height A >= 1", False),
        ("not forked", True),
    ]
    lines = reply.text.splitlines()
    assert lines[0] == "Step 1/2 · First: goal (all must hold)"
    assert lines[1].startswith("  ✗ not yet") and lines[1].endswith("height A >= 1")
    assert "found: height A >= 1 is false" in lines[2]
    assert lines[3].startswith("  ✓ holds") and lines[3].endswith("not forked")


def test_goal_in_plain_mode_uses_ascii(demo_lesson, runner):
    session = LessonSession(demo_lesson, runner, plain=True)
    run(session.start())
    text = run(session.goal()).text
    assert "- not yet" in text and "+ holds" in text and "✓" not in text


def test_a_predicate_the_lab_cannot_evaluate_does_not_hold_either_way(demo_lesson):
    runner = FakeRunner(broken={"forked"})
    session = started(demo_lesson, runner)
    runner.truth["height A >= 1"] = True
    reply = run(session.goal())
    assert not reply.reached
    assert reply.goal.items[0].ok
    assert not reply.goal.items[1].ok and reply.goal.items[1].found == "cannot evaluate 'forked'"


def test_goal_completes_the_step_when_the_state_already_holds(demo_lesson, runner):
    session = started(demo_lesson, runner)
    runner.truth["height A >= 1"] = True  # e.g. live mode: time passed by itself
    reply = run(session.goal())
    assert reply.reached and "You used 0 commands" in reply.text and session.index == 1


def test_poll_notices_a_goal_reached_without_a_command(demo_lesson, runner):
    session = started(demo_lesson, runner)
    assert run(session.poll()).text == ""
    runner.truth["height A >= 1"] = True
    assert run(session.poll()).reached


def test_an_explanation_is_shown_the_first_time_its_event_happens(demo_lesson):
    runner = FakeRunner(events={"mine B": ["mined", "reorg"], "mine C": ["reorg"]})
    session = started(demo_lesson, runner)
    first = act(session, runner, "mine B")
    assert first.text == "A reorg, explained once."
    assert act(session, runner, "mine C").text == ""


def test_undo_replays_everything_but_the_last_command(demo_lesson, runner):
    session = started(demo_lesson, runner)
    act(session, runner, "mine A 2")  # step 1, the learner's own route
    act(session, runner, "mine B")
    act(session, runner, "mine C")
    reply = run(session.undo())
    assert reply.text.startswith("Undid `mine C`: the lab was rebuilt from the lesson's start")
    assert "your 1 other command of this step replayed" in reply.text
    assert runner.executed == [*SETUP_AND_DEMO, "mine A 2", "mine B"], (
        "the learner's route, not the solution"
    )
    assert session.index == 1
    run(session.undo())
    assert runner.executed == [*SETUP_AND_DEMO, "mine A 2"]
    assert run(session.undo()).text.startswith("Nothing to undo in this step")


def test_undo_takes_failed_commands_with_the_last_good_one(demo_lesson, runner):
    session = started(demo_lesson, runner)
    act(session, runner, "mine B")
    act(session, runner, "mine C")
    act(session, runner, "fail typo")
    assert run(session.undo()).text.startswith("Undid `mine C`")
    assert runner.executed == [*SETUP_AND_DEMO, "mine B"]


def test_after_undo_the_count_is_of_the_commands_that_remain(demo_lesson, runner):
    session = started(demo_lesson, runner)
    act(session, runner, "mine C")
    run(session.undo())
    reply = act(session, runner, "mine A")
    assert "You used 1 command" in reply.text


def test_reset_restarts_the_step_from_the_reference_solutions(demo_lesson, runner):
    session = started(demo_lesson, runner)
    act(session, runner, "mine A 2")
    act(session, runner, "mine B")
    reply = run(session.reset())
    assert reply.text.startswith(
        "Back to the start of step 2; the lab replayed the reference solutions before it."
    )
    assert "Heal the network." in reply.text
    assert runner.executed == [*SETUP_AND_DEMO, "mine A"]
    assert run(session.undo()).text.startswith("Nothing to undo")


def test_reset_on_the_first_step_shows_the_demo_again(demo_lesson, runner):
    session = started(demo_lesson, runner)
    reply = run(session.reset())
    assert reply.text.startswith("Back to the start of the lesson.")
    assert "> nodes" in reply.text and runner.executed == SETUP_AND_DEMO


def test_next_skips_a_step_by_running_its_solution(demo_lesson, runner, tmp_path):
    progress = Progress(tmp_path / "p.json")
    session = started(demo_lesson, runner, progress)
    act(session, runner, "mine B")  # partial work is dropped
    reply = run(session.next())
    assert reply.text.startswith("Skipped step 1. The lab ran its reference solution (`mine A`)")
    assert runner.executed == [*SETUP_AND_DEMO, "mine A"]
    assert session.index == 1 and not session.all_reached
    assert progress.record("demo").steps[0].skipped and progress.record("demo").current == 1
    last = run(session.next())
    assert last.text.startswith("This is the last step") and session.index == 1


def test_progress_is_recorded_and_a_new_session_resumes(demo_lesson, runner, tmp_path):
    path = tmp_path / "lessons.json"
    session = started(demo_lesson, runner, Progress(path))
    run(session.hint())
    act(session, runner, "mine A")
    record = Progress.load(path).record("demo")
    assert record.current == 1 and record.steps[0].reached and record.steps[0].commands == 1
    assert record.steps[0].hints == 1

    later = FakeRunner()
    resumed = LessonSession(demo_lesson, later, Progress.load(path))
    reply = run(resumed.start())
    assert "Welcome back: you continue at step 2 of 2" in reply.text
    assert later.executed == [*SETUP_AND_DEMO, "mine A"]
    assert resumed.index == 1
    assert run(resumed.dispatch("solution")).needs_confirm, "step 2 was never solved: ask first"
    run(resumed.dispatch("reset lesson"))
    assert resumed.index == 0 and later.executed == SETUP_AND_DEMO


def test_a_step_solved_in_an_earlier_run_shows_its_solution_without_asking(
    demo_lesson, runner, tmp_path
):
    path = tmp_path / "lessons.json"
    session = started(demo_lesson, runner, Progress(path))
    act(session, runner, "mine A")
    again = started(demo_lesson, FakeRunner(), Progress.load(path))
    assert not run(again.solution()).needs_confirm


def test_finishing_records_the_lesson_as_done(demo_lesson, runner, tmp_path):
    path = tmp_path / "lessons.json"
    session = started(demo_lesson, runner, Progress(path))
    act(session, runner, "mine A")
    act(session, runner, "heal")
    assert Progress.load(path).summary("demo", 2) == "done"
    assert "complete" in run(session.goal()).text
    assert "complete" in run(session.hint()).text
    assert act(session, runner, "mine A").text == ""
    restarted = run(session.reset())
    assert "Step 1/2" in restarted.text and not session.finished


def test_start_rejects_a_step_out_of_range(demo_lesson, runner):
    with pytest.raises(CommandError, match="has 2 steps"):
        run(LessonSession(demo_lesson, runner).start(step=5))


def test_nothing_happens_before_start(demo_lesson, runner):
    session = LessonSession(demo_lesson, runner)
    assert run(session.after_command("mine A", CommandOutcome())).text == ""
    assert run(session.poll()).text == ""


def test_on_success_the_measured_numbers_are_shown(demo_lesson):
    steps = list(demo_lesson.steps)
    steps[0] = replace(steps[0], goal=("height A >= 1", "propagation b1 < 1s"))
    lesson = replace(demo_lesson, steps=tuple(steps))
    runner = FakeRunner(effects={"mine A": {"height A >= 1": True, "propagation b1 < 1s": True}})
    session = started(lesson, runner)
    reply = act(session, runner, "mine A")
    assert "uses 1.\n  propagation b1 < 1s: found: propagation b1 < 1s is true" in reply.text
    assert "height A >= 1:" not in reply.text
