"""Turning a command's words into values; every fault is a CommandError with a hint.

Lines are split and commands tokenised in lab/language/words.py; this module
reads the values. Node names are case-insensitive. Amounts are coins with up to 8 decimals.
Durations take `us`, `ms`, `s`, `m`, `h`.
"""

from __future__ import annotations

import re

from lab.chain.amount import parse_amount as _parse_amount
from lab.errors import CommandError
from lab.language.words import OPS
from lab.sched import MS, SECOND

_UNITS = {"us": 1, "µs": 1, "ms": MS, "s": SECOND, "m": 60 * SECOND, "min": 60 * SECOND, "h": 3600 * SECOND}


def parse_int(text: str, what: str, lo: int | None = None, hi: int | None = None) -> int:
    try:
        n = int(text)
    except ValueError:
        raise CommandError(f"'{text}' is not a whole number of {what}", "type a number, e.g. 3") from None
    if lo is not None and n < lo or hi is not None and n > hi:
        rng = f"{lo}..{hi}" if hi is not None else f"at least {lo}"
        raise CommandError(f"{what} must be {rng}, not {n}", f"type a number in {rng}")
    return n


def parse_amount(text: str, *, above_zero: bool = False) -> int:
    """Coins -> base units. `above_zero` (a payment): 0 and negative amounts get one and the same rule."""
    if above_zero and text.strip().startswith("-"):
        raise CommandError(f"cannot send {text.strip()} coins", "send an amount above 0, like 1.5")
    try:
        units = _parse_amount(text)
    except ValueError as e:
        raise CommandError(str(e), "amounts are coins, e.g. 12.5 or 0.001") from None
    if above_zero and units <= 0:
        raise CommandError(f"cannot send {text.strip()} coins", "send an amount above 0, like 1.5")
    return units


def parse_duration(text: str) -> int:
    """Virtual microseconds from '200ms', '30s', '10m', '1h' (a bare number is seconds)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(us|µs|ms|s|min|m|h)?", text.strip().lower())
    if not m:
        raise CommandError(f"'{text}' is not a duration", "durations look like 200ms, 30s, 10m or 1h")
    value = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if value > 1000 * 3600 * SECOND:
        raise CommandError(f"{text} is too long", "run at most 1000h at a time")
    return int(value)


def exact_duration(us: int) -> str:
    """A duration `parse_duration` reads back as exactly `us` microseconds: 90s, 1500ms, 1234567us."""
    if us == 0:
        return "0s"
    for unit, size in (("h", 3600 * SECOND), ("m", 60 * SECOND), ("s", SECOND), ("ms", 1000)):
        if us % size == 0:
            return f"{us // size}{unit}"
    return f"{us}us"


def parse_percent(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)%?", text.strip())
    if not m or float(m.group(1)) > 100:
        raise CommandError(f"'{text}' is not a percentage", "type a number from 0 to 100, e.g. 10%")
    return float(m.group(1)) / 100


def parse_op(text: str) -> str:
    if text not in OPS:
        raise CommandError(f"'{text}' is not a comparison", "use one of == != >= <= > <")
    return text


def compare(a: float, op: str, b: float) -> bool:
    return {"==": a == b, "!=": a != b, ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}[op]


def parse_groups(tokens: list[str]) -> list[list[str]]:
    """`A,B | C,D` (or `A B | C D`) -> [['A','B'], ['C','D']]."""
    groups: list[list[str]] = [[]]
    for t in tokens:
        if t == "|":
            groups.append([])
        else:
            groups[-1].extend(x for x in t.split(",") if x)
    if any(not g for g in groups):
        raise CommandError("an empty group", "type groups like: A,B | C,D")
    return groups


def take_option(tokens: list[str], word: str) -> tuple[list[str], str | None]:
    """Remove `word VALUE` (e.g. `as pay1`, `fee 0.01`, `on B`) from tokens."""
    lowered = [t.lower() for t in tokens]
    if word in lowered:
        i = lowered.index(word)
        if i + 1 >= len(tokens):
            raise CommandError(f"'{word}' needs a value", f"e.g. {word} {'pay1' if word == 'as' else 'B' if word == 'on' else '0.001'}")
        value = tokens[i + 1]
        return tokens[:i] + tokens[i + 2:], value
    return tokens, None


def check_label(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]{0,31}", name) or name.upper() in ("LAST_TX", "LAST_BLOCK"):
        raise CommandError(f"'{name}' cannot be a label", "labels are a word like pay1 or fork_a")
    if len(name) >= 4 and all(c in "0123456789abcdef" for c in name.lower()):
        # a hash prefix names a block or transaction; a label must not shadow one
        raise CommandError(f"'{name}' cannot be a label: it reads as a hash prefix",
                           "use a word with a letter after f, like pay1 or fork_a")
    return name
