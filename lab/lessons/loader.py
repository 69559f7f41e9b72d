"""Load lesson files and check every field, so a bad file fails loudly on load.

Lessons are data: `tomllib` parses them and nothing in a file is ever run as
code. Every mistake becomes a `LessonError` naming the file, the field and
the fault:

    lessons/03-transactions.toml: steps[2].goal[0]: unknown predicate 'heigth' (did you mean 'height'?)

Indexes count from 0, as in the file's arrays. Installed, the lessons ship
inside the package as `lab.lessons_data`; in a source checkout they are read
from the top-level `lessons/` folder.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from lab.errors import CommandError, LessonError
from lab.language.words import TOPOLOGIES, TOPOLOGY_CHOICES
from lab.lessons import language
from lab.lessons.model import DEFAULT_LESSON_DIFFICULTY, Diagnosis, Explain, Lesson, Scenario, Step
from lab.params import MAX_DIFFICULTY, MIN_DIFFICULTY

FILE_NAME = re.compile(r"^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.toml$")
NODE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,11}$")  # as `add-node` accepts
DURATION = re.compile(r"^\d+(\.\d+)?(ms|s|m|h)$")
MAX_NODES = 64

LESSON_FIELDS = ("id", "title", "summary", "concepts", "start", "explain", "steps", "outro")
START_FIELDS = ("nodes", "names", "topology", "seed", "difficulty", "latency", "setup")
STEP_FIELDS = ("title", "say", "demo", "goal", "hints", "diagnose", "solution", "notice", "facts")
DIAGNOSE_FIELDS = ("when", "say")
EXPLAIN_FIELDS = ("event", "say")


class _Fields:
    """Reads one TOML table, reporting faults as `file: field: problem`."""

    def __init__(self, source: str, path: str, table: Any, allowed: tuple[str, ...]) -> None:
        self.source, self.path = source, path
        if not isinstance(table, dict):
            raise self.error(f"must be a table, not {_kind(table)}")
        for key in table:
            if key not in allowed:
                raise self.error(f"unknown field '{key}'" + language.did_you_mean(key, allowed))
        self.table = table

    def where(self, key: str | None = None) -> str:
        parts = [p for p in (self.path, key) if p]
        return ".".join(parts)

    def error(self, problem: str, key: str | None = None) -> LessonError:
        where = self.where(key)
        return LessonError(
            f"{self.source}: {where}: {problem}" if where else f"{self.source}: {problem}"
        )

    def has(self, key: str) -> bool:
        return key in self.table

    def text(self, key: str, *, required: bool = True, default: str = "") -> str:
        if key not in self.table:
            if required:
                raise self.error("missing (a non-empty string)", key)
            return default
        value = self.table[key]
        if not isinstance(value, str):
            raise self.error(f"must be a string, not {_kind(value)}", key)
        value = value.strip()
        if not value:
            raise self.error("must not be empty", key)
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        if key not in self.table:
            return default
        value = self.table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"must be a whole number, not {_kind(value)}", key)
        if not low <= value <= high:
            raise self.error(f"must be between {low} and {high}, not {value}", key)
        return value

    def texts(self, key: str, *, required: bool = True, single_ok: bool = False) -> tuple[str, ...]:
        """A list of non-empty strings (or, with single_ok, one string)."""
        if key not in self.table:
            if required:
                raise self.error("missing (a list of strings)", key)
            return ()
        value = self.table[key]
        if single_ok and isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.error(f"must be a list of strings, not {_kind(value)}", key)
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"must be a string, not {_kind(item)}", f"{key}[{i}]")
            if not item.strip():
                raise self.error("must not be empty", f"{key}[{i}]")
            out.append(item.strip())
        if required and not out:
            raise self.error("must not be empty", key)
        return tuple(out)

    def commands(
        self, key: str, *, required: bool = True, single_ok: bool = False
    ) -> tuple[str, ...]:
        lines = self.texts(key, required=required, single_ok=single_ok)
        for i, line in enumerate(lines):
            commands = language.split_commands(line)
            if not commands:
                raise self.error("holds no command", f"{key}[{i}]")
            for command in commands:
                problem = language.check_command(command)
                if problem:
                    raise self.error(problem, f"{key}[{i}]")
        return lines

    def tables(self, key: str) -> list[Any]:
        if key not in self.table:
            return []
        value = self.table[key]
        if not isinstance(value, list):
            raise self.error(f"must be an array of tables ([[{key}]]), not {_kind(value)}", key)
        return value


def _kind(value: Any) -> str:
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _scenario(source: str, table: Any) -> Scenario:
    f = _Fields(source, "start", table, START_FIELDS)
    names: tuple[str, ...] = ()
    if f.has("names"):
        names = f.texts("names")
        for i, name in enumerate(names):
            if not NODE_NAME.match(name):
                raise f.error(
                    f"'{name}' is not a node name (a letter, then letters or digits)", f"names[{i}]"
                )
        upper = [n.upper() for n in names]
        if len(set(upper)) != len(upper):
            raise f.error("node names must differ (case does not count)", "names")
        if len(names) > MAX_NODES:
            raise f.error(f"at most {MAX_NODES} nodes", "names")
        names = tuple(upper)
    nodes = f.integer("nodes", len(names) or 4, 1, MAX_NODES)
    if names and f.has("nodes") and nodes != len(names):
        raise f.error(f"says {nodes} nodes but names lists {len(names)}", "nodes")
    topology = " ".join(f.text("topology", required=False, default="mesh").split())
    words = topology.split()
    if words[0] not in TOPOLOGIES:
        raise f.error(
            f"unknown topology '{topology}' (one of {TOPOLOGY_CHOICES})"
            + language.did_you_mean(words[0], TOPOLOGIES),
            "topology",
        )
    if words[0] == "random":
        if len(words) != 2 or not words[1].isdigit() or int(words[1]) < 1:
            raise f.error('random needs a peer count, e.g. "random 3"', "topology")
    elif len(words) != 1:
        raise f.error(f"'{words[0]}' takes no number", "topology")
    latency = None
    if f.has("latency"):
        latency = f.text("latency")
        if not DURATION.match(latency):
            raise f.error(f"'{latency}' is not a duration such as 50ms, 2s or 1m", "latency")
    return Scenario(
        nodes=nodes,
        names=names,
        topology=topology,
        seed=f.integer("seed", 1, 0, 2**32 - 1),
        difficulty=f.integer(
            "difficulty", DEFAULT_LESSON_DIFFICULTY, MIN_DIFFICULTY, MAX_DIFFICULTY
        ),
        latency=latency,
        setup=f.commands("setup", required=False),
    )


def _step(source: str, i: int, table: Any) -> Step:
    f = _Fields(source, f"steps[{i}]", table, STEP_FIELDS)
    goal = f.texts("goal")
    for j, predicate in enumerate(goal):
        problem = language.check_predicate(predicate)
        if problem:
            raise f.error(problem, f"goal[{j}]")
    facts = f.texts("facts", required=False)
    for j, predicate in enumerate(facts):
        problem = language.check_predicate(predicate)
        if problem:
            raise f.error(problem, f"facts[{j}]")
    return Step(
        say=f.text("say"),
        goal=tuple(" ".join(p.split()) for p in goal),
        hints=f.texts("hints"),
        solution=f.commands("solution"),
        notice=f.text("notice", required=False),
        demo=f.commands("demo", required=False, single_ok=True),
        title=f.text("title", required=False),
        facts=tuple(" ".join(p.split()) for p in facts),
        diagnose=tuple(_diagnosis(source, f"steps[{i}].diagnose[{j}]", t) for j, t in enumerate(f.tables("diagnose"))),
    )


def _diagnosis(source: str, path: str, table: Any) -> Diagnosis:
    f = _Fields(source, path, table, DIAGNOSE_FIELDS)
    when = " ".join(f.text("when").split())
    problem = language.check_predicate(when)
    if problem:
        raise f.error(problem, "when")
    return Diagnosis(when=when, say=f.text("say"))


def _explain(source: str, i: int, table: Any) -> Explain:
    f = _Fields(source, f"explain[{i}]", table, EXPLAIN_FIELDS)
    event = f.text("event")
    if event not in language.EVENT_KINDS:
        raise f.error(
            f"unknown event kind '{event}'" + language.did_you_mean(event, language.EVENT_KINDS),
            "event",
        )
    return Explain(event=event, say=f.text("say"))


def parse_lesson(text: str, name: str, source: str | None = None, sha256: str = "") -> Lesson:
    """Build a Lesson from a file's text; `name` is the file name (`03-transactions.toml`)."""
    source = source or name
    match = FILE_NAME.match(name)
    if not match:
        raise LessonError(
            f"{source}: the file name must look like NN-slug.toml (e.g. 01-network.toml)"
        )
    number, slug = int(match.group(1)), match.group(2)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise LessonError(f"{source}: not valid TOML: {e}") from None
    f = _Fields(source, "", data, LESSON_FIELDS)
    lesson_id = f.text("id")
    if lesson_id != slug:
        raise f.error(f"'{lesson_id}' must match the file name's slug '{slug}'", "id")
    steps_raw = f.tables("steps")
    if not steps_raw:
        raise f.error("missing: a lesson needs at least one [[steps]]", "steps")
    explains = tuple(_explain(source, i, t) for i, t in enumerate(f.tables("explain")))
    seen: set[str] = set()
    for i, explain in enumerate(explains):
        if explain.event in seen:
            raise f.error(f"a second explanation for '{explain.event}'", f"explain[{i}].event")
        seen.add(explain.event)
    return Lesson(
        id=lesson_id,
        number=number,
        title=f.text("title"),
        summary=f.text("summary"),
        concepts=f.texts("concepts", required=False),
        start=_scenario(source, data.get("start", {})),
        steps=tuple(_step(source, i, t) for i, t in enumerate(steps_raw)),
        explain=explains,
        outro=f.text("outro", required=False),
        source=source,
        sha256=sha256,
    )


def load_lesson(path: Path | Traversable | str, source: str | None = None) -> Lesson:
    """Load and validate one lesson file."""
    if isinstance(path, str):
        path = Path(path)
    source = source or str(path)
    try:
        data = path.read_bytes()
        # as read_text would: UTF-8, and universal newlines (CRLF or CR read as LF)
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError) as e:
        raise LessonError(f"{source}: cannot read: {e}") from None
    return parse_lesson(text, path.name, source, file_sha256(data))


def file_sha256(data: bytes) -> str:
    """SHA-256 of a lesson file's bytes, in hex: a submission names the version of the file it was made in."""
    return hashlib.sha256(data).hexdigest()


def is_lesson_path(key: str) -> bool:
    """`lesson KEY` and `lab lesson KEY`: a key ending in .toml is a lesson file, not an id."""
    return key.strip().lower().endswith(".toml")


def lessons_dir() -> Traversable:
    """Where the lesson files are: the installed package data, else the checkout's lessons/."""
    try:
        files = resources.files("lab.lessons_data")
        if any(p.name.endswith(".toml") for p in files.iterdir()):
            return files
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "lessons"


def _lesson_files(folder: Traversable) -> list[Traversable]:
    try:
        entries = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted((p for p in entries if p.name.endswith(".toml")), key=lambda p: p.name)


def load_all(
    folder: Path | Traversable | None = None, errors: list[LessonError] | None = None
) -> list[Lesson]:
    """Every lesson, sorted by number.

    A malformed file raises LessonError, unless `errors` is given: then the
    error is appended there and the file skipped (so `lab lessons` can list
    the good ones and name the bad).
    """
    folder = folder if folder is not None else lessons_dir()
    lessons: list[Lesson] = []
    for path in _lesson_files(folder):
        try:
            lessons.append(load_lesson(path, f"lessons/{path.name}"))
        except LessonError as e:
            if errors is None:
                raise
            errors.append(e)
    _check_unique(lessons, errors)
    return sorted(lessons, key=lambda lesson: lesson.number)


def _check_unique(lessons: list[Lesson], errors: list[LessonError] | None) -> None:
    by_number: dict[int, Lesson] = {}
    for lesson in list(lessons):
        other = by_number.get(lesson.number)
        if other is None:
            by_number[lesson.number] = lesson
            continue
        error = LessonError(
            f"{lesson.source}: lesson number {lesson.number:02d} is also used by {other.source}"
        )
        if errors is None:
            raise error
        errors.append(error)
        lessons.remove(lesson)


def find_lesson(key: str | int, lessons: Iterable[Lesson] | None = None) -> Lesson:
    """`network`, `1`, `01` or 1 -> that lesson; CommandError with a suggestion otherwise.

    A key ending in `.toml` is a lesson file anywhere (an author's own), loaded and validated.
    """
    if isinstance(key, str) and is_lesson_path(key):
        path = Path(key.strip()).expanduser()
        if not path.is_file():
            raise CommandError(f"no lesson file '{key.strip()}'", "check the path; lesson files are NN-slug.toml")
        return load_lesson(path)
    pool = list(lessons) if lessons is not None else load_all()
    text = str(key).strip().lower()
    for lesson in pool:
        if text == lesson.id or (text.isdigit() and int(text) == lesson.number):
            return lesson
    close = language.closest(text, [lesson.id for lesson in pool])
    hint = f"did you mean `lesson {close}`?" if close else "type `lessons` to list them"
    raise CommandError(f"no lesson '{key}'", hint)
