"""The progress line of long commands in a script (`lab run`, `lab -c`), written to standard error.

The REPL draws its own (lab/repl/app.py). A Session reports (what, done, total)
to its `on_progress` hook. On a terminal this rewrites one line (at most ten
times a second) and clears it when the work is done; elsewhere (a pipe, a
file) it writes a whole line at the start, every tenth of the work and the
end, without wall-clock times, so a script's output stays the same from run
to run.
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
        self._started: float | None = None  # wall time the work began
        self._last_done: int | None = None  # plain: the count at the last line written
        self._drawn_at = 0.0  # terminal: when the line was last drawn

    def __call__(self, what: str, done: int, total: int) -> None:
        if self.stream is None:
            return
        try:
            self._show(self.stream, what, done, total)
        except (OSError, ValueError):  # a closed or broken stream: progress is not worth a failure
            self.stream = None

    def _show(self, stream: TextIO, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if self._started is None or (self._last_done is not None and done < self._last_done):
            self._started, self._last_done = now, None  # new work
        p = Progress(done, total, now - self._started, what)
        if not self.tty:
            if plain_due(self._last_done, done, total):
                stream.write(line(p, ascii_only=self.ascii_only, timing=False) + "\n")
                stream.flush()
            self._last_done = done
        else:
            finished = done >= total
            if finished or self._last_done is None or now - self._drawn_at >= REDRAW_SECONDS:
                width = max(20, shutil.get_terminal_size((80, 24)).columns)
                stream.write("\r" + " " * (width - 1) + "\r" if finished else frame(p, width=width,
                                                                                   ascii_only=self.ascii_only))
                stream.flush()
                self._drawn_at = now
            self._last_done = done
        if done >= total:
            self._started, self._last_done = None, None
