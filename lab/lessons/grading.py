"""`lab grade PATH... [--csv FILE]`: replay every submission and say what it proves.

A submission claims steps and a final digest; only the replay is believed.
Each file becomes one `GradeRow`: the steps the replay reached (verified)
beside the steps the file claims, the commands used beside the reference
solution's, whether the replay ends on the file's digest, and every problem
found (an edited file, another lab version, a claimed step the replay did
not reach, a file that is not a submission).

The replay itself needs a lesson runner; it is passed in as a callable
`replay(lesson, seed, command_lines) -> (steps_reached, digest)`, and the
reference solution's length as `reference_commands(lesson) -> int | None`,
so this module is plain data in, plain data out. `lesson` is an installed
lesson's id, or the path of a lesson file (ending in .toml) when the
submission was made in an instructor's own file: lab/lessons/shelf.py finds it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab import __version__
from lab.errors import CommandError, LabError
from lab.lessons.shelf import SUFFIX as LESSON_SUFFIX
from lab.lessons.shelf import Found, LessonShelf, is_lesson_name, lesson_file
from lab.lessons.submission import SubmissionError, read_submission
from lab.world.savefile import atomic_write

Replay = Callable[[str, int, Sequence[str]], tuple[Sequence[int], str]]
ReferenceCommands = Callable[[str], int | None]
SUFFIX = ".json"  # in a folder, the files taken as submissions
CSV_COLUMNS = (
    "learner",
    "lesson",
    "steps_claimed",
    "steps_verified",
    "commands",
    "reference_commands",
    "digest_match",
    "problems",
    "file",
)


class GradeError(CommandError):
    """`lab grade` cannot start: a path that does not exist."""


@dataclass(frozen=True, slots=True)
class GradeRow:
    """One learner's work on one lesson, as the replay found it."""

    learner: str  # the file's "learner", else the file name without .json
    lesson: str  # lesson id ("?" when the file is not a submission)
    steps_claimed: int  # steps the file says were reached
    steps_verified: int  # steps the replay reached
    commands: int  # commands the learner typed
    reference_commands: int | None  # commands in the lesson's reference solution; None: lesson unknown
    digest_match: bool  # the replay ends on the file's digest
    problems: tuple[str, ...]  # one short sentence each; empty when all is well
    file: str = ""  # where it came from


def collect(paths: Iterable[str | os.PathLike[str]], suffix: str = SUFFIX) -> list[Path]:
    """Files as given (but lesson files), and every *.json under each folder (sorted, each once).

    With `suffix` ".toml": the lesson files given, and every *.toml under each folder.
    """
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob(f"*{suffix}") if f.is_file()))
        elif p.is_file():
            if is_lesson_name(p) == (suffix == LESSON_SUFFIX):
                found.append(p)
        else:
            raise GradeError(f"no file or folder '{p}'", "give submission files or folders holding them")
    seen: set[Path] = set()
    unique: list[Path] = []
    for f in found:
        if f.resolve() not in seen:
            seen.add(f.resolve())
            unique.append(f)
    return unique


def collect_lessons(paths: Iterable[str | os.PathLike[str]], installed: Mapping[str, str] | None) -> LessonShelf:
    """The lesson files among `paths` and in the folders: a lesson file given by name must be one."""
    paths = list(paths)
    given = {Path(raw).resolve() for raw in paths if Path(raw).is_file()}
    files = []
    for p in collect(paths, LESSON_SUFFIX):
        f = lesson_file(p)
        if f is not None:
            files.append(dataclasses.replace(f, given=p.resolve() in given))
        elif p.resolve() in given:  # one found in a folder and named otherwise is not a lesson: left alone
            raise GradeError(f"'{p}' is not a lesson file (lesson files are named NN-slug.toml)",
                             "give the .toml as `lab lessons new` wrote it, e.g. 90-my-lesson.toml")
    return LessonShelf(files, installed)


def grade_file(
    path: Path, replay: Replay, reference_commands: ReferenceCommands, shelf: LessonShelf | None = None
) -> GradeRow:
    """Read one file, replay it in its lesson (found on `shelf`), and compare; never raises for a bad file."""
    try:
        read = read_submission(path)
    except SubmissionError as e:
        return GradeRow(_clean(path.stem), "?", 0, 0, 0, None, False, (_clean(e.message, 200),), str(path))
    s = read.submission
    problems: list[str] = []
    if read.edited:
        problems.append("edited: its checksum does not match what the lab wrote")
    if s.lab_version != __version__:
        problems.append(f"recorded with lab {s.lab_version}, replayed with {__version__}")
    found = shelf.find(s, path) if shelf is not None else Found(s.lesson)
    problems.extend(found.problems)
    reference = _reference(reference_commands, found.key) if found.key is not None else None
    reached: Sequence[int] = ()
    digest = ""
    try:
        if found.key is not None:
            reached, digest = replay(found.key, s.seed, [c.line for c in s.commands])
    except LabError as e:
        problems.append(f"replay failed: {e}")
    except Exception as e:  # a crafted file must not stop the grading of the other 29
        problems.append(f"replay failed: {type(e).__name__}: {e}")
    verified = set(reached)
    not_reached = sorted(set(s.steps_reached) - verified)
    if not_reached and digest:
        problems.append(f"claims step{'s' if len(not_reached) > 1 else ''} {_list(not_reached)}, not reached on replay")
    match = bool(digest) and digest == s.digest
    if digest and not match:
        problems.append(f"final digest {s.digest or 'missing'}, replay ends on {digest}")
    return GradeRow(
        learner=_clean(s.learner or path.stem),
        lesson=_clean(s.lesson),
        steps_claimed=len(set(s.steps_reached)),
        steps_verified=len(verified),
        commands=len(s.commands),
        reference_commands=reference,
        digest_match=match,
        problems=tuple(_clean(p, 200) for p in problems),
        file=str(path),
    )


def _reference(reference_commands: ReferenceCommands, lesson: str) -> int | None:
    try:
        return reference_commands(lesson)
    except LabError:
        return None


def _clean(text: str, limit: int = 40) -> str:
    """Text from a learner's file, safe to print: no control characters (a terminal escape), bounded."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _list(numbers: Sequence[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def grade(
    paths: Iterable[str | os.PathLike[str]],
    replay: Replay,
    reference_commands: ReferenceCommands,
    installed: Mapping[str, str] | None = None,
) -> list[GradeRow]:
    """One row per submission found under `paths`, by learner then lesson.

    Lesson files (*.toml) among `paths` and in its folders are where submissions of lesson files
    are replayed (lab/lessons/shelf.py); `installed` maps the installed lessons' ids to their
    files' SHA-256 (None: every lesson id is taken as installed, and handed to `replay` as is).
    """
    paths = list(paths)
    shelf = collect_lessons(paths, installed)
    rows = [grade_file(p, replay, reference_commands, shelf) for p in collect(paths)]
    return sorted(rows, key=lambda r: (r.learner, r.lesson, r.file))


# --- rendering (returns text; the command prints it) --------------------------------------------


def grade_table(rows: Sequence[GradeRow]) -> str:
    """The table `lab grade` prints: one row per learner and lesson (columns as tabulate's "simple")."""
    headers = ("learner", "lesson", "steps verified", "commands", "digest", "problems")
    body = [
        (
            r.learner,
            r.lesson,
            f"{r.steps_verified} of {r.steps_claimed}",
            f"{r.commands} ({r.reference_commands} ref)" if r.reference_commands is not None else str(r.commands),
            "match" if r.digest_match else "differs",
            "; ".join(r.problems) or "-",
        )
        for r in rows
    ]
    widths = [max(len(cell) for cell in column) for column in zip(headers, *body, strict=True)]
    lines = [headers, tuple("-" * w for w in widths), *body]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def grade_csv(rows: Sequence[GradeRow]) -> str:
    """The rows as CSV (RFC 4180, a header line first), for a spreadsheet."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow(
            (
                _cell(r.learner),
                _cell(r.lesson),
                r.steps_claimed,
                r.steps_verified,
                r.commands,
                "" if r.reference_commands is None else r.reference_commands,
                "yes" if r.digest_match else "no",
                _cell("; ".join(r.problems)),
                _cell(r.file),
            )
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """A spreadsheet must not run a learner's text as a formula (OWASP: CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_grade_csv(path: str | os.PathLike[str], rows: Sequence[GradeRow]) -> None:
    """`--csv FILE`: write the CSV atomically."""
    p = Path(path)
    try:
        atomic_write(p, grade_csv(rows).encode())
    except OSError as e:
        raise GradeError(f"could not write '{p}': {e.strerror or e}", "give another --csv FILE") from None
