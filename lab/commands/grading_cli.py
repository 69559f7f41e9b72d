"""`lab lesson ID --submit FILE` and `lab grade PATH... [--csv FILE]`: keep a submission, replay it.

The submission is kept by the same loop that runs a lesson from piped stdin
(lab/lessons/script.py's `watch`) or by the REPL after every line; the
replay is that loop again, on a fresh lab from the submission's seed, so
what `lab grade` believes is what the lab itself reaches on those commands.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from lab.commands.lesson_runner import SessionRunner
from lab.commands.session import Session
from lab.errors import CommandError, LabError
from lab.lessons.grading import GradeRow, grade, grade_table, write_grade_csv
from lab.lessons.loader import find_lesson, is_lesson_path, load_all, load_lesson
from lab.lessons.model import Lesson
from lab.lessons.progress import Progress
from lab.lessons.script import run_lesson_script
from lab.lessons.submission import SubmissionRecorder
from lab.world.digest import digest_of

if TYPE_CHECKING:
    from lab.lessons.session import LessonSession
    from lab.world.lab import Lab


def lab_digest(lab: Lab) -> str:
    """What `digest` prints: every node's tip, UTXO set and mempool (lab/world/digest.py)."""
    return digest_of(node.state for node in lab.nodes.values())


def steps_reached(ls: LessonSession | None) -> tuple[int, ...]:
    """The steps (from 1) whose goal the learner's own commands reached in this lesson session."""
    if ls is None:
        return ()
    missing = set(ls.unreached)
    return tuple(i + 1 for i in range(ls.step_count) if i not in missing)


class LessonRecorder:
    """Keeps a submission file for one lesson as the learner types (piped stdin or the REPL)."""

    def __init__(self, path: str, lesson: Lesson, session: Session, key: str = "") -> None:
        """`key`: the lesson as the learner named it; a lesson file's path is kept with its sha256."""
        self.lesson_id = lesson.id
        self.session = session
        own_file = is_lesson_path(key) and bool(lesson.sha256)
        self.recorder = SubmissionRecorder(path, lesson.id, lesson.start.seed,  # a bad path fails here
                                           lesson_sha256=lesson.sha256 if own_file else "",
                                           lesson_path=key.strip() if own_file else "")
        self.typed_at = self._now()  # virtual time when the learner could type the next line

    def _now(self) -> int:
        lab = self.session.lab
        return lab.sched.now if lab is not None else 0

    async def watch(self, line: str | None, ls: LessonSession) -> None:
        """run_lesson_script's watch: the lesson started (line None), or ran a line."""
        if line is not None:
            self.record(line, ls)
        self.typed_at = self._now()

    def record(self, line: str, ls: LessonSession | None) -> None:
        lab = self.session.lab
        own = ls if ls is not None and ls.lesson.id == self.lesson_id else None
        digest = lab_digest(lab) if lab is not None else ""
        self.recorder.record(line, self.typed_at, steps_reached(own), digest)
        self.typed_at = self._now()


def prompt_recorder(path: str, session: Session, key: str = "") -> Callable[[str], None]:
    """For the REPL (`lab lesson ID --submit FILE` at a terminal): record each line after it ran."""
    if session.lesson is None:
        raise LabError("--submit needs a lesson")
    recorder = LessonRecorder(path, session.lesson.lesson, session, key)
    return lambda line: recorder.record(line.strip(), session.lesson)


# --- the replay -------------------------------------------------------------------------------


async def replay_async(lesson: Lesson, seed: int, commands: Sequence[str]) -> tuple[tuple[int, ...], str]:
    """Run `commands` in a fresh lesson from `seed`: (steps reached at any point, final digest)."""
    lesson = dataclasses.replace(lesson, start=dataclasses.replace(lesson.start, seed=seed))
    reached: set[int] = set()

    async def watch(line: str | None, ls: LessonSession) -> None:
        reached.update(steps_reached(ls))

    s = Session()
    s.files = False  # a learner's `save ~/.bashrc` or `experiment ... csv FILE` writes nothing here
    try:
        await run_lesson_script(lesson, SessionRunner(s), commands, progress=Progress(None), watch=watch)
        return tuple(sorted(reached)), lab_digest(s.need_lab())
    finally:
        await s.close()


class Replayer:
    """grading.grade's `replay` and `reference_commands`, over the installed lessons and lesson files."""

    def __init__(self, lessons: Iterable[Lesson] | None = None) -> None:
        self.lessons = list(lessons) if lessons is not None else load_all()
        self._files: dict[str, Lesson] = {}  # lesson files by path, each loaded once for the whole class

    def installed(self) -> dict[str, str]:
        """Installed lesson id -> SHA-256 of its file (grading.grade's `installed`)."""
        return {lesson.id: lesson.sha256 for lesson in self.lessons}

    def lesson(self, key: str) -> Lesson:
        """An installed lesson by id (or number), or the lesson file at `key` when it ends in .toml."""
        if not is_lesson_path(key):
            try:
                return find_lesson(key, self.lessons)
            except CommandError as e:  # not installed here: the instructor has its file
                raise CommandError(e.message, "give its .toml to lab grade") from None
        if key not in self._files:
            self._files[key] = load_lesson(key)
        return self._files[key]

    def replay(self, lesson_id: str, seed: int, commands: Sequence[str]) -> tuple[Sequence[int], str]:
        return asyncio.run(replay_async(self.lesson(lesson_id), seed, commands))

    def reference_commands(self, lesson_id: str) -> int | None:
        return sum(len(step.solution) for step in self.lesson(lesson_id).steps)


def grade_command(paths: Sequence[str], csv_path: str | None, out: Callable[[str], object]) -> int:
    """`lab grade`: the table (and the CSV); exit 1 when a file has a problem, 2 when none can be read."""
    try:
        replayer = Replayer()
        rows: list[GradeRow] = grade(paths, replayer.replay, replayer.reference_commands, replayer.installed())
        if csv_path:
            write_grade_csv(csv_path, rows)
    except LabError as e:
        out(f"error: {e}")
        return 2
    if not rows:
        out("no submissions found (a folder is searched for *.json)")
        return 2
    out(grade_table(rows))
    if csv_path:
        out(f"{len(rows)} row{'s' if len(rows) != 1 else ''} written to {csv_path}")
    return 1 if any(r.problems for r in rows) else 0
