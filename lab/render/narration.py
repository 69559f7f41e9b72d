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


_ACCEPT = re.compile(r"^(\S+) accepted block (\S+) (\S+) from (\S+): new tip$")
_TX = re.compile(r"^(\S+) accepted transaction (\S+) from (\S+) into its mempool$")


def summarize(entries: list[Any], styler: Styler, with_time: bool = False) -> list[str]:
    lines: list[str] = []
    merged: dict[tuple[str, str], int] = {}  # (kind, object) -> index into groups
    groups: list[tuple[str, str, list[str], str, int]] = []  # kind, key, names, suffix, time
    order: list[tuple[str, Any]] = []
    for e in entries:
        if e.kind == "block-accepted":
            mt = _ACCEPT.match(e.text)
            if mt:
                key = ("block", f"block {mt.group(2)} {mt.group(3)}")
                if key not in merged:
                    merged[key] = len(groups)
                    groups.append(("block-accepted", key[1], [], "", e.time))
                    order.append(("group", merged[key]))
                groups[merged[key]][2].append(mt.group(1))
                continue
        if e.kind == "tx-accepted" and e.quiet:
            mt = _TX.match(e.text)
            if mt:
                key = ("tx", f"transaction {mt.group(2)}")
                if key not in merged:
                    merged[key] = len(groups)
                    groups.append(("tx-accepted", key[1], [], "", e.time))
                    order.append(("group", merged[key]))
                groups[merged[key]][2].append(mt.group(1))
                continue
        if e.quiet:
            continue
        order.append(("entry", e))
    for what, item in order:
        if what == "entry":
            text = item.text
            t = item.time
            kind = item.kind
        else:
            kind, obj, names, _suffix, t = groups[item]
            if kind == "block-accepted":
                text = f"{join_names(names)} accepted {obj}: new tip"
            else:
                text = f"{join_names(names)} accepted {obj} into {'its' if len(names) == 1 else 'their'} mempool{'s' if len(names) > 1 else ''}"
        prefix = f"{fmt_time(t)} " if with_time else ""
        lines.append(styler.line(kind, prefix + text))
    return lines
