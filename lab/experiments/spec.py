"""The `experiment` command's words, parsed into a frozen `ExperimentSpec`.

    experiment stale|selfish|double-spend [PARAM VALUES]... [runs R] [blocks N] [seed S] [csv FILE]

    experiment stale [latency 1s,5s,10s] [interval 60s]
    experiment selfish [alpha 0.1,0.2,...,0.4] [gamma 0|0.5|1]
    experiment double-spend [q 0.1,0.3] [z 1,2,...,6]

VALUES is one value or a comma list; `a,b,...,c` counts from a in steps of
b − a up to c. The first parameter of each experiment is the x axis of its
chart; every combination of the listed values is one row of its table. Every
fault is one `CommandError` that says what to type instead.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from lab.errors import CommandError
from lab.language import closest
from lab.params import DEFAULT_SEED
from lab.sched import MS, SECOND

USAGE = "experiment stale|selfish|double-spend [PARAM VALUES]... [runs R] [blocks N] [seed S] [csv FILE]"
MAX_POINTS = 60  # rows in one table; more would take minutes and not fit a screen
MAX_RUNS = 10_000
MAX_BLOCKS = 1_000_000
ELLIPSIS = ("...", "…")


@dataclass(frozen=True, slots=True)
class ParamKind:
    """How one parameter's values are read, checked and printed."""

    name: str  # the word the learner types: alpha, gamma, q, z, latency, interval
    unit: str  # "share" (a number in [0, 1]), "count" (a whole number), "duration"
    low: Fraction  # smallest value allowed (durations in seconds)
    high: Fraction  # largest value allowed
    low_open: bool  # True: `low` itself is refused
    high_open: bool  # True: `high` itself is refused
    default: str  # the values used when the parameter is left out
    hint: str  # what to type instead, shown with every fault in this parameter
    choices: tuple[Fraction, ...] = ()  # when set, the only values allowed


def _share(name: str, low: str, high: str, default: str, hint: str, *, low_open: bool = False,
           high_open: bool = False, choices: tuple[str, ...] = ()) -> ParamKind:
    return ParamKind(name, "share", Fraction(low), Fraction(high), low_open, high_open, default, hint,
                     tuple(Fraction(c) for c in choices))


KINDS: dict[str, tuple[ParamKind, ...]] = {
    "stale": (
        ParamKind("latency", "duration", Fraction(0), Fraction(3600), False, False, "1s,5s,10s",
                  "latencies look like latency 1s,5s,10s (0s to 1h)"),
        ParamKind("interval", "duration", Fraction(1), Fraction(3600), False, False, "60s",
                  "the mean block interval looks like interval 60s (1s to 1h)"),
    ),
    "selfish": (
        _share("alpha", "0", "0.5", "0.1,0.2,0.3,0.4",
               "the pool's hashrate share is between 0 and 0.5, e.g. alpha 0.1,0.2,0.3,0.4",
               low_open=True, high_open=True),
        _share("gamma", "0", "1", "0",
               "γ is set through the network: gamma 0 (honest blocks always heard first), "
               "0.5 (half the honest miners hear the pool's first) or 1", choices=("0", "0.5", "1")),
    ),
    "double-spend": (
        ParamKind("z", "count", Fraction(1), Fraction(50), False, False, "1,2,...,6",
                  "confirmations the merchant waits look like z 1,2,...,6 (1 to 50)"),
        _share("q", "0", "0.5", "0.1,0.3",
               "the attacker's hashrate share is between 0 and 0.5, e.g. q 0.1,0.3",
               low_open=True, high_open=True),
    ),
}
KIND_ALIASES = {"doublespend": "double-spend", "double_spend": "double-spend", "ds": "double-spend"}
PARAM_ALIASES = {"α": "alpha", "γ": "gamma", "τ": "latency"}
DEFAULT_RUNS = {"stale": 1, "selfish": 1, "double-spend": 100}  # double spends: attempts per row
DEFAULT_BLOCKS = {"stale": 500, "selfish": 1000, "double-spend": 60}  # double spends: cap per attempt
COMMON = ("runs", "blocks", "seed", "csv")


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter with the values asked for."""

    name: str  # alpha, gamma, q, z, latency, interval
    values: tuple[float, ...]  # shares as floats, counts as ints, durations in virtual µs (ints)
    texts: tuple[str, ...]  # each value as printed in the table and the CSV: 0.25, 3, 500ms


@dataclass(frozen=True, slots=True)
class Point:
    """One row to measure: a value of every parameter."""

    experiment: str  # stale, selfish, double-spend
    param: str  # the x-axis parameter with the others fixed: "alpha (gamma=0)"
    value: str  # the x-axis value as printed: "0.25"
    settings: tuple[tuple[str, float], ...]  # (name, number) for every parameter

    def __getitem__(self, name: str) -> float:
        for key, number in self.settings:
            if key == name:
                return number
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class ExperimentSpec:
    """A parsed `experiment` command."""

    experiment: str  # stale, selfish, double-spend
    params: tuple[Param, ...]  # in the experiment's order; the first is the chart's x axis
    runs: int  # fresh labs per row (double-spend: attempts per row)
    blocks: int  # blocks mined per run (double-spend: the most an attempt may take)
    seed: int  # every run's seed is derived from this one
    csv: str | None  # file to write the rows to, if asked

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def points(self) -> tuple[Point, ...]:
        """Every combination of the values, the later parameters varying slowest."""
        x, rest = self.params[0], self.params[1:]
        out = []
        for combo in itertools.product(*(tuple(zip(p.values, p.texts, strict=True)) for p in rest)):
            fixed = ", ".join(f"{p.name}={text}" for p, (_, text) in zip(rest, combo, strict=True))
            label = f"{x.name} ({fixed})" if fixed else x.name
            others = tuple((p.name, number) for p, (number, _) in zip(rest, combo, strict=True))
            for number, text in zip(x.values, x.texts, strict=True):
                out.append(Point(self.experiment, label, text, ((x.name, number), *others)))
        return tuple(out)

    def command(self) -> str:
        """The command written out in full, every default filled in: what will run."""
        words = ["experiment", self.experiment]
        for p in self.params:
            words += [p.name, ",".join(p.texts)]
        words += ["runs", str(self.runs), "blocks", str(self.blocks), "seed", str(self.seed)]
        if self.csv is not None:
            words += ["csv", self.csv]
        return " ".join(words)


def parse_experiment(words: str | Sequence[str]) -> ExperimentSpec:
    """Parse what follows `experiment` (a string, or its words)."""
    tokens = re.sub(r"\s*,\s*", ",", words).split() if isinstance(words, str) else list(words)
    if tokens and tokens[0].lower() == "experiment":
        tokens = tokens[1:]
    if not tokens:
        raise CommandError("experiment needs to know what to measure",
                           "type experiment stale, experiment selfish or experiment double-spend")
    kind = KIND_ALIASES.get(tokens[0].lower(), tokens[0].lower())
    if kind not in KINDS:
        raise CommandError(f"there is no experiment '{tokens[0]}'", _did_you_mean(tokens[0], list(KINDS))
                           or "type experiment stale, experiment selfish or experiment double-spend")
    kinds = {k.name: k for k in KINDS[kind]}
    given: dict[str, str] = {}
    rest = tokens[1:]
    for i in range(0, len(rest), 2):
        word = rest[i].lower()
        key = PARAM_ALIASES.get(word, word)
        if key not in kinds and key not in COMMON:
            words_known = [*kinds, *COMMON]
            raise CommandError(f"'{rest[i]}' is not a setting of experiment {kind}",
                               _did_you_mean(rest[i], words_known) or f"type {usage(kind)}")
        if key in given:
            raise CommandError(f"{key} is given twice", f"give it once, with a list: {_example(kind, key)}")
        if i + 1 >= len(rest):
            raise CommandError(f"{key} needs a value after it", f"e.g. {_example(kind, key)}")
        given[key] = rest[i + 1]
    params = tuple(_param(k, given.get(k.name, k.default)) for k in KINDS[kind])
    count = 1
    for p in params:
        count *= len(p.values)
    if count > MAX_POINTS:
        raise CommandError(f"that is {count} rows to measure; at most {MAX_POINTS} fit in one experiment",
                           "give fewer values, or run the experiment in parts")
    runs = _whole(given.get("runs"), "runs", DEFAULT_RUNS[kind], 1, MAX_RUNS)
    blocks = _whole(given.get("blocks"), "blocks", DEFAULT_BLOCKS[kind], 1, MAX_BLOCKS)
    seed = _whole(given.get("seed"), "seed", DEFAULT_SEED, 0, 2**32 - 1)
    return ExperimentSpec(kind, params, runs, blocks, seed, given.get("csv"))


def usage(kind: str) -> str:
    """`experiment selfish [alpha VALUES] [gamma VALUES] [runs R] [blocks N] [seed S] [csv FILE]`."""
    params = " ".join(f"[{k.name} {k.default}]" for k in KINDS[kind])
    return f"experiment {kind} {params} [runs R] [blocks N] [seed S] [csv FILE]"


def format_duration(us: int) -> str:
    """Virtual microseconds as the shortest exact text: 1s, 1500ms, 250us."""
    if us % SECOND == 0:
        return f"{us // SECOND}s"
    if us % MS == 0:
        return f"{us // MS}ms"
    return f"{us}us"


def format_share(x: Fraction) -> str:
    """An exact decimal when there is one (0.25, 0.1), else a fraction (1/3)."""
    d = x.denominator
    for prime in (2, 5):
        while d % prime == 0:
            d //= prime
    if d != 1:
        return f"{x.numerator}/{x.denominator}"
    digits = 0
    while (x * 10**digits).denominator != 1:
        digits += 1
    scaled = int(x * 10**digits)
    if digits == 0:
        return str(scaled)
    sign, scaled = ("-" if scaled < 0 else ""), abs(scaled)
    whole, frac = divmod(scaled, 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}"


# --- one parameter's values ------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(us|µs|ms|s|min|m|h)?")
_UNITS = {"us": Fraction(1, SECOND), "µs": Fraction(1, SECOND), "ms": Fraction(1, 1000), "s": Fraction(1),
          "m": Fraction(60), "min": Fraction(60), "h": Fraction(3600)}


def _param(kind: ParamKind, text: str) -> Param:
    items = text.split(",")
    if any(not t for t in items):
        raise CommandError(f"'{text}' has an empty value between commas", kind.hint)
    numbers = _expand(kind, items, lambda t: _number(kind, t))
    for n in numbers:
        _check(kind, n)
    if len(set(numbers)) != len(numbers):
        raise CommandError(f"{kind.name} lists a value twice", kind.hint)
    if kind.unit == "duration":
        us = tuple(int(n * SECOND) for n in numbers)
        return Param(kind.name, us, tuple(format_duration(u) for u in us))
    if kind.unit == "count":
        return Param(kind.name, tuple(int(n) for n in numbers), tuple(str(int(n)) for n in numbers))
    return Param(kind.name, tuple(float(n) for n in numbers), tuple(format_share(n) for n in numbers))


def _number(kind: ParamKind, text: str) -> Fraction:
    if kind.unit == "duration":
        m = _DURATION.fullmatch(text.lower())
        if not m:
            raise CommandError(f"'{text}' is not a duration", kind.hint)
        value = Fraction(m.group(1)) * _UNITS[m.group(2) or "s"]
        if (value * SECOND).denominator != 1:
            raise CommandError(f"'{text}' is finer than a microsecond", kind.hint)
        return value
    if kind.unit == "count":
        if not text.isdigit():
            raise CommandError(f"'{text}' is not a whole number", kind.hint)
        return Fraction(int(text))
    if not re.fullmatch(r"\d+/\d+|\d*\.?\d+", text) or re.fullmatch(r"\d+/0+", text):
        raise CommandError(f"'{text}' is not a number", kind.hint)
    return Fraction(text)


def _expand(kind: ParamKind, items: list[str], read: Callable[[str], Fraction]) -> list[Fraction]:
    """`1,2,...,6` -> 1..6; a list without `...` as it is."""
    dots = [i for i, t in enumerate(items) if t in ELLIPSIS]
    if not dots:
        return [read(t) for t in items]
    if len(dots) > 1 or dots[0] != len(items) - 2 or dots[0] < 2:
        raise CommandError(f"'{','.join(items)}' is not a range",
                           f"write two values, then ..., then the last: {kind.name} {_range_example(kind)}")
    head = [read(t) for t in items[:-2]]
    last = read(items[-1])
    step = head[1] - head[0]
    if step <= 0:
        raise CommandError(f"a range must count upwards: {head[0]} then {head[1]}",
                           f"e.g. {kind.name} {_range_example(kind)}")
    if any(b - a != step for a, b in itertools.pairwise(head)):
        raise CommandError(f"the values before ... in '{','.join(items)}' are not evenly spaced",
                           f"e.g. {kind.name} {_range_example(kind)}")
    if last < head[-1] or (last - head[-1]) % step != 0:
        raise CommandError(f"counting from {items[0]} in steps of the first two values never reaches "
                           f"{items[-1]}", f"e.g. {kind.name} {_range_example(kind)}")
    count = int((last - head[-1]) / step)
    if len(head) + count > MAX_POINTS:
        raise CommandError(f"that range has {len(head) + count} values; at most {MAX_POINTS} fit",
                           "use a larger step")
    return head + [head[-1] + step * k for k in range(1, count + 1)]


def _check(kind: ParamKind, n: Fraction) -> None:
    shown = format_duration(int(n * SECOND)) if kind.unit == "duration" else format_share(n)
    if kind.choices and n not in kind.choices:
        raise CommandError(f"{kind.name} {shown} cannot be set", kind.hint)
    too_low = n < kind.low or (kind.low_open and n == kind.low)
    too_high = n > kind.high or (kind.high_open and n == kind.high)
    if too_low or too_high:
        raise CommandError(f"{kind.name} {shown} is out of range", kind.hint)


def _whole(text: str | None, what: str, default: int, low: int, high: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise CommandError(f"{what} '{text}' is not a whole number from {low} to {high}",
                           f"e.g. {what} {default}")
    return int(text)


def _example(kind: str, key: str) -> str:
    for k in KINDS[kind]:
        if k.name == key:
            return f"{key} {k.default}"
    return {"runs": "runs 5", "blocks": "blocks 1000", "seed": "seed 1", "csv": "csv results.csv"}[key]


def _range_example(kind: ParamKind) -> str:
    return {"duration": "1s,2s,...,10s", "count": "1,2,...,6"}.get(kind.unit, "0.1,0.2,...,0.4")


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = closest(word.lower(), choices)
    return f"did you mean '{close}'?" if close else ""
