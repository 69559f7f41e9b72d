"""Every predicate `check` evaluates and lesson goals name, declared once: usage and word shape.

The shape check is loose on purpose (the lab parses node names, amounts and
durations when it evaluates): it catches a lesson author's typo when the file
loads. lab/commands/predicates.py binds an evaluator to each name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lab.language.words import OPS, did_you_mean, split_negation

ArgCheck = Callable[[list[str]], "str | None"]


def _op_at(i: int, n: int) -> ArgCheck:
    """Exactly n words after the predicate, an operator at position i."""

    def check(args: list[str]) -> str | None:
        if len(args) != n:
            return f"takes {n} argument{'s' if n != 1 else ''}, got {len(args)}"
        if args[i] not in OPS:
            return f"'{args[i]}' is not a comparison (one of {' '.join(OPS)})"
        return None

    return check


def _exactly(n: int) -> ArgCheck:
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
        return None if args[2] in OPS else f"'{args[2]}' is not a comparison (one of {' '.join(OPS)})"
    return "takes NODE contains NAME or NODE size OP N"


def _any(args: list[str]) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class PredicateSpec:
    name: str
    usage: str  # e.g. "height NODE OP N"; the completer reads its placeholders
    shape: ArgCheck  # what is wrong with the words after the name, or None


SPECS: tuple[PredicateSpec, ...] = (
    PredicateSpec("same-tip", "same-tip [NODES]", _any),
    PredicateSpec("height", "height NODE OP N|NODE2", _op_at(1, 3)),
    PredicateSpec("tip", "tip NODE == NODE2", _tip),
    PredicateSpec("balance", "balance NODE OP AMOUNT", _op_at(1, 3)),
    PredicateSpec("reorgs", "reorgs NODE OP N", _op_at(1, 3)),
    PredicateSpec("peers", "peers NODE OP N", _op_at(1, 3)),
    PredicateSpec("mempool", "mempool NODE contains NAME | mempool NODE size OP N", _mempool),
    PredicateSpec("confirmed", "confirmed NAME [on NODE]", _name_maybe_on),
    PredicateSpec("forked", "forked", _exactly(0)),
    PredicateSpec("connected", "connected A B", _exactly(2)),
    PredicateSpec("rejected", "rejected NAME [on NODE]", _name_maybe_on),
    PredicateSpec("stale", "stale OP N", _op_at(0, 2)),
    PredicateSpec("propagation", "propagation NAME OP DURATION", _op_at(1, 3)),
    PredicateSpec("online", "online NODE", _exactly(1)),
    PredicateSpec("work", "work NODE OP NODE2", _op_at(1, 3)),
    PredicateSpec("hops", "hops NAME OP N", _op_at(1, 3)),
    PredicateSpec("difficulty", "difficulty NODE OP BITS", _op_at(1, 3)),
    PredicateSpec("headers", "headers NODE OP N", _op_at(1, 3)),
    PredicateSpec("share", "share NODE OP FRACTION", _op_at(1, 3)),
    PredicateSpec("reversed", "reversed NAME [on NODE]", _name_maybe_on),
    PredicateSpec("withheld", "withheld NODE OP N", _op_at(1, 3)),
    # issue 13: two transactions spend the same coin (a double spend), whatever each node holds
    PredicateSpec("conflict", "conflict NAME NAME2", _exactly(2)),
)

PREDICATES: dict[str, PredicateSpec] = {p.name: p for p in SPECS}


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
    spec = PREDICATES[name]
    problem = spec.shape(words[1:])
    return f"'{inner}': {name} {problem} (usage: {spec.usage})" if problem else None
