"""The words a lesson file may use, read from the one language spec (lab/language).

This module adds only what is particular to lessons: which commands a lesson
file may run, which are the lesson's own, and how many of a learner's
commands count ("you used N commands": views and lesson commands don't).
"""

from __future__ import annotations

from collections.abc import Iterable

from lab.language import (
    EVENT_KINDS,
    LANGUAGE,
    OPS,
    PREDICATES,
    check_predicate,
    closest,
    command_word,
    did_you_mean,
    split_negation,
)
from lab.language import split_line as split_commands
from lab.language.commands import names_a_file

__all__ = [
    "EVENT_KINDS",
    "FORBIDDEN_IN_LESSONS",
    "LAB_COMMANDS",
    "LESSON_COMMANDS",
    "OPS",
    "PREDICATES",
    "READ_ONLY_COMMANDS",
    "check_command",
    "check_predicate",
    "closest",
    "command_word",
    "count_commands",
    "did_you_mean",
    "is_lesson_command",
    "split_commands",
    "split_negation",
]

# Commands a lesson file may run (setup, demo, solution).
LAB_COMMANDS = LANGUAGE.lesson_file_words
# Lesson commands: handled by the lesson session, never run by the lab,
# never counted as the learner's commands, never allowed inside a lesson file.
LESSON_COMMANDS = LANGUAGE.lesson_words
# Commands a lesson file must not run: they would throw the lesson's lab away.
FORBIDDEN_IN_LESSONS = LANGUAGE.forbidden_in_lesson_files
# Views: they change nothing, so they are not counted and need not be replayed by `undo`.
READ_ONLY_COMMANDS = LANGUAGE.read_only_words


def is_lesson_command(line: str) -> bool:
    commands = split_commands(line)
    return bool(commands) and command_word(commands[0]) in LESSON_COMMANDS


def count_commands(lines: Iterable[str]) -> int:
    """Commands that act on the lab: views and lesson commands don't count."""
    return sum(1 for line in lines for command in split_commands(line) if LANGUAGE.counts(command_word(command)))


def check_command(command: str) -> str | None:
    """What is wrong with one command of a lesson file, or None."""
    word = command_word(command)
    if word in LESSON_COMMANDS or word in FORBIDDEN_IN_LESSONS:
        return f"'{word}' cannot be used inside a lesson file"
    if word not in LAB_COMMANDS:
        return f"unknown command '{word}'" + did_you_mean(word, LAB_COMMANDS)
    spec = LANGUAGE.find(word)
    if spec is not None and names_a_file(spec.name, command.split()[1:]):
        return f"'{command.strip()}' reads or writes a file: a lesson file may not"
    return None
