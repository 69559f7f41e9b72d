"""Which lesson `lab grade` replays a submission in: installed, given, found beside it, or where it was.

A submission of an installed lesson names it by id. A submission of an
instructor's own lesson file (`lab lesson ./90-my.toml --submit ada.json`)
also records the file's SHA-256 and its path as the learner gave it
(lab/lessons/submission.py). The shelf holds the lesson files `lab grade`
was given on the command line and the ones in the graded folders, and finds
the lesson for each submission:

1. a submission without a lesson file: the installed lesson of that id, as
   before; otherwise a lesson file of that id on the shelf;
2. a submission of a lesson file: among the files of that id — given, in
   the graded folders, at the recorded path (beside the submission, then
   from here), the installed one — the first whose bytes hash to the
   recorded SHA-256; otherwise the first of them, graded with the problem
   "lesson file differs from the learner's"; none: "not found".

A lesson file's id is the slug of its `NN-slug.toml` name (the loader
refuses a file whose `id` differs), so the shelf finds files by name and
reads only their bytes; the replay loads the one it is given.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lab.lessons.loader import FILE_NAME, file_sha256
from lab.lessons.submission import Submission

SUFFIX = ".toml"  # a path given to `lab grade` with this ending is a lesson, not a submission
MAX_BYTES = 1_000_000  # a lesson file is a few kilobytes; a larger file at a recorded path is not read


@dataclass(frozen=True, slots=True)
class LessonFile:
    """A lesson file on the shelf."""

    path: Path  # where it is
    lesson: str  # its id: the slug of its NN-slug.toml name
    sha256: str  # SHA-256 of its bytes, hex
    given: bool = False  # named on `lab grade`'s command line (the grader's), not found in a graded folder


@dataclass(frozen=True, slots=True)
class Found:
    """The lesson a submission is replayed in (`key`: an installed id or a lesson file's path), or why none."""

    key: str | None  # for the replay: a lesson id, or a path ending in .toml; None: not found
    problems: tuple[str, ...] = ()  # e.g. "lesson file differs from the learner's (graded with ...)"


def is_lesson_name(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIX)


def lesson_file(path: Path) -> LessonFile | None:
    """The file at `path` if it is named like a lesson and can be read; None otherwise."""
    match = FILE_NAME.match(path.name)
    try:
        if match is None or not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        return LessonFile(path, match.group(2), file_sha256(path.read_bytes()))
    except OSError:
        return None


class LessonShelf:
    """The lesson files `lab grade` was given or found, and the installed lessons' hashes."""

    def __init__(self, files: Iterable[LessonFile] = (), installed: Mapping[str, str] | None = None) -> None:
        """`installed`: installed lesson id -> SHA-256 of its file; None: every id counts as installed."""
        self.files = list(files)
        self.installed = installed
        self._read: dict[Path, LessonFile | None] = {f.path.resolve(): f for f in self.files}

    def _at(self, path: Path) -> LessonFile | None:
        try:
            where = path.resolve()
        except (OSError, RuntimeError):  # a symlink loop in a crafted path
            return None
        if where not in self._read:
            self._read[where] = lesson_file(path)
        return self._read[where]

    def find(self, s: Submission, where: Path) -> Found:
        """The lesson to replay submission `s` (read from the file `where`) in."""
        if not s.lesson_sha256:  # an installed lesson's submission
            if self.installed is None or s.lesson in self.installed:
                return Found(s.lesson)
            own = next((f for f in self.files if f.lesson == s.lesson), None)
            return Found(str(own.path) if own else s.lesson)  # not found: the replay says there is no such lesson
        candidates = [f for f in self.files if f.lesson == s.lesson]
        candidates += [f for f in self._recorded(s, where) if f.lesson == s.lesson and f not in candidates]
        for f in candidates:
            if f.sha256 == s.lesson_sha256:
                return Found(str(f.path), self._doubts(s, f))
        installed = (self.installed or {}).get(s.lesson)
        if installed == s.lesson_sha256:
            return Found(s.lesson)
        if candidates:
            return Found(str(candidates[0].path), (f"lesson file differs from the learner's (graded with {candidates[0].path})",))
        if installed is not None:
            return Found(s.lesson, (f"lesson file differs from the learner's (graded with the installed {s.lesson})",))
        hint = f" (the learner had {s.lesson_path})" if s.lesson_path else ""
        return Found(None, (f"lesson `{s.lesson}` not found: give its .toml to lab grade{hint}",))

    def _doubts(self, s: Submission, f: LessonFile) -> tuple[str, ...]:
        """Why the lesson file the learner played is not the grader's, though its bytes match theirs.

        A learner may hand in a lesson file of their own beside the submission (an installed id with an
        easier goal): it is replayed, but the row says so.
        """
        installed = (self.installed or {}).get(s.lesson)
        if installed is not None and installed != f.sha256:
            return (f"not the installed lesson `{s.lesson}`: played and graded in {f.path}",)
        given = next((g for g in self.files if g.given and g.lesson == s.lesson), None)
        if given is not None and not f.given:
            return (f"graded with {f.path}, not the lesson file given ({given.path})",)
        return ()

    def _recorded(self, s: Submission, where: Path) -> list[LessonFile]:
        """The lesson file at the path the learner gave: beside the submission, then from here."""
        if not s.lesson_path or "\0" in s.lesson_path:
            return []
        try:
            recorded = Path(s.lesson_path).expanduser()
        except RuntimeError:  # "~someone/..." of a user this machine does not have
            return []
        paths = [recorded] if recorded.is_absolute() else [where.parent / recorded, Path(os.getcwd()) / recorded]
        found = [self._at(p) for p in paths]
        return [f for f in found if f is not None]
