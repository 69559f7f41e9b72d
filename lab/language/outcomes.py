"""What running the language gives back: a command line's outcome, a predicate's outcome.

One family for every front end: the REPL, `lab run`, lessons and tests read
a CommandOutcome; `check` and lesson goals read a CheckOutcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """Whether a predicate holds, and the lab's words for why (not)."""

    ok: bool
    expected: str = ""  # e.g. "height C >= 3"
    found: str = ""  # e.g. "C is at height 1 on 3f9a2c (the link B -> C is held)"


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What one command line did, rendered."""

    text: str = ""  # rendered output and narration, may be ""
    ok: bool = True  # False: a command on the line failed (its error is in text)
    events: Sequence[str] = ()  # kinds of events that happened: "reorg", "block-rejected", ...
    check_failed: bool = False  # a `check` on the line did not hold (the line still ran)
    quit: bool = False  # `quit`: the front end should leave
    error: str | None = None  # the first failure's message, if any
    done_as: str | None = None  # Ctrl-C cut a command short: the line that does what this one did
