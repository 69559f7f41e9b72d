"""`lab lessons`, `lab lessons check [ID]` and `lab lesson ID` with stdin not a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from lab.commands.config import LabConfig
from lab.commands.lesson_runner import SessionRunner
from lab.commands.lessons import SHELL_LESSONS_FOOTER, lessons_table
from lab.commands.session import Session
from lab.errors import LabError
from lab.lessons.loader import find_lesson, load_all
from lab.lessons.progress import Progress
from lab.lessons.script import check_lesson, run_lesson_script
from lab.render.output import output
from lab.render.style import Styler


def lessons_listing(plain: bool = False) -> list[str]:
    """The `lessons` table with its footer, as lines."""
    from lab.render.output import render
    return render(output(lessons_table(), SHELL_LESSONS_FOOTER), Styler(False, plain))


async def check_lessons(keys: Sequence[str], out: Callable[[str], object]) -> int:
    """`lab lessons check [ID|FILE]...`: every installed lesson, or these (ids, numbers or lesson files)."""
    try:
        lessons = [find_lesson(key) for key in keys] if keys else load_all()
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


async def run_lesson_stdin(key: str, lines: Iterable[str], out: Callable[[str], object], plain: bool = True,
                           submit: str | None = None) -> int:
    """`lab lesson ID [--submit FILE]` with stdin not a terminal: the learner's commands come from stdin."""
    from lab.commands.grading_cli import LessonRecorder
    s = Session()
    try:
        lesson = find_lesson(key)
        watch = LessonRecorder(submit, lesson, s, key).watch if submit else None
    except LabError as e:
        out(f"error: {e}")
        return 2
    try:
        reached, transcript = await run_lesson_script(lesson, SessionRunner(s), lines, progress=Progress.load(),
                                                      plain=plain, watch=watch)
    finally:
        await s.close()
    out(transcript)
    return 0 if reached else 1


async def new_lesson(config: LabConfig, lines: Sequence[str], file: str, out: Callable[[str], object],
                     load: str | None = None) -> int:
    """`lab [--load SAVE] lessons new FILE`: run the commands on a fresh (or the saved) lab, then write
    the skeleton (lab/commands/authoring)."""
    from lab.commands.authoring import write_skeleton
    from lab.commands.saving import load_at_start
    s = Session(config, Styler(False, True))
    try:
        await s.start()
        if not await load_at_start(s, load, out):
            return 1
        for n, line in enumerate(lines, 1):
            outcome = await s.execute(line)
            if not outcome.ok:
                out(outcome.text)
                out(f"line {n}: command failed: {line.strip()}; no lesson written")
                return 1
        out(write_skeleton(s, file))
        return 0
    except LabError as e:
        out(f"error: {e}")
        return 1
    finally:
        await s.close()
