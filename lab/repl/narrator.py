"""Narration that happens while the learner types (live mode, auto-miners) printed above the prompt.

The lab calls every listener with each typed event it logs (a Record). While a command runs
the Session collects and summarises its events itself, so the narrator only
prints what happens between commands. It batches: events are gathered for
BATCH_SECONDS, merged with the same summariser the commands use ("B, C and
D accepted block 3 ..."), and a burst longer than MAX_LINES is cut short
with a pointer to `log`: prompt_toolkit redraws the prompt after every
write, and a flood of writes corrupts the screen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from lab.render.events import sentence
from lab.render.narration import summarize
from lab.render.style import Styler

BATCH_SECONDS = 0.25  # prompt_toolkit itself flushes patched stdout every 0.2 s
MAX_LINES = 12  # per batch; the rest is "... and N more (`log M` shows them all)"


class Narrator:
    def __init__(self, styler: Styler, echo: Callable[[str], None],
                 on_change: Callable[[], None] = lambda: None) -> None:
        self.styler = styler
        self.echo = echo
        self.on_change = on_change  # e.g. refresh the toolbar
        self.busy = False  # a command is running: its own output carries its events
        self.pending: list[Any] = []
        self._timer: asyncio.TimerHandle | None = None
        self._lab: Any = None

    # -- following a lab ------------------------------------------------------------------
    def follow(self, lab: Any) -> None:
        """Listen to `lab` (and stop listening to the previous one, e.g. after `seed`)."""
        if lab is self._lab:
            return
        self.detach()
        self._lab = lab
        if lab is not None:
            lab.listeners.append(self)

    def detach(self) -> None:
        if self._lab is not None and self in self._lab.listeners:
            self._lab.listeners.remove(self)
        self._lab = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.pending.clear()

    # -- receiving ------------------------------------------------------------------------
    def __call__(self, entry: Any) -> None:
        if self.busy or sentence(entry) is None:  # a fact the lab keeps, not a line to print
            return
        self.pending.append(entry)
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # narrated outside the loop: print at once
                self.flush()
                return
            self._timer = loop.call_later(BATCH_SECONDS, self.flush)

    def flush(self) -> None:
        self._timer = None
        entries, self.pending = self.pending, []
        if not entries:
            return
        lines = summarize(entries, self.styler, with_time=True)
        if len(lines) > MAX_LINES:
            rest = len(lines) - (MAX_LINES - 1)
            lines = lines[:MAX_LINES - 1] + [self.styler.dim(f"... and {rest} more (`log {len(entries)}` shows them all)")]
        if lines:
            self.echo("\n".join(lines))
        self.on_change()
