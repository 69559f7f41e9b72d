"""The submission file of `lab lesson ID --submit FILE` (docs/SAVEFILE.md, "Submissions").

As a learner works through a lesson, the lab keeps a small JSON file: the
lab version, the lesson, the seed, every command typed with the virtual time
it was typed at, the steps reached and the final `digest`. It is rewritten
atomically after every command, so a crash loses at most the command being
typed and never leaves half a file.

JSON rather than SQLite (which holds saves): a submission is a few kilobytes
that an instructor opens in any editor, mails around and diffs; it is
rewritten whole each time, so nothing is gained from a database.

A lesson opened from a file rather than installed adds `lesson_sha256` (of
the file's bytes) and `lesson_path` (as the learner gave it), so `lab grade`
can find that file again and tell when it is not the one the learner had.
They are optional: a submission of an installed lesson is written without
them, byte for byte as before, and a lab that does not know them ignores them.

The file carries a sha256 of its own content (`sha256`, over the canonical
JSON of every other field, these two included), so an edit shows as
"edited" in `lab grade`.
Anyone can recompute that hash, so it is a tripwire, not a proof: the proof
is the replay. `lab grade` runs the commands again on a fresh lesson and
believes only the steps and the digest the replay reaches.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lab import __version__
from lab.errors import CommandError
from lab.world.savefile import atomic_write

FORMAT = "blockchain-lab-submission"  # the "format" field: what this file is
VERSION = 1  # the "version" field; raise it when the layout changes, and document it
MAX_BYTES = 5_000_000  # a file larger than this is not a submission the lab wrote
FIELDS = ("format", "version", "lab_version", "lesson", "seed", "learner", "commands", "steps_reached", "digest")


class SubmissionError(CommandError):
    """A submission file cannot be written or read."""


@dataclass(frozen=True, slots=True)
class TypedCommand:
    """One command line as the learner typed it."""

    time_us: int  # virtual microseconds since the lab started, when it was typed
    line: str  # the command line, e.g. "mine A"


@dataclass(frozen=True, slots=True)
class Submission:
    """What one learner did in one lesson."""

    lesson: str  # lesson id, e.g. "forks"
    seed: int  # the lab's seed: the replay starts from the same lab
    commands: tuple[TypedCommand, ...] = ()  # in the order typed
    steps_reached: tuple[int, ...] = ()  # steps whose goal was reached, numbered from 1
    digest: str = ""  # the `digest` line after the last command
    learner: str = ""  # a name; empty: `lab grade` uses the file's name
    lab_version: str = __version__  # the lab that recorded it
    # A lesson opened from a file (`lab lesson ./90-my.toml`), not an installed one: what finds it again.
    lesson_sha256: str = ""  # SHA-256 of the lesson file's bytes (hex); empty: an installed lesson
    lesson_path: str = ""  # the lesson file's path as the learner gave it, e.g. "./90-my.toml"


@dataclass(frozen=True, slots=True)
class ReadSubmission:
    """A submission read back, with what was found wrong with the file itself."""

    submission: Submission
    edited: bool  # the content hash does not match: changed after the lab wrote it


# --- the file ------------------------------------------------------------------------------


def _fields(s: Submission) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "lab_version": s.lab_version,
        "lesson": s.lesson,
        # only for a lesson file: a submission of an installed lesson is written as it always was
        **({"lesson_sha256": s.lesson_sha256, "lesson_path": s.lesson_path} if s.lesson_sha256 else {}),
        "seed": s.seed,
        "learner": s.learner,
        "commands": [{"time_us": c.time_us, "line": c.line} for c in s.commands],
        "steps_reached": list(s.steps_reached),
        "digest": s.digest,
    }


def content_hash(fields: dict[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces, UTF-8) of every field but `sha256`."""
    body = {k: v for k, v in fields.items() if k != "sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def to_text(s: Submission) -> str:
    """The file's text: one field a line, one command a line, the hash last."""
    fields = _fields(s)
    fields["sha256"] = content_hash(fields)
    lines = []
    for key, value in fields.items():
        if key == "commands":
            items = [f"  {json.dumps(c, ensure_ascii=False)}" for c in value]
            lines.append(' "commands": [' + ("\n" + ",\n".join(items) + "\n ]" if items else "]"))
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def from_text(text: str, name: str = "the submission") -> ReadSubmission:
    """Parse a submission; raises SubmissionError (one line) when it is not one this lab reads."""
    try:
        fields = json.loads(text)
    except ValueError as e:
        raise _not_one(name, f"not JSON ({e})") from None
    if not isinstance(fields, dict) or fields.get("format") != FORMAT:
        raise _not_one(name, "no \"format\": \"blockchain-lab-submission\" field")
    version = fields.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise SubmissionError(
            f"'{name}' is a submission in format {version}; this lab {__version__} reads up to {VERSION}",
            "grade it with a newer lab: `pip install -U blockchain-lab`",
        )
    missing = [f for f in FIELDS if f not in fields]
    if missing:
        raise _not_one(name, f"missing {', '.join(missing)}")
    try:
        sub = Submission(
            lesson=_typed(fields["lesson"], str),
            seed=_typed(fields["seed"], int),
            commands=tuple(
                TypedCommand(_typed(c["time_us"], int), _typed(c["line"], str)) for c in _typed(fields["commands"], list)
            ),
            steps_reached=tuple(_typed(n, int) for n in _typed(fields["steps_reached"], list)),
            digest=_typed(fields["digest"], str),
            learner=_typed(fields["learner"], str),
            lab_version=_typed(fields["lab_version"], str),
            lesson_sha256=_typed(fields.get("lesson_sha256", ""), str),  # optional: a lesson file's
            lesson_path=_typed(fields.get("lesson_path", ""), str),
        )
    except (TypeError, KeyError) as e:
        raise _not_one(name, f"a field has the wrong shape ({e})") from None
    return ReadSubmission(sub, edited=fields.get("sha256") != content_hash(fields))


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"{value!r} is not {kind.__name__}")
    return value


def _not_one(name: str, why: str) -> SubmissionError:
    return SubmissionError(
        f"'{name}' is not a lab submission: {why}",
        "submissions are written by `lab lesson ID --submit FILE`",
    )


def read_submission(path: str | os.PathLike[str]) -> ReadSubmission:
    """Read a submission file (see from_text)."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_BYTES:
            raise _not_one(str(p), f"larger than {MAX_BYTES:,} bytes")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SubmissionError(f"no submission file '{p}'", "check the name") from None
    except UnicodeDecodeError:
        raise _not_one(str(p), "not UTF-8 text") from None
    except OSError as e:
        raise SubmissionError(f"cannot read '{p}': {e.strerror or e}", "check the file's permissions") from None
    return from_text(text, str(p))


def write_submission(path: str | os.PathLike[str], s: Submission) -> None:
    """Write atomically: the file holds the old or the new submission, never half of one."""
    p = Path(path)
    try:
        atomic_write(p, to_text(s).encode())
    except OSError as e:
        raise SubmissionError(
            f"could not write the submission '{p}': {e.strerror or e}",
            "the last complete version is kept; free some space or check the folder",
        ) from None


# --- keeping it as the learner works ----------------------------------------------------------


class SubmissionRecorder:
    """Keeps `path` up to date: call `record` after every command the learner types."""

    def __init__(self, path: str | os.PathLike[str], lesson: str, seed: int, *, learner: str = "",
                 lesson_sha256: str = "", lesson_path: str = "") -> None:
        self.path = Path(path)
        self.submission = Submission(lesson=lesson, seed=seed, learner=learner, lesson_sha256=lesson_sha256,
                                     lesson_path=lesson_path)
        write_submission(self.path, self.submission)  # a bad path fails now, not after the first command

    def record(self, line: str, time_us: int, steps_reached: tuple[int, ...], digest: str) -> Submission:
        """Add a command typed at virtual time `time_us`, with the steps and digest after it."""
        s = self.submission
        self.submission = replace(
            s,
            commands=(*s.commands, TypedCommand(time_us, line)),
            steps_reached=tuple(sorted(set(s.steps_reached) | set(steps_reached))),
            digest=digest,
        )
        write_submission(self.path, self.submission)
        return self.submission
