"""The predicates `check` evaluates and lesson goals name: one evaluator per declared predicate.

Each predicate is declared (usage, word shape) in lab/language/predicates.py;
here each name is bound to an evaluator that reads lab state through
lab/commands/reads.py and returns a CheckOutcome: whether it holds, what was
expected, and what was found, in words a learner can use
("C is on 3 3f9a2c: the link B -> C is held, 2 frames waiting").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lab.chain.amount import format_amount
from lab.chain.crypto import short_hex
from lab.commands import reads
from lab.commands.parse import (
    compare,
    parse_amount,
    parse_duration,
    parse_int,
    parse_op,
    take_option,
)
from lab.errors import CommandError
from lab.language import PREDICATES, CheckOutcome, closest, tokenize
from lab.render.narration import fmt_time, plural

if TYPE_CHECKING:
    from lab.lab import Lab
    from lab.net.node import Node

Evaluator = Callable[["Lab", list[str]], CheckOutcome]


def evaluate(lab: Lab, text: str) -> CheckOutcome:
    tokens = tokenize(text)
    if not tokens:
        raise CommandError("check needs a predicate", "e.g. check same-tip, or check height A >= 3")
    negate = False
    if tokens[0].lower() == "not":
        negate, tokens = True, tokens[1:]
        if not tokens:
            raise CommandError("'not' needs a predicate after it", "e.g. check not forked")
    name = tokens[0].lower()
    if name not in PREDICATES:
        close = closest(name, PREDICATES)
        hint = f"did you mean `{close}`? " if close else ""
        raise CommandError(f"unknown predicate '{tokens[0]}'", hint + "predicates: " + ", ".join(PREDICATES))
    try:
        out = EVALUATORS[name](lab, tokens[1:])
    except IndexError:
        raise CommandError(f"'{text}' is incomplete", f"usage: check {PREDICATES[name].usage}") from None
    if negate:
        return CheckOutcome(not out.ok, f"not ({out.expected})", out.found)
    return out


def _op_args(tokens: list[str], usage: str) -> tuple[str, str]:
    if len(tokens) != 2:
        raise CommandError("expected a comparison and a value", f"usage: check {usage}")
    return parse_op(tokens[0]), tokens[1]


def why_behind(lab: Lab, node: Node) -> str:
    """Why a node may not be on the best tip: stopped, isolated, held or queued frames."""
    if not reads.is_online(node):
        return "it is stopped"
    reasons = []
    if not reads.active_peer_names(node):
        reasons.append("it has no peers")
    flights = reads.flights(lab)
    held = [f for f in flights if f.dst == node.name and f.status == "held"]
    if held:
        links = sorted({f"{f.src} -> {f.dst}" for f in held})
        reasons.append(f"the link {', '.join(links)} is held ({plural(len(held), 'frame')} waiting)")
    waiting = [f for f in flights if f.dst == node.name and f.status == "in-flight"]
    if waiting and reads.settings(lab).mode != "auto":
        reasons.append(f"{plural(len(waiting), 'frame')} to it {'is' if len(waiting) == 1 else 'are'} still in flight (type `step` or `run until quiet`)")
    by = reads.eclipsed_by(lab, node.name)
    if by:
        reasons.append(f"it is eclipsed by {','.join(by)}, which relay{'s' if len(by) == 1 else ''} it nothing but "
                       f"{'its' if len(by) == 1 else 'their'} own blocks")
    for groups in reads.partitions(lab):
        for g in groups:
            if node.name in g:
                reasons.append(f"it is in the partition {','.join(g)}")
    cuts = reads.one_way_cuts(lab)
    into = [f"{a} -> {b}" for a, b in cuts if b == node.name]
    if into:
        reasons.append(f"messages on {', '.join(into)} are cut")
    out = [f"{a} -> {b}" for a, b in cuts if a == node.name]
    if out:
        reasons.append(f"its own messages on {', '.join(out)} are cut, so it cannot ask for blocks")
    return "; ".join(reasons)


def _tip_text(node: Node) -> str:
    tip = reads.tip(node)
    return f"{tip.height} {short_hex(tip.hash)}"


def _nodes(lab: Lab, tokens: list[str]) -> list[Node]:
    names = [x for t in tokens for x in t.split(",") if x]
    return [reads.node(lab, n) for n in names] if names else reads.online_nodes(lab)

def p_same_tip(lab: Lab, tokens: list[str]) -> CheckOutcome:
    nodes = _nodes(lab, tokens)
    tips: dict[bytes, list[str]] = {}
    for n in nodes:
        tips.setdefault(reads.tip(n).hash, []).append(n.name)
    who = ", ".join(n.name for n in nodes)
    if len(tips) <= 1:
        return CheckOutcome(True, f"{who} on the same tip", f"all on {_tip_text(nodes[0])}" if nodes else "no nodes")
    parts = []
    best = reads.best_tip_node(lab)
    for h, names in tips.items():
        n = reads.node(lab, names[0])
        part = f"{','.join(names)} on {_tip_text(n)}"
        if h != reads.tip(best).hash:
            whys = [f"{x}: {w}" for x in names if (w := why_behind(lab, reads.node(lab, x)))]
            if whys:
                part += f" ({'; '.join(whys)})"
        parts.append(part)
    return CheckOutcome(False, f"{who} on the same tip", "; ".join(parts))


def p_height(lab: Lab, tokens: list[str]) -> CheckOutcome:
    node = reads.node(lab, tokens[0])
    op, value = _op_args(tokens[1:], "height NODE OP N|NODE2")
    h = reads.tip(node).height
    found = f"{node.name} is at height {h}"
    if not value.isdigit():  # another node: compare the two heights
        other = reads.node(lab, value)
        n = reads.tip(other).height
        return CheckOutcome(compare(h, op, n), f"height {node.name} {op} height {other.name}",
                            f"{found}, {other.name} at height {n}")
    n = parse_int(value, "blocks", 0)
    if not compare(h, op, n) and (w := why_behind(lab, node)):
        found += f" ({w})"
    return CheckOutcome(compare(h, op, n), f"height {node.name} {op} {n}", found)


def p_tip(lab: Lab, tokens: list[str]) -> CheckOutcome:
    a = reads.node(lab, tokens[0])
    op, other = _op_args(tokens[1:], "tip NODE == NODE2")
    if op not in ("==", "!="):
        raise CommandError("tips compare with == or !=", "usage: check tip A == B")
    b = reads.node(lab, other)
    same = reads.tip(a).hash == reads.tip(b).hash
    return CheckOutcome(same if op == "==" else not same, f"tip {a.name} {op} tip {b.name}",
                        f"{a.name} on {_tip_text(a)}, {b.name} on {_tip_text(b)}")


def p_balance(lab: Lab, tokens: list[str]) -> CheckOutcome:
    node = reads.node(lab, tokens[0])
    op, value = _op_args(tokens[1:], "balance NODE OP AMOUNT")
    want = parse_amount(value)
    bal = reads.balance(node)
    have = bal.confirmed + bal.immature  # every coin the node's chain gives it
    return CheckOutcome(compare(have, op, want), f"balance {node.name} {op} {format_amount(want)}",
                        f"{node.name} has {format_amount(have)} on its chain ({format_amount(bal.spendable)} spendable, "
                        f"{format_amount(bal.immature)} maturing, {format_amount(bal.pending_in)} incoming unconfirmed)")


def p_reorgs(lab: Lab, tokens: list[str]) -> CheckOutcome:
    node = reads.node(lab, tokens[0])
    op, value = _op_args(tokens[1:], "reorgs NODE OP N")
    n = parse_int(value, "reorgs", 0)
    have = reads.reorg_count(lab, node.name)
    return CheckOutcome(compare(have, op, n), f"reorgs {node.name} {op} {n}", f"{node.name} reorganised {plural(have, 'time')}")


def p_peers(lab: Lab, tokens: list[str]) -> CheckOutcome:
    node = reads.node(lab, tokens[0])
    op, value = _op_args(tokens[1:], "peers NODE OP N")
    n = parse_int(value, "peers", 0)
    peers = reads.active_peer_names(node)
    return CheckOutcome(compare(len(peers), op, n), f"peers {node.name} {op} {n}",
                        f"{node.name} has {plural(len(peers), 'peer')} ({', '.join(peers) or 'none'})")


def p_mempool(lab: Lab, tokens: list[str]) -> CheckOutcome:
    node = reads.node(lab, tokens[0])
    what = tokens[1].lower()
    if what == "contains":
        ref = reads.resolve(lab, tokens[2], "tx")
        has = reads.in_mempool(node, ref.hash)
        where = "in its mempool" if has else ("confirmed" if reads.confirmed_height(node, ref.hash) is not None else "not in its mempool")
        return CheckOutcome(has, f"{tokens[2]} in {node.name}'s mempool", f"{short_hex(ref.hash)} is {where} on {node.name}")
    if what == "size":
        op, value = _op_args(tokens[2:], "mempool NODE size OP N")
        n = parse_int(value, "transactions", 0)
        size = len(reads.mempool_txs(node))
        return CheckOutcome(compare(size, op, n), f"mempool {node.name} size {op} {n}", f"{node.name}'s mempool holds {size}")
    raise CommandError(f"unknown mempool check '{tokens[1]}'", "usage: check mempool A contains pay1 | check mempool A size == 0")


def p_confirmed(lab: Lab, tokens: list[str]) -> CheckOutcome:
    tokens, on = take_option(tokens, "on")
    ref = reads.resolve(lab, tokens[0], "tx")
    nodes = [reads.node(lab, on)] if on else reads.online_nodes(lab)
    missing = [n.name for n in nodes if reads.confirmed_height(n, ref.hash) is None]
    where = f" on {on.upper()}" if on else " on every online node"
    if not missing:
        h = reads.confirmed_height(nodes[0], ref.hash) if nodes else None
        return CheckOutcome(True, f"{tokens[0]} confirmed{where}", f"confirmed in block {h}")
    return CheckOutcome(False, f"{tokens[0]} confirmed{where}", f"not confirmed on {', '.join(missing)}")


def p_forked(lab: Lab, tokens: list[str]) -> CheckOutcome:
    tips = {reads.tip(n).hash for n in reads.online_nodes(lab)}
    return CheckOutcome(len(tips) > 1, "online nodes on different tips",
                        f"{len(tips)} different tip{'s' if len(tips) != 1 else ''}: "
                        + "; ".join(f"{n.name} {_tip_text(n)}" for n in reads.online_nodes(lab)))


def p_connected(lab: Lab, tokens: list[str]) -> CheckOutcome:
    a, b = reads.node(lab, tokens[0]), reads.node(lab, tokens[1])
    ok = reads.is_connected(a, b)
    found = f"{a.name} and {b.name} are {'connected' if ok else 'not connected'}"
    if not ok and (a.name in reads.discouraged(b) or b.name in reads.discouraged(a)):
        found += " (one discourages the other)"
    return CheckOutcome(ok, f"{a.name} connected to {b.name}", found)


def p_rejected(lab: Lab, tokens: list[str]) -> CheckOutcome:
    tokens, on = take_option(tokens, "on")
    ref = reads.resolve(lab, tokens[0])
    nodes = [reads.node(lab, on)] if on else [n for n in reads.online_nodes(lab) if not reads.forged_by(lab, n.name, ref.hash)]
    by = reads.rejected_by(lab, ref.hash)
    missing = [n.name for n in nodes if n.name not in by]
    where = f" by {on.upper()}" if on else " by every other online node"
    found = ", ".join(f"{n} ({c})" for n, c in by.items()) or "nobody"
    return CheckOutcome(not missing, f"{tokens[0]} rejected{where}", f"rejected by {found}"
                        + (f"; not by {', '.join(missing)}" if missing else ""))


def p_stale(lab: Lab, tokens: list[str]) -> CheckOutcome:
    op, value = _op_args(tokens, "stale OP N")
    n = parse_int(value, "blocks", 0)
    stale = reads.stale_blocks(lab)
    return CheckOutcome(compare(len(stale), op, n), f"stale blocks {op} {n}",
                        f"{len(stale)} stale block{'s' if len(stale) != 1 else ''}"
                        + (f" ({', '.join(short_hex(h) for h in stale[:6])}{', …' if len(stale) > 6 else ''})"
                           if stale else ""))


def p_propagation(lab: Lab, tokens: list[str]) -> CheckOutcome:
    ref = reads.resolve(lab, tokens[0], "block")
    op, value = _op_args(tokens[1:], "propagation NAME OP DURATION")
    limit = parse_duration(value)
    t = reads.propagation_time(lab, ref.hash)
    if t is None:
        missing = [n.name for n in reads.online_nodes(lab) if not reads.has_seen(lab, ref.hash, n.name)]
        return CheckOutcome(False, f"propagation {tokens[0]} {op} {value}", f"not every node has it yet (missing: {', '.join(missing)})")
    return CheckOutcome(compare(t, op, limit), f"propagation {tokens[0]} {op} {value}",
                        f"it reached every online node in {fmt_time(t)[1:]}")


def p_online(lab: Lab, tokens: list[str]) -> CheckOutcome:
    node = reads.node(lab, tokens[0])
    online = reads.is_online(node)
    return CheckOutcome(online, f"{node.name} online", f"{node.name} is {'online' if online else 'stopped'}")


def p_work(lab: Lab, tokens: list[str]) -> CheckOutcome:
    a = reads.node(lab, tokens[0])
    op, other = _op_args(tokens[1:], "work NODE OP NODE2")
    b = reads.node(lab, other)
    wa, wb = reads.tip(a).chain_work, reads.tip(b).chain_work
    return CheckOutcome(compare(wa, op, wb), f"work of {a.name}'s chain {op} work of {b.name}'s",
                        f"{a.name}: {wa:,} at height {reads.tip(a).height}; {b.name}: {wb:,} at height "
                        f"{reads.tip(b).height}")


def p_hops(lab: Lab, tokens: list[str]) -> CheckOutcome:
    ref = reads.resolve(lab, tokens[0])
    op, value = _op_args(tokens[1:], "hops NAME OP N")
    n = parse_int(value, "hops", 0)
    p = reads.propagation(lab, ref.kind, ref.hash)
    if not p.heard:
        return CheckOutcome(False, f"hops {tokens[0]} {op} {n}", "no node has it")
    far = max(p.heard, key=lambda h: h.hops)
    return CheckOutcome(compare(far.hops, op, n), f"hops {tokens[0]} {op} {n}",
                        f"the farthest node ({far.node}) had it {far.hops} hop{'s' if far.hops != 1 else ''} "
                        f"from where it started ({len(p.heard)} nodes have it; `trace {tokens[0]}`)")


def p_difficulty(lab: Lab, tokens: list[str]) -> CheckOutcome:
    node = reads.node(lab, tokens[0])
    op, value = _op_args(tokens[1:], "difficulty NODE OP BITS")
    want = parse_int(value, "zero bits", 0)
    tip = reads.tip(node)
    bits = reads.zero_bits(tip)
    return CheckOutcome(compare(bits, op, want), f"difficulty of {node.name}'s tip {op} {want} zero bits",
                        f"{node.name}'s tip {tip.height} {short_hex(tip.hash)} needed {bits} zero bits")


def p_headers(lab: Lab, tokens: list[str]) -> CheckOutcome:
    node = reads.node(lab, tokens[0])
    op, value = _op_args(tokens[1:], "headers NODE OP N")
    n = parse_int(value, "headers", 0)
    best = reads.best_header(node)
    h, blocks = best.height, reads.tip(node).height
    return CheckOutcome(compare(h, op, n), f"headers {node.name} {op} {n}",
                        f"{node.name} knows valid headers up to height {h} and has blocks up to height {blocks}")


def p_conflict(lab: Lab, tokens: list[str]) -> CheckOutcome:
    """The two transactions spend at least one same outpoint (a double spend)."""
    refs = [reads.resolve(lab, t, "tx") for t in tokens[:2]]
    txs = [reads.seen_tx(lab, r.hash) for r in refs]
    expected = f"{tokens[0]} and {tokens[1]} spend the same coin"
    if refs[0].hash == refs[1].hash:
        return CheckOutcome(False, expected, f"{tokens[0]} and {tokens[1]} are the same transaction")
    if txs[0] is None or txs[1] is None:
        return CheckOutcome(False, expected, "no node has seen one of them")
    spent = [{(i.prevout.txid, i.prevout.index) for i in tx.inputs} for tx in (txs[0], txs[1])]
    shared = sorted(spent[0] & spent[1])
    if shared:
        coins = ", ".join(f"{short_hex(t)}:{i}" for t, i in shared)
        return CheckOutcome(True, expected, f"both spend {coins}")
    def coins_of(k: int) -> str:
        return ", ".join(f"{short_hex(t)}:{i}" for t, i in sorted(spent[k]))
    return CheckOutcome(False, expected, f"{tokens[0]} spends {coins_of(0)}; {tokens[1]} spends {coins_of(1)}: "
                                         "different coins")


def _fraction(text: str) -> float:
    t = text.strip()
    try:
        v = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise CommandError(f"'{text}' is not a fraction", "type a number from 0 to 1, e.g. 0.4, or 40%") from None
    if not 0 <= v <= 1:
        raise CommandError(f"'{text}' is not a fraction", "type a number from 0 to 1, e.g. 0.4, or 40%")
    return v


def p_share(lab: Lab, tokens: list[str]) -> CheckOutcome:
    node = reads.node(lab, tokens[0])
    op, value = _op_args(tokens[1:], "share NODE OP FRACTION")
    want = _fraction(value)
    mine, total = reads.chain_share(lab, node.name)
    have = mine / total if total else 0.0
    return CheckOutcome(compare(have, op, want), f"share {node.name} {op} {value}",
                        f"{node.name} mined {mine} of the {total} blocks on the most-work chain ({have:.3f})")


def p_reversed(lab: Lab, tokens: list[str]) -> CheckOutcome:
    tokens, on = take_option(tokens, "on")
    ref = reads.resolve(lab, tokens[0], "tx")
    dropped = reads.dropped_with(lab, ref.hash)
    nodes = [reads.node(lab, on)] if on else reads.online_nodes(lab)
    now = [n.name for n in nodes if reads.confirmed_height(n, ref.hash) is not None]
    where = f" on {on.upper()}" if on else ""
    if on:
        name = nodes[0].name
        was = name in dropped
        ok = was and not now
        found = (f"{name} confirmed it, then a reorg took it back" if was else f"{name} never lost it to a reorg")
        found += f"; it is confirmed there now (block {reads.confirmed_height(nodes[0], ref.hash)})" if now else \
            "; it is not confirmed there now"
        return CheckOutcome(ok, f"{tokens[0]} reversed{where}", found)
    ok = bool(dropped) and not now
    found = (f"reorgs took it back on {', '.join(dropped)}" if dropped else "no reorg took it back anywhere")
    found += f"; confirmed now on {', '.join(now)}" if now else "; confirmed on no online node"
    return CheckOutcome(ok, f"{tokens[0]} reversed (confirmed once, now on no online node)", found)


def p_withheld(lab: Lab, tokens: list[str]) -> CheckOutcome:
    node = reads.node(lab, tokens[0])
    op, value = _op_args(tokens[1:], "withheld NODE OP N")
    n = parse_int(value, "blocks", 0)
    held = reads.withheld(node)
    return CheckOutcome(compare(len(held), op, n), f"withheld {node.name} {op} {n}",
                        f"{node.name} withholds {len(held)} block{'s' if len(held) != 1 else ''}"
                        + (f" ({', '.join(short_hex(h) for h in held[:6])})" if held else ""))


EVALUATORS: dict[str, Evaluator] = {
    "same-tip": p_same_tip, "height": p_height, "tip": p_tip, "balance": p_balance, "reorgs": p_reorgs,
    "peers": p_peers, "mempool": p_mempool, "confirmed": p_confirmed, "forked": p_forked,
    "connected": p_connected, "rejected": p_rejected, "stale": p_stale, "propagation": p_propagation,
    "online": p_online, "share": p_share, "reversed": p_reversed, "withheld": p_withheld,
    "conflict": p_conflict,
    "work": p_work, "hops": p_hops, "difficulty": p_difficulty, "headers": p_headers,
}
assert set(EVALUATORS) == set(PREDICATES), "every declared predicate needs an evaluator"
