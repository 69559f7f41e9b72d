"""`SessionRunner`: the lesson engine (lab/lessons) drives a command Session through it.

Build the scenario, run a line, check a predicate: the three things a lesson
asks of the lab (lab/lessons/runner.py's LabRunner protocol).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.commands import predicates
from lab.commands.config import LabConfig
from lab.commands.parse import parse_duration
from lab.errors import CommandError
from lab.language import CheckOutcome, CommandOutcome, lesson_events
from lab.lessons.model import Scenario

if TYPE_CHECKING:
    from lab.commands.session import Session
    from lab.lessons.session import LessonSession


class SessionRunner:
    """The lesson engine's LabRunner, on a command Session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def reset(self, start: Scenario) -> None:
        base = LabConfig()
        latency = parse_duration(start.latency) / 1000 if start.latency else base.latency_ms
        cfg = LabConfig(nodes=list(start.node_names), topology=start.topology_kind,
                        k=start.topology_k or 3, seed=start.seed, difficulty=start.difficulty,
                        latency_ms=latency, host=self.session.config.host)
        await self.session.rebuild(cfg)
        # Inside a lesson narration carries virtual times: when a block arrived where is what several
        # lessons are about (a 30 s ocean crossing must not hide behind one merged line).
        self.session.show_time = True
        for line in start.setup:
            out = await self.session.execute(line, hook=False)
            if not out.ok:
                raise CommandError(f"setup command `{line}` failed: {out.error}")

    async def execute(self, line: str) -> CommandOutcome:
        out = await self.session.execute(line, hook=False)
        return CommandOutcome(out.text, out.ok, tuple(lesson_events(out.events)))

    async def check(self, predicate: str) -> CheckOutcome:
        return predicates.evaluate(self.session.need_lab(), predicate)

    async def step_back(self, lesson: LessonSession) -> str | None:
        """Lesson `undo` at the start of a step: `back` over the line that reached the step before's goal
        (lab/commands/rewind.py); the line taken back, or None when that is not what the lab did last."""
        return await self.session.lesson_step_back(lesson)
