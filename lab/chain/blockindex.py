"""One known header in the block tree, and the fork point of two chains.

realname: CBlockIndex (chain.h) and LastCommonAncestor. Split out of
chainstate.py so the block tree's node type can be read on its own.
"""

from __future__ import annotations

from lab.chain.block import BlockHeader
from lab.chain.pow import work_from_bits
from lab.params import MEDIAN_TIME_SPAN


class BlockIndex:
    """One known header in the block tree (realname: CBlockIndex)."""

    __slots__ = (
        "hash",
        "header",
        "height",
        "chain_work",
        "parent",
        "children",
        "have_data",
        "available",
        "failed",
        "fail_code",
        "seq",
        "header_seq",
        "mtp",
    )

    def __init__(self, header: BlockHeader, parent: BlockIndex | None, header_seq: int) -> None:
        self.hash: bytes = header.hash
        self.header = header
        self.parent = parent  # realname: pprev
        self.height: int = parent.height + 1 if parent else 0  # realname: nHeight
        self.chain_work: int = (parent.chain_work if parent else 0) + work_from_bits(header.bits)  # nChainWork
        self.children: list[BlockIndex] = []  # in the order their headers arrived
        self.have_data = False  # we hold the full block (realname: BLOCK_HAVE_DATA)
        self.available = False  # we hold it and every ancestor (realname: nChainTx != 0)
        self.failed = False  # it or an ancestor broke a rule (realname: BLOCK_FAILED_MASK)
        self.fail_code = ""  # the reason code; "bad-prevblk" when an ancestor failed
        self.seq = 1 << 62  # order in which it became available; lower wins a tie (nSequenceId)
        self.header_seq = header_seq  # order in which its header arrived
        self.mtp: int | None = None  # median_time_past(), once asked: it never changes

    @property
    def time(self) -> int:
        return self.header.time

    def ancestor(self, height: int) -> BlockIndex:
        """The block at `height` on the chain ending here (realname: GetAncestor)."""
        if not 0 <= height <= self.height:
            raise ValueError(f"no ancestor at height {height} of a block at height {self.height}")
        idx = self
        while idx.height > height:
            idx = idx.parent  # type: ignore[assignment]
        return idx

    def median_time_past(self) -> int:
        """Median time of this block and the 10 before it (realname: GetMedianTimePast).

        Fixed by the block's ancestry, so computed once: every header, block and
        mempool transaction on top of it asks again.
        """
        if self.mtp is not None:
            return self.mtp
        times: list[int] = []
        idx: BlockIndex | None = self
        for _ in range(MEDIAN_TIME_SPAN):
            times.append(idx.header.time)  # type: ignore[union-attr]
            idx = idx.parent  # type: ignore[union-attr]
            if idx is None:
                break
        times.sort()
        self.mtp = times[len(times) // 2]
        return self.mtp

    def __repr__(self) -> str:
        state = "failed" if self.failed else ("data" if self.have_data else "header")
        return f"BlockIndex({self.header.short} h={self.height} {state})"


def last_common_ancestor(a: BlockIndex, b: BlockIndex) -> BlockIndex:
    """The fork point of two chains (realname: LastCommonAncestor)."""
    while a.height > b.height:
        a = a.parent  # type: ignore[assignment]
    while b.height > a.height:
        b = b.parent  # type: ignore[assignment]
    while a is not b:
        a, b = a.parent, b.parent  # type: ignore[assignment]
    return a
