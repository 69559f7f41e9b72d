"""Every read of lab state that commands, views and predicates make, in one thin module.

Handlers never reach into a node's chain state, mempool, wallet or the
fabric themselves: they ask here. When the lab's read models move, only this
module follows them. Calls that change the lab (mine, send, connect, ...)
stay Lab methods and are called directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lab.chain.pow import zero_bits_of
from lab.lab import LAB_EPOCH

if TYPE_CHECKING:
    from lab.chain.block import Block
    from lab.chain.chainstate import BlockIndex
    from lab.chain.tx import Tx
    from lab.chain.wallet import Balance
    from lab.lab import Lab, Label, LogEntry
    from lab.net.fabric import Flight, LinkState
    from lab.net.node import Node
    from lab.world.log import EventLog
    from lab.world.queries import Propagation


# -- the lab ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Settings:
    """How the lab runs right now."""

    mode: str  # auto | step | live
    speed: float  # live mode: virtual seconds per wall second
    now: int  # virtual µs
    seed: int
    topology: str
    topology_k: int
    links: int  # links the topology asks for
    autominer: bool
    block_interval: int  # virtual µs between blocks, network-wide
    relay: str  # push | inv


def settings(lab: Lab) -> Settings:
    return Settings(lab.mode, lab.speed, lab.sched.now, lab.seed, lab.topology, lab.topology_k, len(lab.edges),
                    lab.autominer, lab.block_interval, lab.relay)


def lab_time_of(header_time: int) -> int | None:
    """Virtual µs since the lab started for a block header's time; None before it (genesis)."""
    return (header_time - LAB_EPOCH) * 1_000_000 if header_time >= LAB_EPOCH else None


def nodes(lab: Lab) -> list[Node]:
    return list(lab.nodes.values())


def node(lab: Lab, name: str) -> Node:
    """The node called `name` (case-insensitive); a CommandError naming the nodes otherwise."""
    return lab.node(name)


def online_nodes(lab: Lab) -> list[Node]:
    return lab.online_nodes()


def best_tip_node(lab: Lab) -> Node:
    return lab.best_tip_node()


def hashrate_shares(lab: Lab) -> dict[str, float]:
    return dict(lab.hashrate)


def difficulty_at(lab: Lab, height: int) -> int:
    return lab.consensus.difficulty_at(height)


def next_difficulty(lab: Lab) -> int:
    """Zero bits a block at the next height needs (above the highest tip)."""
    return difficulty_at(lab, max(n.state.chain.tip.height for n in lab.nodes.values()) + 1)


def partitions(lab: Lab) -> list[list[list[str]]]:
    return [[list(g) for g in groups] for groups in lab.partitions]


def tips(lab: Lab) -> list[tuple[BlockIndex, list[str], list[str]]]:
    """Each distinct tip with the online and the stopped nodes on it, most work first."""
    return lab.queries.tips()


def groups(lab: Lab) -> list[list[str]]:
    """The online nodes in connected groups of the actual peer graph, largest first."""
    return lab.queries.groups()


def one_way_cuts(lab: Lab) -> list[tuple[str, str]]:
    return sorted(lab.one_way_cuts)


# -- labels, blocks and transactions the lab has seen -----------------------------------------------------
def resolve(lab: Lab, ref: str, kind: str | None = None) -> Label:
    return lab.resolve(ref, kind)


def tx_labels(lab: Lab) -> dict[bytes, str]:
    """txid -> the learner's label for it (LAST_TX left out)."""
    return {v.hash: k for k, v in lab.labels.items() if v.kind == "tx" and not k.startswith("LAST")}


def seen_block(lab: Lab, h: bytes) -> Block | None:
    """A block any node stored (the lab's ledger), or None."""
    return lab.blocks.get(h)


def seen_tx(lab: Lab, txid: bytes) -> Tx | None:
    return lab.txs.get(txid)


def owner(lab: Lab, pkh: bytes) -> str | None:
    """The node whose wallet has this key hash, or None."""
    for n in lab.nodes.values():
        if n.state.wallet.pkh == pkh:
            return n.name
    return None


# -- what happened ------------------------------------------------------------------------------------
def log(lab: Lab) -> EventLog:
    return lab.log


def last_reorg(lab: Lab, name: str) -> LogEntry | None:
    return lab.queries.last_reorg(name)


def reorg_count(lab: Lab, name: str) -> int:
    return lab.queries.reorg_counts.get(name, 0)


def rejected_by(lab: Lab, h: bytes) -> dict[str, str]:
    """node -> reason code, for every node that rejected the block or transaction `h`."""
    return lab.queries.rejected_by(h)


def forged_by(lab: Lab, name: str, h: bytes) -> bool:
    return lab.queries.forged_by(name, h)


def mode_of(lab: Lab, name: str) -> str:
    """honest | withhold | selfish: how the node plays."""
    play = lab.attack.plays.get(name)
    return play.mode if play is not None else "honest"


def eclipses(lab: Lab) -> dict[str, tuple[str, ...]]:
    """Victim -> the nodes eclipsing it."""
    return dict(lab.topo.eclipses)


def eclipsed_by(lab: Lab, name: str) -> tuple[str, ...]:
    """The nodes eclipsing `name` (empty when it is not eclipsed)."""
    return lab.topo.eclipses.get(name, ())


def withheld(n: Node) -> list[bytes]:
    """Blocks n mined and keeps to itself, oldest first."""
    return list(n.relay.withheld)


def chain_share(lab: Lab, name: str) -> tuple[int, int]:
    """(blocks `name` mined, blocks) on the most-work chain."""
    return lab.queries.share(name)


def dropped_with(lab: Lab, txid: bytes) -> list[str]:
    """Nodes on which a reorg took back a block holding `txid`."""
    return lab.queries.dropped_with(txid)


def stale_blocks(lab: Lab) -> list[bytes]:
    return lab.stale_blocks()


def propagation_time(lab: Lab, h: bytes) -> int | None:
    return lab.propagation_time(h)


def propagation(lab: Lab, kind: str, h: bytes) -> Propagation:
    """Who first had block or tx `h` when, and from whom (lab/world/queries.py)."""
    return lab.queries.propagation(kind, h)


def has_seen(lab: Lab, h: bytes, name: str) -> bool:
    return name in lab.queries.arrivals(h)


# -- frames and links ----------------------------------------------------------------------------------
def flights(lab: Lab) -> list[Flight]:
    """Frames in flight or held, in the order they were sent."""
    return list(lab.fabric.flights.values())


def frames_in_flight(lab: Lab) -> int:
    """How many frames are in flight or held (O(1): the toolbar asks on every tick)."""
    return len(lab.fabric.flights)


def frame_history(lab: Lab) -> list[Flight]:
    """The last frames delivered, dropped or lost (the fabric keeps 2,000), oldest first."""
    return list(lab.fabric.history)


def flights_by_arrival(lab: Lab) -> list[Flight]:
    return lab.fabric.in_flight()


def frame(lab: Lab, fid: int) -> Flight | None:
    """A frame in flight or recently delivered, dropped or lost."""
    return lab.fabric.find(fid)


def link_state(lab: Lab, src: str, dst: str) -> LinkState | None:
    return lab.fabric.links.get((src, dst))


def drop_frame(lab: Lab, fid: int) -> Flight | None:
    """The one write here: lose a frame in flight (the lab has no method for it yet)."""
    return lab.fabric.drop(fid)


# -- one node ---------------------------------------------------------------------------------------
def tip(n: Node) -> BlockIndex:
    return n.state.chain.tip


def best_header(n: Node) -> BlockIndex:
    """The most-work header the node knows that is not known invalid (block data or not)."""
    return max((i for i in n.state.chain.index.values() if not i.failed), key=lambda i: (i.chain_work, -i.seq))


def zero_bits(i: BlockIndex) -> int:
    """The difficulty a block carries, in leading zero bits (as `chain` shows it)."""
    return int(zero_bits_of(i.header.bits))


def active_chain(n: Node) -> Sequence[BlockIndex]:
    return n.state.chain.active


def block_index(n: Node) -> dict[bytes, BlockIndex]:
    return n.state.chain.index


def on_active(n: Node, h: bytes) -> bool:
    return n.state.chain.on_active(h)


def stored_block(n: Node, h: bytes) -> Block | None:
    return n.state.get_block(h)


def confirmed_height(n: Node, txid: bytes) -> int | None:
    """Height of the block on n's active chain that holds the transaction, or None."""
    idx = n.state.chain.tx_block(txid)
    return idx.height if idx is not None else None


def spends_missing_coin(n: Node, tx: Tx) -> bool:
    """Some input spends a coin n's chain does not have (spent elsewhere, or never made)."""
    return any(i.prevout not in n.state.chain.utxo for i in tx.inputs)


def mempool_txs(n: Node) -> list[Tx]:
    return list(n.state.mempool.txs())


def mempool_fee(n: Node, txid: bytes) -> int:
    return n.state.mempool.entries[txid].fee


def in_mempool(n: Node, txid: bytes) -> bool:
    return txid in n.state.mempool


def balance(n: Node) -> Balance:
    return n.state.wallet.balance()


def address(n: Node) -> str:
    return n.state.wallet.address


def is_online(n: Node) -> bool:
    return bool(n.online)


def listening(n: Node) -> str | None:
    """HOST:PORT the node listens on, or None while it is stopped."""
    return f"{n.host}:{n.port}" if n.online else None


@dataclass(frozen=True, slots=True)
class PeerView:
    """One of a node's connections, as `peers` shows it."""

    remote: str  # the peer's name
    inbound: bool
    lab_link: bool  # timed by the fabric (False: a live link)
    handshake_done: bool
    sent: int  # messages
    received: int


def peers(n: Node) -> list[PeerView]:
    return [PeerView(p.remote, p.inbound, p.lab_link, p.active, p.sent, p.received) for p in n.peers.values()]


def active_peer_names(n: Node) -> list[str]:
    """Names of the peers n finished the handshake with."""
    return [p.remote for p in n.active_peers()]


def connection_count(lab: Lab) -> int:
    """Connections summed over every node (each link counts at both ends)."""
    return sum(len(n.peers) for n in lab.nodes.values())


def is_connected(a: Node, b: Node) -> bool:
    peer: Any = a.peers.get(b.name)
    return peer is not None and bool(peer.active) and not peer.closed


def discouraged(n: Node) -> list[str]:
    return n.discouraged.listed()
