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
from lab.render.style import Styler, color_wanted
from lab.repl.completer import LabCompleter, find_command
from lab.repl.history import open_history, state_dir
from lab.repl.lexer import LabLexer, first_word, is_prefix
from lab.repl.narrator import Narrator
from lab.repl.style import build_mono_style, build_style, color_depth, glyph
from lab.repl.toolbar import Toolbar

TICK_SECONDS = 0.25  # how often the toolbar looks for changes it was not told about (live clock)
PROMPT = "lab> "


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
        self.prompting = False  # the prompt is up (on a dumb terminal prompt.app is not the app that runs)
        self.dumb = is_dumb_terminal()  # TERM=dumb: prompt_toolkit's plain prompt, no redraws
        self._ctrl_c_hint = True
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
                outcome = await self.execute(line)
                if outcome is not None and outcome.quit:
                    return 0
        finally:
            ticker.cancel()
            try:
                await ticker
            except asyncio.CancelledError:
                pass
            self.narrator.detach()

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
            # "\r": over the "^C" the terminal echoed
            self.echo("\r" + self.session.styler.line("error", "interrupted; the lab keeps its state so far "
                                                      "(frames already delivered stay delivered)"))
        except Exception as e:  # noqa: BLE001 - a bug in a lower layer must not end the learner's session
            self.echo(self._crash_report(line, e))
        finally:
            self.narrator.busy = False
            self.refresh()
        if outcome is not None and outcome.text:
            self.echo(outcome.text)
        return outcome

    def _interrupt(self, task: asyncio.Future) -> None:
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
    lab = session.lab
    cfg = session.config
    return "\n".join([
        styler.bold(f"Blockchain Lab {__version__}") + f": {len(lab.nodes)} nodes ({cfg.topology}), seed {cfg.seed}, "
        f"difficulty {cfg.difficulty} bits",
        styler.dim("Type `help` for the commands, `lessons` for guided lessons. "
                   "Tab completes, Ctrl-R searches history, Ctrl-D leaves."),
    ])


def want_color(plain: bool) -> bool:
    """Colour on a terminal unless NO_COLOR, --plain, or a dumb terminal (which cannot show it)."""
    return color_wanted(sys.stdout.isatty(), plain) and os.environ.get("TERM", "") != "dumb"


async def run_repl(config: Any, plain: bool = False, *, lesson: str | None = None,
                   first_lines: Iterable[str] = (), load: str | None = None) -> int:
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
            shell.echo(banner(session, styler))
            if warning:
                shell.echo(styler.dim(warning))
            if load is not None:
                from lab.commands.saving import load_at_start
                if not await load_at_start(session, load, shell.echo):
                    return 1
                shell.refresh()
            if lesson is not None:
                opened = await shell.execute(f"lesson {lesson}")
                if opened is None or not opened.ok:
                    return 2
            return await shell.run(first_lines)
        finally:
            await session.close()
