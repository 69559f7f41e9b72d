"""The fork tree: every block any node knows, drawn like `git log --graph`.

Each block shows its height and short hash; every node's tip is marked with
the node's name and each branch's end with its cumulative work; the most-work
chain is marked ★, stale branches are dimmed and invalid blocks crossed.
Long straight runs are folded ("┊ 40 blocks").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.chain.crypto import short_hex
from lab.render.style import Styler


@dataclass
class TreeBlock:
    hash: bytes
    parent: bytes | None
    height: int
    best: bool = False  # on the most-work chain
    invalid: bool = False  # some node found it invalid
    tips: list[str] = field(default_factory=list)  # nodes whose tip this is
    seen_by: int = 0  # how many nodes store it
    children: list[bytes] = field(default_factory=list)
    work: int = 0  # cumulative work of the chain ending here (expected hashes since genesis)
    tie: bool = False  # a branch tip with as much work as the best one: neither side has "less work"


def mark_ties(blocks: dict[bytes, TreeBlock]) -> list[TreeBlock]:
    """Mark valid branch tips that share the most work; returns them (empty: no tie)."""
    leaves = [b for b in blocks.values() if not b.children and not b.invalid]
    top = max((b.work for b in leaves), default=0)
    tied = [b for b in leaves if b.work == top]
    if len(tied) < 2:
        return []
    for b in tied:
        b.tie = True
    return sorted(tied, key=lambda b: (not b.best, b.hash))


def tie_line(tied: list[TreeBlock], ascii_only: bool = False) -> str:
    """'tie: A C on 1 b4e904 | B D on 1 87964b (the same work; each node keeps the one it saw first)'."""
    sides = [f"{' '.join(b.tips) or 'no node'} on {b.height} {short_hex(b.hash)}" for b in tied]
    return "tie: " + " | ".join(sides) + " (the same work; each node keeps the one it saw first)"


def render_tree(blocks: dict[bytes, TreeBlock], root: bytes, styler: Styler, fold: int = 4) -> list[str]:
    """Lines of the tree: each chain runs straight down; side branches hang off with ├─."""
    asc = styler.ascii_only
    tee, bar = ("|- ", "|  ") if asc else ("├─ ", "│  ")
    fold_glyph = ":" if asc else "┊"
    star = "*" if asc else "★"
    out: list[str] = []
    depth: dict[bytes, int] = {}

    def subtree_depth(h: bytes) -> int:  # longest path below h, iteratively
        order, stack = [], [h]
        while stack:
            x = stack.pop()
            order.append(x)
            stack.extend(blocks[x].children)
        for x in reversed(order):
            depth[x] = 1 + max((depth[c] for c in blocks[x].children), default=0)
        return depth[h]

    subtree_depth(root)

    def label(b: TreeBlock) -> str:
        text = f"{b.height:>4} {short_hex(b.hash)}"
        if b.tips:
            text += ("  <- " if asc else "  ◀ ") + " ".join(b.tips)
        if b.work and not b.children:
            text += f"  work {b.work:,}"
        if b.invalid:
            return styler.paint("block-rejected", text + ("  x invalid" if asc else "  ✗ invalid"))
        if b.tie:
            text += "  = tie, same work"
            return styler.bold(text) if b.tips else text
        if b.best and not b.children:
            text += f"  {star} most work"
        if not b.best:
            if not b.children:
                text += "  (less work)" if b.tips else "  (stale)"
            return styler.dim(text)
        return styler.bold(text) if b.tips else text

    def boring(b: TreeBlock) -> bool:
        return not b.tips and not b.invalid and len(b.children) == 1

    def walk(h: bytes, first: str, rest: str) -> None:
        while True:
            b = blocks[h]
            out.append(first + label(b))
            first = rest
            # fold a long straight run of plain blocks
            run = []
            cur = b
            while len(cur.children) == 1 and boring(blocks[cur.children[0]]):
                cur = blocks[cur.children[0]]
                run.append(cur)
            if len(run) > fold:
                out.append(rest + f"{fold_glyph}  {len(run)} blocks ({run[0].height}..{run[-1].height})")
                b = run[-1]
            if not b.children:
                return
            kids = sorted(b.children, key=lambda c: (not blocks[c].best, -depth[c], c))
            main, others = kids[0], kids[1:]
            for o in others:
                walk(o, rest + tee, rest + bar)
            h = main

    walk(root, "", "")
    return out
