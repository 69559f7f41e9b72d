"""The progress bar as the REPL and scripts write it: one redrawn line on a terminal, tenths elsewhere."""

from __future__ import annotations

import io

from lab.render.progress import Progress
from lab.repl.progress import ProgressPrinter


def test_off_a_terminal_a_line_at_the_start_every_tenth_and_the_end_without_times() -> None:
    out = io.StringIO()
    show = ProgressPrinter(out, tty=False, ascii_only=True)
    for done in range(0, 21):
        show(Progress(done, 20, elapsed=done * 1.5, label="stale latency=1s"))
    show(None)
    lines = out.getvalue().splitlines()
    assert len(lines) == 11  # 0, 2, 4, ... 20 of 20
    assert lines[0].startswith("stale latency=1s  [") and lines[-1].endswith("20/20  100 %")
    assert all(":" not in line.split("]")[1] for line in lines)  # no wall-clock times: same bytes every run


def test_on_a_terminal_one_line_redrawn_then_cleared() -> None:
    out = io.StringIO()
    show = ProgressPrinter(out, tty=True)
    show(Progress(0, 3, 0.0, "selfish"))
    show(Progress(3, 3, 2.0, "selfish alpha=0.4"))
    show(None)
    text = out.getvalue()
    assert "\n" not in text and text.count("\r") >= 3
    assert "3/3" in text and text.endswith("\r")


def test_a_broken_stream_stops_the_bar_not_the_experiment() -> None:
    out = io.StringIO()
    out.close()
    show = ProgressPrinter(out, tty=False)
    show(Progress(1, 2, 0.0))
    show(None)
    assert show.stream is None
