"""The progress line in scripts: one redrawn line on a terminal, a line per tenth elsewhere."""

from __future__ import annotations

import io

from lab.repl.progress import ProgressPrinter


def test_off_a_terminal_a_line_at_the_start_every_tenth_and_the_end_without_times() -> None:
    out = io.StringIO()
    show = ProgressPrinter(out, tty=False, ascii_only=True)
    for done in range(0, 21):
        show("stale latency=1s", done, 20)
    lines = out.getvalue().splitlines()
    assert len(lines) == 11  # 0, 2, 4, ... 20 of 20
    assert lines[0].startswith("stale latency=1s  [") and lines[-1].endswith("20/20  100 %")
    assert all(":" not in text.split("]")[1] for text in lines)  # no wall-clock times: same bytes every run


def test_on_a_terminal_one_line_redrawn_then_cleared() -> None:
    out = io.StringIO()
    show = ProgressPrinter(out, tty=True)
    show("selfish", 0, 3)
    show("selfish alpha=0.4", 3, 3)
    text = out.getvalue()
    assert "\n" not in text and "0/3" in text
    assert text.endswith("\r") and text.rstrip("\r").endswith(" ")  # the line is wiped at the end


def test_a_broken_stream_stops_the_bar_not_the_work() -> None:
    out = io.StringIO()
    out.close()
    show = ProgressPrinter(out, tty=False)
    show("x", 1, 2)
    assert show.stream is None
