"""Typed events of the attacker's seat: withholding, publishing, strategy moves, eclipses.

The same kind of frozen event as lab/events.py (kept apart only so neither
module grows too long); their sentences are in lab/render/events.py.
"""

from __future__ import annotations

from typing import ClassVar

from lab.events import _Event, event


@event
class WithholdSet(_Event):
    """A node starts or stops keeping its blocks and its own transactions to itself (`withhold`)."""

    kind: ClassVar[str] = "withhold"
    node: str
    on: bool
    withheld: int  # blocks it holds unpublished after the change


@event
class BlockWithheld(_Event):
    """A withholding node mined a block and keeps it to itself."""

    kind: ClassVar[str] = "withheld"
    node: str
    block: bytes
    height: int
    withheld: int  # blocks it now holds unpublished, this one included


@event
class TxWithheld(_Event):
    """A withholding node made a transaction and keeps it for its private chain."""

    kind: ClassVar[str] = "tx-withheld"
    node: str
    tx: bytes


@event
class BlocksPublished(_Event):
    """A node announced blocks it had withheld, oldest first (`publish`, or leaving withholding)."""

    kind: ClassVar[str] = "published"
    node: str
    blocks: tuple[bytes, ...]
    first_height: int  # height of the first of them
    left: int  # blocks it still withholds


@event
class StrategySet(_Event):
    """A node's way of playing changed (`strategy NODE honest|selfish`)."""

    kind: ClassVar[str] = "strategy"
    node: str
    strategy: str  # honest | selfish


@event
class StrategyMove(_Event):
    """A strategy answered a block the node mined or heard (lab/chain/strategies.py: which rule fired)."""

    kind: ClassVar[str] = "move"
    node: str
    strategy: str  # selfish
    cause: str  # mined | heard: what the move answers
    rule: str  # strategies.WITHHOLD, MATCH, OVERRIDE, ...
    private: int  # blocks on its own branch since the fork, after the event
    public: int  # blocks on the public chain since the fork, after the event
    published: int  # blocks this move announced
    abandoned: int  # withheld blocks given up (an adopt)


@event
class Eclipsed(_Event):
    """A node's only peers became the eclipsers, which relay it nothing but their own blocks and txs."""

    kind: ClassVar[str] = "eclipse"
    node: str  # the victim
    by: tuple[str, ...]  # the eclipsing nodes
    cut: int  # links to other nodes closed


@event
class EclipseEnded(_Event):
    """`heal` ended an eclipse: the victim may connect to anyone again."""

    kind: ClassVar[str] = "eclipse-ended"
    node: str
    by: tuple[str, ...]
