"""Lessons inside the command language: the runner adapter, lesson commands, CLI support.

`SessionRunner` lets the lesson engine (lab/lessons) drive a command Session:
build the scenario, run a line, check a predicate. The lesson commands
(`lessons`, `lesson ID`, `objective`, `goal`, `hint`, `solution`, `next`,
`undo`) are registered like every other command, so help and completion
know them.
"""

from __future__ import annotations

from typing import Any

from lab.commands import predicates
from lab.commands.parse import parse_duration
from lab.commands.registry import command
from lab.commands.session import LabConfig, Result, Session
from lab.errors import CommandError, LabError
from lab.lessons.model import Scenario
from lab.lessons.runner import CheckOutcome, CommandOutcome
from lab.render.tables import table

# narrated event kinds -> the event kinds lessons attach explanations to
_EVENT_ALIASES = {"reorg": ("reorg", "stale"), "fork": ("fork", "stale"), "forged": ("forged",),
                  "peer-punished": ("peer-punished",), "block-rejected": ("block-rejected",),
                  "tx-returned": ("tx-returned",), "link-down": ("link-down",), "partition": ("partition", "link-down")}


def lesson_events(kinds: list[str]) -> list[str]:
    out: list[str] = []
    for k in kinds:
        for alias in _EVENT_ALIASES.get(k, (k,)):
            if alias not in out:
                out.append(alias)
    return out


class SessionRunner:
    """The lesson engine's LabRunner, on a command Session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def reset(self, start: Scenario) -> None:
        base = LabConfig()
        latency = parse_duration(start.latency) / 1000 if start.latency else base.latency_ms
        cfg = LabConfig(nodes=list(start.node_names), topology=start.topology_kind,
                        k=start.topology_k or 3, seed=start.seed, difficulty=start.difficulty,
                        latency_ms=latency, host=self.session.config.host)
        await self.session.rebuild(cfg)
        for line in start.setup:
            out = await self.session.execute(line, hook=False)
            if not out.ok:
                raise CommandError(f"setup command `{line}` failed: {out.error}")

    async def execute(self, line: str) -> CommandOutcome:
        out = await self.session.execute(line, hook=False)
        return CommandOutcome(out.text, out.ok, tuple(lesson_events(out.events)))

    async def check(self, predicate: str) -> CheckOutcome:
        out = predicates.evaluate(self.session.lab, predicate)
        return CheckOutcome(out.ok, out.expected, out.found)


def _progress():
    from lab.lessons.progress import Progress
    return Progress.load()


def lessons_table(plain: bool = False) -> list[str]:
    from lab.lessons.loader import load_all
    progress = _progress()
    rows = []
    for lesson in load_all():
        rows.append([lesson.number, lesson.id, lesson.title, progress.summary(lesson.id, len(lesson.steps))])
    lines = table(["#", "id", "title", "progress"], rows).splitlines()
    lines.append("Type `lesson 1` (or `lesson network`) to start one.")
    return lines


async def open_lesson(s: Session, key: str, step: int | None = None, plain: bool = False) -> str:
    from lab.lessons.loader import find_lesson
    from lab.lessons.session import LessonSession
    lesson = find_lesson(key)
    ls = LessonSession(lesson, SessionRunner(s), _progress(), plain=plain)
    s.lesson = ls
    reply = await ls.start(step)
    return reply.text


@command("lessons", "lessons", "the lessons, with your progress", category="lesson", settles=False)
async def cmd_lessons(s: Session, args: list[str]) -> Result:
    return Result(lessons_table(s.styler.ascii_only))


@command("lesson", "lesson ID", "start a lesson (by number or name); your lab is replaced by its scenario",
         category="lesson", args=("lesson",), settles=False)
async def cmd_lesson(s: Session, args: list[str]) -> Result:
    if len(args) != 1:
        raise CommandError("'lesson' needs a lesson number or name", "type `lessons` to see them, then e.g. `lesson 1`")
    return Result([await open_lesson(s, args[0], plain=s.styler.ascii_only)])


def _lesson_command(name: str, usage: str, summary: str) -> None:
    async def handler(s: Session, args: list[str]) -> Result:
        if s.lesson is None:
            raise CommandError(f"'{name}' works inside a lesson", "type `lessons` to pick one, then `lesson 1`")
        reply = await s.lesson.dispatch(" ".join([name, *args]))
        return Result([reply.text] if reply is not None and reply.text else [])

    command(name, usage, summary, category="lesson", settles=False)(handler)


_lesson_command("objective", "objective", "what the current lesson step asks you to do")
_lesson_command("goal", "goal", "the step's goal, which parts already hold, and why not")
_lesson_command("hint", "hint", "the next hint for this step (vaguest first)")
_lesson_command("solution", "solution [yes]", "the reference solution (asks first while unsolved)")
_lesson_command("next", "next", "skip to the next step")
_lesson_command("undo", "undo", "rebuild the lesson's lab without your last command")


# -- the `lab lessons` / `lab lesson ID` command lines ---------------------------------------
async def check_lessons(key: str | None, out: Any) -> int:
    from lab.lessons.loader import find_lesson, load_all
    from lab.lessons.script import check_lesson
    try:
        lessons = [find_lesson(key)] if key else load_all()
    except LabError as e:  # a malformed lesson file or an unknown id: one line, no traceback
        out(f"error: {e}")
        return 1
    failed = 0
    for lesson in lessons:
        s = Session()
        try:
            result = await check_lesson(lesson, SessionRunner(s))
        finally:
            await s.close()
        out(result.text)
        failed += not result.ok
    out(f"{len(lessons) - failed} of {len(lessons)} lessons ok")
    return 1 if failed else 0


async def run_lesson_stdin(key: str, lines: Any, out: Any, plain: bool = True) -> int:
    """`lab lesson ID` with stdin not a terminal: the learner's commands come from stdin."""
    from lab.lessons.loader import find_lesson
    from lab.lessons.script import run_lesson_script
    try:
        lesson = find_lesson(key)
    except LabError as e:
        out(f"error: {e}")
        return 2
    s = Session()
    try:
        reached, transcript = await run_lesson_script(lesson, SessionRunner(s), lines, progress=_progress(), plain=plain)
    finally:
        await s.close()
    out(transcript)
    return 0 if reached else 1
