"""The progress line of long commands in a script (`lab run`, `lab -c`) on a terminal.

The REPL draws its own (lab/repl/app.py). A Session reports (what, done, total)
to its `on_progress` hook; once the work has taken longer than SHOW_AFTER, this
rewrites one line on standard error (at most ten times a second) and wipes it
when the work is done. Scripts whose standard error is not a terminal get no
progress line: their output stays the same from run to run.
"""

from __future__ import annotations

import shutil
import time
from typing import TextIO

from lab.render.progress import Progress, frame

SHOW_AFTER = 0.5  # seconds of work before a line appears: short work shows none
REDRAW_SECONDS = 0.1  # the line is redrawn at most this often


class ProgressPrinter:
    def __init__(self, stream: TextIO | None, *, ascii_only: bool = False) -> None:
        self.stream = stream
        self.ascii_only = ascii_only
        self._started: float | None = None  # wall time the work began
        self._last_done = 0  # the count last reported
        self._drawn_at: float | None = None  # when the line was last drawn (None: not on the screen)

    def __call__(self, what: str, done: int, total: int) -> None:
        if self.stream is None:
            return
        try:
            self._show(self.stream, what, done, total)
        except (OSError, ValueError):  # a closed or broken stream: progress is not worth a failure
            self.stream = None

    def _show(self, stream: TextIO, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if self._started is None or done < self._last_done:
            self._started, self._drawn_at = now, None  # new work
        self._last_done = done
        width = max(20, shutil.get_terminal_size((80, 24)).columns)
        if done >= total:
            if self._drawn_at is not None:
                stream.write("\r" + " " * (width - 1) + "\r")
                stream.flush()
            self._started, self._drawn_at, self._last_done = None, None, 0
            return
        if now - self._started < SHOW_AFTER:
            return
        if self._drawn_at is None or now - self._drawn_at >= REDRAW_SECONDS:
            stream.write(frame(Progress(done, total, now - self._started, what), width=width,
                               ascii_only=self.ascii_only))
            stream.flush()
            self._drawn_at = now
