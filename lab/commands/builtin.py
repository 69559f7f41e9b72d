"""The lab's commands: mining, payments, the network, pacing, checks.

Each handler takes the Session and the words after the command name and
returns an Output (data; lab/render/output.py turns it into text). Narration
of what happened is added by the Session. The commands' usage, help and
hints are declared in lab/language/commands.py.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from lab.chain.amount import format_amount
from lab.chain.crypto import short_hex
from lab.chain.node_state import FORGE_RULES
from lab.commands import predicates, reads
from lab.commands.parse import (
    check_label,
    exact_duration,
    parse_amount,
    parse_duration,
    parse_int,
    parse_percent,
    take_option,
)
from lab.errors import CommandError
from lab.language import LANGUAGE, PREDICATES, check_arity, fits, usage_error
from lab.params import MAX_DIFFICULTY, MIN_DIFFICULTY
from lab.render.narration import fmt_time
from lab.render.output import Check, Line, Output, Piece, output
from lab.sched import SECOND

if TYPE_CHECKING:
    from lab.commands.session import Session

NOTHING = Output()  # the command has nothing to say; the narration tells what happened
PROGRESS_REDRAW = 0.1  # wall seconds between progress reports of a long `run`


def usage(name: str, problem: str) -> CommandError:
    """A CommandError that shows the command's usage line as the hint."""
    return usage_error(LANGUAGE.commands[name], problem)


def need(args: list[str], name: str) -> None:
    """The words after the command fit its declared arity, or a usage error."""
    check_arity(LANGUAGE.commands[name], args)


def fit(args: list[str], name: str) -> bool:
    """Whether the words after the command fit its declared arity (for a handler's own message)."""
    return fits(LANGUAGE.commands[name], args)


TOOLBAR_HELP: list[Piece] = [
    Line("The toolbar under the prompt", "bold"),
    "  auto | step | live    the pacing mode (⛏: the auto-miners are on)",
    "  +1.250s               virtual time since the lab started",
    "  ● 5 3f9a2c A B D      a tip: its height, short hash and the online nodes on it;",
    "                        ● ▲ ■ ◆ ★ tell tips apart, the most work first",
    "  (D off)               a stopped node, on the tip it stopped at",
    "  ⚭ connected           every online node reaches every other through its peers",
    "  ✂ split A,B | C       groups that cannot reach each other (disconnect, partition, a stopped node)",
    "  ✂ cut A->B            a one-way cut: A's messages to B are lost",
    "  ⇄ 3 in flight         frames on their way (`queue` lists them)",
    "  § lesson 7 · step 2/4 the lesson and step you are in",
    "`status` says the same in words.",
]


# -- general ---------------------------------------------------------------------------------
async def cmd_help(s: Session, args: list[str]) -> Output:
    if args and args[0].lower() == "toolbar":
        if s.styler.ascii_only:  # --plain: the toolbar's ASCII glyphs
            plain = str.maketrans({"⛏": "*", "●": "*", "▲": "^", "■": "#", "◆": "%", "★": "&", "⚭": "=", "✂": "/",
                                   "⇄": "~", "§": "#", "·": "-"})
            return Output(tuple(p.translate(plain) if isinstance(p, str) else p for p in TOOLBAR_HELP))
        return Output(tuple(TOOLBAR_HELP))
    if args:
        cmd = LANGUAGE.lookup(args[0])
        lines: list[Piece] = [Line(cmd.usage, "bold"), f"  {cmd.summary}"]
        if cmd.help:
            lines += ["", *["  " + x for x in cmd.help.strip().splitlines()]]
        if cmd.aliases:
            lines.append(f"  aliases: {', '.join(cmd.aliases)}")
        if cmd.examples:
            lines += ["  examples:", *[f"    {e}" for e in cmd.examples]]
        if cmd.name == "check":
            lines += ["  predicates:"] + [f"    {p.usage}" for p in PREDICATES.values()]
        return Output(tuple(lines))
    order = [("lab", "Mining and payments"), ("view", "Looking around"), ("network", "The network"),
             ("pace", "Time and pacing"), ("lesson", "Lessons"), ("meta", "The lab")]
    out: list[Piece] = []
    for key, title in order:
        specs = [c for c in LANGUAGE.commands.values() if c.category == key]
        if specs:
            out.append(Line(title, "bold"))
            out += [f"  {c.usage:<34} {c.summary}" for c in specs]
    out.append("Type `help COMMAND` for details, `help toolbar` for the line under the prompt. "
               "`#` starts a comment, `;` separates commands.")
    return Output(tuple(out))


async def cmd_quit(s: Session, args: list[str]) -> Output:
    return Output(quit=True)


async def cmd_seed(s: Session, args: list[str]) -> Output:
    need(args, "seed")
    seed = parse_int(args[0], "seed", 0, 2**32 - 1)
    cfg = s.config
    await s.rebuild(dataclasses.replace(cfg, seed=seed))
    return output(f"A fresh lab with seed {seed}: {len(reads.nodes(s.need_lab()))} nodes, {cfg.topology}.")


async def cmd_reset(s: Session, args: list[str]) -> Output:
    if s.lesson is not None:
        return output((await s.lesson.reset()).text)
    await s.rebuild()
    return output(f"A fresh lab with seed {s.config.seed}: {len(reads.nodes(s.need_lab()))} nodes, "
                 f"{s.config.topology}.")


# -- mining and payments ---------------------------------------------------------------------
async def cmd_mine(s: Session, args: list[str]) -> Output:
    args, label = take_option(args, "as")
    need(args, "mine")
    n = parse_int(args[1], "blocks", 1, 1000) if len(args) > 1 else 1
    if label:
        check_label(label)
    lab = s.need_lab()
    name = reads.node(lab, args[0]).name
    lab.mining.check_time(f"mine {name}" + (f" {n}" if n > 1 else ""), n)

    def on_block(done: int) -> bool:
        s.report_progress(f"mining on {name}", done, n)
        return not s.stop_requested

    with s.interruptible():
        blocks = await lab.mine(args[0], n, label, on_block)
    if len(blocks) < n:
        return output(f"Interrupted: {name} mined {len(blocks)} of {n} blocks"
                      + (f" (the last is {label})" if label else "") + "; what they caused follows.")
    return NOTHING


async def cmd_send(s: Session, args: list[str]) -> Output:
    args, label = take_option(args, "as")
    args, fee_text = take_option(args, "fee")
    args, via = take_option(args, "via")
    args, conflicting = take_option(args, "conflicting")
    need(args, "send")
    amount = parse_amount(args[2], above_zero=True)
    fee = parse_amount(fee_text) if fee_text is not None else None
    if label:
        check_label(label)
    tx = await s.need_lab().send(args[0], args[1], amount, fee, label, via=via, conflicting=conflicting)
    return output(f"{args[0].upper()} signed transaction {short_hex(tx.txid)}: {format_amount(amount)} to "
                 f"{args[1].upper()}" + (f" as {label}" if label else ""))


async def cmd_forge(s: Session, args: list[str]) -> Output:
    args, label = take_option(args, "as")
    need(args, "forge")
    rule = args[1].lower()
    if rule not in FORGE_RULES:
        raise CommandError(f"unknown rule '{args[1]}'", "rules: " + ", ".join(FORGE_RULES))
    await s.need_lab().forge(args[0], rule, label)
    return NOTHING


async def cmd_autominer(s: Session, args: list[str]) -> Output:
    need(args, "autominer")
    lab = s.need_lab()
    word = args[0].lower()
    if word not in ("on", "off") or (word == "off" and len(args) > 1):
        raise usage("autominer", f"'{' '.join(args)}' is not on, on INTERVAL or off")
    if len(args) > 1:
        interval = parse_duration(args[1])
        if interval < 1_000_000:
            raise CommandError("the block interval must be at least 1s", "e.g. autominer on 1m")
        lab.block_interval = interval
    on = word == "on"
    lab.set_autominer(on)
    now = reads.settings(lab)
    every = fmt_time(now.block_interval)[1:]
    return output(f"Auto-mining {'on: one block every ~' + every + ' (virtual) across the network' if on else 'off'}."
                 + (" Type `run 30m` to let time pass." if on and now.mode != "live" else ""))


async def cmd_hashrate(s: Session, args: list[str]) -> Output:
    need(args, "hashrate")
    share = parse_percent(args[1])
    lab = s.need_lab()
    lab.set_hashrate(args[0], share)
    shares = reads.hashrate_shares(lab)
    total = sum(shares.values())
    lines = [f"{n}: {100 * v / total:.0f}%" if total else f"{n}: 0%" for n, v in shares.items()]
    return output("Hashrate shares: " + ", ".join(lines))


async def cmd_difficulty(s: Session, args: list[str]) -> Output:
    lab = s.need_lab()
    if not args:
        d = reads.next_difficulty(lab)
        return output(f"Difficulty: {d} zero bits (about {2 ** d:,} tries per block).")
    if args[0].lower() == "retarget":
        return _retarget(s, args[1:])
    bits = parse_int(args[0], "zero bits", MIN_DIFFICULTY, MAX_DIFFICULTY)
    h = lab.set_difficulty(bits)
    return output(f"From height {h} on, a block hash must start with {bits} zero bits (about {2 ** bits:,} tries).")


def _retarget(s: Session, args: list[str]) -> Output:
    if len(args) != 1:
        raise usage("difficulty", "say how many blocks a window has, e.g. `difficulty retarget 2`, or `off`")
    n = 0 if args[0].lower() == "off" else parse_int(args[0], "blocks per window", 2, 10_000)
    s.need_lab().set_retarget(n)
    if not n:
        return output("Retargeting off: every block needs the scheduled difficulty.")
    return output(f"Every {n} blocks the target follows how fast the last ones came: ten minutes a block keeps it,\n"
                  "faster makes it harder, slower easier (at most x4 each time, as Bitcoin every 2,016 blocks).")


# -- pacing -----------------------------------------------------------------------------------
async def cmd_mode(s: Session, args: list[str]) -> Output:
    need(args, "mode")
    lab = s.need_lab()
    await lab.set_mode(args[0].lower())
    tips = {"auto": "each command now runs the network until no message is in flight.",
            "step": "nothing moves until you type `step` or `run`. Type `queue` to see frames in flight.",
            "live": f"virtual time follows the wall clock x{reads.settings(lab).speed:g}; nodes act while you type."}
    return output(f"Mode {args[0].lower()}: {tips[args[0].lower()]}")


async def cmd_step(s: Session, args: list[str]) -> Output:
    n = parse_int(args[0], "frames", 1, 100_000) if args else 1
    lab = s.need_lab()
    delivered = await lab.step(n)
    if not delivered:
        return output("Nothing in flight.")
    lines: list[Piece] = [Line(f"{fmt_time(f.due)} #{f.id} {f.src} -> {f.dst}  {f.summary}", "frame")
                          for f in delivered]
    left = len(reads.flights(lab))
    lines.append(f"({left} frame{'s' if left != 1 else ''} still in flight)")
    return Output(tuple(lines))


async def cmd_run(s: Session, args: list[str]) -> Output:
    need(args, "run")
    lab = s.need_lab()
    before = reads.settings(lab).now
    if args[0].lower() == "until":
        if len(args) != 2 or args[1].lower() != "quiet":
            raise usage("run", "did you mean `run until quiet`?")
        n = await lab.run_until_quiet()
        return output(f"Delivered {n} event{'s' if n != 1 else ''}; the network is quiet at {fmt_time(reads.settings(lab).now)}.")
    duration = parse_duration(args[0])
    if reads.settings(lab).autominer and reads.settings(lab).mode != "live":
        lab.mining.check_time(f"run {args[0]} with auto-miners", duration / lab.mining.block_interval)
    if reads.settings(lab).mode == "live":
        await lab.run_for(duration)
        return output(f"Virtual time {fmt_time(before)} -> {fmt_time(reads.settings(lab).now)}.")
    stopped = await _run_interruptible(s, f"run {args[0]}, virtual seconds", duration)
    if reads.settings(lab).mode == "auto":
        await lab.settle()
    if stopped is None:
        return output(f"Virtual time {fmt_time(before)} -> {fmt_time(reads.settings(lab).now)}.")
    ran = stopped - before
    return Output((f"Interrupted: {fmt_time(ran)[1:]} of the {args[0]} ran (virtual time {fmt_time(before)} -> "
                   f"{fmt_time(stopped)}); what happened meanwhile follows.",), done_as=f"run {exact_duration(ran)}")


async def _run_interruptible(s: Session, what: str, duration: int) -> int | None:
    """Let virtual time pass with a progress line (virtual seconds); Ctrl-C stops it once the current
    instant is over. The virtual time it stopped at, or None when it ran the whole `duration`."""
    lab = s.need_lab()
    start, total = lab.sched.now, max(1, duration // SECOND)
    said = time.monotonic()

    def keep_going() -> bool:
        nonlocal said
        now = time.monotonic()
        if now - said >= PROGRESS_REDRAW:  # thousands of events a second: the line is redrawn now and then
            said = now
            s.report_progress(what, min(total - 1, (lab.sched.now - start) // SECOND), total)
        return not s.stop_requested

    with s.interruptible():
        s.report_progress(what, 0, total)
        await lab.run_for(duration, keep_going)
        if lab.sched.now < start + duration:
            return lab.sched.now
    s.report_progress(what, total, total)
    return None


async def cmd_speed(s: Session, args: list[str]) -> Output:
    need(args, "speed")
    try:
        f = float(args[0].rstrip("x"))
    except ValueError:
        raise usage("speed", f"'{args[0]}' is not a number") from None
    if not 0.01 <= f <= 10_000:
        raise CommandError("speed must be between 0.01 and 10000", "e.g. speed 60 (a minute per second)")
    lab = s.need_lab()
    lab.speed = f
    return output(f"Speed x{f:g}" + ("" if reads.settings(lab).mode == "live" else " (takes effect in `mode live`)"))


async def cmd_check(s: Session, args: list[str]) -> Output:
    if not args:
        raise usage("check", "'check' needs a predicate")
    return output(Check(" ".join(args), predicates.evaluate(s.need_lab(), " ".join(args))))
