"""Commands that explain: why a node is on its tip, the log, frames in flight, one frame's bytes.

Every read goes through lab/commands/reads.py; handlers return data (an Output).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from lab.chain.crypto import hash_hex, short_hex
from lab.commands import reads
from lab.commands.builtin import fit, usage
from lab.commands.parse import parse_int
from lab.commands.predicates import why_behind
from lab.commands.views import table
from lab.errors import CommandError
from lab.net.messages import decode_message
from lab.render.events import reorg_change, sentence
from lab.render.narration import fmt_time
from lab.render.output import Line, Output, Piece, Trace, output
from lab.render.tables import hexdump
from lab.render.trace import trimmed_note
from lab.world.queries import chatter

if TYPE_CHECKING:
    from lab.chain.chainstate import BlockIndex
    from lab.commands.session import Session
    from lab.net.node import Node


async def cmd_explain(s: Session, args: list[str]) -> Output:
    lab = s.need_lab()
    nodes = [reads.node(lab, args[0])] if args else reads.nodes(lab)
    lines: list[Piece] = []
    for node in nodes:
        tip = reads.tip(node)
        tips = _leaves(node)
        lines.append(Line(f"{node.name} is on block {tip.height} {short_hex(tip.hash)}", "bold",
                          f" with total work {tip.chain_work:,} (expected hashes since genesis)."))
        others = [t for t in tips if t is not tip]
        if not others:
            lines.append("  It knows no competing branch: its chain is the only one it has seen.")
        for t in others[:4]:
            rel = "less" if t.chain_work < tip.chain_work else "the same" if t.chain_work == tip.chain_work else "MORE"
            why = ("so it stays where it is" if rel == "less" else
                   "and it saw its own tip first, so it keeps it (first seen wins a tie)" if rel == "the same" else
                   "but some of its blocks are missing or invalid")
            lines.append(f"  It also knows a branch ending at {t.height} {short_hex(t.hash)} with {rel} work "
                         f"({t.chain_work:,}), {why}.")
        failed = [i for i in reads.block_index(node).values() if i.failed]
        if failed:
            lines.append(f"  It refused {len(failed)} invalid block{'s' if len(failed) != 1 else ''}, "
                         "whatever their work.")
        held = reads.withheld(node)
        if held:
            lines.append(f"  It withholds {len(held)} block{'s' if len(held) != 1 else ''} it mined: no other node "
                         "has seen them.")
        last = reads.last_reorg(lab, node.name)
        if last:
            lines.append(f"  Its last reorg ({fmt_time(last.time)}): {reorg_change(last.event)}.")
        best = reads.best_tip_node(lab)
        if reads.tip(best).chain_work > tip.chain_work:
            why = why_behind(lab, node)
            lines.append(f"  {best.name} has a chain with more work that {node.name} has not got"
                         + (f": {why}." if why else " yet."))
    return Output(tuple(lines))


def _leaves(node: Node) -> list[BlockIndex]:
    index = reads.block_index(node)
    parents = {i.parent.hash for i in index.values() if i.parent is not None and i.have_data and not i.failed}
    leaves = [i for i in index.values() if i.have_data and not i.failed and i.hash not in parents]
    return sorted(leaves, key=lambda i: (-i.chain_work, i.seq))


async def cmd_trace(s: Session, args: list[str]) -> Output:
    if not fit(args, "trace"):
        raise usage("trace", "name one block or transaction, e.g. `trace b1` or `trace LAST_TX`")
    lab = s.need_lab()
    label = reads.resolve(lab, args[0])
    if label.kind == "block":
        heights = [i.height for n in reads.nodes(lab) if (i := reads.block_index(n).get(label.hash)) is not None]
        what = f"block {heights[0]} {short_hex(label.hash)}" if heights else f"block {short_hex(label.hash)}"
    else:
        what = "tx " + short_hex(label.hash)
    title = what if args[0].lower() == short_hex(label.hash)[:len(args[0])] else f"{args[0]} ({what})"
    p = reads.propagation(lab, label.kind, label.hash)
    p = dataclasses.replace(p, chatter=chatter(reads.frame_history(lab), label.hash, p.first))
    return output(Trace(title, p))


async def cmd_log(s: Session, args: list[str]) -> Output:
    n = parse_int(args[0], "entries", 1, 100_000) if args else 20
    lines: list[Piece] = []
    for r in reversed(reads.log(s.need_lab())):  # the last n narrated records, quiet detail included
        if len(lines) >= n:
            break
        text = sentence(r.event)
        if text is not None:
            lines.append(Line(f"{fmt_time(r.time)} {text}", r.kind))
    log = reads.log(s.need_lab())
    if len(lines) < n and log.dropped:
        lines.append(Line(trimmed_note(log.limit), "dim"))
    if not lines:
        return output("(nothing yet)")
    return Output(tuple(reversed(lines)))


async def cmd_queue(s: Session, args: list[str]) -> Output:
    flights = reads.flights_by_arrival(s.need_lab())
    if not flights:
        return output("Nothing in flight.")
    rows: list[list[object]] = [
        [f"#{f.id}", f"{f.src} -> {f.dst}", f.command, f.summary.split(" ", 1)[1] if " " in f.summary else "",
         fmt_time(f.due) if f.due is not None else "held"] for f in flights[:200]]
    pieces: list[Piece] = [table(["id", "link", "type", "summary", "arrives"], rows)]
    if len(flights) > 200:
        pieces.append(f"... and {len(flights) - 200} more")
    pieces.append("`step` delivers the next; `msg ID` shows one; `drop ID` loses one.")
    return Output(tuple(pieces))


async def cmd_msg(s: Session, args: list[str]) -> Output:
    if not fit(args, "msg"):
        raise usage("msg", "name one frame id (see `queue`)")
    fid = parse_int(args[0].lstrip("#"), "message id", 1)
    f = reads.frame(s.need_lab(), fid)
    if f is None:
        raise CommandError(f"no frame #{fid}", "type `queue` to see frames in flight")
    msg = decode_message(f.command, f.frame[24:])
    lines: list[Piece] = [
        Line(f"#{f.id} {f.src} -> {f.dst} {f.command} ({f.status})", "bold"),
        f"  sent {fmt_time(f.sent)}" + (f", arrives {fmt_time(f.due)}" if f.due is not None else ""),
        f"  header: magic {f.frame[:4].hex()} command {f.command!r} length {len(f.frame) - 24} "
        f"checksum {f.frame[20:24].hex()}"]
    for name, value in (vars(msg).items() if msg is not None and hasattr(msg, "__dict__") else []):
        lines.append(f"  {name}: {_field(value)[:300]}")
    lines += ["  " + x for x in hexdump(f.frame)]
    return Output(tuple(lines))


def _field(value: object) -> str:
    """A message field as a learner reads it: hashes as Bitcoin shows them."""
    if isinstance(value, bytes):
        return hash_hex(value) if len(value) == 32 else value.hex()
    if isinstance(value, tuple):
        shown = [_field(x) if isinstance(x, bytes) else repr(x) for x in value[:6]]
        more = f", ... {len(value) - 6} more" if len(value) > 6 else ""
        return f"[{', '.join(shown)}{more}]"
    return repr(value)
