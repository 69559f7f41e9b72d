"""The lab's record: how it was built and every command that changed it, with virtual times.

The lab is deterministic: the same construction (seed, nodes, topology,
difficulty, latency) and the same command lines give the same bytes. So the
exact way to bring a lab back (`load`, `back`) is to build a new one from
the record and replay its commands, narration off. This module is that
record as plain data; lab/commands/saving.py replays it.

An entry is one command that changed the lab (views, `check` and the other
read-only commands are not recorded), the virtual time it started at, who
ran it ("you": typed; "lesson": run by the lesson engine: a step's setup, demo
or a skipped step's solution), and for a typed command inside a lesson the
lesson's own state just before it, so `back` can put the lesson back too.

A `mine NODE N` stopped by Ctrl-C is recorded as what it did: `mine NODE K`
for the K blocks found, without the network running on (`settle` false).
Some things cannot be replayed: virtual time that followed the wall clock
(`mode live`) and any other command stopped half way by Ctrl-C. The record keeps
where that first happened (`exact_upto`): the commands before it still
replay exactly, so `back` can return there, but the lab cannot be saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lab.language import LANGUAGE, tokenize

Json = Any

BY_YOU = "you"  # typed at the prompt, in a script or with -c
BY_LESSON = "lesson"  # run by the lesson engine (setup, demo, a skipped step's solution)


@dataclass(frozen=True, slots=True)
class Entry:
    """One command that changed the lab."""

    line: str  # the command, one per entry, as typed (`mine A 3 as x`)
    time_us: int  # virtual microseconds since the lab started, when it began
    by: str = BY_YOU  # BY_YOU or BY_LESSON
    lesson: Json = None  # a typed command inside a lesson: the lesson's state before it
    settle: bool = True  # False: stopped (Ctrl-C) before the network ran on; replay does not settle either

    def to_json(self) -> Json:
        out: dict[str, Json] = {"line": self.line, "time_us": self.time_us, "by": self.by}
        if self.lesson is not None:
            out["lesson"] = self.lesson
        if not self.settle:
            out["settle"] = False
        return out

    @classmethod
    def from_json(cls, value: Json) -> Entry:
        line, time_us, by = value["line"], value["time_us"], value.get("by", BY_YOU)
        if not isinstance(line, str) or not isinstance(time_us, int) or by not in (BY_YOU, BY_LESSON):
            raise ValueError(f"not a recorded command: {value!r}")
        words = tokenize(line)
        spec = LANGUAGE.find(words[0]) if words else None
        if spec is None or not spec.recorded:  # a hand-made record's `save ~/.bashrc` is never replayed
            raise ValueError(f"`{line[:40]}` is not a command the lab records")
        return cls(line, time_us, by, value.get("lesson"), value.get("settle", True) is not False)


@dataclass
class Recording:
    """The construction of the current lab and the commands since (see the module docstring)."""

    config: dict[str, Json]  # what Lab.create was given: nodes, topology, k, seed, difficulty, latency_ms, jitter
    entries: list[Entry] = field(default_factory=list)
    exact_upto: int | None = None  # entries[:exact_upto] replay exactly; None: all of them
    why_not: str = ""  # why the entry at exact_upto cannot be replayed
    since: int = 0  # entries[:since] came with the command that built this lab (`load`): `back` takes them back as one

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)

    def taint(self, why: str, at: int | None = None) -> None:
        """From entry `at` (default: the last one) on, replay is not exact; the first reason is kept."""
        index = len(self.entries) - 1 if at is None else at
        if self.exact_upto is None or index < self.exact_upto:
            self.exact_upto, self.why_not = max(index, 0), why

    @property
    def exact(self) -> bool:
        return self.exact_upto is None

    def typed(self) -> list[int]:
        """Indexes of the entries the learner typed since the lab was built (what `back` counts)."""
        return [i for i, e in enumerate(self.entries) if e.by == BY_YOU and i >= self.since]

    def copy(self) -> Recording:
        """The same record, to go on with in another lab."""
        return self.prefix(len(self.entries))

    def prefix(self, n: int) -> Recording:
        """The record of the lab before entry n."""
        exact = self.exact_upto if self.exact_upto is not None and self.exact_upto < n else None
        return Recording(dict(self.config), self.entries[:n], exact, self.why_not if exact is not None else "",
                         min(self.since, n))

    def to_json(self) -> Json:
        return {
            "config": self.config,
            "entries": [e.to_json() for e in self.entries],
            "exact_upto": self.exact_upto,
            "why_not": self.why_not,
        }

    @classmethod
    def from_json(cls, value: Json) -> Recording:
        config, entries = value["config"], value["entries"]
        if not isinstance(config, dict) or not isinstance(entries, list):
            raise ValueError("the record has no config or no entries")
        exact = value.get("exact_upto")
        return cls(dict(config), [Entry.from_json(e) for e in entries], exact if isinstance(exact, int) else None,
                   str(value.get("why_not", "")))
