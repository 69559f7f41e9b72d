"""A Session runs command lines against a Lab and renders what happened.

It is the one path every front end takes: the REPL, `lab run FILE`,
`lab -c`, lessons and tests call `execute(line)` and get a CommandOutcome
with the rendered text, whether it succeeded, and the kinds of events that
happened. Errors become one line plus what to type instead; the lab keeps
running.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lab.commands.config import LabConfig
from lab.commands.eras import ERAS_KEPT, Era
from lab.commands.registry import Bound, bind
from lab.errors import CommandError, LabError
from lab.lab import Lab
from lab.language import LANGUAGE, CommandOutcome, CommandSpec, lesson_events, split_line, tokenize
from lab.language.commands import names_a_file
from lab.render.narration import summarize
from lab.render.output import Output, output, render, render_error
from lab.render.style import Styler
from lab.world.record import BY_LESSON, BY_YOU, Entry, Recording

if TYPE_CHECKING:
    from lab.lessons.session import LessonSession
    from lab.net.node import Node

Outcome = CommandOutcome  # the name front ends and tests used before the result types were unified

__all__ = ["LabConfig", "Outcome", "Session", "clip_quotes", "recorded"]


def _mine_as_done(text: str, tokens: list[str], node: str, found: int) -> str:
    """`mine A 1000 as x` that Ctrl-C stopped after 37 blocks did what `mine A 37 as x` does."""
    from lab.commands.parse import take_option
    args, label = take_option(list(tokens[1:]), "as")
    asked = args[1] if len(args) > 1 else "1"
    if not found or asked == str(found):
        return text
    return f"mine {node} {found}" + (f" as {label}" if label else "")


def recorded(spec: CommandSpec) -> bool:
    """Whether a command changes the lab and goes into its record (lab/world/record.py).

    Views, `check`, `help` and the lesson words change nothing; `seed`, `reset`,
    `lesson`, `load` and `back` replace the lab (and so start a new record).
    """
    return spec.recorded


def replaces(spec: CommandSpec) -> bool:
    """Whether a command may replace the lab (`seed`, `reset`, `lesson`, `load`): `back` can cross it.

    `back` itself replaces the lab too, but it returns to a lab the session kept (lab/commands/rewind.py).
    """
    return not recorded(spec) and not spec.read_only and spec.name != "back"


def clip_quotes(text: str, keep: int = 32) -> str:
    """Shorten a word an error quotes back ('...'): a pasted 2,000-character word stays one line."""
    long_word = re.compile(r"'([^'\s]{" + str(keep + 8) + r",})'")
    return long_word.sub(lambda m: f"'{m.group(1)[:keep]}…'", text)


class Session:
    def __init__(self, config: LabConfig | None = None, styler: Styler | None = None, *,
                 narrate: bool = True) -> None:
        self.config = config or LabConfig()
        self.narrate = narrate  # False: no narration is rendered (an experiment's inner labs, read by queries)
        self.styler = styler or Styler()
        self.commands: dict[str, Bound] = bind()
        self.lab: Lab | None = None
        self.history: list[str] = []  # commands run since the lab was (re)built
        self.lesson: LessonSession | None = None  # the active lesson, if any
        self.show_time = False
        self.internal_errors: list[str] = []  # tracebacks of bugs caught at the prompt
        self.recording = Recording(self.config.to_json())  # how the lab was built, the commands since
        self.eras: deque[Era] = deque(maxlen=ERAS_KEPT)  # the labs commands replaced, for `back` (commands/eras.py)
        self.driver = BY_YOU  # who runs the commands now: BY_LESSON while the lesson engine does
        self.replaced = False  # a handler put a rebuilt lab in place (load, back): its past is not narrated
        self.swapped = False  # ... during this line: the lesson it brought back does not count the line
        # Long work (issue 12): a script's wall-clock deadline (time.monotonic) and its limit in
        # seconds; `notice` says an estimate or progress at once (stderr in scripts).
        self.deadline: float | None = None
        self.max_seconds: float | None = None
        self.notice: Callable[[str], None] | None = None
        # Long work (`mine A 1000`): a front end may show progress and ask the work to stop early.
        self.on_progress: Callable[[str, int, int], None] | None = None  # (what, done, total); total 0: stopped
        self.stop_requested = False  # Ctrl-C during interruptible work: stop at the next unit
        self._interruptible = False
        self._mark = 0  # the log's length when the current command began
        self._capturing = False  # a command that may replace the lab is running (`_era_before`)
        self._first_lab = True  # the lab is the one the session began with (or `back` rebuilt it)
        self.files = True  # commands may read and write the files they name; `lab grade`'s replay: skipped

    # -- long work ------------------------------------------------------------------------
    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """While this holds, Ctrl-C asks the work to stop at its next unit instead of cancelling it."""
        self.stop_requested, self._interruptible = False, True
        try:
            yield
        finally:
            if self.stop_requested:  # stopped short of its total: a progress line still drawn goes
                self.report_progress("", 0, 0)
            self.stop_requested, self._interruptible = False, False

    def request_stop(self) -> bool:
        """Ctrl-C: True when the running command will stop by itself (and settle and narrate).

        A second Ctrl-C before it stopped is False: the front end cancels it at once (a block at a
        high difficulty may take minutes to find, and the stop waits for it).
        """
        if self._interruptible and not self.stop_requested:
            self.stop_requested = True
            return True
        return False

    def report_progress(self, what: str, done: int, total: int) -> None:
        if self.on_progress is not None:
            self.on_progress(what, done, total)

    async def after_interrupt(self) -> str:
        """A command was cancelled half-way: deliver what is in flight (auto mode), narrate what happened."""
        lab = self.lab
        if lab is None:
            return ""
        if lab.mode == "auto":
            lab.log.pinned = self._mark  # what the cancelled command did stays whole for its narration
            try:
                await lab.settle()
            finally:
                lab.log.pinned = None
            last = self.recording.entries[-1] if self.recording.entries else None
            if last is not None and not last.settle and self.recording.exact:  # an interrupted mine, now settled
                self.recording.entries[-1] = dataclasses.replace(last, settle=True)
        entries = lab.log.since(self._mark) if self._mark <= lab.log.next_seq else []
        return "\n".join(summarize(entries, self.styler, with_time=self.show_time or lab.mode != "auto"))

    def need_lab(self) -> Lab:
        """The running lab (a handler runs only once the session has started)."""
        if self.lab is None:
            raise LabError("the lab is not running")
        return self.lab

    async def start(self) -> Session:
        self.lab = await Lab.create(self.config.nodes, self.config.topology, self.config.k, self.config.seed,
                                    self.config.difficulty, self.config.latency_ms, self.config.jitter,
                                    self.config.host)
        mining = self.lab.mining
        mining.deadline, mining.limit_seconds, mining.report = self.deadline, self.max_seconds, self.notice
        self.history = []
        self.recording = Recording(self.config.to_json())
        return self

    @contextmanager
    def driving(self, who: str) -> Iterator[None]:
        """Commands run inside are recorded as run by `who` (BY_YOU or BY_LESSON)."""
        before, self.driver = self.driver, who
        try:
            yield
        finally:
            self.driver = before

    def _remember(self, text: str, time_us: int, settle: bool = True) -> None:
        """Add a command that changed the lab to the record (with the lesson's state before it)."""
        snapshot = None
        if self.lesson is not None and self.driver == BY_YOU:
            from lab.lessons.state import lesson_state
            snapshot = lesson_state(self.lesson)
        self.recording.add(Entry(text, time_us, self.driver, snapshot, settle))

    def _era_before(self, line: str) -> Era | None:
        """The lab as it is before a command that may replace it (kept if it does: `_keep_era`)."""
        lab = self.lab
        if lab is None or self._capturing:  # a command the replacing one runs (a lesson replays `seed`) is part of it
            return None
        state = None
        if self.lesson is not None:
            from lab.lessons.state import lesson_state
            state = lesson_state(self.lesson)
        self._capturing = True
        return Era(self.recording, line.strip(), lab.sched.now, self.show_time, self.lesson, state, lab.mining.known)

    def _keep_era(self, era: Era | None) -> None:
        """The command replaced the lab (a new record began): `back` may return to the one before."""
        if era is None:
            return
        self._capturing = False
        if self.recording is era.recording:
            return
        if era.recording.entries or not self._first_lab:  # the lab the session began with, unchanged, is not kept
            self.eras.append(era)
            self.recording.since = len(self.recording.entries)  # what it built is undone with it, as one
        self._first_lab = False

    def _interrupted(self, spec: CommandSpec, text: str, time_us: int, miner: Node | None, mined: int,
                     settling: bool) -> None:
        """Ctrl-C stopped a command: record what it did, so a replay does exactly that."""
        if spec.name == "mine" and miner is not None and not settling:
            found = miner.blocks_mined - mined  # blocks found before the stop; the label comes at the end
            if found:
                self._remember(f"mine {miner.name} {found}", time_us, settle=False)
            return
        self._remember(text, time_us)
        self.recording.taint(f"`{text}` was interrupted half way")

    async def lesson_step_back(self, lesson: LessonSession) -> str | None:
        """Lesson `undo` at a step's start: `back` over the line that reached the step before (commands/rewind.py)."""
        from lab.commands.rewind import lesson_step_back
        return await lesson_step_back(self, lesson)

    async def close(self) -> None:
        if self.lab is not None:
            await self.lab.close()

    def refuse_in_class(self) -> None:
        """A command that replaces the lab would silently drop the class it is in: refuse it."""
        room = self.lab.classroom if self.lab is not None else None
        if room is not None and not room.left:
            raise CommandError("you are in a class: `class leave` first")

    async def rebuild(self, config: LabConfig | None = None) -> None:
        """A fresh lab (same or new config); the old one is closed."""
        self.refuse_in_class()
        if config is not None:
            self.config = config
        old = self.lab
        if old is not None:
            await old.close()
        await self.start()

    # -- executing ---------------------------------------------------------------------
    async def execute(self, line: str, record: bool = True, hook: bool = True) -> CommandOutcome:
        """Run every command on the line; stop at the first error.

        Inside a lesson (and `hook` true) the lesson sees the line first (its own
        commands) and checks its goal after the learner's commands ran.
        """
        if hook and self.lesson is not None:
            era = self._era_before(line)  # `next`, `undo`, `reset` rebuild the lab
            try:
                with self.driving(BY_LESSON):
                    answer = await self.lesson.dispatch(line)
            except CommandError as e:
                return CommandOutcome(render_error(e.message, e.hint, self.styler, paint_hint=False), ok=False,
                                      error=e.message)
            finally:
                self._keep_era(era)
            if answer is not None:
                return CommandOutcome(answer.text)
        self.swapped = False
        out = await self._execute(line, record)
        if hook and self.lesson is not None and not out.quit and not self.swapped:
            with self.driving(BY_LESSON):  # an interrupted `mine`/`run` counts as what it did (undo replays it)
                said = await self.lesson.after_command(out.done_as or line, CommandOutcome(
                    out.text, out.ok, tuple(lesson_events(out.events))))
            if said.text:
                text = "\n".join(x for x in (out.text, self.styler.paint("lesson", said.text)) if x)
                out = dataclasses.replace(out, text=text)
        return out

    async def _execute(self, line: str, record: bool) -> CommandOutcome:
        texts: list[str] = []
        events: list[str] = []
        ok, check_failed, quit_ = True, False, False
        error = None
        done: list[str] = []  # the commands as they were done (an interrupted `mine`/`run`: what it did)
        cut_short = False
        for cmd in split_line(line):
            out = await self.run_command(cmd, record=record)
            done.append(out.done_as or cmd)
            cut_short |= out.done_as is not None
            if out.text:
                texts.append(out.text)
            events += out.events
            check_failed |= out.check_failed
            if out.quit:
                quit_ = True
                break
            if not out.ok:
                ok, error = False, out.error
                if not out.check_failed:
                    break
        return CommandOutcome("\n".join(texts), ok, events, check_failed, quit_, error,
                              "; ".join(done) if cut_short else None)

    async def run_command(self, text: str, record: bool = True, quiet: bool = False,
                          settle: bool = True) -> CommandOutcome:
        """Run one command. `quiet`: render nothing (a replay only wants the lab's state);
        `settle` False: not even in auto mode does the network run on afterwards."""
        lab = self.need_lab()
        tokens = tokenize(text)
        if not tokens:
            return CommandOutcome("")
        typed = text
        before = lab
        mark = self._mark = lab.log.pinned = lab.log.next_seq  # the command's narration is kept whole
        lab.delivered.clear()
        started, began = lab, lab.sched.now
        self.replaced = False
        spec: CommandSpec | None = None
        era: Era | None = None
        miner = lab.nodes.get(tokens[1].upper()) if len(tokens) > 1 else None
        mined, settling = miner.blocks_mined if miner is not None else 0, False
        try:
            spec = LANGUAGE.lookup(tokens[0])
            if replaces(spec):
                era = self._era_before(text)
            # A line from someone else's file (a submission `lab grade` replays; a lesson's route or history
            # the lesson engine replays, which a save brings) must not read or write the files it names
            if (not self.files or self.driver == BY_LESSON) and names_a_file(spec.name, tokens[1:]):
                result: Output = output(f"(`{spec.name}` skipped: this replay reads and writes no files)")
            else:
                with self.driving(BY_LESSON if spec.lesson_word else self.driver):
                    result = await self.commands[spec.name].handler(self, tokens[1:])
            lab = self.need_lab()  # a handler may have rebuilt the lab
            if spec.name == "mine" and miner is not None:  # Ctrl-C stops a long mine early: record what it did
                text = _mine_as_done(text, tokens, miner.name, miner.blocks_mined - mined)
            text = result.done_as or text  # ... and a long `run`: the time it ran
            if spec.settles and not result.check_failed and settle:
                settling = True
                await lab.settle()
            if record and spec.category in ("lab", "network") and not result.check_failed:
                self.history.append(text)
            if lab is started and recorded(spec) and not result.check_failed:
                self._remember(text, began, settle)
                if lab.mode == "live":
                    self.recording.taint("the lab ran in live mode, where virtual time follows the wall clock")
        except asyncio.CancelledError:  # Ctrl-C in the REPL: the lab keeps what happened so far
            if spec is not None and recorded(spec) and self.lab is started:
                self._interrupted(spec, text, began, miner, mined, settling)
            raise
        except CommandError as e:
            message = clip_quotes(e.message)
            return CommandOutcome(render_error(message, clip_quotes(e.hint), self.styler), ok=False, error=message)
        except LabError as e:  # any other deliberate error: still one line
            message = clip_quotes(str(e))
            return CommandOutcome(render_error(message, "", self.styler), ok=False, error=message)
        except Exception as e:  # a bug of ours: say so in one line, keep the lab running
            self.internal_errors.append(traceback.format_exc())
            msg = f"internal error in '{tokens[0]}': {type(e).__name__}: {e}"
            hint = "this is a bug in the lab; your lab is unchanged, please report it"
            return CommandOutcome(render_error(msg, hint, self.styler), ok=False, error=msg)
        finally:  # nothing is appended from here until its narration is read: the log may trim again
            before.log.pinned = None
            self._keep_era(era)
        if quiet:
            return CommandOutcome("", ok=not result.check_failed)
        # what the network did while the command ran: narration after the command's own output
        # A handler that built a new lab (`seed`, `reset`, `lesson`) says what it did itself: the new lab's
        # own history (a lesson's setup mining) is not narrated line by line.
        entries = lab.log.since(mark) if lab is before and mark <= lab.log.next_seq else []
        lines = render(result, self.styler)
        failed = result.check_failed
        if self.narrate:
            lines += summarize(entries, self.styler, with_time=self.show_time or lab.mode != "auto")
        return CommandOutcome("\n".join(lines), ok=not failed, events=[e.kind for e in entries],
                              check_failed=failed, quit=result.quit,
                              error=(render(result, self.styler) or ["failed"])[0] if failed else None,
                              done_as=text if text != typed else None)
