"""The progress line of long commands in scripts on a terminal: nothing for short work, one line redrawn."""

from __future__ import annotations

import io

from lab.repl import progress
from lab.repl.progress import ProgressPrinter


def test_short_work_shows_no_line(monkeypatch) -> None:
    out = io.StringIO()
    show = ProgressPrinter(out)
    show("mining on A", 0, 1)
    show("mining on A", 1, 1)
    assert out.getvalue() == ""


def test_long_work_redraws_one_line_then_wipes_it(monkeypatch) -> None:
    clock = iter([0.0, 1.0, 2.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    show = ProgressPrinter(out)
    show("selfish", 0, 3)
    show("selfish alpha=0.33", 1, 3)
    show("selfish alpha=0.4", 3, 3)
    text = out.getvalue()
    assert "\n" not in text and "1/3" in text and "selfish alpha=0.33" in text
    assert text.endswith("\r") and text.rstrip("\r").endswith(" ")  # wiped at the end


def test_a_broken_stream_stops_the_line_not_the_work(monkeypatch) -> None:
    clock = iter([0.0, 1.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    out.close()
    show = ProgressPrinter(out)
    show("x", 0, 2)
    show("x", 1, 2)
    assert show.stream is None
