"""Narration: the log entries of one command, merged into lines a learner can follow.

Per-node acceptance lines for one block (or one transaction) are merged into
one line ("B, C and D accepted block 3 a1b2c3"), so a 20-node lab does not
flood the screen; everything else prints one line per event.
"""

from __future__ import annotations

import re
from typing import Any

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


# Per-node lines that merge into one: kind -> (pattern; group with the node name; the object)
_MERGE: dict[str, tuple[re.Pattern[str], str]] = {
    "block-accepted": (re.compile(r"^(?P<node>\S+) accepted (?P<obj>block \S+ \S+) from \S+: new tip$"), "new tip"),
    "tx-accepted": (re.compile(r"^(?P<node>\S+) accepted (?P<obj>transaction \S+) from \S+ into its mempool$"), "mempool"),
}


def _merged_text(kind: str, obj: str, names: list[str]) -> str:
    if kind == "block-accepted":
        return f"{join_names(names)} accepted {obj}: new tip"
    many = len(names) > 1
    return f"{join_names(names)} accepted {obj} into {'their mempools' if many else 'its mempool'}"


def summarize(entries: list[Any], styler: Styler, with_time: bool = False) -> list[str]:
    """One line per event, except that per-node acceptances of one object merge."""
    groups: dict[tuple[str, str], tuple[int, list[str]]] = {}  # (kind, object) -> (time, node names)
    order: list[Any] = []  # entries and (kind, object) group keys, in first-seen order
    for e in entries:
        rule = _MERGE.get(e.kind)
        mt = rule[0].match(e.text) if rule else None
        if mt:
            key = (e.kind, mt.group("obj"))
            if key not in groups:
                groups[key] = (e.time, [])
                order.append(key)
            groups[key][1].append(mt.group("node"))
        elif not e.quiet:
            order.append(e)
    lines = []
    for item in order:
        if isinstance(item, tuple):
            kind, obj = item
            t, names = groups[item]
            text = _merged_text(kind, obj, names)
        else:
            kind, t, text = item.kind, item.time, item.text
        prefix = f"{fmt_time(t)} " if with_time else ""
        lines.append(styler.line(kind, prefix + text))
    return lines
