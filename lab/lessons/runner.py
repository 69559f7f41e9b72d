"""The lab as a lesson sees it: build a scenario, run a command, check a predicate.

The lesson engine drives the lab only through this protocol, so it can be
tested with a fake and wired to the real lab by a thin adapter (the command
layer's session already speaks in these terms).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from lab.lessons.model import Scenario


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What one command line did."""

    text: str = ""  # rendered output and narration, may be ""
    ok: bool = True  # False: a command on the line failed (its error is in text)
    events: Sequence[str] = ()  # kinds of events that happened: "reorg", "block-rejected", ...


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """Whether a predicate holds, and the lab's words for why (not)."""

    ok: bool
    expected: str = ""  # e.g. "height C >= 3"
    found: str = ""  # e.g. "C is at height 1 on 3f9a2c (the link B -> C is held)"


class LabRunner(Protocol):
    async def reset(self, start: Scenario) -> None:
        """A fresh lab from the scenario (nodes, topology, seed, difficulty,
        latency), then its setup commands, run silently. Raises LabError
        (e.g. CommandError) if the lab cannot be built or a setup command fails."""
        ...

    async def execute(self, line: str) -> CommandOutcome:
        """Run one command line (may hold several commands separated by ';')."""
        ...

    async def check(self, predicate: str) -> CheckOutcome:
        """Evaluate one predicate in `check` syntax, without the leading `not`."""
        ...
