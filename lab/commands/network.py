"""Commands that change the network: links, partitions, cuts, latency, loss, topology, nodes.

Handlers return an Output (data); narration of what happened is added by the Session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.commands import reads
from lab.commands.builtin import NOTHING, need, usage
from lab.commands.parse import parse_duration, parse_groups, parse_int, parse_percent
from lab.errors import CommandError
from lab.render.output import Output, output
from lab.render.words import plural

if TYPE_CHECKING:
    from lab.commands.session import Session


async def cmd_relay(s: Session, args: list[str]) -> Output:
    lab = s.need_lab()
    if not args:
        return output(f"Relay: {reads.settings(lab).relay}.")
    need(args, "relay")
    lab.set_relay(args[0].lower())
    what = {"push": "a new tip block goes to every peer at once (one message a hop)",
            "inv": "a new block is announced (inv), asked for (getdata), then sent (block)"}
    return output(f"Relay {args[0].lower()}: {what[args[0].lower()]}.")


async def cmd_connect(s: Session, args: list[str]) -> Output:
    need(args, "connect")
    ok = await s.need_lab().connect(args[0], args[1])
    return NOTHING if ok else output(f"{args[0].upper()} and {args[1].upper()} are already connected.")


async def cmd_disconnect(s: Session, args: list[str]) -> Output:
    need(args, "disconnect")
    was = await s.need_lab().disconnect(args[0], args[1])
    return NOTHING if was else output(f"{args[0].upper()} and {args[1].upper()} were not connected.")


async def cmd_partition(s: Session, args: list[str]) -> Output:
    if "|" not in args:
        raise usage("partition", "a partition needs groups separated by |")
    await s.need_lab().partition(parse_groups(args))
    return NOTHING


async def cmd_heal(s: Session, args: list[str]) -> Output:
    await s.need_lab().heal()
    return NOTHING


async def cmd_cut(s: Session, args: list[str]) -> Output:
    words = [a for a in args if a != "->"]
    if len(words) != 2:
        raise usage("cut", "name two nodes")
    s.need_lab().cut(words[0], words[1])
    return NOTHING


async def cmd_latency(s: Session, args: list[str]) -> Output:
    lab = s.need_lab()
    if not args:
        raise usage("latency", "'latency' needs links and a duration")
    ms = parse_duration(args[-1]) / 1000
    if len(args) == 2 and args[0].lower() == "all":
        lab.set_all_latency(ms)
        return output(f"Every link now takes {ms:g} ms one way.")
    if "|" in args:
        groups = parse_groups(args[:-1])
        n = 0
        for i, ga in enumerate(groups):
            for gb in groups[i + 1:]:
                for a in ga:
                    for b in gb:
                        lab.set_latency(a, b, ms)
                        n += 1
        return output(f"{plural(n, 'link')} between the groups now take {ms:g} ms one way.")
    if len(args) != 3:
        raise usage("latency", "name two nodes and a duration")
    lab.set_latency(args[0], args[1], ms)
    return output(f"{args[0].upper()} <-> {args[1].upper()} now takes {ms:g} ms one way.")


async def cmd_loss(s: Session, args: list[str]) -> Output:
    need(args, "loss")
    p = parse_percent(args[2])
    s.need_lab().set_loss(args[0], args[1], p)
    return output(f"{args[0].upper()} <-> {args[1].upper()} now loses {p * 100:g}% of frames.")


async def cmd_topology(s: Session, args: list[str]) -> Output:
    need(args, "topology")
    kind = args[0].lower()
    k = parse_int(args[1], "peers per node", 1, 64) if len(args) > 1 else 3
    lab = s.need_lab()
    await lab.set_topology(kind, k)
    s.config.topology, s.config.k = kind, k
    return output(f"Topology {kind}{f' {k}' if kind == 'random' else ''}: {plural(reads.settings(lab).links, 'link')}.")


async def cmd_hold(s: Session, args: list[str]) -> Output:
    need(args, "hold")
    n = s.need_lab().hold(args[0], args[1])
    return output(f"Holding frames {args[0].upper()} -> {args[1].upper()}" + (f" ({n} already in flight)" if n else "")
                 + ".")


async def cmd_release(s: Session, args: list[str]) -> Output:
    need(args, "release")
    n = s.need_lab().release(args[0], args[1])
    return output(f"Released {n} frame{'s' if n != 1 else ''} {args[0].upper()} -> {args[1].upper()}.")


async def cmd_drop(s: Session, args: list[str]) -> Output:
    need(args, "drop")
    fid = parse_int(args[0].lstrip("#"), "message id", 1)
    f = reads.drop_frame(s.need_lab(), fid)
    if f is None:
        raise CommandError(f"no frame #{fid} in flight", "type `queue` to see the frames in flight")
    return output(f"Dropped #{fid}: {f.src} -> {f.dst} {f.summary}")


async def cmd_add_node(s: Session, args: list[str]) -> Output:
    node = await s.need_lab().add_node(args[0] if args else None)
    return output(f"{node.name} is listening (type `nodes` for its address).")


async def cmd_stop(s: Session, args: list[str]) -> Output:
    need(args, "stop")
    await s.need_lab().stop_node(args[0])
    return NOTHING


async def cmd_start(s: Session, args: list[str]) -> Output:
    need(args, "start")
    await s.need_lab().start_node(args[0])
    return NOTHING
