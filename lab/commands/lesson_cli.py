"""`lab lessons`, `lab lessons check [ID]` and `lab lesson ID` with stdin not a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterable

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


async def check_lessons(key: str | None, out: Callable[[str], object]) -> int:
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


async def run_lesson_stdin(key: str, lines: Iterable[str], out: Callable[[str], object], plain: bool = True) -> int:
    """`lab lesson ID` with stdin not a terminal: the learner's commands come from stdin."""
    try:
        lesson = find_lesson(key)
    except LabError as e:
        out(f"error: {e}")
        return 2
    s = Session()
    try:
        reached, transcript = await run_lesson_script(lesson, SessionRunner(s), lines, progress=Progress.load(),
                                                      plain=plain)
    finally:
        await s.close()
    out(transcript)
    return 0 if reached else 1
