"""How a miner plays when it finds a block or hears one: honest, or Eyal & Sirer's selfish mining.

A strategy is pure decision logic. It sees a `View` of the race between the
miner's own branch and the public chain, counted from the block both share
(the fork point), *after* the event it answers: the miner's new block is
already on its branch, a block from the network already on the public chain.
It answers with a `Decision`: an action (`Publish`, `Adopt`, `KeepMining`) and
a `Move`, a typed record of which rule fired, for the layers above to narrate.
Nothing here knows about nodes, sockets or sentences.

Selfish mining, Algorithm 1 of Eyal & Sirer, "Majority is not Enough: Bitcoin
Mining is Vulnerable" (2013, arXiv 1311.0243), with Δ the lead before the event:

    the pool found a block:   Δ = 0 and the race was on (a tie) -> publish all, win it
                              otherwise                          -> keep it private
    others found a block:     Δ = 0 -> adopt the public chain (they win)
                              Δ = 1 -> publish the last block: a tie, race them
                              Δ = 2 -> publish all: the pool's chain is longer
                              Δ > 2 -> publish enough to match the public chain
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class View:
    """The race as the miner sees it, counted in blocks from the fork point."""

    private: int  # blocks on the miner's own branch (published or not)
    public: int  # blocks on the best public chain that are not on the miner's branch
    unpublished: int  # of the miner's blocks, how many it still withholds (the newest ones)

    @property
    def lead(self) -> int:
        """How many blocks the miner's branch is ahead of the public chain (negative: behind)."""
        return self.private - self.public

    @property
    def published(self) -> int:
        return self.private - self.unpublished


@dataclass(frozen=True, slots=True)
class Publish:
    """Announce the `count` oldest withheld blocks (an honest Core node relays each one at once)."""

    count: int


@dataclass(frozen=True, slots=True)
class Adopt:
    """Give up the private branch and mine on the public tip."""


@dataclass(frozen=True, slots=True)
class KeepMining:
    """Change nothing: keep mining on the miner's own tip."""


Action = Publish | Adopt | KeepMining

# Rule codes a Move carries; the renderer owns their sentences.
WITHHOLD = "withhold"  # selfish: a new block is kept private
WIN_RACE = "win-race"  # selfish: found a block during a tie; publishing all wins the race
MATCH = "match"  # selfish: the public chain caught up to one behind; publish to tie and race
OVERRIDE = "override"  # selfish: the lead fell to 1; publish all, the longer chain wins
KEEP_AHEAD = "keep-ahead"  # selfish: far ahead; publish just enough to match the public chain
ADOPT = "adopt"  # the public chain is longer: mine on it
PUBLISH = "publish"  # honest: announce the block at once
FIRST_SEEN = "first-seen"  # honest: a block of equal work arrived; keep the tip seen first
NOTHING_WITHHELD = "nothing-withheld"  # selfish: would publish, but holds no blocks

MINED = "mined"  # the event: this miner found a block
HEARD = "heard"  # the event: a block arrived from the network


@dataclass(frozen=True, slots=True)
class Move:
    """Which rule a strategy applied to an event, for narration."""

    strategy: str  # honest | selfish
    event: str  # MINED | HEARD
    rule: str  # one of the rule codes above
    private: int  # the miner's branch after the event, before the action (blocks since the fork)
    public: int  # the public chain after the event, before the action
    published: int  # blocks announced by this move (0 when none)


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    move: Move


class Strategy(Protocol):
    @property
    def name(self) -> str:
        """honest | selfish: the word `strategy NODE ...` takes."""
        ...

    def on_mined(self, view: View) -> Decision:
        """The miner found a block; it is on its branch (and withheld) in `view`."""
        ...

    def on_heard(self, view: View) -> Decision:
        """A block arrived from the network; it is on the public chain in `view`."""
        ...


def _decide(name: str, event: str, rule: str, view: View, action: Action) -> Decision:
    count = action.count if isinstance(action, Publish) else 0
    return Decision(action, Move(name, event, rule, view.private, view.public, count))


class Honest:
    """Publish every block at once; follow the most-work chain, first seen on a tie."""

    name = "honest"

    def on_mined(self, view: View) -> Decision:
        if view.unpublished == 0:
            return _decide(self.name, MINED, NOTHING_WITHHELD, view, KeepMining())
        return _decide(self.name, MINED, PUBLISH, view, Publish(view.unpublished))

    def on_heard(self, view: View) -> Decision:
        if view.lead < 0:
            return _decide(self.name, HEARD, ADOPT, view, Adopt())
        return _decide(self.name, HEARD, FIRST_SEEN, view, KeepMining())


class Selfish:
    """Eyal & Sirer's selfish mining: withhold, and publish only to win or to race."""

    name = "selfish"

    def on_mined(self, view: View) -> Decision:
        before = view.lead - 1  # Δ: the lead before this block
        if before == 0 and view.public > 0 and view.unpublished > 0:
            # a tie was on (both branches published, same length): one more block wins it
            return _decide(self.name, MINED, WIN_RACE, view, Publish(view.unpublished))
        return _decide(self.name, MINED, WITHHOLD, view, KeepMining())

    def on_heard(self, view: View) -> Decision:
        before = view.lead + 1  # Δ: the lead before the public chain grew
        if before <= 0:
            return _decide(self.name, HEARD, ADOPT, view, Adopt())
        if view.unpublished == 0:
            return _decide(self.name, HEARD, NOTHING_WITHHELD, view, KeepMining())
        if before == 1:
            return _decide(self.name, HEARD, MATCH, view, Publish(view.unpublished))
        if before == 2:
            return _decide(self.name, HEARD, OVERRIDE, view, Publish(view.unpublished))
        needed = min(view.unpublished, max(1, view.public - view.published))
        return _decide(self.name, HEARD, KEEP_AHEAD, view, Publish(needed))


HONEST = Honest()
SELFISH = Selfish()
STRATEGIES: dict[str, Strategy] = {HONEST.name: HONEST, SELFISH.name: SELFISH}
