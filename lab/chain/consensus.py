"""The rules every node of one lab shares (realname: Consensus::Params).

- Difficulty: a schedule of (from_height, bits) entries. The default has
  one entry, the lab's fixed target from height 1 on. `set_difficulty`
  adds an entry, like a rule change activating at a height, so every node
  agrees which bits each height must carry, on every branch.
- Optional retargeting every `retarget_interval` blocks (0 = off, like
  regtest): the target scales by actual / expected time of the last window,
  clamped to x4 / /4 (realname: GetNextWorkRequired, CalculateNextWorkRequired).
- Subsidy: INITIAL_SUBSIDY halving every HALVING_INTERVAL blocks
  (realname: GetBlockSubsidy).
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lab.chain import pow
from lab.params import (
    COINBASE_MATURITY,
    DEFAULT_DIFFICULTY,
    HALVING_INTERVAL,
    INITIAL_SUBSIDY,
    MAX_FUTURE_BLOCK_TIME,
    RETARGET_INTERVAL,
    TARGET_BLOCK_INTERVAL,
)

if TYPE_CHECKING:
    from lab.chain.chainstate import BlockIndex


def _default_schedule() -> list[tuple[int, int]]:
    return [(1, pow.bits_for_zero_bits(DEFAULT_DIFFICULTY))]


@dataclass
class Consensus:
    """Shared rules. Mutable only through set_difficulty (an activation height)."""

    schedule: list[tuple[int, int]] = field(default_factory=_default_schedule)  # (from_height, bits), sorted
    retarget_interval: int = RETARGET_INTERVAL  # blocks per difficulty window; 0 = fixed difficulty
    target_spacing: int = TARGET_BLOCK_INTERVAL  # seconds wanted between blocks
    coinbase_maturity: int = COINBASE_MATURITY  # blocks before a coinbase output may be spent
    halving_interval: int = HALVING_INTERVAL  # blocks per subsidy era
    initial_subsidy: int = INITIAL_SUBSIDY  # base units paid by the first era's coinbases
    max_future_time: int = MAX_FUTURE_BLOCK_TIME  # seconds a block's time may run ahead of the clock

    @classmethod
    def with_difficulty(cls, zero_bits: int, **kwargs: int) -> Consensus:
        """Consensus with a fixed difficulty of `zero_bits` from height 1 (tests use 1..4)."""
        return cls(schedule=[(1, pow.bits_for_zero_bits(zero_bits))], **kwargs)

    # --- difficulty ---------------------------------------------------------
    def set_difficulty(self, from_height: int, zero_bits: int) -> None:
        """Blocks from `from_height` on carry the target for `zero_bits` (replaces an entry there)."""
        if from_height < 1:
            raise ValueError("difficulty can change from height 1 on; genesis is fixed")
        bits = pow.bits_for_zero_bits(zero_bits)
        self.schedule = [e for e in self.schedule if e[0] != from_height]
        insort(self.schedule, (from_height, bits))

    def scheduled_bits(self, height: int) -> int:
        """The bits the schedule gives `height` (ignores retargeting)."""
        bits = self.schedule[0][1]
        for from_height, b in self.schedule:
            if from_height > height:
                break
            bits = b
        return bits

    def difficulty_at(self, height: int) -> int:
        """The scheduled difficulty at `height` in leading zero bits, for display."""
        return int(pow.zero_bits_of(self.scheduled_bits(height)))

    def expected_bits(self, parent: BlockIndex) -> int:
        """The bits a child of `parent` must carry (realname: GetNextWorkRequired)."""
        height = parent.height + 1
        scheduled = self.scheduled_bits(height)
        interval = self.retarget_interval
        if not interval or any(h == height for h, _ in self.schedule):
            return scheduled  # fixed difficulty, or a schedule entry activates here
        if height % interval:
            return parent.header.bits  # inside a window: same target as the parent
        # A window ends: compare how long its blocks took with how long they should
        # have. Bitcoin measures interval-1 gaps (an old off-by-one); we measure
        # the full window, and skip genesis, whose 2009 time says nothing here.
        first = parent.ancestor(max(height - interval, 1))
        expected = (parent.height - first.height) * self.target_spacing
        if expected <= 0:
            return parent.header.bits
        actual = parent.header.time - first.header.time
        bits = pow.retarget(parent.header.bits, actual, expected)
        # Lab safety cap (Bitcoin has none): never harder than MAX_DIFFICULTY,
        # so a burst of instant blocks cannot make mining take hours in Python.
        if pow.bits_to_target(bits) < pow.HARDEST:
            bits = pow.target_to_bits(pow.HARDEST)
        return bits

    # --- money ---------------------------------------------------------------
    def subsidy(self, height: int) -> int:
        """New coins a block at `height` may create (realname: GetBlockSubsidy)."""
        halvings = height // self.halving_interval
        if halvings >= 64:
            return 0
        return self.initial_subsidy >> halvings
