"""Guided lessons: data files, a loader that checks them, and a session that drives the lab.

    from lab.lessons import load_all, find_lesson, LessonSession, Progress

See session.py for how the REPL wires a lesson in, script.py for `lab lesson ID`
with piped stdin and `lab lessons check`.
"""

from lab.lessons.loader import find_lesson, load_all, load_lesson
from lab.lessons.model import Explain, Lesson, Scenario, Step
from lab.lessons.progress import Progress, catalog, state_dir
from lab.lessons.runner import CheckOutcome, CommandOutcome, LabRunner
from lab.lessons.script import LessonCheck, StepCheck, check_lesson, run_lesson_script
from lab.lessons.session import GoalItem, GoalReport, LessonSession, Reply

__all__ = [
    "CheckOutcome",
    "CommandOutcome",
    "Explain",
    "GoalItem",
    "GoalReport",
    "LabRunner",
    "Lesson",
    "LessonCheck",
    "LessonSession",
    "Progress",
    "Reply",
    "Scenario",
    "Step",
    "StepCheck",
    "catalog",
    "check_lesson",
    "find_lesson",
    "load_all",
    "load_lesson",
    "run_lesson_script",
    "state_dir",
]
