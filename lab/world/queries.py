"""Read models: facts about the lab that views, predicates, the toolbar and lessons read.

Counts and histories (reorgs, rejections, who had a block when) are queries
over the typed event log; the rest reads the nodes' current state. Nothing
here changes the lab.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lab import events as ev
from lab.events import Record
from lab.world.ledger import Ledger
from lab.world.log import EventLog, since_seq

if TYPE_CHECKING:
    from lab.chain.chainstate import BlockIndex
    from lab.net.node import Node


@dataclass(frozen=True, slots=True)
class Heard:
    """One node in a propagation tree: when it first had a block or transaction, and from whom."""

    node: str
    peer: str | None  # whom it first had it from; None: where it started (mined, or its wallet's)
    time: int  # virtual µs
    hops: int  # links from where it started (0 there)


@dataclass(frozen=True, slots=True)
class Propagation:
    """Who had a block or transaction when, and from whom (`trace`): the tree of first arrivals."""

    kind: str  # "block" | "tx"
    hash: bytes
    origin: str | None  # the miner, or the wallet that made the transaction (None: not known)
    start: int | None  # virtual µs when it was mined or made (None: before the log)
    heard: tuple[Heard, ...]  # in order of arrival
    missing: tuple[str, ...]  # nodes that do not have it (yet)
    chatter: Chatter | None = None  # the frames about it, when the fabric's history is given
    refused: tuple[tuple[str, str], ...] = ()  # (node, reason code) of every node that rejected it
    forged: bool = False  # a block the origin forged (`forge`): it breaks a rule on purpose
    trimmed: int | None = None  # the log's bound, when the records of its start were dropped

    @property
    def first(self) -> dict[str, int]:
        return {x.node: x.time for x in self.heard}


@dataclass(frozen=True, slots=True)
class Chatter:
    """The frames about one block or transaction that reached a node (the fabric's recent history)."""

    counts: tuple[tuple[str, int], ...]  # (msgtype, frames delivered), in order of first use
    unneeded: int  # block / tx frames that reached a node which already had it (pushed twice)
    unasked: int  # `inv`s the node did not answer with getdata: it had it or had asked already


def chatter(frames: Iterable[Any], h: bytes, first: dict[str, int]) -> Chatter:
    """Count the delivered frames that carry or announce `h`; `first`: node -> when it first had it."""
    counts: dict[str, int] = {}
    unneeded = 0
    invs: list[tuple[str, str]] = []
    asked: set[tuple[str, str]] = set()
    for f in frames:
        if f.status != "delivered" or not _about(f.msg, h):
            continue
        counts[f.command] = counts.get(f.command, 0) + 1
        had = first.get(f.dst)
        if f.command in ("block", "tx") and had is not None and f.due is not None and had < f.due:
            unneeded += 1
        elif f.command == "inv":
            invs.append((f.src, f.dst))
        elif f.command == "getdata":
            asked.add((f.dst, f.src))
    return Chatter(tuple(counts.items()), unneeded, sum(1 for x in invs if x not in asked))


def _about(msg: Any, h: bytes) -> bool:
    items = getattr(msg, "items", None)
    if items is not None:
        return any(i.hash == h for i in items)
    if (block := getattr(msg, "block", None)) is not None:
        return bool(block.hash == h)
    if (tx := getattr(msg, "tx", None)) is not None:
        return bool(tx.txid == h)
    headers = getattr(msg, "headers", None)
    return headers is not None and any(x.hash == h for x in headers)


class Queries:
    def __init__(self, nodes: dict[str, Node], log: EventLog, ledger: Ledger) -> None:
        self.nodes = nodes
        self.log = log
        self.ledger = ledger
        self._reset()
        self._generation = log.generation
        log.before_trim.append(self._catch_up)  # read models outlive the records they were built from

    def _reset(self) -> None:
        # Read models built as the log grows (each from the records after `_upto[type]`, a seq), kept
        # when the log drops old records: counts and histories stay whole.
        self._upto: dict[type, int] = {}
        self._seen: dict[bytes, dict[str, int]] = {}  # BlockStored: block -> node -> first stored
        self._seen_peer: dict[bytes, dict[str, str | None]] = {}  # ... and whom from
        self._mined: dict[bytes, tuple[str, int]] = {}  # BlockMined
        self._mined_events: list[ev.BlockMined] = []
        self._forged: dict[bytes, tuple[str, int]] = {}  # BlockForged: the first forger of a block
        self._forged_by: set[tuple[str, bytes]] = set()
        self._reorgs: list[Record] = []  # every Reorg: a reorg needs a block with more work, so few
        self._rejections: list[tuple[str, bytes, str]] = []  # the most recent (bounded like the log)
        self.rejection_count = 0  # every block and transaction refused, ever
        self._refused: dict[bytes, dict[str, tuple[str, str]]] = {}  # h -> node -> (first, last code)

    def _fresh(self, t: type) -> list[Record]:
        """The records of type `t` not yet read into the read models."""
        out = since_seq(self.log.of(t), self._upto.get(t, 0))
        self._upto[t] = self.log.next_seq
        return out

    def _check_cleared(self) -> None:
        if self._generation != self.log.generation:  # the log was cleared: start the read models again
            self._generation = self.log.generation
            self._reset()

    def _catch_up(self) -> None:
        self._check_cleared()
        for r in self._fresh(ev.BlockStored):
            e = r.event
            if e.node not in (seen := self._seen.setdefault(e.block, {})):
                seen[e.node] = r.time
                self._seen_peer.setdefault(e.block, {})[e.node] = e.peer
        for r in self._fresh(ev.BlockMined):
            self._mined[r.event.block] = (r.event.node, r.time)
            self._mined_events.append(r.event)
        for r in self._fresh(ev.BlockForged):
            self._forged.setdefault(r.event.block, (r.event.node, r.time))
            self._forged_by.add((r.event.node, r.event.block))
        self._reorgs += self._fresh(ev.Reorg)
        fresh = self._fresh(ev.BlockRejected) + self._fresh(ev.TxRejected)
        if fresh:
            fresh.sort(key=lambda r: r.seq)
            for r in fresh:
                e = r.event
                h = e.block if type(e) is ev.BlockRejected else e.tx
                self._rejections.append((e.node, h, e.code))
                by = self._refused.setdefault(h, {})
                by[e.node] = (by[e.node][0] if e.node in by else e.code, e.code)
            self.rejection_count += len(fresh)
            limit, chunk = self.log.limit, self.log.chunk
            if len(self._rejections) > limit + chunk:
                del self._rejections[:len(self._rejections) - limit]
            while len(self._refused) > limit + chunk:
                for h in list(self._refused)[:len(self._refused) - limit]:
                    del self._refused[h]

    # -- nodes -------------------------------------------------------------------------
    def online_nodes(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.online]

    def best_tip_node(self) -> Node:
        """The online node whose tip has the most work (first in name order on a tie)."""
        online = self.online_nodes() or list(self.nodes.values())
        order = {name: i for i, name in enumerate(self.nodes)}
        return max(online, key=lambda n: (n.state.chain.tip.chain_work, -order[n.name]))

    def tips(self) -> list[tuple[BlockIndex, list[str], list[str]]]:
        """Each distinct tip with the online and the stopped nodes on it, most work first."""
        groups: dict[bytes, tuple[BlockIndex, list[str], list[str]]] = {}
        for name, node in self.nodes.items():
            tip = node.state.chain.tip
            entry = groups.setdefault(tip.hash, (tip, [], []))
            (entry[1] if node.online else entry[2]).append(name)
        return sorted(groups.values(), key=lambda g: (-g[0].chain_work, -g[0].height))

    def groups(self) -> list[list[str]]:
        """The online nodes in connected groups of the actual peer graph (finished handshakes, open
        connections), whatever split them: `disconnect`, `partition`, a stopped node in the middle.
        Largest group first, names in lab order."""
        online = [n for n in self.nodes.values() if n.online]
        order = {name: i for i, name in enumerate(self.nodes)}
        seen: set[str] = set()
        out: list[list[str]] = []
        for start in online:
            if start.name in seen:
                continue
            seen.add(start.name)
            group, stack = [], [start]
            while stack:
                n = stack.pop()
                group.append(n.name)
                for p in n.active_peers():
                    other = self.nodes.get(p.remote)
                    if other is not None and other.online and p.remote not in seen:
                        seen.add(p.remote)
                        stack.append(other)
            out.append(sorted(group, key=order.__getitem__))
        return sorted(out, key=lambda g: (-len(g), order[g[0]]))

    # -- blocks --------------------------------------------------------------------------
    def stale_blocks(self) -> list[bytes]:
        """Valid blocks some node stored that are not on the most-work chain."""
        best = self.best_tip_node().state.chain
        out = []
        for h in self.ledger.blocks:
            if best.on_active(h):
                continue
            if any(_stored_valid(n, h) for n in self.nodes.values()):
                out.append(h)
        return out

    @property
    def first_seen(self) -> dict[bytes, dict[str, int]]:
        """Block -> node -> virtual µs when the node first stored it (BlockStored)."""
        self._catch_up()
        return self._seen

    def arrivals(self, h: bytes) -> dict[str, int]:
        """Node -> virtual µs at which it first had block `h`."""
        return self.first_seen.get(h, {})

    @property
    def mined_at(self) -> dict[bytes, tuple[str, int]]:
        """Block -> (miner, virtual µs) for every block mined in this lab (BlockMined)."""
        self._catch_up()
        return self._mined

    @property
    def mined_events(self) -> list[ev.BlockMined]:
        """Every block mined in this lab, in order."""
        self._catch_up()
        return self._mined_events

    def propagation_time(self, h: bytes) -> int | None:
        """Virtual µs from a block's mining until every online node had it; None if not yet."""
        seen = self.arrivals(h)
        mined = self.mined_at.get(h)
        start = mined[1] if mined is not None else min(seen.values(), default=0)
        times = []
        for n in self.online_nodes():
            if n.name not in seen:
                return None
            times.append(seen[n.name])
        return max(times) - start if times else None

    def propagation(self, kind: str, h: bytes) -> Propagation:
        """Every node's first arrival of block or tx `h`, whom it came from, and the hops from its origin.

        Blocks: BlockMined and BlockStored; transactions: TxAccepted (its `peer`
        sent the tx) and TxHanded (`send ... via`). A node's first record counts.
        """
        first: dict[str, tuple[str | None, int]] = {}
        origin: str | None = None
        start: int | None = None
        forged = False
        trimmed = False
        if kind == "block":
            self._catch_up()
            mined = self._mined.get(h)
            if mined is not None:
                origin, start = mined
            elif h in self._forged:
                (origin, start), forged = self._forged[h], True
            peers = self._seen_peer.get(h, {})
            for node, t in self._seen.get(h, {}).items():
                first[node] = (None if node == origin else peers[node], t)
        else:
            for r in self.log.of(ev.TxAccepted, ev.TxHanded):
                e = r.event
                if e.tx != h:
                    continue
                if type(e) is ev.TxHanded:  # the wallet of `wallet` handed it to `node`
                    if origin is None:
                        origin, start = e.wallet, r.time
                    first.setdefault(e.node, (None, r.time))
                elif e.node not in first:
                    own = e.peer == e.node or e.peer not in self.nodes
                    first[e.node] = (None if own else e.peer, r.time)
                    if own and origin is None:
                        origin, start = e.node, r.time
            trimmed = origin is None and self.log.dropped > 0  # made before the oldest record held
        hops: dict[str, int] = {}

        def hop(name: str, seen: frozenset[str] = frozenset()) -> int:
            if name not in hops:
                peer = first[name][0] if name in first else None
                hops[name] = 0 if peer is None or peer not in first or peer in seen else 1 + hop(peer, seen | {name})
            return hops[name]

        heard = tuple(sorted((Heard(n, p, t, hop(n)) for n, (p, t) in first.items()), key=lambda x: x.time))
        self._catch_up()
        refused = {n: codes[0] for n, codes in self._refused.get(h, {}).items()}
        missing = tuple(n for n in self.nodes if n not in first and n not in refused and not (forged and n == origin))
        return Propagation(kind, h, origin, start, heard, missing, None, tuple(refused.items()), forged,
                           self.log.limit if trimmed else None)

    def forged_by(self, node: str, h: bytes) -> bool:
        self._catch_up()
        return (node, h) in self._forged_by

    def dropped_with(self, txid: bytes) -> list[str]:
        """Nodes whose reorg dropped a block holding `txid`: it was confirmed there, then taken back."""
        out: list[str] = []
        blocks = self.ledger.blocks
        self._catch_up()
        for r in self._reorgs:
            e = r.event
            if e.node in out:
                continue
            for h in e.dropped:
                block = blocks.get(h)
                if block is not None and any(tx.txid == txid for tx in block.txs):
                    out.append(e.node)
                    break
        return out

    def share(self, node: str) -> tuple[int, int]:
        """(blocks NODE mined, blocks) on the most-work chain, genesis left out."""
        mined = self.mined_at
        active = self.best_tip_node().state.chain.active
        return sum(1 for idx in active[1:] if mined.get(idx.hash, ("",))[0] == node), len(active) - 1

    # -- counts ---------------------------------------------------------------------------
    @property
    def reorg_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.nodes, 0)
        self._catch_up()
        for r in self._reorgs:
            counts[r.event.node] = counts.get(r.event.node, 0) + 1
        return counts

    def last_reorg(self, node: str) -> Record | None:
        self._catch_up()
        return next((r for r in reversed(self._reorgs) if r.event.node == node), None)

    @property
    def rejections(self) -> list[tuple[str, bytes, str]]:
        """(node, block or txid, reason code) for the blocks and transactions refused, in order: the
        most recent `log.limit` of them (`rejection_count` counts every one)."""
        self._catch_up()
        return list(self._rejections)

    def rejected_by(self, h: bytes) -> dict[str, str]:
        """node -> reason code (its latest), for every node that rejected block or transaction `h`."""
        self._catch_up()
        return {n: codes[1] for n, codes in self._refused.get(h, {}).items()}


def _stored_valid(node: Node, h: bytes) -> bool:
    idx = node.state.chain.index.get(h)
    return idx is not None and idx.have_data and not idx.failed
