"""A progress line for long work (an experiment's runs): pure formatting, no printing.

    selfish alpha=0.25  [█████████▌          ]  12/40  30 %  0:12, about 0:28 left

On a terminal the caller rewrites one line with `frame()` (a carriage return,
then the line padded to cover the last one: no escape codes, so a dumb terminal
shows it too). Elsewhere — a pipe, `--plain`, `TERM=dumb` — it prints a whole
`line()` only when `plain_due()` says so: at the start, at every tenth of the
work and at the end, never an animation. Times are wall-clock, so a caller that
must print the same bytes every run (a script's output) leaves them out
(`timing=False`) or writes progress to stderr.
"""

from __future__ import annotations

from dataclasses import dataclass

EIGHTHS = " ▏▎▍▌▋▊▉"  # partial cells of a bar, 0/8 .. 7/8


@dataclass(frozen=True, slots=True)
class Progress:
    """How far some work has got."""

    done: int  # units finished (runs, blocks)
    total: int  # units in all (> 0)
    elapsed: float  # wall seconds since the work began
    label: str = ""  # what is being worked on: "selfish alpha=0.25"

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, max(0.0, self.done / self.total))

    @property
    def remaining(self) -> float | None:
        """Seconds still to go at the pace so far (None before the first unit is done)."""
        if self.done <= 0 or self.total <= 0:
            return None
        return self.elapsed * max(0, self.total - self.done) / self.done


def clock(seconds: float) -> str:
    """0:07, 2:05, 1:02:03."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def bar(fraction: float, cells: int = 20, ascii_only: bool = False) -> str:
    """[█████▌    ] or, in ASCII, [#####-----]."""
    fraction = min(1.0, max(0.0, fraction))
    if ascii_only:
        full = int(fraction * cells)
        return "[" + "#" * full + "-" * (cells - full) + "]"
    eighths = int(fraction * cells * 8)
    full, part = divmod(eighths, 8)
    inner = "█" * full + (EIGHTHS[part] if full < cells else "")
    return "[" + inner.ljust(cells) + "]"


def line(p: Progress, *, width: int = 80, ascii_only: bool = False, timing: bool = True) -> str:
    """The whole progress line, at most `width` characters."""
    count = f"{p.done}/{p.total}"
    percent = f"{int(p.fraction * 100):3d} %"
    when = ""
    if timing:
        left = p.remaining
        if p.done >= p.total:
            when = f"  {clock(p.elapsed)}"
        elif left is None:
            when = f"  {clock(p.elapsed)}"
        else:
            when = f"  {clock(p.elapsed)}, about {clock(left)} left"
    tail = f"  {count}  {percent}{when}"
    label = f"{p.label}  " if p.label else ""
    cells = max(5, min(30, width - len(label) - len(tail) - 2))
    text = f"{label}{bar(p.fraction, cells, ascii_only)}{tail}"
    if len(text) > width and label:  # a long label gives way first
        keep = max(0, len(label) - (len(text) - width) - 3)
        text = f"{label[:keep].rstrip()}… " + text[len(label):] if not ascii_only else \
            f"{label[:keep].rstrip()}.. " + text[len(label):]
    return text[:width]


def frame(p: Progress, *, width: int = 80, ascii_only: bool = False, timing: bool = True) -> str:
    """For a terminal: carriage return and the line padded to `width - 1`, to write without a newline."""
    return "\r" + line(p, width=width - 1, ascii_only=ascii_only, timing=timing).ljust(width - 1)


def plain_due(previous: int | None, done: int, total: int, steps: int = 10) -> bool:
    """Whether a plain (non-terminal) progress line is due, going from `previous` done to `done`.

    `previous` is the count at the last line printed (None: nothing printed yet). Lines are due at
    the start, each time another 1/`steps` of the work is done, and at the end.
    """
    if previous is None:
        return True
    if total <= 0 or done <= previous:
        return False
    if done >= total:
        return previous < total
    return done * steps // total > previous * steps // total
