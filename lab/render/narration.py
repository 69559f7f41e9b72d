"""Narration: the typed events of one command, merged into lines a learner can follow.

Per-node acceptances of one block (or one transaction) are merged by hash into
one line ("B, C and D accepted block 3 a1b2c3"), so a 20-node lab does not
flood the screen; everything else prints one line per event. The sentences
come from render/events.py; nothing here reads English back.
"""

from __future__ import annotations

from collections.abc import Reversible
from dataclasses import dataclass, field
from typing import Any

from lab import events as ev
from lab.chain.crypto import short_hex
from lab.events import Record
from lab.render.events import is_quiet, sentence
from lab.render.style import Styler
from lab.sched import SECOND


def fmt_time(us: int) -> str:
    """Virtual time since the lab started: +12.345s, +3m07.074s, +3h37m47s."""
    s = us / SECOND
    if s < 60:
        return f"+{s:.3f}s"
    if s < 3600:
        m, rest = divmod(s, 60)
        return f"+{int(m)}m{rest:06.3f}s"
    h, rest = divmod(int(s), 3600)
    m, sec = divmod(rest, 60)
    return f"+{h}h{m:02d}m{sec:02d}s"


def join_names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    if len(names) > 8:
        return ", ".join(names[:6]) + f" and {len(names) - 6} more"
    return ", ".join(names[:-1]) + " and " + names[-1]


def _merge_key(e: Any) -> tuple[str, bytes] | None:
    """Per-node lines about one block (new tip) or one relayed transaction merge into one."""
    t = type(e)
    if t is ev.BlockAccepted:
        return ("block", e.block)
    if t is ev.TxAccepted and e.origin == "relayed":
        return ("tx", e.tx)
    return None


def _merged_text(first: Any, names: list[str]) -> str:
    if type(first) is ev.BlockAccepted:
        return f"{join_names(names)} accepted block {first.height} {short_hex(first.block)}: new tip"
    many = len(names) > 1
    return (f"{join_names(names)} accepted transaction {short_hex(first.tx)} into "
            f"{'their mempools' if many else 'its mempool'}")


@dataclass
class Merged:
    """Every node's acceptance of one block or transaction: one line, each node's own arrival time kept."""

    first: Any  # the first such event
    arrivals: list[tuple[str, int]] = field(default_factory=list)  # (node, virtual µs), in arrival order

    @property
    def time(self) -> int:
        return self.arrivals[0][1]


def merge(records: list[Record]) -> list[Record | Merged]:
    """The records of one stretch, per-node acceptances merged by hash, quiet detail left out."""
    groups: dict[tuple[str, bytes], Merged] = {}
    out: list[Record | Merged] = []
    for r in records:
        e = r.event
        key = _merge_key(e)
        if key is not None:
            g = groups.get(key)
            if g is None:
                g = groups[key] = Merged(e)
                out.append(g)
            g.arrivals.append((e.node, r.time))
        elif not is_quiet(e) and sentence(e) is not None:
            out.append(r)
    return out


def summarize(entries: list[Record], styler: Styler, with_time: bool = False) -> list[str]:
    """One line per event, except that per-node acceptances of one object merge."""
    lines = []
    for item in merge(entries):
        if isinstance(item, Merged):
            kind, t = item.first.kind, item.time
            text = _merged_text(item.first, [n for n, _ in item.arrivals])
        else:
            kind, t, text = item.kind, item.time, sentence(item.event) or ""
        prefix = f"{fmt_time(t)} " if with_time else ""
        lines.append(styler.line(kind, prefix + text))
    return lines


def last_lines(records: Reversible[Record], n: int, styler: Styler) -> list[str]:
    """`log N`: the last N narrated records with their times, quiet detail included."""
    out: list[str] = []
    for r in reversed(records):
        if len(out) >= n:
            break
        text = sentence(r.event)
        if text is not None:
            out.append(styler.line(r.kind, f"{fmt_time(r.time)} {text}"))
    out.reverse()
    return out
