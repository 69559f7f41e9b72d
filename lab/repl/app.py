"""The interactive shell: one prompt in front of a running lab, on one event loop.

`run_repl` enters one `patch_stdout(raw=True)` inside the running loop (as
prompt_toolkit's asyncio-prompt example does), starts the lab, and hands it
to a Shell. The Shell awaits `prompt_async` while the lab's nodes and the
live-mode pump keep running on the same loop; what they narrate is printed
above the prompt by the Narrator. Every line typed goes to
`Session.execute`, the same path `lab run FILE` takes: the REPL holds no lab
logic. Ctrl-C clears the line (or interrupts a running command), Ctrl-D or
`quit` leaves; either way the lab's sockets are closed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.history import History, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.utils import is_dumb_terminal

from lab import __version__
from lab.errors import LabError
from lab.language import LANGUAGE
from lab.render import progress as pg
from lab.render.style import Styler, color_wanted
from lab.repl.completer import LabCompleter, find_command
from lab.repl.history import open_history, state_dir
from lab.repl.lexer import LabLexer, first_word, is_prefix
from lab.repl.narrator import Narrator
from lab.repl.style import PlainAttributes, build_mono_style, build_style, color_depth, glyph
from lab.repl.toolbar import Toolbar

TICK_SECONDS = 0.25  # how often the toolbar looks for changes it was not told about (live clock)
PROMPT = "lab> "
PROGRESS_AFTER = 0.5  # wall seconds a command runs before it shows progress


class Shell:
    """The read-eval-print loop around one Session."""

    def __init__(self, session: Any, *, plain: bool = False, color: bool = False,
                 history: History | None = None, input: Input | None = None, output: Output | None = None,
                 echo: Callable[[str], None] | None = None) -> None:
        self.session = session
        self.plain = plain
        self.echo = echo or self._write
        self.toolbar = Toolbar(ascii_only=plain)
        self.narrator = Narrator(session.styler, self.echo, on_change=self.refresh)
        self.interrupted = False
        self.after_line: Callable[[str], None] | None = None  # `--submit`: told every line that ran
        self.prompting = False  # the prompt is up (on a dumb terminal prompt.app is not the app that runs)
        self.dumb = is_dumb_terminal()  # TERM=dumb: prompt_toolkit's plain prompt, no redraws
        self._ctrl_c_hint = True
        self._progress_start: float | None = None  # wall time the current command's long work began
        self._progress_printed: int | None = None  # plain mode: the count at the last line printed
        self._progress_drawn = False  # a terminal progress line is on the screen
        session.on_progress = self._progress
        self.prompt: PromptSession[str] = PromptSession(
            PROMPT,
            history=history if history is not None else InMemoryHistory(),
            auto_suggest=AutoSuggestFromHistory(),
            completer=LabCompleter(lambda: self.session),
            complete_while_typing=True,
            lexer=LabLexer(self._node_names),
            bottom_toolbar=self.toolbar,
            rprompt=self._rprompt,
            style=build_style() if color else build_mono_style(),
            style_transformation=None if color else PlainAttributes(),
            include_default_pygments_style=False,
            color_depth=color_depth(color),
            search_ignore_case=True,
            input=input,
            output=output,
        )

    def _write(self, text: str) -> None:
        """Print a command's output or a narration batch.

        While the prompt is up, print() goes through patch_stdout, which draws
        the text above the prompt. Between prompts the text is written at once,
        so it always comes before the next prompt (patch_stdout's writer thread
        could otherwise lose that race, which shows on dumb terminals).
        """
        if self.prompting:
            if self.dumb:  # no cursor movement: start a new line, then show the prompt and the typing again
                out = self.prompt.output
                typed = self.prompt.default_buffer.text
                # over an empty prompt (narration is longer than "lab> "), else below the half-typed line
                out.write_raw(("\n" if typed else "\r") + text + "\n" + PROMPT + typed)
                out.flush()
            else:
                print(text)
            return
        out = self.prompt.output
        out.write_raw(text + "\n")
        out.flush()

    # -- state the prompt reads ----------------------------------------------------------------
    def _node_names(self) -> Iterable[str]:
        lab = getattr(self.session, "lab", None)
        return lab.nodes.keys() if lab is not None else ()

    def _rprompt(self) -> StyleAndTextTuples:
        """Right of the line: the usage of the command being typed, or a flagged unknown word."""
        word = first_word(self.prompt.default_buffer.text)
        if not word or self.prompt.app.is_done:  # keep the scrollback clean once Enter is pressed
            return []
        cmd = find_command(word)
        if cmd is not None:
            return [("class:rprompt", cmd.usage)]
        text = self.prompt.default_buffer.text
        if text.rstrip() == text and text.split()[-1] == word and is_prefix(word):  # still typing it
            names = [n for n in LANGUAGE.commands if n.startswith(word.lower())]
            return [("class:rprompt", " ".join(names[:5]) + (" ..." if len(names) > 5 else ""))]
        close = LANGUAGE.suggest(word)
        hint = f" - did you mean {close}?" if close else " - Tab lists commands"
        return [("class:rprompt.unknown", f"{glyph('unknown', self.plain)} unknown command '{word}'{hint}")]

    def refresh(self) -> None:
        """Rebuild the toolbar from the lab and redraw the prompt if it changed."""
        self.narrator.follow(getattr(self.session, "lab", None))
        if self.toolbar.refresh(self.session) and self.prompt.app.is_running:
            self.prompt.app.invalidate()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            if Toolbar.fingerprint(self.session) != self.toolbar.key:
                self.refresh()

    # -- the loop --------------------------------------------------------------------------------------
    async def run(self, first_lines: Iterable[str] = ()) -> int:
        """Read and run commands until Ctrl-D or `quit`. Returns the exit code (0)."""
        self.refresh()
        ticker = asyncio.get_running_loop().create_task(self._tick())
        try:
            for line in first_lines:
                outcome = await self.execute(line)
                if outcome is not None and outcome.quit:
                    return 0
            while True:
                self.prompting = True
                try:
                    line = await self.prompt.prompt_async()
                except KeyboardInterrupt:  # Ctrl-C: the line is dropped, the prompt comes back
                    if self._ctrl_c_hint and not self.prompt.default_buffer.text:
                        self._ctrl_c_hint = False
                        self.echo(self.session.styler.dim("(Ctrl-D or `quit` leaves the lab)"))
                    continue
                except EOFError:  # Ctrl-D
                    return 0
                finally:
                    self.prompting = False
                if not line.strip():
                    continue
                if await self.execute_paste(line):
                    return 0
        finally:
            ticker.cancel()
            try:
                await ticker
            except asyncio.CancelledError:
                pass
            self.narrator.detach()

    async def execute_paste(self, text: str) -> bool:
        """Run what was entered: a pasted block (bracketed paste keeps its newlines) runs one command
        per line, each shown after the prompt as if typed, stopping at the first that fails. True: quit."""
        rows = [r for r in text.splitlines() if r.strip()]
        for i, row in enumerate(rows):
            if len(rows) > 1:
                self.echo(PROMPT + row)
            outcome = await self.execute(row)
            if outcome is not None and outcome.quit:
                return True
            if len(rows) > 1 and (outcome is None or not outcome.ok):
                if i + 1 < len(rows):
                    self.echo(self.session.styler.dim(f"(the pasted lines after this one were not run: "
                                                      f"{len(rows) - i - 1} left)"))
                break
        return False

    # -- progress of long work ---------------------------------------------------------------------
    def _progress(self, what: str, done: int, total: int) -> None:
        """A long command's progress: one rewritten line on a terminal, a line every tenth in plain mode."""
        if total <= 0:  # the work stopped early (Ctrl-C): no line for it
            self._progress_done()
            return
        now = time.monotonic()
        if self._progress_start is None:
            self._progress_start = now
        elapsed = now - self._progress_start
        if elapsed < PROGRESS_AFTER and not self._progress_drawn and self._progress_printed is None:
            return  # short work shows no progress at all
        p = pg.Progress(done, total, elapsed, what)
        if self.plain or self.dumb:
            if pg.plain_due(self._progress_printed, done, total):
                self._progress_printed = done
                self.echo(pg.line(p, ascii_only=self.plain) + "  (Ctrl-C stops)")
            return
        out = self.prompt.output
        width = out.get_size().columns
        out.write_raw(pg.frame(p, width=width))
        out.flush()
        self._progress_drawn = True

    def _progress_done(self) -> None:
        if self._progress_drawn:
            out = self.prompt.output
            out.write_raw("\r" + " " * (out.get_size().columns - 1) + "\r")
            out.flush()
        self._progress_start, self._progress_printed, self._progress_drawn = None, None, False

    async def execute(self, line: str) -> Any:
        """Run one line through the Session and print what it says; never raises for a bad line."""
        self.narrator.flush()  # what happened before Enter prints before the command's output
        self.narrator.busy = True
        self.interrupted = False
        task = asyncio.ensure_future(self.session.execute(line))
        outcome = None
        try:
            with _interrupt_cancels(task, self._interrupt):
                outcome = await task
        except asyncio.CancelledError:
            if not self.interrupted:
                raise
            self._progress_done()
            # "\r": over the "^C" the terminal echoed
            self.echo("\r" + self.session.styler.line("error", "interrupted; the lab keeps its state so far "
                                                      "(frames already delivered stay delivered)"))
            try:  # settle what is in flight (auto mode) and tell what happened before the interruption
                told = await self.session.after_interrupt()
            except Exception as e:  # noqa: BLE001 - never lose the prompt over it
                told = self._crash_report(line, e)
            if told:
                self.echo(told)
        except Exception as e:  # noqa: BLE001 - a bug in a lower layer must not end the learner's session
            self.echo(self._crash_report(line, e))
        finally:
            self._progress_done()
            self.narrator.busy = False
            self.refresh()
        if outcome is not None and outcome.text:
            self.echo(outcome.text)
        if self.after_line is not None and outcome is not None and not outcome.quit:
            try:  # a line Ctrl-C cut short is recorded as what it did (`mine A 37`): a grader replays that
                self.after_line(getattr(outcome, "done_as", None) or line)
            except LabError as e:  # the submission could not be written: say so, keep the lab
                self.echo(self.session.styler.line("error", str(e)))
        return outcome

    def _interrupt(self, task: asyncio.Future) -> None:
        """Ctrl-C while a command runs: long work stops at its next unit and reports; the rest is cancelled."""
        stop = getattr(self.session, "request_stop", None)
        if stop is not None and stop():
            return
        self.interrupted = True
        task.cancel()

    def _crash_report(self, line: str, e: BaseException) -> str:
        where = "the lab"
        text = "".join(traceback.format_exception(e))
        try:
            path = state_dir() / "last-error.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"command: {line}\n\n{text}", encoding="utf-8")
            where = str(path)
        except OSError:
            pass
        return self.session.styler.line(
            "error", f"internal error while running '{line.strip()}': {type(e).__name__}: {e}\n"
                     f"  this is a bug in the lab, not your command; details in {where}")


@contextmanager
def _interrupt_cancels(task: asyncio.Future, on_interrupt: Callable[[asyncio.Future], None]) -> Iterator[None]:
    """While a command runs the terminal is not raw, so Ctrl-C is a SIGINT: make it cancel the command."""
    loop = asyncio.get_running_loop()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    try:
        loop.add_signal_handler(signal.SIGINT, on_interrupt, task)
    except (NotImplementedError, RuntimeError, ValueError):
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def banner(session: Any, styler: Styler) -> str:
    """The first line: the lab as it is now (inside a lesson: the lesson's own nodes and topology)."""
    lab = session.lab
    cfg = session.config
    topology = cfg.topology + (f" {cfg.k}" if cfg.topology == "random" else "")
    return "\n".join([
        styler.bold(f"Blockchain Lab {__version__}") + f": {len(lab.nodes)} nodes ({topology}), seed {cfg.seed}, "
        f"difficulty {cfg.difficulty} bits",
        styler.dim("Type `help` for the commands, `lessons` for guided lessons. "
                   "Tab completes, Ctrl-R searches history, Ctrl-D leaves."),
    ])


def want_color(plain: bool) -> bool:
    """Colour on a terminal unless NO_COLOR, --plain, or a dumb terminal (which cannot show it)."""
    return color_wanted(sys.stdout.isatty(), plain) and os.environ.get("TERM", "") != "dumb"


async def run_repl(config: Any, plain: bool = False, *, lesson: str | None = None,
                   first_lines: Iterable[str] = (), load: str | None = None, submit: str | None = None) -> int:
    """The `lab` prompt on a fresh lab; with `lesson`, inside that lesson (`lab lesson ID`).

    `first_lines` run before the first prompt; `load`: a save replaces the fresh
    lab first (`lab --load FILE`). Returns the exit code: 0, 1 when the save
    cannot be loaded, or 2 when the lesson asked for cannot be opened.
    """
    from lab.commands.session import Session

    color = want_color(plain)
    styler = Styler(color, plain)
    session = Session(config, styler)
    with patch_stdout(raw=True):
        history, warning = open_history()
        try:
            await session.start()
        except (LabError, OSError) as e:  # e.g. no free port: one line, not a traceback
            print(styler.line("error", f"the lab could not start: {e}"))
            await session.close()
            return 1
        try:
            shell = Shell(session, plain=plain, color=color, history=history)
            held: list[str] = []  # the lesson's first words, shown after the banner that describes its lab
            opened = None
            if lesson is not None:
                echo, shell.echo = shell.echo, held.append
                try:
                    opened = await shell.execute(f"lesson {lesson}")
                finally:
                    shell.echo = echo
            loaded = True
            if load is not None:  # `lab --load FILE`: the banner then describes the loaded lab
                from lab.commands.saving import load_at_start
                echo, shell.echo = shell.echo, held.append
                try:
                    loaded = await load_at_start(session, load, shell.echo)
                finally:
                    shell.echo = echo
            shell.echo(banner(session, styler))
            if warning:
                shell.echo(styler.dim(warning))
            if not loaded:
                shell.echo(held[-1])
                return 1
            for text in held:
                shell.echo(text)
            if lesson is not None and (opened is None or not opened.ok):
                return 2
            if submit is not None:
                from lab.commands.grading_cli import prompt_recorder
                try:
                    shell.after_line = prompt_recorder(submit, session, lesson or "")
                except LabError as e:
                    shell.echo(styler.line("error", str(e)))
                    return 2
            return await shell.run(first_lines)
        finally:
            await session.close()
