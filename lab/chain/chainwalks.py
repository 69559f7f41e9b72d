"""Read-only walks over the active chain that serve peers: locators and header lists.

realname: CChain::GetLocator, FindForkInGlobalIndex, and the loops in
net_processing that answer getheaders / getblocks. A mixin of ChainState,
split out so chainstate.py stays about storing and connecting blocks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.chain.block import BlockHeader
from lab.chain.blockindex import BlockIndex
from lab.params import MAX_HEADERS, MAX_LOCATOR

if TYPE_CHECKING:
    from collections.abc import Callable


class ChainWalks:
    """Locators and what follows them on the active chain (mixed into ChainState)."""

    active: list[BlockIndex]
    index: dict[bytes, BlockIndex]
    best_header: BlockIndex
    on_active: Callable[[bytes], bool]

    def locator(self, start: BlockIndex | None = None) -> list[bytes]:
        """Hashes back from `start` (default tip): 10 one by one, then doubling gaps, then genesis."""
        idx = start or self.active[-1]
        out: list[bytes] = []
        step = 1
        height = idx.height
        while height > 0 and len(out) < MAX_LOCATOR - 1:
            out.append(idx.ancestor(height).hash if start else self.active[height].hash)
            if len(out) >= 10:
                step *= 2
            height -= step
        out.append(self.active[0].hash)
        return out

    def find_fork(self, locator: list[bytes]) -> BlockIndex:
        """The first locator entry on our active chain (realname: FindForkInGlobalIndex)."""
        for h in locator:
            if self.on_active(h):
                return self.index[h]
        return self.active[0]

    def headers_after(self, locator: list[bytes], stop: bytes | None = None, limit: int = MAX_HEADERS) -> list[BlockHeader]:
        """Active-chain headers after the fork with `locator`, up to `stop` or `limit` (getheaders)."""
        return [idx.header for idx in self._after(locator, stop, limit)]

    def blocks_after(self, locator: list[bytes], stop: bytes | None = None, limit: int = 500) -> list[bytes]:
        """Active-chain block hashes after the fork with `locator` (getblocks)."""
        return [idx.hash for idx in self._after(locator, stop, limit)]

    def _after(self, locator: list[bytes], stop: bytes | None, limit: int) -> list[BlockIndex]:
        fork = self.find_fork(locator)
        out: list[BlockIndex] = []
        for idx in self.active[fork.height + 1 :]:
            if len(out) >= limit:
                break
            out.append(idx)
            if idx.hash == stop:
                break
        return out

    def missing_blocks(self, limit: int) -> list[bytes]:
        """Blocks along best_header's chain we have only headers for, lowest first."""
        out: list[bytes] = []
        idx: BlockIndex | None = self.best_header
        while idx is not None and not self.on_active(idx.hash):
            if not idx.have_data:
                out.append(idx.hash)
            idx = idx.parent
        out.reverse()
        return out[:limit]
