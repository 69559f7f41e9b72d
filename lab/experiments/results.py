"""An experiment's results as data: one frozen `Row` per measured point, and their CSV.

The CSV header is a contract (issue 14):

    experiment,param,value,measured,low,high,theory,runs,blocks

Numbers are written with a fixed six decimals (`0.484000`), so the same rows give
the same bytes on every machine; a missing interval end is an empty field.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from lab.errors import CommandError
from lab.experiments.spec import Point
from lab.experiments.stats import Estimate

HEADER = ("experiment", "param", "value", "measured", "low", "high", "theory", "runs", "blocks")
DECIMALS = 6


@dataclass(frozen=True, slots=True)
class Row:
    """One measured point of an experiment against its theory."""

    experiment: str  # stale, selfish, double-spend
    param: str  # the swept parameter with the others fixed: "alpha (gamma=0)"
    value: str  # its value as typed in canonical form: "0.25", "3", "500ms"
    measured: float  # the measured share or rate
    low: float | None  # lower end of its 95 % interval (None: no interval, e.g. one run)
    high: float | None  # upper end of its 95 % interval
    theory: float | None  # what the formula predicts here (None: no formula for this point)
    runs: int  # fresh labs (double-spend: attempts) behind the number
    blocks: int  # blocks mined per run

    @classmethod
    def of(cls, point: Point, estimate: Estimate, theory: float | None, runs: int, blocks: int) -> Row:
        return cls(point.experiment, point.param, point.value, estimate.value, estimate.low, estimate.high,
                   theory, runs, blocks)

    @property
    def x(self) -> float:
        """The value as a number for a chart's x axis: durations in seconds, 1/3 as 0.333..."""
        return numeric(self.value)

    def within(self) -> bool | None:
        """Whether theory lies inside the measured interval (None when either is missing)."""
        if self.theory is None or self.low is None or self.high is None:
            return None
        return self.low <= self.theory <= self.high


def number(x: float | None) -> str:
    """A number as the CSV and the table print it: six decimals, empty when missing."""
    if x is None:
        return ""
    text = f"{x:.{DECIMALS}f}"
    return "0.000000" if text == "-0.000000" else text


_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def numeric(value: str) -> float:
    """'0.25' -> 0.25, '1/3' -> 0.333..., '500ms' -> 0.5 (seconds), '3' -> 3.0."""
    m = re.fullmatch(r"(\d*\.?\d+)(?:/(\d+))?(us|ms|s|min|m|h)?", value)
    if not m:
        raise ValueError(f"not a value: {value!r}")
    x = float(m.group(1)) / (float(m.group(2)) if m.group(2) else 1.0)
    return x * _UNIT_SECONDS[m.group(3)] if m.group(3) else x


def csv_text(rows: Sequence[Row]) -> str:
    """The rows as CSV with the contract header, `\\n` line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for r in rows:
        writer.writerow([r.experiment, r.param, r.value, number(r.measured), number(r.low),
                         number(r.high), number(r.theory), str(r.runs), str(r.blocks)])
    return out.getvalue()


def write_csv(path: str, rows: Sequence[Row]) -> None:
    """Write the rows to `path` atomically: a failed write leaves any old file as it was."""
    target = os.path.abspath(os.path.expanduser(path))
    folder = os.path.dirname(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".experiment-", suffix=".csv", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(csv_text(rows))
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as err:
        raise CommandError(f"cannot write {path}: {err.strerror or err}",
                           "give a file in a folder you can write to, e.g. csv results.csv") from None
