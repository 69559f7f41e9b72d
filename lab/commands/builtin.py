"""The lab's commands: mining, payments, the network, pacing, checks.

Each handler takes the Session and the words after the command name and
returns a Result; narration of what happened is added by the Session.
"""

from __future__ import annotations

import dataclasses

from lab.chain.amount import format_amount
from lab.chain.crypto import short_hex
from lab.commands import predicates
from lab.commands.parse import (
    check_label,
    parse_amount,
    parse_duration,
    parse_groups,
    parse_int,
    parse_percent,
    take_option,
)
from lab.commands.registry import REGISTRY, command, lookup, usage_error
from lab.commands.session import Result, Session
from lab.errors import CommandError
from lab.params import MAX_DIFFICULTY, MIN_DIFFICULTY
from lab.render.narration import fmt_time

NODE = "node"


def _need(s: Session, args: list[str], n: int, name: str, at_most: int | None = None) -> None:
    cmd = lookup(name)
    if len(args) < n:
        raise usage_error(cmd, f"'{name}' needs {n} argument{'s' if n != 1 else ''}")
    if at_most is not None and len(args) > at_most:
        raise usage_error(cmd, f"'{name}' takes at most {at_most} argument{'s' if at_most != 1 else ''}, got {len(args)}")


# -- general ---------------------------------------------------------------------------------
@command("help", "help [COMMAND]", "list commands, or explain one", aliases=("?",), category="meta",
         args=("command",), settles=False)
async def cmd_help(s: Session, args: list[str]) -> Result:
    if args:
        cmd = lookup(args[0])
        lines = [s.styler.bold(cmd.usage), f"  {cmd.summary}"]
        if cmd.help:
            lines += ["", *["  " + x for x in cmd.help.strip().splitlines()]]
        if cmd.aliases:
            lines.append(f"  aliases: {', '.join(cmd.aliases)}")
        if cmd.examples:
            lines += ["  examples:", *[f"    {e}" for e in cmd.examples]]
        if cmd.name == "check":
            lines += ["  predicates:"] + [f"    {u}" for u, _ in predicates.PREDICATES.values()]
        return Result(lines)
    cats: dict[str, list] = {}
    for c in REGISTRY.values():
        cats.setdefault(c.category, []).append(c)
    order = [("lab", "Mining and payments"), ("view", "Looking around"), ("network", "The network"),
             ("pace", "Time and pacing"), ("lesson", "Lessons"), ("meta", "The lab")]
    lines = []
    for key, title in order:
        if key in cats:
            lines.append(s.styler.bold(title))
            for c in cats[key]:
                lines.append(f"  {c.usage:<34} {c.summary}")
    lines.append("Type `help COMMAND` for details. `#` starts a comment, `;` separates commands.")
    return Result(lines)


@command("quit", "quit", "leave the lab", aliases=("exit",), category="meta", settles=False)
async def cmd_quit(s: Session, args: list[str]) -> Result:
    return Result(quit=True)


@command("seed", "seed N", "start a fresh lab with this seed (same nodes and topology)", category="meta", settles=False)
async def cmd_seed(s: Session, args: list[str]) -> Result:
    _need(s, args, 1, "seed", 1)
    seed = parse_int(args[0], "seed", 0, 2**32)
    cfg = s.config
    await s.rebuild(dataclasses.replace(cfg, seed=seed))
    return Result([f"A fresh lab with seed {seed}: {len(s.lab.nodes)} nodes, {cfg.topology}."])


@command("reset", "reset", "start the lab again from its seed (or restart the lesson)", category="meta", settles=False)
async def cmd_reset(s: Session, args: list[str]) -> Result:
    if s.lesson is not None:
        return Result([(await s.lesson.reset()).text])
    await s.rebuild()
    return Result([f"A fresh lab with seed {s.config.seed}: {len(s.lab.nodes)} nodes, {s.config.topology}."])


# -- mining and payments ---------------------------------------------------------------------
@command("mine", "mine NODE [N] [as NAME]", "NODE finds N blocks now (real proof of work)",
         args=(NODE,), examples=("mine A", "mine B 3", "mine C as fork1"))
async def cmd_mine(s: Session, args: list[str]) -> Result:
    args, label = take_option(args, "as")
    _need(s, args, 1, "mine", 2)
    n = parse_int(args[1], "blocks", 1, 1000) if len(args) > 1 else 1
    if label:
        check_label(label)
    await s.lab.mine(args[0], n, label)
    return Result()


@command("send", "send FROM TO AMOUNT [fee F] [as NAME]", "FROM pays AMOUNT coins to TO's address",
         args=(NODE, NODE), examples=("send A B 10", "send A C 2.5 fee 0.01 as pay1",
                                      "send A D 10 via D conflicting pay1 as twin   # a double spend"),
         help="Options: `fee F` (default 0.0001), `as NAME` (a label for later commands),\n"
              "`via NODE` (the wallet hands the transaction to NODE instead of its own node),\n"
              "`conflicting NAME` (spend exactly the coins of the earlier payment NAME: a double spend).")
async def cmd_send(s: Session, args: list[str]) -> Result:
    args, label = take_option(args, "as")
    args, fee_text = take_option(args, "fee")
    args, via = take_option(args, "via")
    args, conflicting = take_option(args, "conflicting")
    _need(s, args, 3, "send", 3)
    amount = parse_amount(args[2])
    fee = parse_amount(fee_text) if fee_text is not None else None
    if label:
        check_label(label)
    tx = await s.lab.send(args[0], args[1], amount, fee, label, via=via, conflicting=conflicting)
    return Result([f"{args[0].upper()} signed transaction {short_hex(tx.txid)}: {format_amount(amount)} to "
                   f"{args[1].upper()}" + (f" as {label}" if label else "")])


@command("forge", "forge NODE RULE", "NODE mines a block that breaks RULE and sends it to its peers",
         args=(NODE, "rule"), help="RULE: overpay, double-spend, bad-signature, bad-merkle, future-time, bad-pow.\n"
         "Watch every honest node check the block on its own, reject it, and disconnect the forger.")
async def cmd_forge(s: Session, args: list[str]) -> Result:
    from lab.chain.node_state import FORGE_RULES
    args, label = take_option(args, "as")
    _need(s, args, 2, "forge", 2)
    rule = args[1].lower()
    if rule not in FORGE_RULES:
        raise CommandError(f"unknown rule '{args[1]}'", "rules: " + ", ".join(FORGE_RULES))
    await s.lab.forge(args[0], rule, label)
    return Result()


@command("autominer", "autominer on [INTERVAL] | autominer off", "let nodes mine on their own as virtual time passes",
         args=("word:on|off",), examples=("autominer on", "autominer on 1m"),
         help="Each node finds blocks at random (exponential waits, from the seed) in proportion to its\n"
              "hashrate share, so the whole network averages one block per INTERVAL (default 10m).")
async def cmd_autominer(s: Session, args: list[str]) -> Result:
    _need(s, args, 1, "autominer", 2)
    word = args[0].lower()
    if word not in ("on", "off") or (word == "off" and len(args) > 1):
        raise usage_error(lookup("autominer"), f"'{' '.join(args)}' is not on, on INTERVAL or off")
    if len(args) > 1:
        interval = parse_duration(args[1])
        if interval < 1_000_000:
            raise CommandError("the block interval must be at least 1s", "e.g. autominer on 1m")
        s.lab.block_interval = interval
    on = word == "on"
    s.lab.set_autominer(on)
    every = fmt_time(s.lab.block_interval)[1:]
    return Result([f"Auto-mining {'on: one block every ~' + every + ' (virtual) across the network' if on else 'off'}."
                   + (" Type `run 30m` to let time pass." if on and s.lab.mode != "live" else "")])


@command("hashrate", "hashrate NODE PERCENT", "set NODE's share of the mining power", args=(NODE,))
async def cmd_hashrate(s: Session, args: list[str]) -> Result:
    _need(s, args, 2, "hashrate", 2)
    share = parse_percent(args[1])
    s.lab.set_hashrate(args[0], share)
    total = sum(s.lab.hashrate.values())
    lines = [f"{n}: {100 * v / total:.0f}%" if total else f"{n}: 0%" for n, v in s.lab.hashrate.items()]
    return Result(["Hashrate shares: " + ", ".join(lines)])


@command("difficulty", "difficulty BITS", "proof of work for new blocks: hashes must start with BITS zero bits",
         help="16 bits means about 65,536 tries per block. Takes effect from the next block height,\n"
              "like a rule change with an activation height.")
async def cmd_difficulty(s: Session, args: list[str]) -> Result:
    if not args:
        d = s.lab.consensus.difficulty_at(max(n.state.chain.tip.height for n in s.lab.nodes.values()) + 1)
        return Result([f"Difficulty: {d} zero bits (about {2 ** d:,} tries per block)."])
    bits = parse_int(args[0], "zero bits", MIN_DIFFICULTY, MAX_DIFFICULTY)
    h = s.lab.set_difficulty(bits)
    return Result([f"From height {h} on, a block hash must start with {bits} zero bits (about {2 ** bits:,} tries)."])


# -- the network -------------------------------------------------------------------------------
@command("relay", "relay push|inv", "how nodes pass on a new block: push it whole, or announce it first",
         category="network", args=("word:push|inv",),
         help="push (the default): a node that gets a new tip sends the whole block to its peers at once,\n"
              "  as Bitcoin Core does with compact blocks to its high-bandwidth peers (BIP 152): one message a hop.\n"
              "inv: the node announces the block (inv); a peer that lacks it asks (getdata) and gets it (block):\n"
              "  three messages a hop, the classic relay, easy to watch in `mode step`.")
async def cmd_relay(s: Session, args: list[str]) -> Result:
    if not args:
        return Result([f"Relay: {s.lab.relay}."])
    _need(s, args, 1, "relay", 1)
    s.lab.set_relay(args[0].lower())
    what = {"push": "a new tip block goes to every peer at once (one message a hop)",
            "inv": "a new block is announced (inv), asked for (getdata), then sent (block)"}
    return Result([f"Relay {args[0].lower()}: {what[args[0].lower()]}."])


@command("connect", "connect A B", "open a connection between A and B", category="network", args=(NODE, NODE))
async def cmd_connect(s: Session, args: list[str]) -> Result:
    _need(s, args, 2, "connect", 2)
    ok = await s.lab.connect(args[0], args[1])
    return Result([] if ok else [f"{args[0].upper()} and {args[1].upper()} are already connected."])


@command("disconnect", "disconnect A B", "close the connection between A and B", category="network", args=(NODE, NODE))
async def cmd_disconnect(s: Session, args: list[str]) -> Result:
    _need(s, args, 2, "disconnect", 2)
    was = await s.lab.disconnect(args[0], args[1])
    return Result([] if was else [f"{args[0].upper()} and {args[1].upper()} were not connected."])


@command("partition", "partition A,B | C,D", "cut every link between the groups", category="network",
         args=(NODE,), examples=("partition A,B | C,D", "partition A | B,C,D"))
async def cmd_partition(s: Session, args: list[str]) -> Result:
    if "|" not in args:
        raise usage_error(lookup("partition"), "a partition needs groups separated by |")
    await s.lab.partition(parse_groups(args))
    return Result()


@command("heal", "heal", "undo partitions and one-way cuts; reconnect the topology", category="network")
async def cmd_heal(s: Session, args: list[str]) -> Result:
    await s.lab.heal()
    return Result()


@command("cut", "cut A -> B", "one-way cut: A's messages to B are lost", category="network", args=(NODE,))
async def cmd_cut(s: Session, args: list[str]) -> Result:
    words = [a for a in args if a != "->"]
    if len(words) != 2:
        raise usage_error(lookup("cut"), "name two nodes")
    s.lab.cut(words[0], words[1])
    return Result()


@command("latency", "latency A B 200ms | latency all 50ms | latency A,B | C,D 300ms", "set link latency",
         category="network", args=(NODE, NODE))
async def cmd_latency(s: Session, args: list[str]) -> Result:
    lab = s.lab
    if not args:
        raise usage_error(lookup("latency"), "'latency' needs links and a duration")
    ms = parse_duration(args[-1]) / 1000
    if len(args) == 2 and args[0].lower() == "all":
        lab.set_all_latency(ms)
        return Result([f"Every link now takes {ms:g} ms one way."])
    if "|" in args:
        groups = parse_groups(args[:-1])
        n = 0
        for i, ga in enumerate(groups):
            for gb in groups[i + 1:]:
                for a in ga:
                    for b in gb:
                        lab.set_latency(a, b, ms)
                        n += 1
        return Result([f"{n} links between the groups now take {ms:g} ms one way."])
    if len(args) != 3:
        raise usage_error(lookup("latency"), "name two nodes and a duration")
    lab.set_latency(args[0], args[1], ms)
    return Result([f"{args[0].upper()} <-> {args[1].upper()} now takes {ms:g} ms one way."])


@command("loss", "loss A B PERCENT", "lose this share of the frames on the link A <-> B", category="network",
         args=(NODE, NODE))
async def cmd_loss(s: Session, args: list[str]) -> Result:
    _need(s, args, 3, "loss", 3)
    p = parse_percent(args[2])
    s.lab.set_loss(args[0], args[1], p)
    return Result([f"{args[0].upper()} <-> {args[1].upper()} now loses {p * 100:g}% of frames."])


@command("topology", "topology line|ring|star|mesh|random K", "rewire the network", category="network",
         args=("word:line|ring|star|mesh|random",))
async def cmd_topology(s: Session, args: list[str]) -> Result:
    _need(s, args, 1, "topology", 2)
    kind = args[0].lower()
    k = parse_int(args[1], "peers per node", 1, 64) if len(args) > 1 else 3
    await s.lab.set_topology(kind, k)
    s.config.topology, s.config.k = kind, k
    return Result([f"Topology {kind}{f' {k}' if kind == 'random' else ''}: {len(s.lab.edges)} links."])


@command("hold", "hold A B", "hold frames from A to B until `release A B`", category="network", args=(NODE, NODE))
async def cmd_hold(s: Session, args: list[str]) -> Result:
    _need(s, args, 2, "hold", 2)
    n = s.lab.hold(args[0], args[1])
    return Result([f"Holding frames {args[0].upper()} -> {args[1].upper()}" + (f" ({n} already in flight)" if n else "") + "."],)


@command("release", "release A B", "deliver the frames held from A to B", category="network", args=(NODE, NODE))
async def cmd_release(s: Session, args: list[str]) -> Result:
    _need(s, args, 2, "release", 2)
    n = s.lab.release(args[0], args[1])
    return Result([f"Released {n} frame{'s' if n != 1 else ''} {args[0].upper()} -> {args[1].upper()}."])


@command("drop", "drop MSG_ID", "lose one frame in flight (see `queue`)", category="network")
async def cmd_drop(s: Session, args: list[str]) -> Result:
    _need(s, args, 1, "drop", 1)
    fid = parse_int(args[0].lstrip("#"), "message id", 1)
    f = s.lab.fabric.drop(fid)
    if f is None:
        raise CommandError(f"no frame #{fid} in flight", "type `queue` to see the frames in flight")
    return Result([f"Dropped #{fid}: {f.src} -> {f.dst} {f.summary}"])


@command("add-node", "add-node [NAME]", "a new node joins with an empty chain and syncs", category="network")
async def cmd_add_node(s: Session, args: list[str]) -> Result:
    node = await s.lab.add_node(args[0] if args else None)
    return Result([f"{node.name} is listening (type `nodes` for its address)."])


@command("stop", "stop NODE", "take a node offline (it keeps its chain)", category="network", args=(NODE,))
async def cmd_stop(s: Session, args: list[str]) -> Result:
    _need(s, args, 1, "stop", 1)
    await s.lab.stop_node(args[0])
    return Result()


@command("start", "start NODE", "bring a stopped node back; it reconnects and catches up", category="network",
         args=(NODE,))
async def cmd_start(s: Session, args: list[str]) -> Result:
    _need(s, args, 1, "start", 1)
    await s.lab.start_node(args[0])
    return Result()


# -- pacing -----------------------------------------------------------------------------------
@command("mode", "mode auto|step|live", "auto: settle after each command; step: frame by frame; live: real time",
         category="pace", args=("word:auto|step|live",), settles=False)
async def cmd_mode(s: Session, args: list[str]) -> Result:
    _need(s, args, 1, "mode", 1)
    await s.lab.set_mode(args[0].lower())
    tips = {"auto": "each command now runs the network until no message is in flight.",
            "step": "nothing moves until you type `step` or `run`. Type `queue` to see frames in flight.",
            "live": f"virtual time follows the wall clock x{s.lab.speed:g}; nodes act while you type."}
    return Result([f"Mode {args[0].lower()}: {tips[args[0].lower()]}"])


@command("step", "step [N]", "deliver the next N frames in flight", category="pace", settles=False)
async def cmd_step(s: Session, args: list[str]) -> Result:
    n = parse_int(args[0], "frames", 1, 100_000) if args else 1
    delivered = await s.lab.step(n)
    if not delivered:
        return Result(["Nothing in flight."])
    lines = [s.styler.line("frame", f"{fmt_time(f.due)} #{f.id} {f.src} -> {f.dst}  {f.summary}") for f in delivered]
    left = len(s.lab.fabric.flights)
    lines.append(f"({left} frame{'s' if left != 1 else ''} still in flight)")
    return Result(lines)


@command("run", "run DURATION | run until quiet", "let virtual time pass", category="pace", settles=False,
         examples=("run 30s", "run 10m", "run until quiet"))
async def cmd_run(s: Session, args: list[str]) -> Result:
    _need(s, args, 1, "run", 2)
    lab = s.lab
    before = lab.sched.now
    if args[0].lower() == "until":
        if len(args) != 2 or args[1].lower() != "quiet":
            raise usage_error(lookup("run"), "did you mean `run until quiet`?")
        n = await lab.run_until_quiet()
        return Result([f"Delivered {n} events; the network is quiet at {fmt_time(lab.sched.now)}."])
    duration = parse_duration(args[0])
    await lab.run_for(duration)
    if lab.mode == "auto":
        await lab.settle()
    return Result([f"Virtual time {fmt_time(before)} -> {fmt_time(lab.sched.now)}."])


@command("speed", "speed FACTOR", "live mode: virtual seconds per wall second", category="pace", settles=False)
async def cmd_speed(s: Session, args: list[str]) -> Result:
    _need(s, args, 1, "speed", 1)
    try:
        f = float(args[0].rstrip("x"))
    except ValueError:
        raise usage_error(lookup("speed"), f"'{args[0]}' is not a number") from None
    if not 0.01 <= f <= 10_000:
        raise CommandError("speed must be between 0.01 and 10000", "e.g. speed 60 (a minute per second)")
    s.lab.speed = f
    return Result([f"Speed x{f:g}" + ("" if s.lab.mode == "live" else " (takes effect in `mode live`)")])


@command("check", "check PREDICATE", "test a statement about the lab (lesson goals use the same)", category="meta",
         args=("predicate",), settles=False,
         examples=("check same-tip", "check height A >= 5", "check confirmed pay1 on C", "check not forked"))
async def cmd_check(s: Session, args: list[str]) -> Result:
    if not args:
        raise usage_error(lookup("check"), "'check' needs a predicate")
    out = predicates.evaluate(s.lab, " ".join(args))
    if out.ok:
        return Result([s.styler.line("ok", f"check {' '.join(args)}: {out.found}")])
    return Result([s.styler.line("fail", f"check {' '.join(args)}"), f"  expected: {out.expected}",
                   f"  found:    {out.found}"], ok=False, check_failed=True)


# views live in lab.commands.views; importing registers them
from lab.commands import views as _views  # noqa: E402,F401
