"""What a command hands back, as data, and the one renderer that turns it into text.

A handler returns an `Output`: pieces to show (plain lines, styled lines,
tables, the fork tree, a check's outcome) and whether the learner asked to
quit. `render` is the only place those pieces become characters, so a
handler can be tested on its data and the same data can later become a
chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.language.outcomes import CheckOutcome
from lab.render.style import Styler
from lab.render.tables import table
from lab.render.trace import render_trace
from lab.render.tree import TreeBlock, mark_ties, render_tree, tie_line
from lab.world.queries import Propagation


@dataclass(frozen=True, slots=True)
class Line:
    """One line in a style: "bold", "dim", or a narration kind ("frame", "ok", an event kind: glyph + colour)."""

    text: str
    style: str
    tail: str = ""  # unstyled text after the styled part, on the same line


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


@dataclass(frozen=True, slots=True)
class Tree:
    """The fork tree: every block some node knows, from `root` (genesis)."""

    blocks: dict[bytes, TreeBlock]
    root: bytes


@dataclass(frozen=True, slots=True)
class Trace:
    """`trace NAME`: the propagation tree of one block or transaction."""

    title: str  # e.g. "b1 (block 1 288f01)"
    propagation: Propagation


@dataclass(frozen=True, slots=True)
class Check:
    """`check PREDICATE` and how it came out."""

    predicate: str  # as typed, e.g. "height A >= 3"
    outcome: CheckOutcome


Piece = str | Line | Table | Tree | Trace | Check


@dataclass(frozen=True, slots=True)
class Output:
    """What a handler returns: pieces to show, in order, and whether to leave."""

    pieces: tuple[Piece, ...] = field(default_factory=tuple)
    quit: bool = False
    done_as: str | None = None  # the command that does what this one did, when Ctrl-C cut it short (the record)

    @property
    def check_failed(self) -> bool:
        return any(isinstance(p, Check) and not p.outcome.ok for p in self.pieces)


def output(*pieces: Piece) -> Output:
    return Output(tuple(pieces))


def render(r: Output, styler: Styler) -> list[str]:
    """The lines an output shows, in this styler's colours and glyphs."""
    lines: list[str] = []
    for p in r.pieces:
        lines += render_piece(p, styler)
    return lines


def render_piece(p: Piece, styler: Styler) -> list[str]:
    if isinstance(p, str):
        return [p]
    if isinstance(p, Line):
        if p.style == "bold":
            return [styler.bold(p.text) + p.tail]
        if p.style == "dim":
            return [styler.dim(p.text) + p.tail]
        return [styler.line(p.style, p.text) + p.tail]
    if isinstance(p, Table):
        return table(p.headers, p.rows).splitlines()
    if isinstance(p, Tree):
        legend = ("<- node tips   * most-work chain   (stale) lost a race" if styler.ascii_only
                  else "◀ node tips   ★ most-work chain   (stale) lost a race")
        tied = mark_ties(p.blocks)
        extra = [tie_line(tied, styler.ascii_only)] if tied else []
        return [*render_tree(p.blocks, p.root, styler), *extra, styler.dim(legend)]
    if isinstance(p, Trace):
        return render_trace(p.propagation, p.title, styler)
    out = p.outcome
    if out.ok:
        return [styler.line("ok", f"check {p.predicate}: {out.found}")]
    return [styler.line("fail", f"check {p.predicate}"), f"  expected: {out.expected}", f"  found:    {out.found}"]


def render_error(message: str, hint: str, styler: Styler, *, paint_hint: bool = True) -> str:
    """A failed command: one line saying what went wrong, then what to type instead."""
    shown = styler.line("error", message)
    if hint:
        shown += "\n  " + (styler.paint("hint", hint) if paint_hint else hint)
    return shown
