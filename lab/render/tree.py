"""The fork tree: every block any node knows, drawn like `git log --graph`.

Each block shows its height and short hash; every node's tip is marked with
the node's name; the most-work chain is marked ★, stale branches are dimmed
and invalid blocks crossed. Long straight runs are folded ("┊ 40 blocks").
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


def render_tree(blocks: dict[bytes, TreeBlock], root: bytes, styler: Styler, fold: int = 4) -> list[str]:
    asc = styler.ascii_only
    tee, elbow, pipe, space = ("|-", "`-", "| ", "  ") if asc else ("├─", "└─", "│ ", "  ")
    fold_glyph = ":" if asc else "┊"
    star = "*" if asc else "★"
    out: list[str] = []

    def label(b: TreeBlock) -> str:
        text = f"{b.height:>4} {short_hex(b.hash)}"
        if b.tips:
            text += "  <- " + " ".join(b.tips) if asc else "  ◀ " + " ".join(b.tips)
        if b.invalid:
            text += "  x invalid" if asc else "  ✗ invalid"
        elif b.best and not b.children:
            text += f"  {star} most work"
        elif not b.best:
            text += "  (stale)" if not any(blocks[c].best for c in b.children) else ""
        if b.invalid:
            return styler.paint("block-rejected", text)
        if b.best:
            return styler.bold(text) if b.tips else text
        return styler.dim(text)

    def interesting(b: TreeBlock) -> bool:
        return bool(b.tips) or b.invalid or len(b.children) != 1

    # iterative DFS: (hash, prefix, connector)
    stack: list[tuple[bytes, str, str]] = [(root, "", "")]
    while stack:
        h, prefix, conn = stack.pop()
        b = blocks[h]
        out.append(prefix + conn + label(b))
        child_prefix = prefix + ((pipe if conn == tee else space) if conn else "")
        # fold a long straight run
        run = []
        cur = b
        while len(cur.children) == 1 and not interesting(blocks[cur.children[0]]) and \
                len(blocks[cur.children[0]].children) == 1:
            cur = blocks[cur.children[0]]
            run.append(cur)
        if len(run) > fold:
            out.append(child_prefix + f"{fold_glyph}  {len(run)} blocks ({run[0].height}..{run[-1].height})")
            b = run[-1]
        kids = sorted(b.children, key=lambda c: (blocks[c].best, c))
        if len(kids) == 1 and len(run) <= fold:
            stack.append((kids[0], child_prefix, ""))
        elif len(kids) == 1:
            stack.append((kids[0], child_prefix, ""))
        else:
            # best branch drawn last (at the bottom), side branches first
            for i, c in enumerate(reversed(kids)):
                stack.append((c, child_prefix, elbow if i == 0 else tee))
    return out
