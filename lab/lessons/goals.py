"""A step's goal checked on the lab: each predicate, whether it holds, and the lab's words for why.

The lab is reached only through a LabRunner (lab/lessons/runner.py), so a
goal can be checked on the real lab or on a fake.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.errors import LabError
from lab.language import split_negation
from lab.lessons.model import Step
from lab.lessons.runner import CommandOutcome, LabRunner


@dataclass(frozen=True, slots=True)
class GoalItem:
    """One predicate of a goal and how it stands."""

    predicate: str  # as written in the lesson, e.g. "not connected A B"
    ok: bool  # holds now (negation applied)
    found: str = ""  # the lab's explanation, e.g. "C is at height 1 on 3f9a2c"
    expected: str = ""  # the lab's wording of what was expected


@dataclass(frozen=True, slots=True)
class GoalReport:
    step: int  # 0-based step index
    items: tuple[GoalItem, ...]

    @property
    def reached(self) -> bool:
        return all(item.ok for item in self.items)



async def run_line(runner: LabRunner, line: str) -> CommandOutcome:
    """Run a command line; a LabError becomes a failed outcome (the lesson goes on)."""
    try:
        return await runner.execute(line)
    except LabError as e:
        return CommandOutcome(text=str(e), ok=False)


async def evaluate_goal(runner: LabRunner, step: Step, index: int) -> GoalReport:
    """Check each predicate of a step's goal on the lab; `not ` negates."""
    return GoalReport(index, await check_all(runner, step.goal))


async def false_facts(runner: LabRunner, step: Step) -> list[GoalItem]:
    """The facts a step's notice states that do not hold in the lab now (empty: the notice is true)."""
    return [item for item in await check_all(runner, step.facts) if not item.ok]


async def check_all(runner: LabRunner, predicates: tuple[str, ...]) -> tuple[GoalItem, ...]:
    """Each predicate checked on the lab; `not ` negates; an error (an unknown label) does not hold."""
    items = []
    for predicate in predicates:
        negated, inner = split_negation(predicate)
        try:
            out = await runner.check(inner)
        except LabError as e:  # e.g. a label the learner has not made yet: not holding either way
            items.append(GoalItem(predicate, False, str(e), predicate))
            continue
        items.append(GoalItem(predicate, out.ok != negated, out.found, out.expected))
    return tuple(items)


def diagnose(report: GoalReport) -> str:
    """Which parts of a goal fail, as the lab finds them, and the way back for a learner off the path."""
    failing = [item for item in report.items if not item.ok]
    if not failing:
        return ""
    lines = ["Not yet:"] + [f"  `{item.predicate}`" + (f": {item.found}" if item.found else "") for item in failing]
    lines.append("Off the path? `undo` takes back your last command; `reset` starts this step again "
                 "from the reference solutions of the steps before it.")
    return "\n".join(lines)


async def diagnose_state(runner: LabRunner, step: Step) -> str:
    """The first of the step's own diagnoses whose predicate holds on the lab now, as a line ("" if none)."""
    for d in step.diagnose:
        negated, inner = split_negation(d.when)
        try:
            holds = (await runner.check(inner)).ok != negated
        except LabError:  # e.g. a label not made yet: this diagnosis does not apply
            continue
        if holds:
            return f"In your lab: {d.say}"
    return ""
