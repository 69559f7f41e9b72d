"""The words a lesson file may use: commands, goal predicates, event kinds.

The lab's command layer owns the exact grammar; this module knows just enough
to catch a lesson author's typo when the file loads (an unknown command or
predicate, a predicate with the wrong number of words) and to tell learner
commands from lesson commands and from read-only views when counting.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable

# The lab commands a lesson file may run (setup,
# demo, solution).
LAB_COMMANDS = frozenset(
    """
    help nodes status mine send balance mempool chain tree block tx peers diff
    explain log add-node stop start connect disconnect heal partition cut
    latency loss topology mode queue step run speed drop hold release hashrate
    autominer difficulty check msg forge relay
    """.split()
)

# Lesson commands: handled by the lesson session, never run by the lab,
# never counted as the learner's commands, never allowed inside a lesson file.
LESSON_COMMANDS = frozenset("lessons lesson objective goal hint solution next undo reset".split())

# Commands a lesson file must not run: they would throw the lesson's lab away.
FORBIDDEN_IN_LESSONS = frozenset("quit exit seed reset".split())

# Views: they change nothing, so they are not counted ("you used N commands")
# and need not be replayed by `undo`.
READ_ONLY_COMMANDS = frozenset(
    """
    help ? nodes status balance mempool chain tree block tx peers diff explain
    log queue msg check lessons
    """.split()
)

# Event kinds the lab narrates that a lesson may explain the first time they
# happen: the six of the lesson issue first, then the lab's other narration kinds.
EVENT_KINDS = frozenset(
    """
    reorg block-rejected stale fork peer-punished tx-returned
    mined forged block-accepted orphan tx-accepted tx-rejected tx-orphan
    tx-evicted reject-received link-up link-down peer-connected
    peer-disconnected partition heal cut node-added node-stopped node-started
    frame-dropped
    """.split()
)

OPS = ("==", "!=", ">=", "<=", ">", "<")


def split_commands(line: str) -> list[str]:
    """`mine A 2; send A B 1  # pay` -> ["mine A 2", "send A B 1"]."""
    code = line.split("#", 1)[0]
    return [part.strip() for part in code.split(";") if part.strip()]


def command_word(command: str) -> str:
    words = command.split()
    return words[0].lower() if words else ""


def is_lesson_command(line: str) -> bool:
    commands = split_commands(line)
    return bool(commands) and command_word(commands[0]) in LESSON_COMMANDS


def count_commands(lines: Iterable[str]) -> int:
    """Commands that act on the lab: views and lesson commands don't count."""
    return sum(
        1
        for line in lines
        for command in split_commands(line)
        if command_word(command) not in READ_ONLY_COMMANDS | LESSON_COMMANDS
    )


def closest(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = closest(word, choices)
    return f" (did you mean '{close}'?)" if close else ""


def check_command(command: str) -> str | None:
    """What is wrong with one command of a lesson file, or None."""
    word = command_word(command)
    if word in LESSON_COMMANDS or word in FORBIDDEN_IN_LESSONS:
        return f"'{word}' cannot be used inside a lesson file"
    if word not in LAB_COMMANDS:
        return f"unknown command '{word}'" + did_you_mean(word, LAB_COMMANDS)
    return None


# -- goal predicates ---------------------------------------------------------------


def _op_at(i: int, n: int) -> Callable[[list[str]], str | None]:
    """Exactly n words after the predicate, an operator at position i."""

    def check(args: list[str]) -> str | None:
        if len(args) != n:
            return f"takes {n} argument{'s' if n != 1 else ''}, got {len(args)}"
        if args[i] not in OPS:
            return f"'{args[i]}' is not a comparison (one of {' '.join(OPS)})"
        return None

    return check


def _exactly(n: int) -> Callable[[list[str]], str | None]:
    def check(args: list[str]) -> str | None:
        if len(args) != n:
            return f"takes {n} argument{'s' if n != 1 else ''}, got {len(args)}"
        return None

    return check


def _name_maybe_on(args: list[str]) -> str | None:
    if len(args) == 1 or (len(args) == 3 and args[1].lower() == "on"):
        return None
    return "takes NAME or NAME on NODE"


def _tip(args: list[str]) -> str | None:
    if len(args) != 3 or args[1] not in ("==", "!="):
        return "takes NODE == NODE2"
    return None


def _mempool(args: list[str]) -> str | None:
    if len(args) == 3 and args[1].lower() == "contains":
        return None
    if len(args) == 4 and args[1].lower() == "size":
        return (
            None if args[2] in OPS else f"'{args[2]}' is not a comparison (one of {' '.join(OPS)})"
        )
    return "takes NODE contains NAME or NODE size OP N"


def _any(args: list[str]) -> str | None:
    return None


PREDICATES: dict[str, tuple[str, Callable[[list[str]], str | None]]] = {
    "same-tip": ("same-tip [NODES]", _any),
    "height": ("height NODE OP N", _op_at(1, 3)),
    "tip": ("tip NODE == NODE2", _tip),
    "balance": ("balance NODE OP AMOUNT", _op_at(1, 3)),
    "reorgs": ("reorgs NODE OP N", _op_at(1, 3)),
    "peers": ("peers NODE OP N", _op_at(1, 3)),
    "mempool": ("mempool NODE contains NAME | mempool NODE size OP N", _mempool),
    "confirmed": ("confirmed NAME [on NODE]", _name_maybe_on),
    "forked": ("forked", _exactly(0)),
    "connected": ("connected A B", _exactly(2)),
    "rejected": ("rejected NAME [on NODE]", _name_maybe_on),
    "stale": ("stale OP N", _op_at(0, 2)),
    "propagation": ("propagation NAME OP DURATION", _op_at(1, 3)),
    "online": ("online NODE", _exactly(1)),
}


def split_negation(predicate: str) -> tuple[bool, str]:
    """`not same-tip A B` -> (True, "same-tip A B")."""
    words = predicate.split()
    if words and words[0].lower() == "not":
        return True, " ".join(words[1:])
    return False, " ".join(words)


def check_predicate(predicate: str) -> str | None:
    """What is wrong with one goal predicate, or None. Loose: the lab parses arguments."""
    if ";" in predicate or "#" in predicate:
        return "a goal holds one predicate: no ';' or '#'"
    _, inner = split_negation(predicate)
    words = inner.split()
    if not words:
        return "empty predicate"
    name = words[0].lower()
    if name not in PREDICATES:
        return f"unknown predicate '{words[0]}'" + did_you_mean(name, PREDICATES)
    usage, check_args = PREDICATES[name]
    problem = check_args(words[1:])
    return f"'{inner}': {name} {problem} (usage: {usage})" if problem else None
