"""Participant names and the fixed vocabulary of class control, with their wire encodings.

A name is an ASCII letter, then up to 11 ASCII letters, digits, `-` or `_`
(so it can name a node in a lab, and never reads as a number); node names
are case-insensitive, so no list holds one name twice in any case. The control
actions are the host's commands of issue 16 and nothing else:

    split      groups: count (2..8) x names: count (1..64) x name str
    heal       (empty)
    latency    names | names | delay_ms u32 (<= 60,000)
    autominer  on u8 (0/1) | interval_ms u32 (0 = the lab's default)

Each action is a frozen dataclass with `body()` / `read(r)`; the classctl
message (messages.py) numbers and signs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from lab.chain.serialize import Reader, ser_bytes, ser_compact_size, ser_u32
from lab.errors import ProtocolError

MAX_NAME_LEN = 12  # characters in a participant's name: the lab's limit for a node name
MAX_PARTICIPANTS = 64  # per class (the default)
MAX_GROUPS = 8  # groups one `class split` may make
MAX_DELAY_MS = 60_000  # the largest `class latency`

# a letter first, so a name never reads as an amount or a count in a command
_NAME = re.compile(rf"[A-Za-z][A-Za-z0-9_-]{{0,{MAX_NAME_LEN - 1}}}")


def check_name(name: str) -> str:
    """The name itself, or ValueError: an ASCII letter, then up to 11 letters, digits, - or _."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"bad participant name {name!r}: a letter, then letters, digits, - or _ "
                         f"({MAX_NAME_LEN} at most)")
    return name


def check_names(names: tuple[str, ...], limit: int, what: str, *, min_count: int = 0) -> tuple[str, ...]:
    """A tuple of valid names, none twice (case-insensitive), min_count..limit of them."""
    if not min_count <= len(names) <= limit:
        raise ValueError(f"{what}: {len(names)} names (allowed {min_count}..{limit})")
    seen: set[str] = set()
    for n in names:
        key = check_name(n).lower()
        if key in seen:
            raise ValueError(f"{what}: {n!r} named twice")
        seen.add(key)
    return names


def ser_name(name: str) -> bytes:
    return ser_bytes(name.encode("ascii"))


def read_name(r: Reader) -> str:
    raw = r.var_bytes(MAX_NAME_LEN)
    return check_name(raw.decode("ascii"))


def ser_names(names: tuple[str, ...]) -> bytes:
    return ser_compact_size(len(names)) + b"".join(ser_name(n) for n in names)


def read_names(r: Reader, limit: int, what: str) -> tuple[str, ...]:
    n = r.compact_size(1 << 25)
    if n > limit:
        raise ProtocolError(f"oversized {what}: {n} names (limit {limit})")
    return tuple(read_name(r) for _ in range(n))


def _flag(value: int, what: str) -> bool:
    if value not in (0, 1):
        raise ValueError(f"{what} must be 0 or 1, not {value}")
    return bool(value)


# --- the control vocabulary --------------------------------------------------------------------------------


class Action(IntEnum):
    """The fixed vocabulary of class control; nothing else can be asked of a student's lab."""

    SPLIT = 1
    HEAL = 2
    LATENCY = 3
    AUTOMINER = 4


@dataclass(frozen=True)
class Split:
    """`class split NAMES | NAMES ...`: groups that refuse each other until `heal`."""

    groups: tuple[tuple[str, ...], ...]  # 2..8 groups of 1..64 names, each name once

    action: ClassVar[Action] = Action.SPLIT

    def __post_init__(self) -> None:
        if not 2 <= len(self.groups) <= MAX_GROUPS:
            raise ValueError(f"a split needs 2..{MAX_GROUPS} groups, not {len(self.groups)}")
        for g in self.groups:
            check_names(g, MAX_PARTICIPANTS, "split group", min_count=1)
        check_names(tuple(n for g in self.groups for n in g), MAX_PARTICIPANTS, "split")

    def body(self) -> bytes:
        return ser_compact_size(len(self.groups)) + b"".join(ser_names(g) for g in self.groups)

    @classmethod
    def read(cls, r: Reader) -> Split:
        n = r.compact_size(1 << 25)
        if n > MAX_GROUPS:
            raise ProtocolError(f"oversized split: {n} groups (limit {MAX_GROUPS})")
        return cls(tuple(read_names(r, MAX_PARTICIPANTS, "split group") for _ in range(n)))

    def __str__(self) -> str:
        return "split " + " | ".join(" ".join(g) for g in self.groups)


@dataclass(frozen=True)
class Heal:
    """`class heal`: every group may reconnect."""

    action: ClassVar[Action] = Action.HEAL

    def body(self) -> bytes:
        return b""

    @classmethod
    def read(cls, r: Reader) -> Heal:
        return cls()

    def __str__(self) -> str:
        return "heal"


@dataclass(frozen=True)
class Latency:
    """`class latency NAMES | NAMES D`: one-way delay between two groups, in ms."""

    a: tuple[str, ...]
    b: tuple[str, ...]
    delay_ms: int  # u32, 0..60,000; 0 removes the delay

    action: ClassVar[Action] = Action.LATENCY

    def __post_init__(self) -> None:
        check_names(self.a, MAX_PARTICIPANTS, "latency group", min_count=1)
        check_names(self.b, MAX_PARTICIPANTS, "latency group", min_count=1)
        check_names(self.a + self.b, MAX_PARTICIPANTS, "latency")
        if not 0 <= self.delay_ms <= MAX_DELAY_MS:
            raise ValueError(f"latency {self.delay_ms} ms out of range 0..{MAX_DELAY_MS}")

    def body(self) -> bytes:
        return ser_names(self.a) + ser_names(self.b) + ser_u32(self.delay_ms)

    @classmethod
    def read(cls, r: Reader) -> Latency:
        a = read_names(r, MAX_PARTICIPANTS, "latency group")
        b = read_names(r, MAX_PARTICIPANTS, "latency group")
        return cls(a, b, r.u32())

    def __str__(self) -> str:
        return f"latency {' '.join(self.a)} | {' '.join(self.b)} {self.delay_ms}ms"


@dataclass(frozen=True)
class Autominer:
    """`class autominer on [INTERVAL] | off`: every participant's auto-miner."""

    on: bool
    interval_ms: int = 0  # u32; 0 = the lab's default interval

    action: ClassVar[Action] = Action.AUTOMINER

    def __post_init__(self) -> None:
        if not 0 <= self.interval_ms <= 0xFFFF_FFFF:
            raise ValueError(f"interval {self.interval_ms} ms out of range")
        if not self.on and self.interval_ms:
            raise ValueError("autominer off takes no interval")

    def body(self) -> bytes:
        return bytes((int(self.on),)) + ser_u32(self.interval_ms)

    @classmethod
    def read(cls, r: Reader) -> Autominer:
        return cls(_flag(r.u8(), "autominer flag"), r.u32())

    def __str__(self) -> str:
        if not self.on:
            return "autominer off"
        return "autominer on" + (f" {self.interval_ms}ms" if self.interval_ms else "")


Control = Split | Heal | Latency | Autominer
CONTROLS: dict[Action, type[Split] | type[Heal] | type[Latency] | type[Autominer]] = {
    Action.SPLIT: Split, Action.HEAL: Heal, Action.LATENCY: Latency, Action.AUTOMINER: Autominer,
}


