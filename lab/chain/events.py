"""Structured events: what the chain and the mempool report as they change.

Nothing in `lab.chain` prints. Instead every consensus-relevant change is one
small frozen value here; the layers above narrate them (docs/ARCHITECTURE.md,
"Events"). Bitcoin Core has the same idea in its validation interface (realname:
CValidationInterface: BlockConnected, BlockDisconnected, UpdatedBlockTip,
TransactionAddedToMempool, TransactionRemovedFromMempool, BlockChecked).

Hashes and txids are bytes in internal order; render them with
`crypto.short_hex` / `crypto.hash_hex`. Every event class has a `kind`
string, stable for renderers and logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class BlockConnected:
    """A block was connected to the tip of the active chain (realname: BlockConnected)."""

    kind: ClassVar[str] = "block-connected"
    hash: bytes  # the block
    height: int  # its height on the active chain
    n_tx: int  # transactions in it, coinbase included


@dataclass(frozen=True, slots=True)
class BlockDisconnected:
    """The tip block was taken off the active chain, its coins given back."""

    kind: ClassVar[str] = "block-disconnected"
    hash: bytes
    height: int


@dataclass(frozen=True, slots=True)
class TipChanged:
    """The active chain ends at a new block (realname: UpdatedBlockTip)."""

    kind: ClassVar[str] = "tip-changed"
    old: bytes  # previous tip hash
    new: bytes  # new tip hash
    height: int  # height of the new tip


@dataclass(frozen=True, slots=True)
class Reorg:
    """The active chain switched branch: blocks above `fork` dropped, others adopted."""

    kind: ClassVar[str] = "reorg"
    fork: bytes  # last block both chains share
    fork_height: int
    dropped: tuple[bytes, ...]  # old-branch blocks, ascending height
    adopted: tuple[bytes, ...]  # new-branch blocks, ascending height


@dataclass(frozen=True, slots=True)
class SideBranch:
    """A valid-looking block was stored but is not on the active chain: a fork seen."""

    kind: ClassVar[str] = "side-branch"
    hash: bytes
    height: int
    tip: bytes  # the active tip it lost to (less work, or equal work seen later)


@dataclass(frozen=True, slots=True)
class BlockRejected:
    """A block (or header) broke a rule (realname: BlockChecked with an invalid state)."""

    kind: ClassVar[str] = "block-rejected"
    hash: bytes
    code: str  # reason code, e.g. "bad-cb-amount"
    detail: str  # one plain sentence


@dataclass(frozen=True, slots=True)
class BlockOrphaned:
    """A block arrived before its parent; it waits in the orphan-block pool."""

    kind: ClassVar[str] = "block-orphaned"
    hash: bytes
    missing_parent: bytes


@dataclass(frozen=True, slots=True)
class TxAccepted:
    """A transaction entered the mempool (realname: TransactionAddedToMempool)."""

    kind: ClassVar[str] = "tx-accepted"
    txid: bytes
    fee: int  # base units


@dataclass(frozen=True, slots=True)
class TxRejected:
    """A transaction was refused by the mempool, with the reason."""

    kind: ClassVar[str] = "tx-rejected"
    txid: bytes
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class TxReturned:
    """A transaction from a disconnected block came back to the mempool after a reorg."""

    kind: ClassVar[str] = "tx-returned"
    txid: bytes


@dataclass(frozen=True, slots=True)
class TxEvicted:
    """A transaction left the mempool without being confirmed (realname: MemPoolRemovalReason)."""

    kind: ClassVar[str] = "tx-evicted"
    txid: bytes
    code: str  # "conflict", "mempool-full", or the rule it now breaks after a reorg
    detail: str


@dataclass(frozen=True, slots=True)
class TxOrphaned:
    """A transaction spends outputs we have never seen; kept in the orphan pool."""

    kind: ClassVar[str] = "tx-orphaned"
    txid: bytes
    missing: bytes  # txid of the first missing parent


Event = (
    BlockConnected
    | BlockDisconnected
    | TipChanged
    | Reorg
    | SideBranch
    | BlockRejected
    | BlockOrphaned
    | TxAccepted
    | TxRejected
    | TxReturned
    | TxEvicted
    | TxOrphaned
)
