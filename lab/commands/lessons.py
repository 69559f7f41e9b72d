"""The lesson commands: `lessons`, `lesson ID`, and the words the lesson session answers.

`objective`, `goal`, `hint`, `solution`, `next` and `undo` are handed to the
active lesson; declared in lab/language/commands.py like every other command,
so help and completion know them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.commands.lesson_runner import SessionRunner
from lab.errors import CommandError
from lab.language import LANGUAGE, fits
from lab.lessons.loader import find_lesson, load_all
from lab.lessons.progress import Progress
from lab.lessons.session import LessonSession
from lab.render.output import Output, Table, output

if TYPE_CHECKING:
    from lab.commands.session import Session


def lessons_table() -> Table:
    progress = Progress.load()
    rows = tuple((lesson.number, lesson.id, lesson.title, progress.summary(lesson.id, len(lesson.steps)))
                 for lesson in load_all())
    return Table(("#", "id", "title", "progress"), rows)


LESSONS_FOOTER = "Type `lesson 1` (or `lesson network`) to start one."
SHELL_LESSONS_FOOTER = "Type `lab lesson 1` (or `lab lesson network`) to start one."  # at the shell, not the prompt


async def open_lesson(s: Session, key: str, step: int | None = None, plain: bool = False) -> str:
    s.refuse_in_class()
    lesson = find_lesson(key)
    ls = LessonSession(lesson, SessionRunner(s), Progress.load(), plain=plain)
    s.lesson = ls
    return (await ls.start(step)).text


async def cmd_lessons(s: Session, args: list[str]) -> Output:
    if args and args[0].lower() == "new":
        from lab.commands.authoring import cmd_lessons_new
        return await cmd_lessons_new(s, args[1:])
    return output(lessons_table(), LESSONS_FOOTER)


async def cmd_lesson(s: Session, args: list[str]) -> Output:
    if not fits(LANGUAGE.commands["lesson"], args):
        raise CommandError("'lesson' needs a lesson number or name", "type `lessons` to see them, then e.g. `lesson 1`")
    return output(await open_lesson(s, args[0], plain=s.styler.ascii_only))


async def in_lesson(s: Session, args: list[str], *, name: str) -> Output:
    """A lesson command: the active lesson answers it."""
    if s.lesson is None:
        raise CommandError(f"'{name}' works inside a lesson", "type `lessons` to pick one, then `lesson 1`")
    answer = await s.lesson.dispatch(" ".join([name, *args]))
    return output(answer.text) if answer is not None and answer.text else Output()
