"""Lessons without a terminal: a learner's route from a script, and the authors' check.

`run_lesson_script` is what `lab lesson ID` does when stdin is not a
terminal: each line is a learner command (lab or lesson command), the
narration is collected into a transcript, and the result says whether every
step's goal was reached by those commands (exit 0) or not (exit 1).

`check_lesson` is `lab lessons check [ID]`: it replays the reference
solutions step by step and reports, per step, that the goal did NOT hold
before the solution and DID hold after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from lab.errors import LabError
from lab.lessons import language
from lab.lessons.goals import GoalReport, evaluate_goal, false_facts, run_line
from lab.lessons.model import Lesson
from lab.lessons.progress import Progress
from lab.lessons.runner import LabRunner
from lab.lessons.session import LessonSession

QUIT_WORDS = frozenset({"quit", "exit"})


async def run_lesson_script(
    lesson: Lesson,
    runner: LabRunner,
    lines: Iterable[str],
    *,
    progress: Progress | None = None,
    plain: bool = True,
    watch: Callable[[str | None, LessonSession], Awaitable[None]] | None = None,
) -> tuple[bool, str]:
    """Play `lines` as the learner; (every goal reached, transcript).

    Blank lines and `#` comments are skipped; `quit` ends the script. A
    `solution` needs `solution yes` here, as nobody can answer the question.
    `watch(line, session)` is awaited once the lesson started (line None) and
    after every line it ran (`--submit` keeps the submission with it).
    """
    session = LessonSession(lesson, runner, progress, plain=plain)
    out = [(await session.start(step=0)).text]
    if watch is not None:
        await watch(None, session)
    # On a command Session the lines go through it exactly as at the prompt: the lesson sees each
    # first, and `back`, `save` and `load` take the lesson with them (a graded script replays a
    # learner's `back` as the prompt ran it).
    lab_session = getattr(runner, "session", None)
    if lab_session is not None:
        lab_session.lesson = session
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not language.split_commands(line):
            continue
        out.append(f"> {line.strip()}")
        if language.command_word(language.split_commands(line)[0]) in QUIT_WORDS:
            break
        done = line.strip()
        if lab_session is not None:
            ran = await lab_session.execute(line)
            out.append(ran.text)
            done = ran.done_as or done  # Ctrl-C cut it short: a submission records what it did
            session = lab_session.lesson or session
        else:
            reply = await session.dispatch(line)
            if reply is None:
                outcome = await run_line(runner, line)
                out.append(outcome.text)
                reply = await session.after_command(line, outcome)
            out.append(reply.text)
        if watch is not None:
            await watch(done, session)
    # facts a notice stated that did not hold when its goal was reached: the route fails
    wrong = [f"step {k + 1}'s notice states `{fact}`: {found}" for k, fact, found in session.false_facts]
    out += [f"LESSON BUG: {w}" for w in wrong]
    reached = session.all_reached and not wrong
    if reached:
        out.append(f"Every goal of lesson {lesson.number} ({lesson.id}) was reached.")
    else:
        missing = [str(i + 1) for i in session.unreached]
        out.append(
            f"Not every goal was reached: step{'s' if len(missing) > 1 else ''} {', '.join(missing)} of lesson {lesson.number} ({lesson.id})."
        )
    return reached, "\n".join(part for part in out if part)


@dataclass(frozen=True, slots=True)
class StepCheck:
    """How one step's reference solution fared."""

    index: int  # 0-based
    held_before: bool  # the goal already held before the solution ran (a lesson bug)
    held_after: bool  # the goal held after the solution
    failed: tuple[str, ...] = ()  # solution or demo commands that failed, with the lab's error
    before: GoalReport | None = None
    after: GoalReport | None = None

    @property
    def ok(self) -> bool:
        return not self.held_before and self.held_after and not self.failed


@dataclass(frozen=True, slots=True)
class LessonCheck:
    lesson: Lesson
    steps: tuple[StepCheck, ...]
    error: str = ""  # the scenario could not be built

    @property
    def ok(self) -> bool:
        return (
            not self.error
            and len(self.steps) == len(self.lesson.steps)
            and all(s.ok for s in self.steps)
        )

    @property
    def text(self) -> str:
        lesson = self.lesson
        head = f"lesson {lesson.number:02d} {lesson.id}: {'ok' if self.ok else 'FAILED'}"
        lines = [head]
        if self.error:
            lines.append(f"  the scenario could not be built: {self.error}")
        for s in self.steps:
            step = lesson.steps[s.index]
            title = f" {step.title}" if step.title else ""
            if s.ok:
                lines.append(f"  step {s.index + 1}{title}: ok")
                continue
            lines.append(f"  step {s.index + 1}{title}: FAILED")
            if s.held_before:
                lines.append("    the goal already held before the solution ran")
            for failure in s.failed:
                lines.append(f"    command failed: {failure}")
            if not s.held_after and s.after is not None:
                for item in s.after.items:
                    if not item.ok:
                        lines.append(
                            f"    after the solution, `{item.predicate}` does not hold: {item.found}"
                        )
        return "\n".join(lines)


async def check_lesson(lesson: Lesson, runner: LabRunner) -> LessonCheck:
    """Replay the reference solutions step by step and check every goal."""
    try:
        await runner.reset(lesson.start)
    except LabError as e:
        return LessonCheck(lesson, (), error=str(e))
    results = []
    for k, step in enumerate(lesson.steps):
        failed = []
        for line in step.demo:
            outcome = await run_line(runner, line)
            if not outcome.ok:
                failed.append(f"demo `{line}`: {outcome.text.strip()}")
        before = await evaluate_goal(runner, step, k)
        for line in step.solution:
            outcome = await run_line(runner, line)
            if not outcome.ok:
                failed.append(f"`{line}`: {outcome.text.strip()}")
        after = await evaluate_goal(runner, step, k)
        failed += [f"the notice states `{item.predicate}`, but: {item.found}" for item in await false_facts(runner, step)]
        results.append(StepCheck(k, before.reached, after.reached, tuple(failed), before, after))
    return LessonCheck(lesson, tuple(results))
