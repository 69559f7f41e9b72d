"""What a node agrees to store for blocks it may never use, bounded by bytes.

An outsider can make blocks at the lab's difficulty cheaply (16 zero bits is
~0.1 s of one CPU), and a 1 MB block held as Python objects takes ~10 MB of
memory. So everything a node keeps *off* its active chain is bounded by the
serialised size of what it holds, not by a count of blocks:

- the orphan pool (blocks whose parent is unknown): oldest evicted first,
  capped at MAX_ORPHAN_BLOCKS blocks and MAX_ORPHAN_BLOCK_BYTES bytes
  (realname: mapOrphanBlocks, before 0.10; Core keeps no orphan blocks at all
  since headers-first sync);
- side-branch blocks (stored, not on the active chain): when their bytes pass
  MAX_SIDE_BRANCH_BYTES, the branch tip with the least work loses its data
  first (realname: pruning, FindFilesToPrune; Core prunes by disk space).
  A block whose chain has at least the tip's work is never dropped: it may
  become the tip, and making it cost as much work as the lab's own chain.

The header stays known unless the dropped block was a leaf of the tree: then
its index entry goes too, so low-work forks do not pile up headers either.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from lab.chain.block import Block
from lab.params import MAX_ORPHAN_BLOCK_BYTES, MAX_ORPHAN_BLOCKS, MAX_SIDE_BRANCH_BYTES

if TYPE_CHECKING:
    from lab.chain.blockindex import BlockIndex
    from lab.chain.chainstate import ChainState


class OrphanBlocks:
    """Blocks whose parent is unknown, oldest first, bounded by count and by bytes."""

    def __init__(self, max_blocks: int = MAX_ORPHAN_BLOCKS, max_bytes: int = MAX_ORPHAN_BLOCK_BYTES) -> None:
        self.max_blocks = max_blocks
        self.max_bytes = max_bytes
        self._blocks: dict[bytes, Block] = {}
        self.bytes = 0  # serialised size of everything held

    def __contains__(self, block_hash: object) -> bool:
        return block_hash in self._blocks

    def __len__(self) -> int:
        return len(self._blocks)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._blocks)

    def __bool__(self) -> bool:
        return bool(self._blocks)

    def items(self) -> list[tuple[bytes, Block]]:
        return list(self._blocks.items())

    def get(self, block_hash: bytes) -> Block | None:
        return self._blocks.get(block_hash)

    def pop(self, block_hash: bytes) -> Block:
        block = self._blocks.pop(block_hash)
        self.bytes -= block.size
        return block

    def add(self, block: Block) -> list[bytes]:
        """Keep `block`, evicting the oldest until both caps hold; returns the evicted hashes."""
        evicted = []
        while self._blocks and (len(self._blocks) >= self.max_blocks or self.bytes + block.size > self.max_bytes):
            oldest = next(iter(self._blocks))
            self.pop(oldest)
            evicted.append(oldest)
        self._blocks[block.hash] = block
        self.bytes += block.size
        return evicted


class SideBlocks:
    """Sizes of the stored blocks that are not on the active chain (kept up to date by ChainState)."""

    def __init__(self, max_bytes: int = MAX_SIDE_BRANCH_BYTES) -> None:
        self.max_bytes = max_bytes
        self.sizes: dict[bytes, int] = {}
        self.bytes = 0

    def add(self, block_hash: bytes, size: int) -> None:
        if block_hash not in self.sizes:
            self.sizes[block_hash] = size
            self.bytes += size

    def discard(self, block_hash: bytes) -> None:
        size = self.sizes.pop(block_hash, None)
        if size is not None:
            self.bytes -= size

    def over(self) -> bool:
        return self.bytes > self.max_bytes


def drop_side_blocks(chain: ChainState) -> list[bytes]:
    """Forget side-branch block data, least work first, until within the cap; returns what went."""
    side = chain.side
    dropped: list[bytes] = []
    if not side.over():
        return dropped
    tip_work = chain.tip.chain_work
    while side.over():
        leaves = []
        for h in side.sizes:
            idx = chain.index[h]
            if idx.chain_work < tip_work and not any(c.have_data for c in idx.children):
                leaves.append(idx)
        if not leaves:
            break  # what is left has as much work as the tip: it cost as much as our own chain
        victim = min(leaves, key=lambda i: (i.chain_work, -i.header_seq))  # least work, newest on a tie
        _forget_data(chain, victim)
        dropped.append(victim.hash)
    return dropped


def _forget_data(chain: ChainState, idx: BlockIndex) -> None:
    chain.side.discard(idx.hash)
    chain.blocks.pop(idx.hash, None)
    chain.drop_candidate(idx.hash)
    idx.have_data = idx.available = False
    idx.seq = 1 << 62
    if not idx.children and idx.parent is not None and not idx.failed:
        idx.parent.children.remove(idx)  # a leaf: forget the header as well
        del chain.index[idx.hash]
