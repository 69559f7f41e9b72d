"""The propagation tree of `trace NAME`: every node, whom it first had it from, and when.

Drawn like the fork tree: a node's children are the nodes that first got the
block or transaction from it. Each line shows the node's own virtual arrival
time, its hops from the origin and the delay since its parent had it.
"""

from __future__ import annotations

from lab.render.narration import fmt_time
from lab.render.style import Styler
from lab.world.queries import Heard, Propagation


def _delay(us: int) -> str:
    return f"{us / 1_000_000:.3f}s"


def render_trace(p: Propagation, title: str, styler: Styler) -> list[str]:
    asc = styler.ascii_only
    tee, last, bar, gap = ("|- ", "`- ", "|  ", "   ") if asc else ("├─ ", "└─ ", "│  ", "   ")
    by_node = {h.node: h for h in p.heard}
    children: dict[str | None, list[Heard]] = {}
    for h in p.heard:
        parent = h.peer if h.peer in by_node and h.hops > 0 else None
        children.setdefault(parent, []).append(h)
    what = ("forged by" if p.forged else "mined by") if p.kind == "block" else "made by the wallet of"
    head = f"{title}: {what} {p.origin}" if p.origin else title
    if p.start is not None:
        head += f" at {fmt_time(p.start)}"
    out = [styler.bold(head)]

    def label(h: Heard) -> str:
        if h.peer is None or h.hops == 0:
            if p.kind == "block" and h.node == p.origin:
                how = "mined it"
            elif p.kind == "tx" and h.node == p.origin:
                how = "its own wallet's"
            elif p.origin is not None and p.kind == "tx":
                how = f"handed to it by {p.origin}'s wallet"
            else:
                how = "first had it" if h.peer is None else f"from {h.peer}"
            return f"{h.node}  {fmt_time(h.time)}  {how}"
        parent = by_node[h.peer]
        hops = f"{h.hops} hop{'s' if h.hops != 1 else ''}"
        return f"{h.node}  {fmt_time(h.time)}  from {h.peer}, {hops}, {_delay(h.time - parent.time)} after {h.peer}"

    def walk(h: Heard, first: str, rest: str) -> None:
        out.append(first + label(h))
        kids = children.get(h.node, [])
        for i, k in enumerate(kids):
            end = i == len(kids) - 1
            walk(k, rest + (last if end else tee), rest + (gap if end else bar))

    for root in children.get(None, []):
        walk(root, "", "")
    if p.heard:
        spread = max(h.time for h in p.heard) - (p.start if p.start is not None else p.heard[0].time)
        deepest = max(h.hops for h in p.heard)
        out.append(styler.dim(f"{len(p.heard)} node{'s' if len(p.heard) != 1 else ''} had it within "
                              f"{_delay(spread)}, at most {deepest} hop{'s' if deepest != 1 else ''} from "
                              "where it started."))
    else:
        out.append(styler.dim("No node has it."))
    if p.chatter is not None and p.chatter.counts:
        c = p.chatter
        line = "Frames about it: " + ", ".join(f"{n} {cmd}" for cmd, n in c.counts)
        if c.unasked:
            line += f"; {c.unasked} inv not answered (the node had it or had asked another peer)"
        if c.unneeded:
            line += f"; {c.unneeded} {'copies' if c.unneeded != 1 else 'copy'} reached a node that already had it"
        out.append(styler.dim(line + "."))
    if p.refused:
        out.append("Refused by " + ", ".join(f"{n} ({code})" for n, code in p.refused) + ".")
    if p.missing:
        out.append(styler.dim("Not (yet) had it: " + ", ".join(p.missing) + "."))
    if p.trimmed is not None:
        out.append(styler.dim(trimmed_note(p.trimmed)))
    return out


def trimmed_note(limit: int) -> str:
    return f"Older records were dropped: the log keeps the last {limit:,}."
