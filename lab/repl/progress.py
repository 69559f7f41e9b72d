"""The progress bar of long commands (an experiment's runs), written where the learner sees it.

A Session reports `Progress` to its `progress` hook, then None when the work
ends. On a terminal this rewrites one line (at most ten times a second) and
clears it at the end; elsewhere (a pipe, a file) it writes a whole line at
the start, every tenth of the work and the end, without wall-clock times, so
a script's output stays the same from run to run.
"""

from __future__ import annotations

import shutil
import time
from typing import TextIO

from lab.render.progress import Progress, frame, line, plain_due

REDRAW_SECONDS = 0.1  # a terminal line is redrawn at most this often


class ProgressPrinter:
    def __init__(self, stream: TextIO | None, *, tty: bool, ascii_only: bool = False) -> None:
        self.stream = stream
        self.tty = tty
        self.ascii_only = ascii_only
        self._last_done: int | None = None  # plain: the count at the last line written
        self._drawn_at = 0.0  # terminal: when the line was last drawn
        self._width = 0  # terminal: the width of the line drawn, 0 when none is shown

    def __call__(self, p: Progress | None) -> None:
        if self.stream is None:
            return
        try:
            self._show(self.stream, p)
        except (OSError, ValueError):  # a closed or broken stream: progress is not worth a failure
            self.stream = None

    def _show(self, stream: TextIO, p: Progress | None) -> None:
        if p is None:
            if self._width:
                stream.write("\r" + " " * (self._width - 1) + "\r")
                stream.flush()
            self._last_done, self._width = None, 0
            return
        if not self.tty:
            if plain_due(self._last_done, p.done, p.total):
                stream.write(line(p, ascii_only=self.ascii_only, timing=False) + "\n")
                stream.flush()
                self._last_done = p.done
            return
        now = time.monotonic()
        if self._width and now - self._drawn_at < REDRAW_SECONDS and p.done < p.total:
            return
        self._width = max(20, shutil.get_terminal_size((80, 24)).columns)
        stream.write(frame(p, width=self._width, ascii_only=self.ascii_only))
        stream.flush()
        self._drawn_at = now
