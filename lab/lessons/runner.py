"""The lab as a lesson sees it: build a scenario, run a command, check a predicate.

The lesson engine drives the lab only through this protocol, so it can be
tested with a fake and wired to the real lab by a thin adapter (the command
layer's session already speaks in these terms).
"""

from __future__ import annotations

from typing import Protocol

from lab.language.outcomes import CheckOutcome, CommandOutcome
from lab.lessons.model import Scenario

__all__ = ["CheckOutcome", "CommandOutcome", "LabRunner"]


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

    # Optional: `async def step_back(self, lesson) -> str | None` takes back the learner's line that
    # reached the step before's goal and puts `lesson` back in that step (lesson `undo` at a step's start).
