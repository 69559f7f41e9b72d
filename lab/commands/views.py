"""Commands that look: tables, the fork tree, blocks, transactions, peers, differences.

Every read goes through lab/commands/reads.py; handlers return data (an Output).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.chain.amount import format_amount
from lab.chain.crypto import address_from_pkh, hash_hex, short_hex
from lab.chain.pow import zero_bits_of
from lab.commands import reads
from lab.commands.builtin import fit, usage
from lab.commands.parse import parse_int, take_option
from lab.errors import CommandError
from lab.render.narration import fmt_time, plural
from lab.render.output import Line, Output, Piece, Table, Tree, output
from lab.render.script import raw_hex, script_asm, tx_lines
from lab.render.style import tip_glyph
from lab.render.tree import TreeBlock

if TYPE_CHECKING:
    from lab.commands.session import Session
    from lab.lab import Lab
    from lab.net.node import Node


def owner_name(lab: Lab, pkh: bytes | None) -> str:
    """A node's name for its own key hash, else the address's first characters."""
    if pkh is None:
        return "script"  # not P2PKH: `tx ID` names the template
    return reads.owner(lab, pkh) or address_from_pkh(pkh)[:10] + "…"


def tip_text(node: Node) -> str:
    tip = reads.tip(node)
    return f"{tip.height} {short_hex(tip.hash)}"


def table(headers: list[str], rows: list[list[object]]) -> Table:
    return Table(tuple(headers), tuple(tuple(r) for r in rows))


async def cmd_nodes(s: Session, args: list[str]) -> Output:
    """Every node. OS ports differ on every laptop, so they show only with `--ports`: the rest is the
    same for every student with the same seed and commands."""
    if args and args[0].lower() not in ("--ports", "ports"):
        raise usage("nodes", f"'{args[0]}' is not an option of nodes")
    ports = bool(args)
    rows: list[list[object]] = []
    for n in reads.nodes(s.need_lab()):
        tip = reads.tip(n)
        where = (reads.listening(n) or "stopped") if ports else ("online" if reads.is_online(n) else "stopped")
        rows.append([n.name, where, tip.height, short_hex(tip.hash),
                     ",".join(sorted(reads.active_peer_names(n))) or "-", len(reads.mempool_txs(n)),
                     reads.address(n)])
    return output(table(["node", "listening" if ports else "state", "height", "tip", "peers", "mempool", "address"],
                        rows))


async def cmd_status(s: Session, args: list[str]) -> Output:
    lab = s.need_lab()
    now = reads.settings(lab)
    tips: dict[bytes, list[str]] = {}
    for n in reads.online_nodes(lab):
        tips.setdefault(reads.tip(n).hash, []).append(n.name)
    best = reads.best_tip_node(lab)
    agree = "all online nodes agree" if len(tips) <= 1 else f"{len(tips)} different tips"
    groups = reads.groups(lab)
    parts = " | ".join(",".join(g) for g in groups) + (" (all connected)" if len(groups) == 1 else "")
    cuts = reads.one_way_cuts(lab)
    d = reads.difficulty_at(lab, reads.tip(best).height + 1)
    stopped = [n.name for n in reads.nodes(lab) if not reads.is_online(n)]
    lines: list[Piece] = [
        f"mode {now.mode}" + (f" x{now.speed:g}" if now.mode == "live" else "")
        + f", virtual time {fmt_time(now.now)}, seed {now.seed}",
        f"{len(reads.nodes(lab))} nodes ({now.topology}{' ' + str(now.topology_k) if now.topology == 'random' else ''})"
        + (f", stopped: {', '.join(stopped)}" if stopped else "") + f"; {agree}; best tip {tip_text(best)} on {best.name}",
        f"groups: {parts}" + (f"; one-way cuts: {', '.join(f'{x}->{y}' for x, y in cuts)}" if cuts else ""),
        f"difficulty {d} zero bits; autominer {'on' if now.autominer else 'off'}; "
        f"frames in flight: {len(reads.flights(lab))}",
    ]
    groups_by_tip = reads.tips(lab)
    if len(groups_by_tip) > 1:  # the toolbar's glyphs, explained where they appear in words
        glyphs = [f"{tip_glyph(i, s.styler.ascii_only)} {t.height} {short_hex(t.hash)} "
                  + " ".join(on + [f"({n} off)" for n in off]) for i, (t, on, off) in enumerate(groups_by_tip)]
        lines.append("tips (as the toolbar marks them, most work first): " + "  ".join(glyphs))
    attackers = [(n.name, reads.mode_of(lab, n.name), len(reads.withheld(n))) for n in reads.nodes(lab)
                 if reads.mode_of(lab, n.name) != "honest"]
    eclipses = reads.eclipses(lab)
    if attackers or eclipses:  # only when someone plays the attacker: other labs print as before
        plays = [f"{name} {'withholds' if mode == 'withhold' else 'plays selfish'} ({held} held)"
                 for name, mode, held in attackers]
        plays += [f"{v} eclipsed by {','.join(by)}" for v, by in eclipses.items()]
        lines.append("attacks: " + "; ".join(plays))
    if s.lesson is not None:
        lines.append(s.lesson.status())
    return Output(tuple(lines))


async def cmd_balance(s: Session, args: list[str]) -> Output:
    lab = s.need_lab()
    nodes = [reads.node(lab, args[0])] if args else reads.nodes(lab)
    rows: list[list[object]] = []
    for n in nodes:
        b = reads.balance(n)
        rows.append([n.name, format_amount(b.spendable), format_amount(b.immature), format_amount(b.pending_in),
                     format_amount(b.pending_out), format_amount(b.total)])
    return output(table(["node", "spendable", "maturing", "incoming", "outgoing", "total"], rows),
                 "Each node sees its own wallet through its own chain and mempool.")


async def cmd_mempool(s: Session, args: list[str]) -> Output:
    if not fit(args, "mempool"):
        raise usage("mempool", "name one node")
    lab = s.need_lab()
    node = reads.node(lab, args[0])
    names = reads.tx_labels(lab)
    rows: list[list[object]] = []
    for tx in reads.mempool_txs(node):
        outs = ", ".join(f"{format_amount(o.value)}->{owner_name(lab, o.pubkey_hash)}" for o in tx.outputs)
        rows.append([short_hex(tx.txid), names.get(tx.txid, ""), format_amount(reads.mempool_fee(node, tx.txid)),
                     tx.size, outs])
    if not rows:
        return output(f"{node.name}'s mempool is empty.")
    return output(table(["txid", "label", "fee", "bytes", "outputs"], rows))


async def cmd_chain(s: Session, args: list[str]) -> Output:
    if not fit(args, "chain"):
        raise usage("chain", "name a node and optionally how many blocks")
    lab = s.need_lab()
    node = reads.node(lab, args[0])
    n = parse_int(args[1], "blocks", 1, 10_000) if len(args) > 1 else 10
    rows: list[list[object]] = []
    for idx in reversed(reads.active_chain(node)[-n:]):
        block = reads.stored_block(node, idx.hash)
        miner = owner_name(lab, block.txs[0].outputs[0].pubkey_hash) if block and idx.height > 0 else "-"
        at = reads.lab_time_of(idx.header.time)
        rows.append([idx.height, short_hex(idx.hash), fmt_time(at) if at is not None else "genesis",
                     len(block.txs) if block else "?", miner,
                     f"{zero_bits_of(idx.header.bits):g}"])
    return output(table(["height", "hash", "time", "txs", "miner", "bits"], rows))


async def cmd_tree(s: Session, args: list[str]) -> Output:
    lab = s.need_lab()
    best = reads.best_tip_node(lab)
    blocks: dict[bytes, TreeBlock] = {}
    genesis = reads.active_chain(best)[0]
    blocks[genesis.hash] = TreeBlock(genesis.hash, None, 0, best=True, work=genesis.chain_work)
    for node in reads.nodes(lab):
        for h, idx in reads.block_index(node).items():
            if h in blocks:
                tb = blocks[h]
            else:
                if not idx.have_data and not idx.failed:
                    continue
                tb = blocks[h] = TreeBlock(h, idx.parent.hash if idx.parent else None, idx.height,
                                           best=reads.on_active(best, h), work=idx.chain_work)
            tb.seen_by += 1
            if idx.failed:
                tb.invalid = True
    for tb in blocks.values():
        if tb.parent is not None and tb.parent in blocks:
            blocks[tb.parent].children.append(tb.hash)
    for node in reads.nodes(lab):
        tip = reads.tip(node).hash
        if tip in blocks:
            blocks[tip].tips.append(node.name + ("" if reads.is_online(node) else "(stopped)"))
    return output(Tree(blocks, genesis.hash))


async def cmd_block(s: Session, args: list[str]) -> Output:
    args, on = take_option(args, "on")
    raw = len(args) == 2 and args[1].lower() == "raw"
    args = args[:1] if raw else args
    if not fit(args, "block"):
        raise usage("block", "name one block")
    lab = s.need_lab()
    node = reads.node(lab, on) if on else reads.best_tip_node(lab)
    active = reads.active_chain(node)
    if args[0].isdigit() and len(args[0]) < 8:
        height = int(args[0])
        if height >= len(active):
            raise CommandError(f"{node.name}'s chain has no block at height {height}",
                               f"its tip is at {reads.tip(node).height}")
        h = active[height].hash
    else:
        h = reads.resolve(lab, args[0], "block").hash
    block = reads.seen_block(lab, h) or reads.stored_block(node, h)
    if block is None:
        for n in reads.nodes(lab):
            block = reads.stored_block(n, h)
            if block:
                break
    if block is None:
        raise CommandError("no node stores that block", "type `tree` to see the blocks")
    if raw:
        return Output(tuple(raw_hex(block.serialize())))
    hd = block.header
    idx = reads.block_index(node).get(h)
    where = "" if idx is None else f" ({'on' if reads.on_active(node, h) else 'not on'} {node.name}'s chain)"
    lines: list[Piece] = [
        Line(f"block {hash_hex(h)}", "bold"),
        f"  height      {idx.height if idx else '?'}" + where,
        f"  version     {hd.version}", f"  prev        {hash_hex(hd.prev_hash)}",
        f"  merkle root {hash_hex(hd.merkle_root)}", f"  time        {hd.time}",
        f"  bits        {hd.bits:#010x} ({zero_bits_of(hd.bits):g} zero bits)", f"  nonce       {hd.nonce}",
        f"  size        {block.size} bytes, {plural(len(block.txs), 'transaction')}"]
    for i, tx in enumerate(block.txs):
        outs = ", ".join(f"{format_amount(o.value)}->{owner_name(lab, o.pubkey_hash)}" for o in tx.outputs)
        lines.append(f"  tx {i} {short_hex(tx.txid)} {'coinbase ' if tx.is_coinbase() else ''}{outs}")
        lines += [f"       {script_asm(o.script_pubkey)}" for o in tx.outputs]
    return Output(tuple(lines))


async def cmd_tx(s: Session, args: list[str]) -> Output:
    raw = len(args) == 2 and args[1].lower() == "raw"
    args = args[:1] if raw else args
    if not fit(args, "tx"):
        raise usage("tx", "name one transaction")
    lab = s.need_lab()
    txid = reads.resolve(lab, args[0], "tx").hash
    tx = reads.seen_tx(lab, txid)
    if tx is None:
        raise CommandError("no node has seen that transaction", "type `mempool A` to list transactions")
    if raw:
        return Output(tuple(raw_hex(tx.raw)))
    lines: list[Piece] = [Line(f"tx {hash_hex(txid)}", "bold"), f"  {tx.size} bytes, locktime {tx.locktime}"]
    lines += tx_lines(tx, lambda pkh: owner_name(lab, pkh))
    where = []
    for n in reads.nodes(lab):
        if reads.in_mempool(n, txid):
            where.append(f"{n.name}: mempool")
        elif (h := reads.confirmed_height(n, txid)) is not None:
            where.append(f"{n.name}: confirmed at {h}")
        elif not tx.is_coinbase() and reads.spends_missing_coin(n, tx):
            where.append(f"{n.name}: conflicts with its chain")
        else:
            where.append(f"{n.name}: unknown")
    lines.append("  " + "; ".join(where))
    return Output(tuple(lines))


async def cmd_peers(s: Session, args: list[str]) -> Output:
    if not fit(args, "peers"):
        raise usage("peers", "name one node")
    lab = s.need_lab()
    node = reads.node(lab, args[0])
    rows: list[list[object]] = []
    for p in reads.peers(node):
        ls = reads.link_state(lab, node.name, p.remote)
        rows.append([p.remote, "in" if p.inbound else "out", "lab" if p.lab_link else "live",
                     "done" if p.handshake_done else "in progress", f"{ls.latency / 1000:g} ms" if ls else "-",
                     ("held " if ls and ls.held else "") + ("cut" if ls and ls.cut else ""), p.sent, p.received])
    pieces: list[Piece] = [table(["peer", "dir", "link", "handshake", "latency", "state", "sent", "recv"], rows)]
    if shunned := reads.discouraged(node):
        pieces.append(f"discouraged: {', '.join(shunned)}")
    return Output(tuple(pieces))


async def cmd_diff(s: Session, args: list[str]) -> Output:
    if not fit(args, "diff"):
        raise usage("diff", "name two nodes")
    lab = s.need_lab()
    a, b = reads.node(lab, args[0]), reads.node(lab, args[1])
    ca, cb = reads.active_chain(a), reads.active_chain(b)
    fork = next((idx for idx in reversed(ca) if reads.on_active(b, idx.hash)), None)
    lines: list[Piece] = [f"common ancestor: {fork.height} {short_hex(fork.hash)}" if fork else "no common block (?)"]
    fh = fork.height if fork else -1
    for n, chain in ((a, ca), (b, cb)):
        mine = list(chain[fh + 1:])
        only = ("…, " if len(mine) > 8 else "") + ", ".join(f"{i.height} {short_hex(i.hash)}" for i in mine[-8:])
        only = only or "nothing"
        lines.append(f"only on {n.name}: " + only + f" (work {reads.tip(n).chain_work:,})")
    ma = {t.txid for t in reads.mempool_txs(a)}
    mb = {t.txid for t in reads.mempool_txs(b)}
    lines.append(f"mempool only on {a.name}: " + (", ".join(short_hex(t) for t in sorted(ma - mb)) or "nothing"))
    lines.append(f"mempool only on {b.name}: " + (", ".join(short_hex(t) for t in sorted(mb - ma)) or "nothing"))
    return Output(tuple(lines))
