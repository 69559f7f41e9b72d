"""Topology: which links should exist, partitions and one-way cuts, and link settings.

`edges` is the topology the learner chose (or built with `connect`); links
cut by a partition stay in it, so `heal` knows what to reconnect. The links
themselves are opened by lab/net/links.py; frames on them are timed by the
fabric, whose per-direction settings (latency, loss, hold) are set here.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from lab.attack_events import Eclipsed, EclipseEnded
from lab.errors import CommandError
from lab.events import Healed, LinkDown, LinkUp, OneWayCut, Partitioned
from lab.net.fabric import Fabric
from lab.net.links import open_lab_links, raise_fd_limit
from lab.net.node import Node
from lab.sched import MS

TOPOLOGIES = ("line", "ring", "star", "mesh", "random")


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
        roots = [x for x in names if find(x) == x]
        for a, b in zip(roots, roots[1:], strict=False):
            edges.append((a, b))
            parent[find(a)] = find(b)
    else:
        raise CommandError(f"unknown topology '{kind}'", "type one of: line, ring, star, mesh, random K")
    return edges


class FedBy:
    """An eclipse's filter: what its eclipsers relay to the victim (their own blocks and txs only).

    An object, not a closure: a saved lab keeps it (lab/world/snapshot.py).
    """

    __slots__ = ("own",)

    def __init__(self, own: list[Any]) -> None:
        self.own = own

    def __call__(self, h: bytes) -> bool:
        return any(h in o for o in self.own)


class Topology:
    def __init__(self, nodes: dict[str, Node], find: Callable[[str], Node], fabric: Fabric,
                 emit: Callable[[Any], object], seed: int) -> None:
        self.nodes = nodes
        self.find = find
        self.fabric = fabric
        self.emit = emit
        self.edges: list[tuple[str, str]] = []  # the topology: links that should exist
        self.kind = "mesh"
        self.k = 0
        self.partitions: list[list[list[str]]] = []  # each `partition`: the groups it cut apart
        self.one_way_cuts: set[tuple[str, str]] = set()
        self.eclipses: dict[str, tuple[str, ...]] = {}  # victim -> its eclipsers (`eclipse V by A,B`)
        self.rng = random.Random(f"topology|{seed}")

    async def set_topology(self, kind: str, k: int = 3) -> None:
        if kind not in TOPOLOGIES:
            raise CommandError(f"unknown topology '{kind}'", "type one of: topology line | ring | star | mesh | random K")
        for a, b in list(self.edges):
            await self.disconnect(a, b, quiet=True)
        self.edges = []
        self.kind, self.k = kind, k
        await self.connect_many(topology_edges(kind, list(self.nodes), k, self.rng))

    def peers_for_new_node(self, existing: list[str]) -> list[str]:
        """Whom a node added with `add-node` connects to, in the spirit of the topology."""
        if self.kind == "mesh":
            return existing
        if self.kind == "star" and existing:
            return [existing[0]]
        if self.kind in ("line", "ring") and existing:
            return [existing[-1]]
        return self.rng.sample(existing, min(len(existing), max(2, self.k)))

    def blocked(self, a: str, b: str) -> str | None:
        for victim, by in self.eclipses.items():
            if (a == victim and b not in by) or (b == victim and a not in by):
                return f"{victim} is eclipsed by {','.join(by)}"
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
            if not (na.online and nb.online) or self.linked(a, b) or self.blocked(a, b):
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
        return [(na.name, nb.name) for na, nb in await open_lab_links(self.fabric, todo)]

    async def connect(self, a: str, b: str) -> bool:
        na, nb = self.find(a), self.find(b)
        if na is nb:
            raise CommandError("a node cannot connect to itself", "name two different nodes")
        reason = self.blocked(na.name, nb.name)
        if reason:
            raise CommandError(f"cannot connect {na.name} and {nb.name}: {reason}", "type `heal` first")
        for n in (na, nb):
            if not n.online:
                raise CommandError(f"{n.name} is stopped", f"type `start {n.name}` first")
        done = await self.connect_many([(na.name, nb.name)], explicit=True)
        if done:
            self.emit(LinkUp(na.name, nb.name))
        return bool(done)

    async def disconnect(self, a: str, b: str, quiet: bool = False, keep_edge: bool = False) -> bool:
        na, nb = self.find(a), self.find(b)
        if not keep_edge:
            self.edges = [e for e in self.edges if set(e) != {na.name, nb.name}]
        was = False
        for x, y in ((na, nb), (nb, na)):
            peer = x.peers.get(y.name)
            if peer is not None:
                x.drop_peer(peer, "disconnected", narrate=False)
                was = True
        if was and not quiet:
            self.emit(LinkDown(na.name, nb.name))
        await asyncio.sleep(0)
        return was

    async def partition(self, groups: list[list[str]]) -> list[tuple[str, str]]:
        groups = [[self.find(n).name for n in g] for g in groups]
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
                if a < b and self.blocked(a, b) and self.linked(a, b):
                    await self.disconnect(a, b, quiet=True, keep_edge=True)
                    cut.append((a, b))
        self.emit(Partitioned(tuple(tuple(g) for g in groups), len(cut)))
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
        self._end_eclipses()
        self.partitions.clear()
        self.one_way_cuts.clear()
        for ls in self.fabric.links.values():
            ls.cut = False
        done = await self.connect_many(list(self.edges))
        self.emit(Healed(len(done)))
        return done

    # -- eclipses ---------------------------------------------------------------------------------
    async def eclipse(self, victim: str, by: list[str]) -> int:
        """VICTIM's only peers become BY; no other node may connect to it; BY relay it nothing
        but the blocks they mined and the transactions they made. `heal` ends it."""
        v = self.find(victim)
        eclipsers = tuple(dict.fromkeys(self.find(n).name for n in by))
        if not eclipsers:
            raise CommandError("an eclipse needs attackers", f"type: eclipse {v.name} by A,B")
        if v.name in eclipsers:
            raise CommandError(f"{v.name} cannot eclipse itself", f"name other nodes: eclipse {v.name} by A,B")
        if v.name in self.eclipses:
            raise CommandError(f"{v.name} is already eclipsed by {','.join(self.eclipses[v.name])}",
                               "type `heal` to end it first")
        for n in (v.name, *eclipsers):
            if not self.nodes[n].online:
                raise CommandError(f"{n} is stopped", f"type `start {n}` first")
        self.eclipses[v.name] = eclipsers
        cut = 0
        for other in list(v.peers.values()):
            if other.lab_link and other.remote not in eclipsers and other.remote in self.nodes:
                await self.disconnect(v.name, other.remote, quiet=True, keep_edge=True)
                cut += 1
        feeders = [self.nodes[name] for name in eclipsers]
        fed = FedBy([f.intake.own for f in feeders])
        for f in feeders:
            f.relay.only[v.name] = fed
        await self.connect_many([(e, v.name) for e in eclipsers if not self.linked(e, v.name)], explicit=True)
        self.emit(Eclipsed(v.name, eclipsers, cut))
        return cut

    def _end_eclipses(self) -> None:
        for victim, by in self.eclipses.items():
            for name in by:
                self.nodes[name].relay.only.pop(victim, None)
            self.emit(EclipseEnded(victim, by))
        self.eclipses.clear()

    def pair(self, a: str, b: str) -> tuple[Node, Node]:
        """Two different nodes, for commands about the link between them."""
        na, nb = self.find(a), self.find(b)
        if na is nb:
            raise CommandError(f"{na.name} and {nb.name} are the same node", "a link joins two different nodes, e.g. A B")
        return na, nb

    def cut(self, a: str, b: str) -> None:
        na, nb = self.pair(a, b)
        self.fabric.link(na.name, nb.name).cut = True
        self.one_way_cuts.add((na.name, nb.name))
        self.emit(OneWayCut(na.name, nb.name))

    # -- link settings (both directions unless said) ------------------------------------
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
