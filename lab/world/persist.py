"""A lab's state as save-file data: what a learner can read in a save with `sqlite3`.

Every node's block tree goes into the container's block tables (each block
once, as Bitcoin's raw bytes; a block a node knows only by its header as
the 80-byte header; orphans last), and the rest of what decides the lab's
future into readable JSON sections: the clock, each node's tip and mempool,
labels, topology and cuts, pacing, frames in flight. Loading today rebuilds
the lab by replaying its record (lab/world/record.py) and checks the result
against these (`trees_of`, the digest); a later format can load from them.
"""

from __future__ import annotations

from lab.chain.node_state import NodeState
from lab.world.digest import digest_of
from lab.world.lab import Lab
from lab.world.savefile import HEADER_BYTES_BLOCK, TreeEntry

Json = object


def lab_digest(lab: Lab) -> str:
    """The `digest` line: every node's tip, UTXO set and mempool (lab/world/digest.py)."""
    return digest_of(node.state for node in lab.nodes.values())


def tree_of(state: NodeState, blocks: dict[bytes, bytes] | None = None) -> tuple[TreeEntry, ...]:
    """One node's block tree in the order it learned of each block; fills `blocks` with raw bytes."""
    chain = state.chain
    entries = sorted(chain.index.values(), key=lambda i: i.header_seq)
    tree = [TreeEntry(i.hash, chain.status_of(i.hash)) for i in entries]
    tree += [TreeEntry(h, "orphan") for h in chain.orphans]
    if blocks is not None:
        for e in tree:
            if e.hash not in blocks or len(blocks[e.hash]) == HEADER_BYTES_BLOCK:
                block = chain.blocks.get(e.hash) or chain.orphans.get(e.hash)
                if block is not None:
                    blocks[e.hash] = block.serialize()
                elif e.hash not in blocks:
                    blocks[e.hash] = chain.index[e.hash].header.serialize()
    return tuple(tree)


def trees_of(lab: Lab, blocks: dict[bytes, bytes] | None = None) -> dict[str, tuple[TreeEntry, ...]]:
    return {name: tree_of(node.state, blocks) for name, node in lab.nodes.items()}


def state_sections(lab: Lab) -> dict[str, Json]:
    """The readable sections: what a learner looks up with SQL (`SELECT body FROM section ...`)."""
    nodes = {}
    for name, node in lab.nodes.items():
        chain = node.state.chain
        nodes[name] = {
            "online": node.online,
            "height": chain.tip.height,
            "tip": chain.tip.hash[::-1].hex(),
            "mempool": sorted(txid[::-1].hex() for txid in node.state.mempool.entries),
            "address": node.state.wallet.address,
        }
    topo = lab.topo
    return {
        "clock": {"now_us": lab.sched.now, "unix": lab.clock()},
        "nodes": nodes,
        "labels": {name: {"kind": label.kind, "hash": label.hash[::-1].hex()}
                   for name, label in sorted(lab.labels.items())},
        "topology": {
            "kind": topo.kind, "k": topo.k,
            "edges": sorted(sorted(e) for e in topo.edges),
            "partitions": [[list(g) for g in p] for p in topo.partitions],
            "one_way_cuts": sorted(list(c) for c in topo.one_way_cuts),
        },
        "pacing": {
            "mode": lab.mode, "speed": lab.speed, "relay": lab.relay, "autominer": lab.autominer,
            "block_interval_us": lab.block_interval, "hashrate": dict(sorted(lab.hashrate.items())),
        },
        "flights": [{"id": f.id, "src": f.src, "dst": f.dst, "command": f.command, "sent_us": f.sent,
                     "due_us": f.due, "status": f.status, "frame": f.frame.hex()}
                    for f in lab.fabric.flights.values()],
    }
