"""Lesson progress, kept between runs in the user's state directory.

One small JSON file, `lessons.json`, in `platformdirs.user_state_dir
("blockchain-lab")` or in `$LAB_STATE_DIR` when that is set (tests use a
temporary folder). Per lesson it records the step to resume at, whether the
lesson was finished, and per step (numbered from 1 in the file) whether the
learner reached the goal or skipped it, the commands they used, the hints
they took and whether they looked at the solution:

    {"version": 1, "lessons": {"network": {"current": 2, "finished": false,
      "steps": {"1": {"reached": true, "commands": 2, "hints": 1}}}}}

It is written after every change (atomically, via a temporary file). A file
that cannot be read or parsed is set aside as `lessons.json.corrupt` and
progress starts fresh: losing progress is better than a lab that won't start.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

if TYPE_CHECKING:
    from lab.lessons.model import Lesson

APP_NAME = "blockchain-lab"
FILE_NAME = "lessons.json"
VERSION = 1


def state_dir() -> Path:
    """The lab's state directory: $LAB_STATE_DIR, else the platform's user state dir."""
    override = os.environ.get("LAB_STATE_DIR")
    return Path(override) if override else Path(platformdirs.user_state_dir(APP_NAME))


@dataclass
class StepRecord:
    reached: bool = False  # the learner's own commands reached the goal (at least once)
    skipped: bool = False  # passed with `next`
    commands: int = 0  # commands used the last time the goal was reached
    hints: int = 0  # most hint tiers taken
    solution_seen: bool = False


@dataclass
class LessonRecord:
    current: int = 0  # step index to resume at (0-based)
    finished: bool = False  # every step done (reached or skipped) at least once
    steps: dict[int, StepRecord] = field(default_factory=dict)  # by step index, 0-based

    def step(self, index: int) -> StepRecord:
        return self.steps.setdefault(index, StepRecord())

    @property
    def commands(self) -> int:
        return sum(s.commands for s in self.steps.values())

    def reached_count(self) -> int:
        return sum(1 for s in self.steps.values() if s.reached)


class Progress:
    """Progress of every lesson; `path=None` keeps it in memory only."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.lessons: dict[str, LessonRecord] = {}
        self.problem = ""  # the last load/save trouble, for a one-line warning

    @classmethod
    def load(cls, path: Path | None = None) -> Progress:
        """Read the progress file (default: state_dir()/lessons.json); never raises."""
        progress = cls(path if path is not None else state_dir() / FILE_NAME)
        progress._read()
        return progress

    # -- recording --------------------------------------------------------------------

    def record(self, lesson_id: str) -> LessonRecord:
        return self.lessons.setdefault(lesson_id, LessonRecord())

    def set_current(self, lesson_id: str, index: int) -> None:
        self.record(lesson_id).current = index
        self.save()

    def step_reached(
        self, lesson_id: str, index: int, *, commands: int, hints: int, solution_seen: bool
    ) -> None:
        step = self.record(lesson_id).step(index)
        step.reached = True
        step.commands = commands
        step.hints = max(step.hints, hints)
        step.solution_seen = step.solution_seen or solution_seen
        self.save()

    def step_skipped(self, lesson_id: str, index: int) -> None:
        self.record(lesson_id).step(index).skipped = True
        self.save()

    def hint_taken(self, lesson_id: str, index: int, tiers: int) -> None:
        step = self.record(lesson_id).step(index)
        step.hints = max(step.hints, tiers)
        self.save()

    def solution_seen(self, lesson_id: str, index: int) -> None:
        self.record(lesson_id).step(index).solution_seen = True
        self.save()

    def finish(self, lesson_id: str) -> None:
        record = self.record(lesson_id)
        record.finished = True
        record.current = 0
        self.save()

    # -- reading ----------------------------------------------------------------------

    def resume_step(self, lesson_id: str, step_count: int) -> int:
        """The step to open a lesson at: where the learner left off, or 0."""
        record = self.lessons.get(lesson_id)
        if record is None or not 0 <= record.current < step_count:
            return 0
        return record.current

    def was_done(self, lesson_id: str, index: int) -> bool:
        """The learner reached this step's goal in some earlier run."""
        record = self.lessons.get(lesson_id)
        return bool(record and index in record.steps and record.steps[index].reached)

    def summary(self, lesson_id: str, step_count: int) -> str:
        """For the `lessons` table: "", "step 2 of 4", "done"."""
        record = self.lessons.get(lesson_id)
        if record is None:
            return ""
        if record.finished:
            return "done"
        if record.current or record.steps:
            return f"step {min(record.current, step_count - 1) + 1} of {step_count}"
        return ""

    # -- the file ---------------------------------------------------------------------

    def save(self) -> None:
        if self.path is None:
            return
        data = {
            "version": VERSION,
            "lessons": {k: _dump(v) for k, v in sorted(self.lessons.items())},
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as e:
            self.problem = f"could not save lesson progress to {self.path}: {e.strerror or e}"

    def _read(self) -> None:
        if self.path is None:
            return
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as e:
            self.problem = f"could not read lesson progress ({e}); starting fresh"
            return
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("lessons"), dict):
                raise ValueError("not a progress file")
        except ValueError as e:
            self._set_aside(f"lesson progress in {self.path} was unreadable ({e}); starting fresh")
            return
        for lesson_id, raw in data["lessons"].items():
            record = _load_record(raw)
            if record is not None:
                self.lessons[str(lesson_id)] = record

    def _set_aside(self, problem: str) -> None:
        self.problem = problem
        if self.path is None:
            return
        try:
            os.replace(self.path, self.path.with_name(self.path.name + ".corrupt"))
        except OSError:
            pass


def _dump(record: LessonRecord) -> dict[str, Any]:
    steps = {}
    for index, s in sorted(record.steps.items()):
        steps[str(index + 1)] = {
            "reached": s.reached,
            "skipped": s.skipped,
            "commands": s.commands,
            "hints": s.hints,
            "solution_seen": s.solution_seen,
        }
    return {"current": record.current, "finished": record.finished, "steps": steps}


def _load_record(raw: Any) -> LessonRecord | None:
    """One lesson's record; a malformed one is dropped, the rest kept."""
    if not isinstance(raw, dict):
        return None
    record = LessonRecord(current=_int(raw.get("current")), finished=raw.get("finished") is True)
    steps = raw.get("steps")
    if isinstance(steps, dict):
        for key, s in steps.items():
            if not (
                isinstance(key, str) and key.isdigit() and int(key) >= 1 and isinstance(s, dict)
            ):
                continue
            record.steps[int(key) - 1] = StepRecord(
                reached=s.get("reached") is True,
                skipped=s.get("skipped") is True,
                commands=_int(s.get("commands")),
                hints=_int(s.get("hints")),
                solution_seen=s.get("solution_seen") is True,
            )
    return record


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def catalog(lessons: Iterable[Lesson], progress: Progress) -> list[dict[str, str]]:
    """Rows for the `lessons` table: number, id, title, steps, progress, summary."""
    return [
        {
            "#": str(lesson.number),
            "lesson": lesson.id,
            "title": lesson.title,
            "steps": str(len(lesson.steps)),
            "progress": progress.summary(lesson.id, len(lesson.steps)),
            "summary": lesson.summary,
        }
        for lesson in lessons
    ]
