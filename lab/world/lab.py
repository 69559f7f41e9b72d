"""The Lab: one process, several full nodes on real sockets, one virtual clock.

A small composition root: it builds the parts (lab/world/__init__.py lists
them), wires the nodes to the one event log, and offers the commands one
surface. Nothing here prints. Everything random draws from generators seeded
from the lab seed and a purpose, so a run replays exactly.
"""

from __future__ import annotations

import asyncio
import difflib
import gc
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from lab.chain.block import Block
from lab.chain.consensus import Consensus
from lab.chain.crypto import PrivateKey
from lab.chain.node_state import NodeState
from lab.chain.tx import Tx
from lab.errors import CommandError, LabError
from lab.events import NodeAdded, NodeStarted, NodeStopped, Record, TxHanded
from lab.net.fabric import Fabric
from lab.net.node import Node
from lab.params import (
    DEFAULT_DIFFICULTY,
    DEFAULT_JITTER,
    DEFAULT_LATENCY_MS,
    DEFAULT_NODES,
    DEFAULT_SEED,
    GENESIS_TIME,
)
from lab.sched import SECOND, Scheduler
from lab.world.attack import Attack
from lab.world.ledger import Label, Ledger
from lab.world.limits import check_open_files, topology_links
from lab.world.log import EventLog
from lab.world.mining import Mining
from lab.world.pacing import Pacing
from lab.world.queries import Queries
from lab.world.topology import Topology, node_names

LAB_EPOCH = GENESIS_TIME + 600  # virtual unix time when a lab starts
NODE_NAME = re.compile(r"[A-Za-z0-9_-]{1,12}", re.ASCII)  # node names: one look per name, no look-alikes
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


def _part(part: str, name: str, doc: str = "") -> Any:
    """An attribute of the Lab that lives in one of its parts (read and write)."""
    return property(lambda self: getattr(getattr(self, part), name),
                    lambda self, value: setattr(getattr(self, part), name, value), doc=doc)


class Lab:
    def __init__(self, seed: int = DEFAULT_SEED, difficulty: int = DEFAULT_DIFFICULTY,
                 latency_ms: float = DEFAULT_LATENCY_MS, jitter: float = DEFAULT_JITTER) -> None:
        tune_gc()
        self.seed = seed
        self.host = "127.0.0.1"
        self.closed = False
        self.epoch = LAB_EPOCH  # virtual unix time at virtual 0 (a class lab: the wall clock's, see classroom)
        self.classroom: Any = None  # a class lab: its ClassRoom (lab/classroom/room.py)
        self.payee_of: Any = None  # a class lab: name -> pkh of a classmate's wallet (lab/classroom/room.py)
        self.relay = "push"  # "push": new tips pushed whole (BIP 152 high-bandwidth); "inv": announce, then fetch
        self.sched = Scheduler()
        self.fabric = Fabric(self.sched, seed, latency_ms, jitter)
        self.consensus = Consensus()
        if difficulty != DEFAULT_DIFFICULTY:
            self.consensus.set_difficulty(1, difficulty)
        self.nodes: dict[str, Node] = {}
        self.log = EventLog(self.sched)
        self.ledger = Ledger()
        self.queries = Queries(self.nodes, self.log, self.ledger)
        self.pacing = Pacing(self.sched, self.fabric, self.log.append)
        self.mining = Mining(self.sched, self.nodes, self.node, self.ledger, self.log.append, seed)
        self.topo = Topology(self.nodes, self.node, self.fabric, self.log.append, seed)
        self.attack = Attack(self.nodes, self.node, self.log.append)
        self.mining.attack = self.attack

    # -- construction ---------------------------------------------------------------
    @classmethod
    async def create(cls, nodes: int | list[str] = DEFAULT_NODES, topology: str = "mesh", k: int = 3,
                     seed: int = DEFAULT_SEED, difficulty: int = DEFAULT_DIFFICULTY,
                     latency_ms: float = DEFAULT_LATENCY_MS, jitter: float = DEFAULT_JITTER,
                     host: str = "127.0.0.1") -> Lab:
        lab = cls(seed=seed, difficulty=difficulty, latency_ms=latency_ms, jitter=jitter)
        lab.host = host  # where every node listens: loopback unless the user asks otherwise
        names = node_names(nodes) if isinstance(nodes, int) else [n.upper() for n in nodes]
        check_open_files(len(names), topology_links(topology, len(names), k), f"a {len(names)}-node {topology}")
        for name in names:
            await lab._new_node(name)
        await lab.set_topology(topology, k)
        await lab.settle(force=True)
        return lab

    def clock(self) -> int:
        """Virtual unix seconds."""
        return self.epoch + self.sched.now // SECOND

    async def _new_node(self, name: str) -> Node:
        state = NodeState(name, PrivateKey.derive(self.seed, name), self.consensus, self.clock)
        node = Node(name, state, self.fabric, self.log.append, self.clock, host=self.host)
        node.relay_push = self.relay == "push"
        state.listeners.append(partial(self.ledger.on_chain_event, state))
        await node.listen()
        self.nodes[name] = node
        self.mining.add(name)
        return node

    async def reopen(self, host: str) -> None:
        """A lab thawed from a snapshot (lab/world/snapshot.py): new sockets under its old state.

        Each online node listens again (on a new port) and each open lab link gets a new TCP
        connection whose two ends carry on with the link's frame counts and protocol state.
        """
        from lab.net.links import reattach_lab_links

        self.host = host
        pairs = []
        for node in self.nodes.values():
            node.host, node.server, node.port = host, None, 0
            if node.online:
                await node.listen()
        for node in self.nodes.values():
            for peer in node.peers.values():
                conn, twin = peer.conn, peer.conn.twin
                if conn.lab_link and not conn.closed and not conn.inbound and twin is not None:
                    pairs.append((conn, twin))
        if not await reattach_lab_links(self.fabric, self.nodes, pairs):
            await self.close()
            raise LabError("the lab's links could not be opened again")
        self.pacing.resume_live()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self.pacing.stop_live()
        for node in self.nodes.values():
            await node.shutdown("lab closed")
        await asyncio.sleep(0)

    # -- the parts, as the commands see them -------------------------------------------
    listeners = _part("log", "listeners", "called with each Record as it is logged (e.g. the REPL)")
    mode = _part("pacing", "mode")
    speed = _part("pacing", "speed")
    delivered = _part("pacing", "delivered")
    autominer = _part("mining", "autominer")
    hashrate = _part("mining", "hashrate")
    block_interval = _part("mining", "block_interval")
    edges = _part("topo", "edges")
    topology = _part("topo", "kind")
    topology_k = _part("topo", "k")
    partitions = _part("topo", "partitions")
    one_way_cuts = _part("topo", "one_way_cuts")
    labels = _part("ledger", "labels")
    blocks = _part("ledger", "blocks")
    txs = _part("ledger", "txs")
    first_seen = _part("queries", "first_seen")
    mined_at = _part("queries", "mined_at")
    reorg_counts = _part("queries", "reorg_counts")
    rejections = _part("queries", "rejections")

    def emit(self, event: Any) -> Record:
        return self.log.append(event)

    # -- lookups --------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        node = self.nodes.get(name.upper())
        if node is None:
            close = difflib.get_close_matches(name.upper(), list(self.nodes), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise CommandError(f"there is no node '{name}'", f"{hint}nodes are {', '.join(self.nodes)}")
        return node

    def online_nodes(self) -> list[Node]:
        return self.queries.online_nodes()

    def resolve(self, ref: str, kind: str | None = None) -> Label:
        return self.ledger.resolve(ref, kind)

    def label(self, name: str | None, kind: str, h: bytes) -> None:
        self.ledger.label(name, kind, h)

    def best_tip_node(self) -> Node:
        return self.queries.best_tip_node()

    def stale_blocks(self) -> list[bytes]:
        return self.queries.stale_blocks()

    def propagation_time(self, h: bytes) -> int | None:
        return self.queries.propagation_time(h)

    # -- pacing ------------------------------------------------------------------------------
    async def settle(self, force: bool = False) -> int:
        return await self.pacing.settle(force)

    async def step(self, n: int = 1) -> list[Any]:
        return await self.pacing.step(n)

    async def run_for(self, duration_us: int, keep_going: Callable[[], bool] | None = None) -> None:
        await self.pacing.run_for(duration_us, keep_going)

    async def run_until_quiet(self) -> int:
        return await self.pacing.run_until_quiet()

    async def set_mode(self, mode: str) -> None:
        await self.pacing.set_mode(mode)

    async def stop_live(self) -> None:
        await self.pacing.stop_live()

    # -- mining --------------------------------------------------------------------------------
    async def mine(self, name: str, count: int = 1, label: str | None = None,
                   on_block: Callable[[int], bool] | None = None) -> list[Block]:
        return await self.mining.mine(name, count, label, on_block)

    async def forge(self, name: str, rule: str, label: str | None = None) -> Block:
        return await self.mining.forge(name, rule, label)

    def set_autominer(self, on: bool) -> None:
        self.mining.set_autominer(on)

    def set_hashrate(self, name: str, share: float) -> None:
        self.mining.set_hashrate(name, share)

    def set_retarget(self, interval: int) -> int:
        """Every `interval` blocks the target follows how fast the last ones came (0: off); from the next height."""
        self.consensus.retarget_interval = interval
        return max(n.state.chain.tip.height for n in self.nodes.values()) + 1

    def set_difficulty(self, zero_bits: int) -> int:
        height = max(n.state.chain.tip.height for n in self.nodes.values()) + 1
        self.consensus.set_difficulty(height, zero_bits)
        return height

    # -- transactions ------------------------------------------------------------------------------
    async def send(self, frm: str, to: str, amount: int, fee: int | None = None, label: str | None = None,
                   via: str | None = None, conflicting: str | None = None) -> Tx:
        """FROM's wallet pays TO. `via`: hand the tx to that node instead (a wallet talking to
        another node). `conflicting`: spend exactly the coins of that earlier tx: a double spend."""
        src = self.node(frm)
        pkh = self.payee_of(to) if self.payee_of is not None and to.upper() not in self.nodes else None
        dst_pkh = pkh if pkh is not None else self.node(to).state.wallet.pkh
        entry = self.node(via) if via else src
        if not entry.online:
            raise CommandError(f"{entry.name} is stopped", f"type `start {entry.name}` first")
        wallet = src.state.wallet
        kw: dict[str, Any] = {} if fee is None else {"fee": fee}
        txs = self.ledger.txs
        if conflicting:
            original = txs.get(self.resolve(conflicting, "tx").hash)
            spends = []
            for txin in original.inputs if original else ():
                parent = txs.get(txin.prevout.txid)
                if parent is None or txin.prevout.index >= len(parent.outputs):
                    raise CommandError(f"the lab does not know the coins {conflicting} spends", "double-spend a payment sent in this lab")
                spends.append((txin.prevout, parent.outputs[txin.prevout.index]))
            if original is None or original.is_coinbase():
                raise CommandError(f"'{conflicting}' is not a payment", "name a transaction made with `send`")
            tx = wallet.respend(spends, dst_pkh, amount, **kw)
        elif self.attack.keeps_tx(entry.name, src.name):
            tx = wallet.pay(dst_pkh, amount, avoid=self.attack.private_spent(src.name), **kw)
        else:
            tx = wallet.pay(dst_pkh, amount, **kw)
        txs[tx.txid] = tx
        if entry is not src:
            self.emit(TxHanded(entry.name, src.name, tx.txid))
        if self.attack.keeps_tx(entry.name, src.name):
            self.attack.keep_tx(entry, tx)  # for its private chain: no mempool, no relay
            self.label(label, "tx", tx.txid)
            return tx
        try:
            entry.submit_tx(tx)
        finally:
            self.label(label, "tx", tx.txid)
        return tx

    # -- topology ------------------------------------------------------------------------------------
    async def set_topology(self, kind: str, k: int = 3) -> None:
        await self.topo.set_topology(kind, k)

    def linked(self, a: str, b: str) -> bool:
        return self.topo.linked(a, b)

    async def connect_many(self, pairs: list[tuple[str, str]], explicit: bool = False) -> list[tuple[str, str]]:
        return await self.topo.connect_many(pairs, explicit)

    async def connect(self, a: str, b: str) -> bool:
        return await self.topo.connect(a, b)

    async def disconnect(self, a: str, b: str, quiet: bool = False, keep_edge: bool = False) -> bool:
        return await self.topo.disconnect(a, b, quiet, keep_edge)

    async def partition(self, groups: list[list[str]]) -> list[tuple[str, str]]:
        return await self.topo.partition(groups)

    async def heal(self) -> list[tuple[str, str]]:
        return await self.topo.heal()

    def pair(self, a: str, b: str) -> tuple[Node, Node]:
        return self.topo.pair(a, b)

    def cut(self, a: str, b: str) -> None:
        self.topo.cut(a, b)

    def set_latency(self, a: str, b: str, ms: float) -> None:
        self.topo.set_latency(a, b, ms)

    def set_all_latency(self, ms: float) -> None:
        self.topo.set_all_latency(ms)

    def set_loss(self, a: str, b: str, p: float) -> None:
        self.topo.set_loss(a, b, p)

    def hold(self, a: str, b: str) -> int:
        return self.topo.hold(a, b)

    def release(self, a: str, b: str) -> int:
        return self.topo.release(a, b)

    def set_relay(self, mode: str) -> None:
        if mode not in ("inv", "push"):
            raise CommandError(f"unknown relay mode '{mode}'", "type: relay inv | relay push")
        self.relay = mode
        for node in self.nodes.values():
            node.relay_push = mode == "push"

    # -- nodes ---------------------------------------------------------------------------------------
    async def stop_node(self, name: str) -> None:
        node = self.node(name)
        if not node.online:
            raise CommandError(f"{node.name} is already stopped", f"type `start {node.name}` to bring it back")
        await node.shutdown("node stopped")
        self.mining.stop(node.name)
        self.emit(NodeStopped(node.name))

    async def start_node(self, name: str) -> None:
        node = self.node(name)
        if node.online:
            raise CommandError(f"{node.name} is already running", f"type `stop {node.name}` to stop it")
        await node.listen()
        self.emit(NodeStarted(node.name, node.state.chain.tip.height))
        await self.topo.connect_many([e for e in self.topo.edges if node.name in e])
        self.mining.schedule(node)

    async def add_node(self, name: str | None = None) -> Node:
        if name is None:
            used = set(self.nodes)
            name = next(n for n in node_names(len(self.nodes) + 27) if n not in used)
        if not NODE_NAME.fullmatch(name):
            # ascii(): a look-alike (Cyrillic А, fullwidth Ａ) is shown as the escape it is, not as "A"
            raise CommandError(f"{ascii(name)} is not a node name",
                               "node names are 1-12 ASCII letters, digits, - and _, e.g. add-node E")
        name = name.upper()
        if name in self.nodes:
            raise CommandError(f"a node named {name} exists", "pick another name, e.g. add-node E")
        existing = [n.name for n in self.online_nodes()]
        links = len(self.topo.edges) + topology_links(self.topo.kind, len(existing) + 1) - topology_links(
            self.topo.kind, len(existing))
        check_open_files(len(self.nodes) + 1, links, f"a lab of {len(self.nodes) + 1} nodes")
        node = await self._new_node(name)
        peers = self.topo.peers_for_new_node(existing)
        self.emit(NodeAdded(name, tuple(peers)))
        await self.topo.connect_many([(name, p) for p in peers])
        self.mining.schedule(node)
        return node
