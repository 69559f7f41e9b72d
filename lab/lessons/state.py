"""A lesson in progress as plain data, and back: what a save and `back` keep of a lesson.

The lab's state comes back by replay (lab/world/record.py); the lesson's own
state (the step, the commands typed per step, which goals were reached,
hints given, explanations already shown) is kept here so that after `load`
or `back` the lesson says exactly what it would have said.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lab.errors import CommandError
from lab.lessons.model import Lesson
from lab.lessons.session import LessonSession, _Entry

Json = Any


def lesson_state(ls: LessonSession) -> dict[str, Json]:
    """The session's state as JSON-ready data (the lesson itself is named by `id`)."""
    return {
        "id": ls.lesson.id,
        "sha256": ls.lesson.sha256,  # which version of the lesson file
        "file": _where(ls.lesson.source),  # a lesson opened by path comes back from there
        "started": ls.started,
        "finished": ls.finished,
        "index": ls.index,
        "history": [[[e.line, e.ok] for e in step] for step in ls._history],
        "route": [list(r) for r in ls._route],
        "reached": list(ls._reached),
        "hint_tier": list(ls._hint_tier),
        "solution_shown": list(ls._solution_shown),
        "explained": sorted(ls._explained),
        "false_facts": [list(f) for f in getattr(ls, "false_facts", [])],
    }


def restore_lesson_state(ls: LessonSession, state: dict[str, Json]) -> None:
    """Put a state from `lesson_state` back; ValueError if it does not fit this lesson."""
    n = ls.step_count
    try:
        if state["id"] != ls.lesson.id or not 0 <= int(state["index"]) < n:
            raise ValueError("another lesson")
        lists = [state[k] for k in ("history", "route", "reached", "hint_tier", "solution_shown")]
        if any(len(v) != n for v in lists):
            raise ValueError("another number of steps")
        ls.started, ls.finished, ls.index = bool(state["started"]), bool(state["finished"]), int(state["index"])
        ls._history = [[_Entry(str(line), bool(ok)) for line, ok in step] for step in state["history"]]
        ls._route = [tuple(str(x) for x in r) for r in state["route"]]
        ls._reached = [bool(x) for x in state["reached"]]
        ls._hint_tier = [int(x) for x in state["hint_tier"]]
        ls._solution_shown = [bool(x) for x in state["solution_shown"]]
        ls._explained = {str(x) for x in state["explained"]}
        if hasattr(ls, "false_facts"):
            ls.false_facts = [(int(k), str(fact), str(found)) for k, fact, found in state.get("false_facts", [])]
    except (KeyError, TypeError) as e:
        raise ValueError(f"not a lesson state ({e})") from None


def _where(source: str) -> str:
    """The lesson file as an absolute path (a save is loaded from any folder); as given if that fails."""
    try:
        return str(Path(source).expanduser().resolve())
    except (OSError, RuntimeError, ValueError):
        return source


def saved_lesson(state: dict[str, Json]) -> Lesson:
    """The lesson a saved state was made in: the installed one of that id if it is the same file,
    else the lesson file it was opened from, else the installed one (CommandError if none)."""
    from lab.lessons.loader import find_lesson, is_lesson_path

    key, sha, file = str(state.get("id", "")), state.get("sha256"), state.get("file")
    installed: Lesson | None = None
    try:
        installed = find_lesson(key) if not is_lesson_path(key) else None
    except CommandError:
        pass
    if installed is not None and (not sha or installed.sha256 == sha):
        return installed
    if isinstance(file, str) and is_lesson_path(file) and Path(file).is_file():
        return find_lesson(file)
    if installed is not None:
        return installed
    raise CommandError(f"the lab was saved in lesson `{key}`, whose file is not here"
                       + (f" ({file})" if isinstance(file, str) and file else ""),
                       "put the lesson file back where it was, or `lesson ID` to start another lesson")
