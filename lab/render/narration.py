"""Narration: the typed events of one command, merged into lines a learner can follow.

Per-node acceptances of one block (or one transaction) are merged by hash into
one line ("B, C and D accepted block 3 a1b2c3"), so a 20-node lab does not
flood the screen; everything else prints one line per event. The sentences
come from render/events.py; nothing here reads English back.
"""

from __future__ import annotations

from collections.abc import Reversible
from dataclasses import dataclass, field
from typing import Any, cast

from lab import events as ev
from lab.chain.crypto import short_hex
from lab.events import Record
from lab.render.events import is_quiet, sentence
from lab.render.style import Styler
from lab.render.words import plural
from lab.sched import SECOND

__all__ = ["Merged", "fmt_time", "join_names", "last_lines", "merge", "plural", "summarize"]


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


def timed_names(arrivals: list[tuple[str, int]]) -> str:
    """Each node with its own arrival time: "C +1.092s, D +1.392s and E +1.692s" (long lists cut with …)."""
    shown = [f"{n} {fmt_time(t)}" for n, t in arrivals]
    if len(shown) > 8:
        last = arrivals[-1]
        return ", ".join(shown[:6]) + f", … and {len(shown) - 6} more (the last, {last[0]}, {fmt_time(last[1])})"
    return join_names(shown)


def _merged_text(first: Any, arrivals: list[tuple[str, int]], with_time: bool) -> tuple[str, bool]:
    """The merged line, and whether it carries its own times: with times, each node keeps its own
    arrival time unless they all arrived at once."""
    names = [n for n, _ in arrivals]
    timed = with_time and len({t for _, t in arrivals}) > 1
    who = timed_names(arrivals) if timed else join_names(names)
    if type(first) is ev.BlockAccepted:
        return f"{who} accepted block {first.height} {short_hex(first.block)}: new tip", timed
    many = len(names) > 1
    return (f"{who} accepted transaction {short_hex(first.tx)} into "
            f"{'their mempools' if many else 'its mempool'}"), timed


@dataclass
class Merged:
    """Every node's acceptance of one block or transaction: one line, each node's own arrival time kept."""

    first: Any  # the first such event
    arrivals: list[tuple[str, int]] = field(default_factory=list)  # (node, virtual µs), in arrival order

    @property
    def time(self) -> int:
        return self.arrivals[0][1]


def merge(records: list[Record]) -> list[Record | Merged]:
    """The records of one stretch, per-node acceptances merged by hash, quiet detail left out.

    Lines keep causal order: a node's acceptance joins an earlier merged line only if
    nothing was said about that node since (a reorg comes before the new tip it causes).
    """
    groups: dict[tuple[str, bytes], int] = {}  # key -> index in out of its open merged line
    last_said: dict[str, int] = {}  # node -> index in out of the last line about it
    out: list[Record | Merged] = []
    for r in records:
        e = r.event
        key = _merge_key(e)
        if key is not None:
            at = groups.get(key)
            if at is None or last_said.get(e.node, -1) > at:
                at = groups[key] = len(out)
                out.append(Merged(e))
            cast(Merged, out[at]).arrivals.append((e.node, r.time))
            last_said[e.node] = at
        elif not is_quiet(e) and sentence(e) is not None:
            node = getattr(e, "node", None)
            if isinstance(node, str):
                last_said[node] = len(out)
            out.append(r)
    return out


def summarize(entries: list[Record], styler: Styler, with_time: bool = False) -> list[str]:
    """One line per event, except that per-node acceptances of one object merge."""
    lines = []
    for item in merge(entries):
        if isinstance(item, Merged):
            kind, t = item.first.kind, item.time
            text, timed = _merged_text(item.first, item.arrivals, with_time)
        else:
            kind, t, text, timed = item.kind, item.time, sentence(item.event) or "", False
        prefix = f"{fmt_time(t)} " if with_time and not timed else ""
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
