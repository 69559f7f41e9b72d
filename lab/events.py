"""Typed events of the lab: every network- or consensus-relevant change, as data.

Nodes (lab/net) and the lab (lab/world) append these to ONE event log
(lab/world/log.py) with a sequence number and the virtual time. Counts and
facts (reorgs, rejections, stale blocks, propagation times, who told whom)
are queries over them (lab/world/queries.py); the sentences a learner reads
are rendered from them in lab/render/events.py. Nothing here holds English.

The chain's own events (lab/chain/events.py, realname: CValidationInterface)
are what one node's chain state reports; the ones here add who (the node,
the peer) and are what the lab remembers.

Field names are stable: `Record.data` exposes them by name (`block`, `tx`,
`peer`, `code` ...). Hashes and txids are bytes in internal order. `kind`
is the stable name of each class (lesson `explain` tables key on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

# -- blocks -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockMined:
    """A node found proof of work for a block on its own tip (realname: GenerateBlock)."""

    kind: ClassVar[str] = "mined"
    node: str  # the miner
    block: bytes  # the new block's hash
    height: int  # its height
    parent: bytes  # the tip it was mined on
    n_tx: int  # transactions in it, coinbase included
    reward: int  # coinbase output, base units (subsidy + fees)
    fees: int  # fees in it, base units


@dataclass(frozen=True, slots=True)
class BlockStored:
    """A node stored a valid block (on its active chain or a side branch): the moment it first had it."""

    kind: ClassVar[str] = "block-stored"
    node: str
    block: bytes
    height: int
    peer: str | None  # who sent it; None if mined here or stored earlier and connected now


@dataclass(frozen=True, slots=True)
class BlockAccepted:
    """A block from a peer became the node's new tip."""

    kind: ClassVar[str] = "block-accepted"
    node: str
    block: bytes
    height: int
    peer: str  # who sent it


@dataclass(frozen=True, slots=True)
class ForkSeen:
    """A valid block from a peer went to a side branch: the node stays on its tip."""

    kind: ClassVar[str] = "fork"
    node: str
    block: bytes
    height: int
    peer: str
    tip: bytes  # the tip the node stays on
    tip_height: int
    tip_more_work: bool  # True: the tip has more work; False: equal work, seen first


@dataclass(frozen=True, slots=True)
class BlockOrphan:
    """A block that cannot be connected yet: its parent, or blocks before it, are missing."""

    kind: ClassVar[str] = "orphan"
    node: str
    block: bytes
    peer: str
    height: int | None  # None: the parent is unknown (headers are asked for)
    # with a height: its branch has more work, earlier blocks are being fetched


@dataclass(frozen=True, slots=True)
class BlockRejected:
    """A block broke a rule (realname: BlockChecked with an invalid state)."""

    kind: ClassVar[str] = "block-rejected"
    node: str
    block: bytes
    code: str  # reason code, e.g. "bad-cb-amount"
    detail: str  # one plain sentence from the rule, may be empty
    peer: str  # the peer whose message carried it (the node itself if local)
    direct: bool  # True: the block sent; False: an earlier block connected because of it


@dataclass(frozen=True, slots=True)
class HeadersRejected:
    """A `headers` message broke a rule: the peer is punished."""

    kind: ClassVar[str] = "block-rejected"
    node: str
    code: str
    detail: str
    peer: str


@dataclass(frozen=True, slots=True)
class Reorg:
    """The node's active chain switched branch."""

    kind: ClassVar[str] = "reorg"
    node: str
    fork: bytes  # last block both branches share
    fork_height: int
    dropped: tuple[bytes, ...]  # old-branch blocks, ascending height
    adopted: tuple[bytes, ...]  # new-branch blocks, ascending height
    returned_txs: tuple[bytes, ...]  # transactions of dropped blocks back in the mempool


@dataclass(frozen=True, slots=True)
class BlockForged:
    """The learner made a node mine a block that breaks a rule, sent to its peers."""

    kind: ClassVar[str] = "forged"
    node: str
    block: bytes
    rule: str  # the rule broken, e.g. "bad-pow"


# -- transactions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TxAccepted:
    """A transaction entered a node's mempool."""

    kind: ClassVar[str] = "tx-accepted"
    node: str
    tx: bytes
    peer: str  # who sent it (the node itself if local)
    origin: str  # "own": its wallet's; "relayed": from `peer` or a local child; "caught-up": waited for the tip


@dataclass(frozen=True, slots=True)
class TxRejected:
    kind: ClassVar[str] = "tx-rejected"
    node: str
    tx: bytes
    code: str
    detail: str
    peer: str


@dataclass(frozen=True, slots=True)
class TxOrphan:
    """A transaction waits for its parent (realname: the orphanage)."""

    kind: ClassVar[str] = "tx-orphan"
    node: str
    tx: bytes
    peer: str


@dataclass(frozen=True, slots=True)
class TxReturned:
    """A transaction of a dropped block is back in the mempool."""

    kind: ClassVar[str] = "tx-returned"
    node: str
    tx: bytes


@dataclass(frozen=True, slots=True)
class TxEvicted:
    kind: ClassVar[str] = "tx-evicted"
    node: str
    tx: bytes
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class TxHanded:
    """A wallet handed its transaction to another node than its own (`send ... via`)."""

    kind: ClassVar[str] = "tx-handed"
    node: str  # the node it was handed to
    wallet: str  # the node whose wallet made it
    tx: bytes


# -- peers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerConnected:
    """A lab link finished its handshake, or an outsider connected."""

    kind: ClassVar[str] = "peer-connected"
    node: str
    peer: str
    outsider: bool  # True: a live peer from outside the lab (it connected; no handshake yet)


@dataclass(frozen=True, slots=True)
class PeerDisconnected:
    kind: ClassVar[str] = "peer-disconnected"
    node: str
    peer: str
    reason: str


@dataclass(frozen=True, slots=True)
class PeerPunished:
    """Disconnected and discouraged (realname: Misbehaving + MaybeDiscourageAndDisconnect)."""

    kind: ClassVar[str] = "peer-punished"
    node: str
    peer: str
    reason: str


@dataclass(frozen=True, slots=True)
class PeerNoisy:
    """An outsider's rejections are no longer narrated one by one."""

    kind: ClassVar[str] = "peer-noisy"
    node: str
    peer: str
    limit: int  # lines narrated before


@dataclass(frozen=True, slots=True)
class FrameDropped:
    """A frame with a bad checksum was dropped; the peer is kept (Core)."""

    kind: ClassVar[str] = "frame-dropped"
    node: str
    peer: str
    command: str


@dataclass(frozen=True, slots=True)
class RejectReceived:
    kind: ClassVar[str] = "reject-received"
    node: str
    peer: str
    message: str  # what was refused: "block" | "tx"
    hash: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class InternalError:
    """A bug of ours while handling a peer's message: caught, the peer dropped."""

    kind: ClassVar[str] = "internal-error"
    node: str
    peer: str
    command: str
    detail: str


# -- the lab's own changes ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkUp:
    kind: ClassVar[str] = "link-up"
    node: str
    peer: str


@dataclass(frozen=True, slots=True)
class LinkDown:
    kind: ClassVar[str] = "link-down"
    node: str
    peer: str


@dataclass(frozen=True, slots=True)
class Partitioned:
    kind: ClassVar[str] = "partition"
    groups: tuple[tuple[str, ...], ...]
    cut: int  # links cut
    node: None = None


@dataclass(frozen=True, slots=True)
class Healed:
    kind: ClassVar[str] = "heal"
    reconnected: int  # links reconnected
    node: None = None


@dataclass(frozen=True, slots=True)
class OneWayCut:
    kind: ClassVar[str] = "cut"
    src: str  # its frames to dst are lost
    dst: str
    node: None = None


@dataclass(frozen=True, slots=True)
class NodeStopped:
    kind: ClassVar[str] = "node-stopped"
    node: str


@dataclass(frozen=True, slots=True)
class NodeStarted:
    kind: ClassVar[str] = "node-started"
    node: str
    height: int  # its tip when it starts again


@dataclass(frozen=True, slots=True)
class NodeAdded:
    kind: ClassVar[str] = "node-added"
    node: str
    peers: tuple[str, ...]  # whom it connects to


@dataclass(frozen=True, slots=True)
class StillBusy:
    """`settle` gave up: auto-miners kept the network busy."""

    kind: ClassVar[str] = "still-busy"
    mined: int  # blocks auto-mined while settling
    node: None = None


Event = Any  # any class above (a Union of 30 would only be noise)


@dataclass(frozen=True, slots=True)
class Record:
    """One event in the log: its position and virtual time."""

    seq: int  # position in the log
    time: int  # virtual microseconds
    event: Event

    @property
    def kind(self) -> str:
        return self.event.kind  # type: ignore[no-any-return]

    @property
    def node(self) -> str | None:
        return self.event.node  # type: ignore[no-any-return]

    @property
    def data(self) -> dict[str, Any]:
        ev = self.event
        return {name: getattr(ev, name) for name in ev.__slots__}
