"""The progress line: fraction, count, elapsed and an estimate; plain mode prints now and then."""

from __future__ import annotations

from lab.render.progress import Progress, bar, clock, frame, line, plain_due


def test_the_line_shows_count_percent_elapsed_and_what_is_left():
    text = line(Progress(12, 40, 12.0, "selfish alpha=0.25"), width=80)
    assert text.startswith("selfish alpha=0.25  [")
    assert text.endswith("12/40   30 %  0:12, about 0:28 left")
    assert len(text) <= 80


def test_no_estimate_before_the_first_unit_and_none_needed_at_the_end():
    assert line(Progress(0, 10, 3.0), width=60).endswith("0/10    0 %  0:03")
    assert line(Progress(10, 10, 65.0), width=60).endswith("10/10  100 %  1:05")


def test_ascii_bar_for_a_dumb_terminal():
    text = line(Progress(5, 10, 1.0, "stale"), width=60, ascii_only=True)
    inside = text[text.index("[") + 1:text.index("]")]
    assert text.isascii() and set(inside) == {"#", "-"}
    assert inside.count("#") == len(inside) // 2  # half done, half the bar
    assert bar(0.5, 10, ascii_only=True) == "[#####-----]"
    assert bar(0.55, 10) == "[█████▌    ]"
    assert bar(1.0, 10) == "[██████████]" and bar(0, 4) == "[    ]"


def test_without_timing_the_line_is_the_same_every_run():
    a = line(Progress(3, 9, 1.5, "double-spend"), timing=False)
    b = line(Progress(3, 9, 99.0, "double-spend"), timing=False)
    assert a == b and ":" not in a


def test_narrow_lines_fit_their_width():
    for width in (30, 40, 50):
        text = line(Progress(7, 9, 10.0, "selfish alpha=0.33 gamma=0.5 blocks=2000"), width=width)
        assert len(text) <= width and "7/9" in text


def test_frame_rewrites_one_line_without_escape_codes():
    f = frame(Progress(1, 4, 2.0, "stale"), width=50)
    assert f.startswith("\r") and "\n" not in f and "\x1b" not in f and len(f) == 50


def test_plain_lines_come_at_the_start_every_tenth_and_at_the_end():
    shown, previous = [], None
    for done in range(0, 101):
        if plain_due(previous, done, 100):
            shown.append(done)
            previous = done
    assert shown == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert not plain_due(100, 100, 100)


def test_clock():
    assert clock(7) == "0:07" and clock(125) == "2:05" and clock(3723) == "1:02:03" and clock(-1) == "0:00"
