"""A learner inside a lesson: narrate a step, check its goal after every command.

The session owns no lab: it drives one through a `LabRunner` (reset,
execute, check). The REPL runs the learner's command on the lab as usual,
then hands the line and its outcome to `after_command`, which re-checks the
current goal on the lab's *state* (any route counts), shows an event's
explanation the first time it happens, and on success says so, counts the
commands and moves to the next step. Lesson commands (`objective`, `goal`,
`hint`, `solution`, `next`, `undo`, `reset`) go to `dispatch` instead and are
never counted.

Every method returns a `Reply`: the text to print, plus flags a front end
may use (a step was reached, the lesson finished, the solution needs a
confirmation, the goal report with one entry per predicate).

`undo` and `reset` rebuild the lab from the lesson's scenario and replay
commands (the lab is deterministic for a seed): the learner's own commands
for the steps they solved in this session, the reference solutions for the
steps they skipped or solved in an earlier run. `undo` with nothing typed in
the step yet asks the runner to `step_back(lesson)` if it can (a command
Session takes back the line that reached the step before, with `back`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lab.errors import CommandError
from lab.lessons import goals, language
from lab.lessons.goals import GoalItem, GoalReport, diagnose, evaluate_goal, false_facts, run_line
from lab.lessons.model import Lesson, Step
from lab.lessons.progress import Progress
from lab.lessons.runner import CommandOutcome, LabRunner
from lab.render.words import plural

GLYPHS = {True: "✓", False: "✗"}
PLAIN_GLYPHS = {True: "+", False: "-"}
WORDS = {True: "holds", False: "not yet"}
__all__ = ["GoalItem", "GoalReport", "LessonSession", "Reply", "evaluate_goal", "run_line"]

CONFIRM_WORDS = frozenset({"yes", "y", "confirm", "-y", "--yes"})
MEASURED = frozenset({"propagation", "stale"})  # predicates whose finding is worth showing on success


@dataclass(frozen=True, slots=True)
class Reply:
    """What a session call has to say."""

    text: str = ""  # plain text (no colour); "" when there is nothing to say
    reached: bool = False  # this call completed a step's goal
    finished: bool = False  # the lesson's last goal is reached
    needs_confirm: bool = False  # `solution` awaits a yes: call solution(confirm=True)
    goal: GoalReport | None = None  # set by goal()

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class _Entry:
    """A learner's command line, kept so `undo` can replay the others."""

    line: str
    ok: bool


def _join(parts: Iterable[str]) -> str:
    return "\n\n".join(p for p in parts if p)


class LessonSession:
    """One lesson in progress, driving a lab through `runner`."""

    def __init__(
        self,
        lesson: Lesson,
        runner: LabRunner,
        progress: Progress | None = None,
        *,
        plain: bool = False,
    ) -> None:
        self.lesson = lesson
        self.runner = runner
        self.progress = progress if progress is not None else Progress(None)
        self.glyphs = PLAIN_GLYPHS if plain else GLYPHS
        self._clear()

    def _clear(self) -> None:
        self.started = False
        self.finished = False
        self.index = 0  # current step, 0-based
        n = len(self.lesson.steps)
        self._history: list[list[_Entry]] = [[] for _ in range(n)]  # learner's lines per step
        self._route: list[tuple[str, ...]] = [
            s.solution for s in self.lesson.steps
        ]  # replays step i
        self._reached = [False] * n  # reached by the learner's own commands this session
        self._hint_tier = [0] * n
        self._solution_shown = [False] * n
        self._explained: set[str] = set()  # event kinds already explained
        # (step, fact, found): a reached step's notice stated a fact false on this route (the suite forbids it)
        self.false_facts: list[tuple[int, str, str]] = []

    # -- state a front end may show --------------------------------------------------------

    @property
    def step(self) -> Step:
        return self.lesson.steps[self.index]

    @property
    def step_count(self) -> int:
        return len(self.lesson.steps)

    @property
    def all_reached(self) -> bool:
        """Every step's goal was reached by the learner's commands in this session."""
        return all(self._reached)

    @property
    def unreached(self) -> list[int]:
        """Steps (0-based) whose goal the learner's commands have not reached in this session."""
        return [i for i, ok in enumerate(self._reached) if not ok]

    def status(self) -> str:
        """For a toolbar: "lesson 4 · step 2/4" or "lesson 4 · done"."""
        where = "done" if self.finished else f"step {self.index + 1}/{self.step_count}"
        return f"lesson {self.lesson.number} · {where}"

    # -- starting ------------------------------------------------------------------------

    async def start(self, step: int | None = None) -> Reply:
        """Build the scenario and show the first step (or `step`, 0-based).

        With step=None the lesson resumes where the learner left off in an
        earlier run; the lab replays the reference solutions of the steps
        before it.
        """
        n = self.step_count
        resumed = step is None and self.progress.resume_step(self.lesson.id, n) > 0
        k = self.progress.resume_step(self.lesson.id, n) if step is None else step
        if not 0 <= k < n:
            raise CommandError(
                f"lesson {self.lesson.id} has {plural(n, 'step')}", f"pick a step from 1 to {n}"
            )
        self._clear()
        await self._rebuild(k, demo=False)
        self.started = True
        self.progress.set_current(self.lesson.id, k)
        head = f"Lesson {self.lesson.number} · {self.lesson.title}\n{self.lesson.summary}"
        if self.lesson.start.setup:  # one line, not the narration of every block it mined
            head += "\nSet up for you: " + ", ".join(f"`{line}`" for line in self.lesson.start.setup) + "."
        note = ""
        if resumed:
            note = (
                f"Welcome back: you continue at step {k + 1} of {n}; the lab replayed the earlier "
                "steps' reference solutions. `reset lesson` starts from the beginning."
            )
        return Reply(_join([head, note, await self._enter(k)]))

    async def restart(self) -> Reply:
        """The whole lesson again from step 1."""
        return await self.start(step=0)

    # -- after every learner command --------------------------------------------------------

    async def after_command(self, line: str, outcome: CommandOutcome) -> Reply:
        """The learner ran `line` on the lab with this outcome: explain, check, advance."""
        if not self.started or self.finished or language.is_lesson_command(line):
            return Reply()
        if not language.split_commands(line):
            return Reply()
        if language.count_commands([line]):
            self._history[self.index].append(_Entry(line, outcome.ok))
        parts = self._explanations(outcome.events)
        report = await self._goal_report()
        if report.reached:
            return await self._complete(parts, report)
        return Reply(_join(parts))

    async def poll(self) -> Reply:
        """Re-check the goal without a command (live mode: time passes by itself)."""
        if not self.started or self.finished:
            return Reply()
        report = await self._goal_report()
        return await self._complete([], report) if report.reached else Reply()

    # -- lesson commands ---------------------------------------------------------------------

    async def dispatch(self, line: str) -> Reply | None:
        """Run a lesson command typed by the learner; None if `line` is not one.

        `solution yes` confirms at once; `reset lesson` restarts the whole
        lesson. `lesson` and `lessons` are left to the front end.
        """
        commands = language.split_commands(line)
        if not commands:
            return None
        words = commands[0].split()
        word, args = words[0].lower(), [w.lower() for w in words[1:]]
        if word == "objective":
            return await self.objective()
        if word == "goal":
            return await self.goal()
        if word == "hint":
            return await self.hint()
        if word == "solution":
            reply = await self.solution(confirm=bool(args) and args[0] in CONFIRM_WORDS)
            if reply.needs_confirm:
                return Reply(reply.text + " Type `solution yes` to see it.", needs_confirm=True)
            return reply
        if word == "next":
            return await self.next()
        if word == "undo":
            return await self.undo()
        if word == "reset":
            return await (self.restart() if args[:1] == ["lesson"] else self.reset())
        return None

    async def objective(self) -> Reply:
        if self.finished:
            return Reply(self._finished_text())
        return Reply(_join([self._heading(self.index), self.step.say, self._goal_line(self.step)]))

    async def goal(self) -> Reply:
        """Each predicate of the current goal, whether it holds, and why not."""
        if self.finished:
            return Reply(self._finished_text())
        report = await self._goal_report()
        text = self._render_goal(report)
        if report.reached:
            done = await self._complete([], report, measured=False)
            return Reply(
                _join([text, done.text]), reached=True, finished=done.finished, goal=report
            )
        return Reply(text, goal=report)

    async def hint(self) -> Reply:
        """The next hint tier; says so when none is left."""
        if self.finished:
            return Reply(self._finished_text())
        k, hints = self.index, self.step.hints
        tier = self._hint_tier[k]
        # once the learner tried something here: what fails, and the way back
        diagnosis = diagnose(await self._goal_report()) if self._history[k] else ""
        seen = await goals.diagnose_state(self.runner, self.step)  # the step's own diagnosis of the lab, if any
        if tier >= len(hints):
            return Reply(_join([seen, "No more hints for this step. `solution` shows the reference solution.",
                                diagnosis]))
        self._hint_tier[k] = tier + 1
        self.progress.hint_taken(self.lesson.id, k, tier + 1)
        more = "" if tier + 1 == len(hints) else " (`hint` again for more)"
        return Reply(_join([seen, f"Hint {tier + 1}/{len(hints)}: {hints[tier]}{more}", diagnosis]))

    async def solution(self, confirm: bool = False) -> Reply:
        """The reference solution; asks first while the learner has not solved the step."""
        if self.finished:
            return Reply(self._finished_text())
        k, step = self.index, self.step
        if not (confirm or self._solution_shown[k] or self.progress.was_done(self.lesson.id, k)):
            return Reply(
                f"Show the reference solution for step {k + 1}? It gives the answer away"
                + (" (`hint` nudges you first)." if self._hint_tier[k] < len(step.hints) else "."),
                needs_confirm=True,
            )
        self._solution_shown[k] = True
        self.progress.solution_seen(self.lesson.id, k)
        m = language.count_commands(step.solution)
        lines = "\n".join(f"  {line}" for line in step.solution)
        return Reply(
            f"Reference solution for step {k + 1} ({plural(m, 'command')}):\n{lines}\n"
            "Any route that reaches the goal counts."
        )

    async def next(self) -> Reply:
        """Skip the current step: the lab runs its reference solution, then the next step starts."""
        if self.finished:
            return Reply(self._finished_text())
        k = self.index
        if k == self.step_count - 1:
            return Reply(
                "This is the last step: there is nothing to skip to. `solution` shows the answer."
            )
        solution = self.step.solution
        await self._rebuild(k, demo=True, then=solution)
        self._route[k] = solution
        self.progress.step_skipped(self.lesson.id, k)
        self.progress.set_current(self.lesson.id, k + 1)
        shown = ", ".join(f"`{line}`" for line in solution)
        note = f"Skipped step {k + 1}. The lab ran its reference solution ({shown}), so step {k + 2} starts where it expects you."
        return Reply(_join([note, await self._enter(k + 1)]))

    async def undo(self) -> Reply:
        """Take back the learner's last command of this step: rebuild and replay the others."""
        if self.finished:  # the line that finished the lesson can be taken back too
            return await self._step_back() or Reply(self._finished_text())
        history = self._history[self.index]
        last_ok = max((i for i, e in enumerate(history) if e.ok), default=None)
        if last_ok is None:
            return await self._step_back() or Reply(
                "Nothing to undo in this step yet. (`reset` starts this step again; `reset lesson` the whole lesson.)")
        undone, kept = history[last_ok], history[:last_ok]
        await self._rebuild(self.index, demo=True, then=[e.line for e in kept])
        self._history[self.index] = kept
        replayed = language.count_commands(e.line for e in kept if e.ok)
        again = (
            f"; your {plural(replayed, 'other command')} of this step replayed" if replayed else ""
        )
        return Reply(f"Undid `{undone.line}`: the lab was rebuilt from the lesson's start{again}.")

    async def _step_back(self) -> Reply | None:
        """`undo` before any command of this step: take back the line that reached the step before's goal,
        when the runner can (a command Session: `back` restores the lab and this lesson's state before it)."""
        back = getattr(self.runner, "step_back", None)
        undone = await back(self) if back is not None and (self.index > 0 or self.finished) else None
        if undone is None:
            return None
        return Reply(_join([f"Undid `{undone}`, which reached step {self.index + 1}'s goal: the lab and the "
                            f"lesson are back in step {self.index + 1}, just before it.",
                            f"{self._heading(self.index)}\n{self._goal_line(self.step)}"]))

    async def reset(self) -> Reply:
        """Back to the start of the current step (earlier steps: reference solutions)."""
        if self.finished:
            return await self.restart()
        k = self.index
        for i in range(k):
            self._route[i] = self.lesson.steps[i].solution
        await self._rebuild(k, demo=False)
        where = (
            "the lesson"
            if k == 0
            else f"step {k + 1}; the lab replayed the reference solutions before it"
        )
        return Reply(_join([f"Back to the start of {where}.", await self._enter(k)]))

    # -- inside ------------------------------------------------------------------------------

    async def _execute(self, line: str) -> CommandOutcome:
        return await run_line(self.runner, line)

    async def _rebuild(self, upto: int, *, demo: bool, then: Sequence[str] = ()) -> None:
        """A fresh lab at the start of step `upto` (after its demo if `demo`), then `then`."""
        await self.runner.reset(self.lesson.start)
        for i in range(upto):
            for line in (*self.lesson.steps[i].demo, *self._route[i]):
                await self._execute(line)
        if demo:
            for line in self.lesson.steps[upto].demo:
                await self._execute(line)
        for line in then:
            await self._execute(line)

    async def _enter(self, k: int) -> str:
        """Make step k current: narration, its demo (run and shown), the goal."""
        self.index = k
        self._history[k] = []
        step = self.lesson.steps[k]
        parts = [self._heading(k), step.say]
        for line in step.demo:
            outcome = await self._execute(line)
            parts.append(f"> {line}\n{outcome.text}".rstrip())
            parts.extend(self._explanations(outcome.events))
        parts.append(self._goal_line(step))
        return _join(parts)

    async def _goal_report(self) -> GoalReport:
        return await evaluate_goal(self.runner, self.step, self.index)

    async def _complete(
        self, parts: list[str], report: GoalReport, *, measured: bool = True
    ) -> Reply:
        k, step = self.index, self.step
        used = language.count_commands(e.line for e in self._history[k] if e.ok)
        reference = language.count_commands(step.solution)
        reached = (
            f"{self.glyphs[True]} Goal reached! You used {plural(used, 'command')}; "
            f"the reference solution uses {reference}."
        )
        if measured:  # the numbers a goal was about: how long, how many
            reached += "".join(
                f"\n  {item.predicate}: {item.found}"
                for item in report.items
                if item.found and language.split_negation(item.predicate)[1].split()[0] in MEASURED
            )
        parts.append(reached)
        self.false_facts += [(k, item.predicate, item.found) for item in await false_facts(self.runner, step)]
        parts.append(step.notice)
        self._reached[k] = True
        self._route[k] = tuple(e.line for e in self._history[k])
        self.progress.step_reached(
            self.lesson.id,
            k,
            commands=used,
            hints=self._hint_tier[k],
            solution_seen=self._solution_shown[k],
        )
        if k == self.step_count - 1:
            self.finished = True
            self.progress.finish(self.lesson.id)
            parts.append(self._finished_text())
            return Reply(_join(parts), reached=True, finished=True)
        self.progress.set_current(self.lesson.id, k + 1)
        parts.append(await self._enter(k + 1))
        return Reply(_join(parts), reached=True)

    def _explanations(self, events: Iterable[str]) -> list[str]:
        out = []
        for event in events:
            if event in self._explained:
                continue
            text = self.lesson.explanation(event)
            if text:
                self._explained.add(event)
                out.append(text)
        return out

    # -- text ----------------------------------------------------------------------------------

    def _heading(self, k: int) -> str:
        title = self.lesson.steps[k].title
        return f"Step {k + 1}/{self.step_count}" + (f" · {title}" if title else "")

    def _goal_line(self, step: Step) -> str:
        goal = " and ".join(f"`{p}`" for p in step.goal)
        return f"Goal: {goal}\n(`goal` shows which parts hold; `hint` gives a hint.)"

    def _render_goal(self, report: GoalReport) -> str:
        lines = [f"{self._heading(report.step)}: goal (all must hold)"]
        for item in report.items:
            mark = f"{self.glyphs[item.ok]} {WORDS[item.ok]}"
            lines.append(f"  {mark:<10} {item.predicate}")
            if item.found:
                lines.append(f"  {'':<10} {item.found}")
        return "\n".join(lines)

    def _finished_text(self) -> str:
        done = f"Lesson {self.lesson.number} complete: {self.lesson.title}."
        return _join(
            [
                done,
                self.lesson.outro,
                "Type `lessons` to pick the next one, or `reset lesson` to do this one again.",
            ]
        )
