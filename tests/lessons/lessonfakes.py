"""A fake lab for lesson tests: predicates are a dict, commands flip entries in it.

(Named uniquely so that test modules elsewhere cannot shadow it on import.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from lab.errors import CommandError
from lab.lessons.language import split_commands
from lab.lessons.model import Scenario
from lab.lessons.runner import CheckOutcome, CommandOutcome

DEMO_LESSON = """
id = "demo"
title = "A demo"
summary = "A lesson for the tests."
concepts = ["testing"]
outro = "That was the demo."

[start]
setup = ["mine A 4"]

[[explain]]
event = "reorg"
say = "A reorg, explained once."

[[steps]]
title = "First"
say = "Mine a block on A."
demo = "nodes"
goal = ["height A >= 1", "not forked"]
hints = ["tier one", "tier two", "tier three"]
solution = ["mine A"]
notice = "Notice one."

[[steps]]
title = "Second"
say = "Heal the network."
goal = ["same-tip"]
hints = ["the only hint"]
solution = ["mine B", "heal"]
notice = "Notice two."
"""

DEMO_EFFECTS = {
    "mine A": {"height A >= 1": True},
    "mine A 2": {"height A >= 1": True},
    "heal": {"same-tip": True},
}


class FakeRunner:
    """The LabRunner protocol over a dict of predicate -> holds.

    `effects[command]` is applied when a line runs that command;
    `events[command]` are the event kinds it reports; a line starting with "fail" fails; predicates listed in
    `broken` raise CommandError like an unknown label would.
    """

    def __init__(
        self,
        effects: dict[str, dict[str, bool]] | None = None,
        events: dict[str, list[str]] | None = None,
        initial: dict[str, bool] | None = None,
        broken: set[str] | None = None,
    ) -> None:
        self.initial = dict(initial or {})
        self.truth = dict(self.initial)
        self.effects = effects if effects is not None else dict(DEMO_EFFECTS)
        self.events = events or {}
        self.broken = broken or set()
        self.executed: list[str] = []  # lines run since the last reset, setup included
        self.resets = 0
        self.scenarios: list[Scenario] = []

    async def reset(self, start: Scenario) -> None:
        self.resets += 1
        self.scenarios.append(start)
        self.truth = dict(self.initial)
        self.executed = []
        for line in start.setup:
            await self.execute(line)

    async def execute(self, line: str) -> CommandOutcome:
        self.executed.append(line)
        if line.startswith("fail"):
            return CommandOutcome(text=f"✗ unknown command '{line.split()[0]}'", ok=False)
        events: list[str] = []
        for command in split_commands(line):
            self.truth.update(self.effects.get(command, {}))
            events += self.events.get(command, ())
        return CommandOutcome(text=f"ran {line}", ok=True, events=tuple(events))

    async def check(self, predicate: str) -> CheckOutcome:
        if predicate in self.broken:
            raise CommandError(f"cannot evaluate '{predicate}'")
        ok = self.truth.get(predicate, False)
        return CheckOutcome(
            ok=ok, expected=predicate, found=f"found: {predicate} is {'true' if ok else 'false'}"
        )


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)
