"""Commands that look: tables, the fork tree, frames, and explanations in words."""

from __future__ import annotations

from lab.chain.amount import format_amount
from lab.chain.crypto import address_from_pkh, hash_hex, short_hex
from lab.chain.pow import zero_bits_of
from lab.commands.parse import parse_int, take_option
from lab.commands.predicates import _confirmed_height, why_behind
from lab.commands.registry import command, lookup, usage_error
from lab.commands.session import Result, Session
from lab.errors import CommandError
from lab.lab import LAB_EPOCH
from lab.net.messages import decode_message
from lab.render.narration import fmt_time
from lab.render.script import raw_hex, script_asm, tx_lines
from lab.render.tables import hexdump, table
from lab.render.tree import TreeBlock, render_tree

NODE = "node"


def _owner(s: Session, pkh: bytes | None) -> str:
    if pkh is None:
        return "script"  # not P2PKH: `tx ID` names the template
    for n in s.lab.nodes.values():
        if n.state.wallet.pkh == pkh:
            return n.name
    return address_from_pkh(pkh)[:10] + "…"


def _tip(node) -> str:
    tip = node.state.chain.tip
    return f"{tip.height} {short_hex(tip.hash)}"


@command("nodes", "nodes", "every node: address, height, tip, peers, mempool", category="view", settles=False)
async def cmd_nodes(s: Session, args: list[str]) -> Result:
    rows = []
    for n in s.lab.nodes.values():
        rows.append([n.name, f"{n.host}:{n.port}" if n.online else "stopped", n.state.chain.tip.height,
                     short_hex(n.state.chain.tip.hash), ",".join(sorted(p.remote for p in n.active_peers())) or "-",
                     len(n.state.mempool.txs()), n.state.wallet.address])
    return Result(table(["node", "listening", "height", "tip", "peers", "mempool", "address"], rows).splitlines())


@command("status", "status", "mode, virtual time, agreement, partitions, frames in flight", category="view",
         settles=False)
async def cmd_status(s: Session, args: list[str]) -> Result:
    lab = s.lab
    tips: dict[bytes, list[str]] = {}
    for n in lab.online_nodes():
        tips.setdefault(n.state.chain.tip.hash, []).append(n.name)
    best = lab.best_tip_node()
    agree = "all online nodes agree" if len(tips) <= 1 else f"{len(tips)} different tips"
    parts = " | ".join(",".join(g) for groups in lab.partitions for g in groups) if lab.partitions else "no"
    d = lab.consensus.difficulty_at(best.state.chain.tip.height + 1)
    stopped = [n.name for n in lab.nodes.values() if not n.online]
    lines = [
        f"mode {lab.mode}" + (f" x{lab.speed:g}" if lab.mode == "live" else "") + f", virtual time {fmt_time(lab.sched.now)}, seed {lab.seed}",
        f"{len(lab.nodes)} nodes ({lab.topology}{' ' + str(lab.topology_k) if lab.topology == 'random' else ''})"
        + (f", stopped: {', '.join(stopped)}" if stopped else "") + f"; {agree}; best tip {_tip(best)} on {best.name}",
        f"difficulty {d} zero bits; autominer {'on' if lab.autominer else 'off'}; partitioned: {parts}; "
        f"frames in flight: {len(lab.fabric.flights)}",
    ]
    if s.lesson is not None:
        lines.append(s.lesson.status())
    return Result(lines)


@command("balance", "balance [NODE]", "what each node's wallet sees: spendable, maturing, pending", category="view",
         args=(NODE,), settles=False)
async def cmd_balance(s: Session, args: list[str]) -> Result:
    nodes = [s.lab.node(args[0])] if args else list(s.lab.nodes.values())
    rows = []
    for n in nodes:
        b = n.state.wallet.balance()
        rows.append([n.name, format_amount(b.spendable), format_amount(b.immature), format_amount(b.pending_in),
                     format_amount(b.pending_out), format_amount(b.total)])
    return Result(table(["node", "spendable", "maturing", "incoming", "outgoing", "total"], rows).splitlines()
                  + ["Each node sees its own wallet through its own chain and mempool."])


@command("mempool", "mempool NODE", "transactions waiting in NODE's mempool", category="view", args=(NODE,),
         settles=False)
async def cmd_mempool(s: Session, args: list[str]) -> Result:
    if len(args) != 1:
        raise usage_error(lookup("mempool"), "name one node")
    node = s.lab.node(args[0])
    rows = []
    names = {v.hash: k for k, v in s.lab.labels.items() if v.kind == "tx" and not k.startswith("LAST")}
    for tx in node.state.mempool.txs():
        fee = node.state.mempool.entries[tx.txid].fee
        outs = ", ".join(f"{format_amount(o.value)}->{_owner(s, o.pubkey_hash)}" for o in tx.outputs)
        rows.append([short_hex(tx.txid), names.get(tx.txid, ""), format_amount(fee), tx.size, outs])
    if not rows:
        return Result([f"{node.name}'s mempool is empty."])
    return Result(table(["txid", "label", "fee", "bytes", "outputs"], rows).splitlines())


@command("chain", "chain NODE [N]", "the last N blocks of NODE's active chain", category="view", args=(NODE,),
         settles=False)
async def cmd_chain(s: Session, args: list[str]) -> Result:
    if not 1 <= len(args) <= 2:
        raise usage_error(lookup("chain"), "name a node and optionally how many blocks")
    node = s.lab.node(args[0])
    n = parse_int(args[1], "blocks", 1, 10_000) if len(args) > 1 else 10
    rows = []
    for idx in reversed(node.state.chain.active[-n:]):
        block = node.state.get_block(idx.hash)
        miner = _owner(s, block.txs[0].outputs[0].pubkey_hash) if block and idx.height > 0 else "-"
        rows.append([idx.height, short_hex(idx.hash), fmt_time((idx.header.time - LAB_EPOCH) * 1_000_000)
                     if idx.header.time >= LAB_EPOCH else "genesis", len(block.txs) if block else "?", miner,
                     f"{zero_bits_of(idx.header.bits):g}"])
    return Result(table(["height", "hash", "time", "txs", "miner", "bits"], rows).splitlines())


@command("tree", "tree", "the fork tree of every block any node knows, with each node's tip", category="view",
         settles=False)
async def cmd_tree(s: Session, args: list[str]) -> Result:
    lab = s.lab
    best = lab.best_tip_node().state.chain
    blocks: dict[bytes, TreeBlock] = {}
    genesis = best.active[0]
    blocks[genesis.hash] = TreeBlock(genesis.hash, None, 0, best=True)
    for node in lab.nodes.values():
        for h, idx in node.state.chain.index.items():
            if h in blocks:
                tb = blocks[h]
            else:
                if not idx.have_data and not idx.failed:
                    continue
                tb = blocks[h] = TreeBlock(h, idx.parent.hash if idx.parent else None, idx.height,
                                           best=best.on_active(h))
            tb.seen_by += 1
            if idx.failed:
                tb.invalid = True
    for tb in blocks.values():
        if tb.parent is not None and tb.parent in blocks:
            blocks[tb.parent].children.append(tb.hash)
    for node in lab.nodes.values():
        tip = node.state.chain.tip.hash
        if tip in blocks:
            blocks[tip].tips.append(node.name + ("" if node.online else "(stopped)"))
    lines = render_tree(blocks, genesis.hash, s.styler)
    lines.append(s.styler.dim("◀ node tips   ★ most-work chain   (stale) lost a race" if not s.styler.ascii_only
                              else "<- node tips   * most-work chain   (stale) lost a race"))
    return Result(lines)


@command("block", "block ID|HEIGHT [raw] [on NODE]", "one block: header fields and transactions", category="view",
         args=("label",), settles=False)
async def cmd_block(s: Session, args: list[str]) -> Result:
    args, on = take_option(args, "on")
    raw = len(args) == 2 and args[1].lower() == "raw"
    args = args[:1] if raw else args
    if len(args) != 1:
        raise usage_error(lookup("block"), "name one block")
    lab = s.lab
    node = lab.node(on) if on else lab.best_tip_node()
    if args[0].isdigit() and len(args[0]) < 8:
        height = int(args[0])
        if height >= len(node.state.chain.active):
            raise CommandError(f"{node.name}'s chain has no block at height {height}", f"its tip is at {node.state.chain.tip.height}")
        h = node.state.chain.active[height].hash
    else:
        h = lab.resolve(args[0], "block").hash
    block = lab.blocks.get(h) or node.state.get_block(h)
    if block is None:
        for n in lab.nodes.values():
            block = n.state.get_block(h)
            if block:
                break
    if block is None:
        raise CommandError("no node stores that block", "type `tree` to see the blocks")
    if raw:
        return Result(raw_hex(block.serialize()))
    hd = block.header
    idx = node.state.chain.index.get(h)
    lines = [s.styler.bold(f"block {hash_hex(h)}"),
             f"  height      {idx.height if idx else '?'}" + ("" if idx is None else f" ({'on' if node.state.chain.on_active(h) else 'not on'} {node.name}'s chain)"),
             f"  version     {hd.version}", f"  prev        {hash_hex(hd.prev_hash)}",
             f"  merkle root {hash_hex(hd.merkle_root)}", f"  time        {hd.time}",
             f"  bits        {hd.bits:#010x} ({zero_bits_of(hd.bits):g} zero bits)", f"  nonce       {hd.nonce}",
             f"  size        {block.size} bytes, {len(block.txs)} transactions"]
    for i, tx in enumerate(block.txs):
        outs = ", ".join(f"{format_amount(o.value)}->{_owner(s, o.pubkey_hash)}" for o in tx.outputs)
        lines.append(f"  tx {i} {short_hex(tx.txid)} {'coinbase ' if tx.is_coinbase() else ''}{outs}")
        lines += [f"       {script_asm(o.script_pubkey)}" for o in tx.outputs]
    return Result(lines)


@command("tx", "tx ID [raw]", "one transaction: inputs, outputs, where each node has it", category="view",
         args=("label",), settles=False)
async def cmd_tx(s: Session, args: list[str]) -> Result:
    raw = len(args) == 2 and args[1].lower() == "raw"
    args = args[:1] if raw else args
    if len(args) != 1:
        raise usage_error(lookup("tx"), "name one transaction")
    lab = s.lab
    txid = lab.resolve(args[0], "tx").hash
    tx = lab.txs.get(txid)
    if tx is None:
        raise CommandError("no node has seen that transaction", "type `mempool A` to list transactions")
    if raw:
        return Result(raw_hex(tx.raw))
    lines = [s.styler.bold(f"tx {hash_hex(txid)}"), f"  {tx.size} bytes, locktime {tx.locktime}"]
    lines += tx_lines(tx, lambda pkh: _owner(s, pkh))
    where = []
    for n in lab.nodes.values():
        if txid in n.state.mempool:
            where.append(f"{n.name}: mempool")
        elif (h := _confirmed_height(n, txid)) is not None:
            where.append(f"{n.name}: confirmed at {h}")
        elif not tx.is_coinbase() and any(i.prevout not in n.state.chain.utxo for i in tx.inputs):
            where.append(f"{n.name}: conflicts with its chain")
        else:
            where.append(f"{n.name}: unknown")
    lines.append("  " + "; ".join(where))
    return Result(lines)


@command("peers", "peers NODE", "NODE's connections", category="view", args=(NODE,), settles=False)
async def cmd_peers(s: Session, args: list[str]) -> Result:
    if len(args) != 1:
        raise usage_error(lookup("peers"), "name one node")
    node = s.lab.node(args[0])
    rows = []
    for p in node.peers.values():
        ls = s.lab.fabric.links.get((node.name, p.remote))
        rows.append([p.remote, "in" if p.inbound else "out", "lab" if p.lab_link else "live",
                     "done" if p.active else "in progress", f"{ls.latency / 1000:g} ms" if ls else "-",
                     ("held " if ls and ls.held else "") + ("cut" if ls and ls.cut else ""), p.sent, p.received])
    lines = table(["peer", "dir", "link", "handshake", "latency", "state", "sent", "recv"], rows).splitlines()
    if node.discouraged:
        lines.append(f"discouraged: {', '.join(sorted(node.discouraged))}")
    return Result(lines)


@command("diff", "diff A B", "where two nodes' chains split, and their mempool differences", category="view",
         args=(NODE, NODE), settles=False)
async def cmd_diff(s: Session, args: list[str]) -> Result:
    if len(args) != 2:
        raise usage_error(lookup("diff"), "name two nodes")
    a, b = s.lab.node(args[0]), s.lab.node(args[1])
    ca, cb = a.state.chain, b.state.chain
    fork = None
    for idx in reversed(ca.active):
        if cb.on_active(idx.hash):
            fork = idx
            break
    lines = [f"common ancestor: {fork.height} {short_hex(fork.hash)}" if fork else "no common block (?)"]
    fh = fork.height if fork else -1
    only_a = [i for i in ca.active[fh + 1:]]
    only_b = [i for i in cb.active[fh + 1:]]
    lines.append(f"only on {a.name}: " + (", ".join(f"{i.height} {short_hex(i.hash)}" for i in only_a[-8:]) or "nothing")
                 + (f" (work {ca.tip.chain_work:,})"))
    lines.append(f"only on {b.name}: " + (", ".join(f"{i.height} {short_hex(i.hash)}" for i in only_b[-8:]) or "nothing")
                 + (f" (work {cb.tip.chain_work:,})"))
    ma = {t.txid for t in a.state.mempool.txs()}
    mb = {t.txid for t in b.state.mempool.txs()}
    lines.append(f"mempool only on {a.name}: " + (", ".join(short_hex(t) for t in sorted(ma - mb)) or "nothing"))
    lines.append(f"mempool only on {b.name}: " + (", ".join(short_hex(t) for t in sorted(mb - ma)) or "nothing"))
    return Result(lines)


@command("explain", "explain [NODE]", "in words: why NODE is on its tip, and what its last reorg did",
         category="view", args=(NODE,), settles=False)
async def cmd_explain(s: Session, args: list[str]) -> Result:
    lab = s.lab
    nodes = [lab.node(args[0])] if args else list(lab.nodes.values())
    lines = []
    for node in nodes:
        chain = node.state.chain
        tip = chain.tip
        tips = _leaves(chain)
        lines.append(s.styler.bold(f"{node.name} is on block {tip.height} {short_hex(tip.hash)}") +
                     f" with total work {tip.chain_work:,} (expected hashes since genesis).")
        others = [t for t in tips if t is not tip]
        if not others:
            lines.append("  It knows no competing branch: its chain is the only one it has seen.")
        for t in others[:4]:
            rel = "less" if t.chain_work < tip.chain_work else "the same" if t.chain_work == tip.chain_work else "MORE"
            why = ("so it stays where it is" if rel == "less" else
                   "and it saw its own tip first, so it keeps it (first seen wins a tie)" if rel == "the same" else
                   "but some of its blocks are missing or invalid")
            lines.append(f"  It also knows a branch ending at {t.height} {short_hex(t.hash)} with {rel} work, {why}.")
        failed = [i for i in chain.index.values() if i.failed]
        if failed:
            lines.append(f"  It refused {len(failed)} invalid block{'s' if len(failed) != 1 else ''}, whatever their work.")
        last = next((e for e in reversed(lab.log) if e.kind == "reorg" and e.node == node.name), None)
        if last:
            lines.append(f"  Its last reorg ({fmt_time(last.time)}): {last.text.split(': ', 1)[-1]}.")
        best = lab.best_tip_node()
        if best.state.chain.tip.chain_work > tip.chain_work:
            why = why_behind(lab, node)
            lines.append(f"  {best.name} has a chain with more work that {node.name} has not got"
                         + (f": {why}." if why else " yet."))
    return Result(lines)


def _leaves(chain) -> list:
    parents = {i.parent.hash for i in chain.index.values() if i.parent is not None and i.have_data and not i.failed}
    leaves = [i for i in chain.index.values() if i.have_data and not i.failed and i.hash not in parents]
    return sorted(leaves, key=lambda i: (-i.chain_work, i.seq))


@command("log", "log [N]", "the last N narrated events, including the details", category="view", settles=False)
async def cmd_log(s: Session, args: list[str]) -> Result:
    n = parse_int(args[0], "entries", 1, 100_000) if args else 20
    return Result([s.styler.line(e.kind, f"{fmt_time(e.time)} {e.text}") for e in s.lab.log[-n:]] or ["(nothing yet)"])


@command("queue", "queue", "frames in flight: id, link, type, summary, arrival", category="view", settles=False)
async def cmd_queue(s: Session, args: list[str]) -> Result:
    flights = s.lab.fabric.in_flight()
    if not flights:
        return Result(["Nothing in flight."])
    rows = [[f"#{f.id}", f"{f.src} -> {f.dst}", f.command, f.summary.split(" ", 1)[1] if " " in f.summary else "",
             fmt_time(f.due) if f.due is not None else "held"] for f in flights[:200]]
    lines = table(["id", "link", "type", "summary", "arrives"], rows).splitlines()
    if len(flights) > 200:
        lines.append(f"... and {len(flights) - 200} more")
    lines.append("`step` delivers the next; `msg ID` shows one; `drop ID` loses one.")
    return Result(lines)


@command("msg", "msg ID", "one frame: decoded fields and its bytes", category="view", settles=False)
async def cmd_msg(s: Session, args: list[str]) -> Result:
    if len(args) != 1:
        raise usage_error(lookup("msg"), "name one frame id (see `queue`)")
    fid = parse_int(args[0].lstrip("#"), "message id", 1)
    f = s.lab.fabric.find(fid)
    if f is None:
        raise CommandError(f"no frame #{fid}", "type `queue` to see frames in flight")
    msg = decode_message(f.command, f.frame[24:])
    lines = [s.styler.bold(f"#{f.id} {f.src} -> {f.dst} {f.command} ({f.status})"),
             f"  sent {fmt_time(f.sent)}" + (f", arrives {fmt_time(f.due)}" if f.due is not None else ""),
             f"  header: magic {f.frame[:4].hex()} command {f.command!r} length {len(f.frame) - 24} checksum {f.frame[20:24].hex()}"]
    for name, value in (vars(msg).items() if msg is not None and hasattr(msg, "__dict__") else []):
        lines.append(f"  {name}: {_field(value)[:300]}")
    lines += ["  " + x for x in hexdump(f.frame)]
    return Result(lines)


def _field(value: object) -> str:
    """A message field as a learner reads it: hashes as Bitcoin shows them."""
    if isinstance(value, bytes):
        return hash_hex(value) if len(value) == 32 else value.hex()
    if isinstance(value, tuple):
        shown = [_field(x) if isinstance(x, bytes) else repr(x) for x in value[:6]]
        more = f", ... {len(value) - 6} more" if len(value) > 6 else ""
        return f"[{', '.join(shown)}{more}]"
    return repr(value)
