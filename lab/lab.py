"""The Lab: one process, several full nodes on real sockets, one virtual clock.

The Lab owns the scheduler, the fabric, the nodes, the seed, the labels the
learner gave, and the log of narrated events. Commands (lab/commands) call
its methods; nothing here prints. Everything random draws from generators
seeded from the lab seed and a purpose, so a run replays exactly.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import math
import os
import random
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lab.chain.amount import format_amount
from lab.chain.block import Block
from lab.chain.consensus import Consensus
from lab.chain.crypto import PrivateKey, hash_hex, short_hex
from lab.chain.miner import Miner
from lab.chain.node_state import NodeState
from lab.chain.tx import Tx
from lab.errors import CommandError
from lab.net import messages as m
from lab.net.fabric import Fabric
from lab.net.node import Node
from lab.net.peer import Peer
from lab.params import (
    DEFAULT_DIFFICULTY,
    DEFAULT_JITTER,
    DEFAULT_LATENCY_MS,
    DEFAULT_NODES,
    DEFAULT_SEED,
    GENESIS_TIME,
    SETTLE_MAX_BLOCKS,
    TARGET_BLOCK_INTERVAL,
)
from lab.sched import MS, SECOND, Scheduler

LAB_EPOCH = GENESIS_TIME + 600  # virtual unix time when a lab starts
MINE_SLICE = 2_000  # nonces per slice: ~1.5 ms, then the event loop gets a turn (a task it wakes waits two slices)
TOPOLOGIES = ("line", "ring", "star", "mesh", "random")


@dataclass
class LogEntry:
    """One narrated event."""

    seq: int  # position in the log
    time: int  # virtual microseconds
    kind: str  # e.g. "mined", "block-accepted", "reorg", "peer-punished"
    text: str  # one plain-language line
    node: str | None = None
    quiet: bool = False  # detail shown by `log`, summarised after commands
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Label:
    kind: str  # "block" | "tx"
    hash: bytes


GC_YOUNG_THRESHOLD = 10_000  # allocations between young collections; CPython's default is 700


def tune_gc() -> None:
    """Collect young objects less often (once per process; a higher setting is kept).

    A lab holds hundreds of thousands of long-lived objects (blocks, transactions,
    block index, frames) and allocates thousands at once (a batch of 2,000 headers,
    a block reaching 100 nodes). At CPython's threshold of 700 the collector ran
    ~38,000 times during a 10,000-block sync and spent 30 % of it; at 10,000 it
    runs ~60 times. Each young collection still takes only a millisecond or two,
    so the prompt stays responsive.
    """
    young, mid, old = gc.get_threshold()
    if 0 < young < GC_YOUNG_THRESHOLD:
        gc.set_threshold(GC_YOUNG_THRESHOLD, mid, old)


def raise_fd_limit(needed: int) -> int:
    """Lift the soft limit on open files to `needed` (never above the hard limit); the soft limit after.

    Every node listens on a socket and every link is two sockets, all in this one
    process: 1,000 nodes at random 4 hold ~9,000 descriptors, and macOS starts a
    process with a soft limit of 256.
    """
    try:
        import resource as r
    except ImportError:  # Windows: no such limit
        return -1
    soft, hard = r.getrlimit(r.RLIMIT_NOFILE)
    if soft == r.RLIM_INFINITY or soft >= needed:
        return soft
    for want in (needed if hard == r.RLIM_INFINITY else min(needed, hard), 10_240):  # macOS caps at OPEN_MAX
        try:
            r.setrlimit(r.RLIMIT_NOFILE, (max(soft, want), hard))
            return max(soft, want)
        except (ValueError, OSError):
            continue
    return soft


def node_names(n: int) -> list[str]:
    """A..Z, then N27, N28 ... for larger labs."""
    return [chr(ord("A") + i) if i < 26 else f"N{i + 1}" for i in range(n)]


def topology_edges(kind: str, names: list[str], k: int, rng: random.Random) -> list[tuple[str, str]]:
    """The links of a topology, as ordered pairs (connecting side first)."""
    n = len(names)
    edges: list[tuple[str, str]] = []
    if n < 2:
        return edges
    if kind == "line":
        edges = [(names[i], names[i + 1]) for i in range(n - 1)]
    elif kind == "ring":
        edges = [(names[i], names[i + 1]) for i in range(n - 1)]
        if n > 2:
            edges.append((names[-1], names[0]))
    elif kind == "star":
        edges = [(names[0], x) for x in names[1:]]
    elif kind == "mesh":
        edges = [(names[i], names[j]) for i in range(n) for j in range(i + 1, n)]
    elif kind == "random":
        seen: set[frozenset[str]] = set()
        k = max(1, min(k, n - 1))
        for a in names:
            for b in rng.sample([x for x in names if x != a], k):
                key = frozenset((a, b))
                if key not in seen:
                    seen.add(key)
                    edges.append((a, b))
        # join components so the network is connected
        parent = {x: x for x in names}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b in edges:
            parent[find(a)] = find(b)
        roots = []
        for x in names:
            if find(x) == x:
                roots.append(x)
        for a, b in zip(roots, roots[1:], strict=False):
            edges.append((a, b))
            parent[find(a)] = find(b)
    else:
        raise CommandError(f"unknown topology '{kind}'", "type one of: line, ring, star, mesh, random K")
    return edges


class Lab:
    def __init__(self, seed: int = DEFAULT_SEED, difficulty: int = DEFAULT_DIFFICULTY,
                 latency_ms: float = DEFAULT_LATENCY_MS, jitter: float = DEFAULT_JITTER) -> None:
        tune_gc()
        self.seed = seed
        self.sched = Scheduler()
        self.fabric = Fabric(self.sched, seed, latency_ms, jitter)
        self.fabric.on_deliver = self._on_deliver
        self.consensus = Consensus()
        if difficulty != DEFAULT_DIFFICULTY:
            self.consensus.set_difficulty(1, difficulty)
        self.nodes: dict[str, Node] = {}
        self.edges: list[tuple[str, str]] = []  # the topology: links that should exist
        self.topology = "mesh"
        self.topology_k = 0
        self.partitions: list[list[str]] = []  # groups cut apart by `partition`
        self.one_way_cuts: set[tuple[str, str]] = set()
        self.log: list[LogEntry] = []
        self.labels: dict[str, Label] = {}
        self.mode = "auto"  # auto | step | live
        self.speed = 1.0
        self.autominer = False
        self.relay = "push"  # "push": new tips pushed whole (BIP 152 high-bandwidth); "inv": announce, then fetch
        self.block_interval = TARGET_BLOCK_INTERVAL * SECOND  # virtual µs between blocks, network-wide
        self.hashrate: dict[str, float] = {}  # share of the network's hashrate
        self._mine_events: dict[str, Any] = {}
        self._mine_rng = random.Random(f"miner|{seed}")
        self._topo_rng = random.Random(f"topology|{seed}")
        self.blocks: dict[bytes, Block] = {}  # every block any node stored
        self.txs: dict[bytes, Tx] = {}  # every transaction any node saw
        self.first_seen: dict[bytes, dict[str, int]] = {}  # block -> node -> virtual time
        self.mined_at: dict[bytes, tuple[str, int]] = {}  # block -> (miner, virtual time)
        self.reorg_counts: dict[str, int] = {}
        self.rejections: list[tuple[str, bytes, str]] = []  # (node, hash, code)
        self.delivered: list[Any] = []  # flights delivered by `step` during the current command
        self._stepping = False  # only `step` collects them: a long `run` would hold every frame sent
        self._pump_task: asyncio.Task | None = None
        self.listeners: list[Callable[[LogEntry], None]] = []  # e.g. the REPL
        self.closed = False
        self.host = "127.0.0.1"

    # -- construction ---------------------------------------------------------------
    @classmethod
    async def create(cls, nodes: int | list[str] = DEFAULT_NODES, topology: str = "mesh", k: int = 3,
                     seed: int = DEFAULT_SEED, difficulty: int = DEFAULT_DIFFICULTY,
                     latency_ms: float = DEFAULT_LATENCY_MS, jitter: float = DEFAULT_JITTER,
                     host: str = "127.0.0.1") -> Lab:
        lab = cls(seed=seed, difficulty=difficulty, latency_ms=latency_ms, jitter=jitter)
        lab.host = host  # where every node listens: loopback unless the user asks otherwise
        names = node_names(nodes) if isinstance(nodes, int) else [n.upper() for n in nodes]
        raise_fd_limit(len(names) + 64)  # the listeners; connect_many asks for the links
        for name in names:
            await lab._new_node(name)
        await lab.set_topology(topology, k)
        await lab.settle(force=True)
        return lab

    def clock(self) -> int:
        """Virtual unix seconds."""
        return LAB_EPOCH + self.sched.now // SECOND

    async def _new_node(self, name: str) -> Node:
        state = NodeState(name, PrivateKey.derive(self.seed, name), self.consensus, self.clock)
        node = Node(name, state, self.fabric, self.narrate, self.clock, host=self.host)
        node.relay_push = self.relay == "push"
        state.listeners.append(lambda ev, n=name: self._on_chain_event(n, ev))
        await node.listen()
        self.nodes[name] = node
        self.hashrate.setdefault(name, 1.0)
        self.reorg_counts.setdefault(name, 0)
        return node

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self.stop_live()
        for node in self.nodes.values():
            await node.shutdown("lab closed")
        await asyncio.sleep(0)

    # -- narration ----------------------------------------------------------------------
    def narrate(self, kind: str, text: str, node: str | None = None, quiet: bool = False, **data: Any) -> None:
        entry = LogEntry(len(self.log), self.sched.now, kind, text, node, quiet, data)
        self.log.append(entry)
        if kind == "reorg" and node:
            self.reorg_counts[node] = self.reorg_counts.get(node, 0) + 1
        if kind == "block-rejected" and node and "block" in data:
            self.rejections.append((node, data["block"], data.get("code", "")))
        if kind == "tx-rejected" and node and "tx" in data:
            self.rejections.append((node, data["tx"], data.get("code", "")))
        for fn in self.listeners:
            fn(entry)

    def _on_chain_event(self, node: str, ev: Any) -> None:
        kind = ev.kind
        if kind in ("block-connected", "side-branch"):
            h = ev.hash
            self.first_seen.setdefault(h, {}).setdefault(node, self.sched.now)
            if h not in self.blocks:
                block = self.nodes[node].state.get_block(h) if node in self.nodes else None
                if block is not None:
                    self.blocks[h] = block
                    for tx in block.txs:
                        self.txs.setdefault(tx.txid, tx)
        elif kind == "tx-accepted":
            if ev.txid not in self.txs and node in self.nodes:
                tx = self.nodes[node].state.get_tx(ev.txid)
                if tx is not None:
                    self.txs[ev.txid] = tx

    def _on_deliver(self, flight: Any) -> None:
        if self._stepping:
            self.delivered.append(flight)

    def entries_since(self, seq: int) -> list[LogEntry]:
        return self.log[seq:]

    # -- lookups --------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        node = self.nodes.get(name.upper())
        if node is None:
            import difflib
            close = difflib.get_close_matches(name.upper(), list(self.nodes), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise CommandError(f"there is no node '{name}'", f"{hint}nodes are {', '.join(self.nodes)}")
        return node

    def online_nodes(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.online]

    def resolve(self, ref: str, kind: str | None = None) -> Label:
        """A label, LAST_TX / LAST_BLOCK, a height (blocks), or a hash prefix."""
        key = ref.upper() if ref.upper() in ("LAST_TX", "LAST_BLOCK") else ref
        lab = self.labels.get(key) or self.labels.get(ref.lower())
        if lab is not None and (kind is None or lab.kind == kind):
            return lab
        if lab is not None:
            raise CommandError(f"'{ref}' names a {lab.kind}, not a {kind}")
        prefix = ref.lower()
        if len(prefix) >= 4 and all(c in "0123456789abcdef" for c in prefix):
            hits: list[Label] = []
            if kind in (None, "block"):
                hits += [Label("block", h) for h in self.blocks if _matches(h, prefix)]
            if kind in (None, "tx"):
                hits += [Label("tx", t) for t in self.txs if _matches(t, prefix)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise CommandError(f"'{ref}' matches {len(hits)} hashes", "type more hex digits")
        what = kind or "block or transaction"
        names = ", ".join(sorted(k for k, v in self.labels.items() if kind is None or v.kind == kind)) or "none yet"
        raise CommandError(f"no {what} called '{ref}'", f"labels: {names}; or a hash prefix of 4+ hex digits")

    def label(self, name: str | None, kind: str, h: bytes) -> None:
        self.labels["LAST_TX" if kind == "tx" else "LAST_BLOCK"] = Label(kind, h)
        if name:
            self.labels[name] = Label(kind, h)

    # -- pacing ------------------------------------------------------------------------------
    async def settle(self, force: bool = False) -> int:
        """In auto mode, run the network until no frame is in flight."""
        if self.mode == "auto" or force:
            return await self.run_until_quiet()
        return 0

    async def step(self, n: int = 1) -> list[Any]:
        done = []
        self._stepping = True
        try:
            for _ in range(n):
                before = len(self.delivered)
                ev = await self.sched.run_next(kind="frame")
                if ev is None:
                    break
                done.extend(self.delivered[before:])
        finally:
            self._stepping = False
        return done

    async def run_for(self, duration_us: int) -> None:
        if self.mode == "live":
            await asyncio.sleep(duration_us / SECOND / self.speed)
        else:
            await self.sched.run_until(self.sched.now + duration_us)

    async def run_until_quiet(self) -> int:
        """Run events in time order until no frame is in flight. Returns how many ran.

        Auto-miners that find blocks faster than the network spreads them (a short
        interval, long latencies) would keep it busy for ever: after SETTLE_MAX_BLOCKS
        auto-mined blocks the prompt comes back with frames still in flight, and says so.
        """
        n = mined = 0
        while not self.sched.quiet:
            ev = await self.sched.run_next()
            if ev is None:
                break
            n += 1
            if ev.kind == "mine":
                mined += 1
                if mined >= SETTLE_MAX_BLOCKS:
                    self.narrate("still-busy", f"the network is still busy: the auto-miners found {mined} blocks "
                                 "while messages were in flight; type `run until quiet` to go on, or `autominer off`")
                    break
        return n

    async def set_mode(self, mode: str) -> None:
        if mode not in ("auto", "step", "live"):
            raise CommandError(f"unknown mode '{mode}'", "type: mode auto | mode step | mode live")
        if self.mode == "live" and mode != "live":
            await self.stop_live()
        self.mode = mode
        if mode == "live":
            self._pump_task = asyncio.get_running_loop().create_task(self._pump())
        elif mode == "auto":
            await self.settle()

    async def stop_live(self) -> None:
        task, self._pump_task = self._pump_task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _pump(self) -> None:
        """Live mode: virtual time follows the wall clock times `speed`."""
        loop = asyncio.get_running_loop()
        base_v, base_w = self.sched.now, loop.time()
        speed = self.speed
        while True:
            if speed != self.speed:
                base_v, base_w, speed = self.sched.now, loop.time(), self.speed
            target = base_v + int((loop.time() - base_w) * speed * SECOND)
            await self.sched.run_until(target)
            nxt = self.sched.peek()
            wait = 0.05
            if nxt is not None:
                wait = min(wait, max(0.0, (nxt.due - self.sched.now) / SECOND / speed))
            await asyncio.sleep(wait)

    # -- mining --------------------------------------------------------------------------------
    async def mine(self, name: str, count: int = 1, label: str | None = None) -> list[Block]:
        node = self.node(name)
        if not node.online:
            raise CommandError(f"{node.name} is stopped", f"type `start {node.name}` first")
        blocks = []
        for _ in range(count):
            blocks.append(await self._mine_one(node))
        if blocks:
            self.label(label, "block", blocks[-1].hash)
        return blocks

    async def _mine_one(self, node: Node) -> Block:
        state = node.state
        while True:
            tip = state.chain.tip
            miner = Miner(state.block_template())
            block = None
            while block is None and state.chain.tip is tip:
                block = miner.search(MINE_SLICE)
                if block is None:
                    await asyncio.sleep(0)  # let the prompt and the sockets breathe
            if block is not None and state.chain.tip is tip:
                break
        self.mined_at[block.hash] = (node.name, self.sched.now)
        fees = block.txs[0].total_out() - self.consensus.subsidy(tip.height + 1)
        self.narrate("mined", f"{node.name} mined block {tip.height + 1} {block.short} on {tip.height} "
                     f"{short_hex(tip.hash)} ({len(block.txs)} tx, reward {format_amount(block.txs[0].total_out())}"
                     + (f" incl. {format_amount(fees)} fees" if fees else "") + ")",
                     node=node.name, block=block.hash, height=tip.height + 1)
        node.blocks_mined += 1
        node.submit_block(block, mined=True)
        return block

    async def forge(self, name: str, rule: str, label: str | None = None) -> Block:
        node = self.node(name)
        block = node.state.forge_block(rule)
        self.blocks[block.hash] = block
        self.label(label, "block", block.hash)
        self.narrate("forged", f"{node.name} forged block {block.short} breaking the rule '{rule}' and sends it to its peers",
                     node=node.name, block=block.hash, rule=rule)
        for peer in node.active_peers():
            peer.send(m.MsgBlock(block))
        return block

    def set_autominer(self, on: bool) -> None:
        self.autominer = on
        for ev in self._mine_events.values():
            self.sched.cancel(ev)
        self._mine_events.clear()
        if on:
            for node in self.nodes.values():
                self._schedule_mining(node)

    def set_hashrate(self, name: str, share: float) -> None:
        """Give NODE this share (0..1) of the network's hashrate; the others keep their
        proportions among themselves and share the rest."""
        node = self.node(name)
        others = [n for n in self.hashrate if n != node.name]
        rest = sum(self.hashrate[n] for n in others)
        for n in others:
            self.hashrate[n] = (1 - share) * (self.hashrate[n] / rest if rest > 0 else 1 / len(others))
        self.hashrate[node.name] = share
        if self.autominer:
            self.set_autominer(True)

    def _schedule_mining(self, node: Node) -> None:
        total = sum(self.hashrate.get(n.name, 0) for n in self.nodes.values() if n.online)
        share = self.hashrate.get(node.name, 0)
        if not node.online or share <= 0 or total <= 0:
            return
        mean = self.block_interval * total / share
        delay = int(self._mine_rng.expovariate(1.0) * mean)

        async def fire(node: Node = node) -> None:
            self._mine_events.pop(node.name, None)
            if self.autominer and node.online:
                await self._mine_one(node)
                self._schedule_mining(node)

        self._mine_events[node.name] = self.sched.after(delay, fire, kind="mine")

    # -- transactions ------------------------------------------------------------------------------
    async def send(self, frm: str, to: str, amount: int, fee: int | None = None, label: str | None = None,
                   via: str | None = None, conflicting: str | None = None) -> Tx:
        """FROM's wallet pays TO. `via`: hand the tx to that node instead (a wallet talking to
        another node). `conflicting`: spend exactly the coins of that earlier tx: a double spend."""
        src, dst = self.node(frm), self.node(to)
        entry = self.node(via) if via else src
        if not entry.online:
            raise CommandError(f"{entry.name} is stopped", f"type `start {entry.name}` first")
        wallet = src.state.wallet
        kw = {} if fee is None else {"fee": fee}
        if conflicting:
            original = self.txs.get(self.resolve(conflicting, "tx").hash)
            spends = []
            for txin in original.inputs if original else ():
                parent = self.txs.get(txin.prevout.txid)
                if parent is None or txin.prevout.index >= len(parent.outputs):
                    raise CommandError(f"the lab does not know the coins {conflicting} spends", "double-spend a payment sent in this lab")
                spends.append((txin.prevout, parent.outputs[txin.prevout.index]))
            if original is None or original.is_coinbase():
                raise CommandError(f"'{conflicting}' is not a payment", "name a transaction made with `send`")
            tx = wallet.respend(spends, dst.state.wallet.pkh, amount, **kw)
        else:
            tx = wallet.pay(dst.state.wallet.pkh, amount, **kw)
        self.txs[tx.txid] = tx
        if entry is not src:
            self.narrate("tx-handed", f"{src.name}'s wallet hands transaction {short_hex(tx.txid)} to {entry.name}",
                         node=entry.name, tx=tx.txid)
        try:
            entry.submit_tx(tx)
        finally:
            self.label(label, "tx", tx.txid)
        return tx

    # -- topology ------------------------------------------------------------------------------------
    async def set_topology(self, kind: str, k: int = 3) -> None:
        if kind not in TOPOLOGIES:
            raise CommandError(f"unknown topology '{kind}'", "type one of: topology line | ring | star | mesh | random K")
        for a, b in list(self.edges):
            await self.disconnect(a, b, quiet=True)
        self.edges = []
        self.topology, self.topology_k = kind, k
        new = topology_edges(kind, list(self.nodes), k, self._topo_rng)
        await self.connect_many(new)

    def _blocked(self, a: str, b: str) -> str | None:
        for groups in self.partitions:
            ga = next((i for i, g in enumerate(groups) if a in g), None)
            gb = next((i for i, g in enumerate(groups) if b in g), None)
            if ga is not None and gb is not None and ga != gb:
                return "they are in different partitions"
        return None

    def linked(self, a: str, b: str) -> bool:
        node = self.nodes.get(a)
        peer = node.peers.get(b) if node else None
        return peer is not None and not peer.closed

    async def connect_many(self, pairs: list[tuple[str, str]], explicit: bool = False) -> list[tuple[str, str]]:
        """Open the TCP connections for `pairs` at once, then handshake in order."""
        todo = []
        for a, b in pairs:
            if (a, b) not in self.edges and (b, a) not in self.edges:
                self.edges.append((a, b))
            na, nb = self.nodes[a], self.nodes[b]
            if not (na.online and nb.online) or self.linked(a, b) or self._blocked(a, b):
                continue
            if explicit:
                na.discouraged.discard(b)
                nb.discouraged.discard(a)
            elif b in na.discouraged or a in nb.discouraged:
                continue
            todo.append((na, nb))
        if todo:
            in_use = len(self.nodes) + sum(len(n.peers) for n in self.nodes.values())
            raise_fd_limit(in_use + 2 * len(todo) + 64)
        results = await asyncio.gather(*(self._open(na, nb) for na, nb in todo))
        done = []
        for (na, nb), pair in zip(todo, results, strict=True):
            if pair is None:
                continue
            pa, pb = pair
            na.add_lab_peer(pa)
            nb.add_lab_peer(pb)
            na.start_handshake(pa)
            done.append((na.name, nb.name))
        return done

    async def _open(self, a: Node, b: Node) -> tuple[Peer, Peer] | None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # asyncio turns Nagle off only for sockets made with proto=IPPROTO_TCP; without this
        # every small frame (inv, getdata) from the connecting side waits for the peer's ACK
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        claim = loop.create_future()
        try:
            if sys.platform == "win32" or a.host != b.host:
                sock.bind((a.host, 0))
                self.fabric.expect(b.name, sock.getsockname()[1], claim)
                await loop.sock_connect(sock, (b.host, b.port))
            else:
                # Let connect() pick the local port: bind(host, 0) first made Linux search its
                # port table, ~2 ms a link once thousands of sockets are open (1,000 nodes:
                # 5-11 s of connecting). The port is known as connect_ex returns, before the
                # listener can accept, so the accepting side is still recognised as this link.
                err = sock.connect_ex((b.host, b.port))
                self.fabric.expect(b.name, sock.getsockname()[1], claim)
                if err not in (0, errno.EISCONN):
                    if err not in (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
                        raise OSError(err, os.strerror(err))
                    await loop.sock_connect(sock, (b.host, b.port))  # EALREADY: waits until writable
            _, pa = await loop.create_connection(
                lambda: Peer(a, inbound=False, remote=b.name, lab_link=True), sock=sock)
            pb = await asyncio.wait_for(claim, 5)
        except (TimeoutError, OSError):
            sock.close()
            return None
        pb.remote = a.name
        pa.twin, pb.twin = pb, pa
        return pa, pb

    async def connect(self, a: str, b: str) -> bool:
        na, nb = self.node(a), self.node(b)
        if na is nb:
            raise CommandError("a node cannot connect to itself", "name two different nodes")
        reason = self._blocked(na.name, nb.name)
        if reason:
            raise CommandError(f"cannot connect {na.name} and {nb.name}: {reason}", "type `heal` first")
        for n in (na, nb):
            if not n.online:
                raise CommandError(f"{n.name} is stopped", f"type `start {n.name}` first")
        done = await self.connect_many([(na.name, nb.name)], explicit=True)
        if done:
            self.narrate("link-up", f"{na.name} connected to {nb.name}", node=na.name, peer=nb.name)
        return bool(done)

    async def disconnect(self, a: str, b: str, quiet: bool = False, keep_edge: bool = False) -> bool:
        na, nb = self.node(a), self.node(b)
        if not keep_edge:
            self.edges = [e for e in self.edges if set(e) != {na.name, nb.name}]
        was = False
        for x, y in ((na, nb), (nb, na)):
            peer = x.peers.get(y.name)
            if peer is not None:
                x.drop_peer(peer, "disconnected", narrate=False)
                was = True
        if was and not quiet:
            self.narrate("link-down", f"{na.name} and {nb.name} disconnected", node=na.name, peer=nb.name)
        await asyncio.sleep(0)
        return was

    async def partition(self, groups: list[list[str]]) -> list[tuple[str, str]]:
        groups = [[self.node(n).name for n in g] for g in groups]
        seen: set[str] = set()
        for g in groups:
            for n in g:
                if n in seen:
                    raise CommandError(f"{n} is in two groups", "name each node once: partition A,B | C,D")
                seen.add(n)
        if len(groups) < 2:
            raise CommandError("a partition needs two groups", "type: partition A,B | C,D")
        self.partitions.append(groups)
        cut = []
        for a in list(self.nodes):
            for b in list(self.nodes):
                if a < b and self._blocked(a, b) and self.linked(a, b):
                    await self.disconnect(a, b, quiet=True, keep_edge=True)
                    cut.append((a, b))
        text = " | ".join(",".join(g) for g in groups)
        self.narrate("partition", f"the network is split: {text} ({len(cut)} links cut)", groups=groups)
        return cut

    async def heal(self) -> list[tuple[str, str]]:
        # A one-way cut breaks TCP itself (data is never acknowledged), so a real
        # connection would have reset: reconnect those links from scratch.
        for a, b in sorted(self.one_way_cuts):
            if self.linked(a, b):
                await self.disconnect(a, b, quiet=True, keep_edge=True)
        # So is a link whose handshake never finished (its version or verack was lost
        # or dropped): it looks connected but carries nothing. Start it again too.
        for a, b in list(self.edges):
            pa, pb = self.nodes[a].peers.get(b), self.nodes[b].peers.get(a)
            if self.linked(a, b) and not (pa is not None and pa.active and pb is not None and pb.active):
                await self.disconnect(a, b, quiet=True, keep_edge=True)
        self.partitions.clear()
        self.one_way_cuts.clear()
        for ls in self.fabric.links.values():
            ls.cut = False
        done = await self.connect_many(list(self.edges))
        self.narrate("heal", f"the network is healed: {len(done)} links reconnected" if done else
                     "the network is healed (no link needed reconnecting)")
        return done

    def pair(self, a: str, b: str) -> tuple[Node, Node]:
        """Two different nodes, for commands about the link between them."""
        na, nb = self.node(a), self.node(b)
        if na is nb:
            raise CommandError(f"{na.name} and {nb.name} are the same node", "a link joins two different nodes, e.g. A B")
        return na, nb

    def cut(self, a: str, b: str) -> None:
        na, nb = self.pair(a, b)
        self.fabric.link(na.name, nb.name).cut = True
        self.one_way_cuts.add((na.name, nb.name))
        self.narrate("cut", f"one-way cut: {na.name}'s messages to {nb.name} are now lost ({nb.name} still reaches {na.name})")

    # -- nodes ---------------------------------------------------------------------------------------
    async def stop_node(self, name: str) -> None:
        node = self.node(name)
        if not node.online:
            raise CommandError(f"{node.name} is already stopped", f"type `start {node.name}` to bring it back")
        await node.shutdown("node stopped")
        ev = self._mine_events.pop(node.name, None)
        if ev is not None:
            self.sched.cancel(ev)
        self.narrate("node-stopped", f"{node.name} stopped: it keeps its chain but hears nothing until started",
                     node=node.name)

    async def start_node(self, name: str) -> None:
        node = self.node(name)
        if node.online:
            raise CommandError(f"{node.name} is already running", f"type `stop {node.name}` to stop it")
        await node.listen()
        self.narrate("node-started", f"{node.name} started again at height {node.state.chain.tip.height}; it reconnects and catches up",
                     node=node.name)
        await self.connect_many([e for e in self.edges if node.name in e])
        if self.autominer:
            self._schedule_mining(node)

    async def add_node(self, name: str | None = None) -> Node:
        if name is None:
            used = set(self.nodes)
            name = next(n for n in node_names(len(self.nodes) + 27) if n not in used)
        name = name.upper()
        if name in self.nodes:
            raise CommandError(f"a node named {name} exists", "pick another name, e.g. add-node E")
        if not name.replace("_", "").isalnum() or len(name) > 12:
            raise CommandError(f"'{name}' is not a node name", "use letters and digits, e.g. add-node E")
        existing = [n.name for n in self.online_nodes()]
        node = await self._new_node(name)
        if self.topology == "mesh":
            peers = existing
        elif self.topology == "star" and existing:
            peers = [existing[0]]
        elif self.topology in ("line", "ring") and existing:
            peers = [existing[-1]]
        else:
            peers = self._topo_rng.sample(existing, min(len(existing), max(2, self.topology_k)))
        self.narrate("node-added", f"{name} joined the network with an empty chain, connecting to {', '.join(peers) or 'nobody'}",
                     node=name)
        await self.connect_many([(name, p) for p in peers])
        if self.autominer:
            self._schedule_mining(node)
        return node

    # -- network conditions ---------------------------------------------------------------------------
    def set_latency(self, a: str, b: str, ms: float) -> None:
        na, nb = self.pair(a, b)
        self.fabric.set_latency(na.name, nb.name, int(ms * MS))
        self.fabric.set_latency(nb.name, na.name, int(ms * MS))

    def set_all_latency(self, ms: float) -> None:
        self.fabric.set_all_latency(int(ms * MS))

    def set_loss(self, a: str, b: str, p: float) -> None:
        na, nb = self.pair(a, b)
        self.fabric.link(na.name, nb.name).loss = p
        self.fabric.link(nb.name, na.name).loss = p

    def hold(self, a: str, b: str) -> int:
        na, nb = self.pair(a, b)
        return self.fabric.hold(na.name, nb.name)

    def release(self, a: str, b: str) -> int:
        na, nb = self.pair(a, b)
        return self.fabric.release(na.name, nb.name)

    def set_relay(self, mode: str) -> None:
        if mode not in ("inv", "push"):
            raise CommandError(f"unknown relay mode '{mode}'", "type: relay inv | relay push")
        self.relay = mode
        for node in self.nodes.values():
            node.relay_push = mode == "push"

    def set_difficulty(self, zero_bits: int) -> int:
        height = max(n.state.chain.tip.height for n in self.nodes.values()) + 1
        self.consensus.set_difficulty(height, zero_bits)
        return height

    # -- views used by predicates and renderers --------------------------------------------------------
    def best_tip_node(self) -> Node:
        """The online node whose tip has the most work (first in name order on a tie)."""
        online = self.online_nodes() or list(self.nodes.values())
        return max(online, key=lambda n: (n.state.chain.tip.chain_work, -list(self.nodes).index(n.name)))

    def stale_blocks(self) -> list[bytes]:
        """Valid blocks some node stored that are not on the most-work chain."""
        best = self.best_tip_node().state.chain
        out = []
        for h in self.blocks:
            if best.on_active(h):
                continue
            if any(_stored_valid(n, h) for n in self.nodes.values()):
                out.append(h)
        return out

    def propagation_time(self, h: bytes) -> int | None:
        """Virtual µs from a block's mining until every online node had it; None if not yet."""
        seen = self.first_seen.get(h, {})
        start = self.mined_at.get(h, (None, min(seen.values(), default=0)))[1]
        times = []
        for n in self.online_nodes():
            if n.name not in seen:
                return None
            times.append(seen[n.name])
        return max(times) - start if times else None

    def in_flight_count(self) -> int:
        return len(self.fabric.flights)


def _matches(h: bytes, prefix: str) -> bool:
    full = hash_hex(h)
    return full.startswith(prefix) or full.lstrip("0").startswith(prefix)


def _stored_valid(node: Node, h: bytes) -> bool:
    idx = node.state.chain.index.get(h)
    return idx is not None and idx.have_data and not idx.failed


def expected_stale_rate(delay_s: float, interval_s: float) -> float:
    """Stale rate ≈ 1 − e^(−τ/T) (τ propagation time, T block interval)."""
    return 1 - math.exp(-delay_s / interval_s) if interval_s > 0 else 1.0
