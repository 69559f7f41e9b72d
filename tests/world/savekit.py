"""Real nodes with real blocks for the save-file and digest tests, and a SaveData made from them.

Difficulty 1 zero bit: every other hash is a valid block, so a chain of a
few dozen blocks mines in milliseconds through the real miner.
"""

from __future__ import annotations

from lab.chain.consensus import Consensus
from lab.chain.crypto import PrivateKey
from lab.chain.node_state import NodeState
from lab.params import GENESIS_TIME
from lab.world.savefile import SaveData, TreeEntry

START = GENESIS_TIME + 1_000_000


def nodes(names: tuple[str, ...] = ("A", "B")) -> dict[str, NodeState]:
    consensus = Consensus.with_difficulty(1)
    return {n: NodeState(n, PrivateKey.derive(1, n), consensus, lambda: START) for n in names}


def mine(node: NodeState, count: int = 1) -> None:
    for _ in range(count):
        node.process_block(node.mine_block())


def relay_all(src: NodeState, dst: NodeState) -> None:
    """Hand dst every block src holds, in height order (what block download would do)."""
    for idx in sorted(src.chain.index.values(), key=lambda i: i.height):
        if idx.height and not dst.chain.contains(idx.hash):
            dst.process_block(src.chain.blocks[idx.hash])


def save_data(lab: dict[str, NodeState], **sections: object) -> SaveData:
    """What a lab would save of these nodes: every block once, each node's tree in arrival order."""
    blocks: dict[bytes, bytes] = {}
    trees: dict[str, tuple[TreeEntry, ...]] = {}
    for name, node in lab.items():
        entries = sorted(node.chain.index.values(), key=lambda i: i.header_seq)
        for idx in entries:
            blocks[idx.hash] = node.chain.blocks[idx.hash].serialize()
        trees[name] = tuple(TreeEntry(i.hash, node.chain.status_of(i.hash)) for i in entries)
    return SaveData(meta={"seed": "1"}, sections=dict(sections), blocks=blocks, trees=trees)
