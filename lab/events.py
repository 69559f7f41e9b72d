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

from typing import Any, ClassVar, NamedTuple

from lab.event_class import _Event, event

# -- blocks -----------------------------------------------------------------------------


@event
class BlockMined(_Event):
    """A node found proof of work for a block on its own tip, or its private chain (realname: GenerateBlock)."""

    kind: ClassVar[str] = "mined"
    node: str  # the miner
    block: bytes  # the new block's hash
    height: int  # its height
    parent: bytes  # the tip it was mined on
    n_tx: int  # transactions in it, coinbase included
    reward: int  # coinbase output, base units (subsidy + fees)
    fees: int  # fees in it, base units


@event
class BlockStored(_Event):
    """A node stored a valid block (on its active chain or a side branch): the moment it first had it."""

    kind: ClassVar[str] = "block-stored"
    node: str
    block: bytes
    height: int
    peer: str | None  # who sent it; None if mined here or stored earlier and connected now


@event
class BlockAccepted(_Event):
    """A block from a peer became the node's new tip."""

    kind: ClassVar[str] = "block-accepted"
    node: str
    block: bytes
    height: int
    peer: str  # who sent it


@event
class ForkSeen(_Event):
    """A valid block from a peer went to a side branch: the node stays on its tip."""

    kind: ClassVar[str] = "fork"
    node: str
    block: bytes
    height: int
    peer: str
    tip: bytes  # the tip the node stays on
    tip_height: int
    tip_more_work: bool  # True: the tip has more work; False: equal work, seen first


@event
class BlockOrphan(_Event):
    """A block that cannot be connected yet: its parent, or blocks before it, are missing."""

    kind: ClassVar[str] = "orphan"
    node: str
    block: bytes
    peer: str
    height: int | None  # None: the parent is unknown (headers are asked for)
    # with a height: its branch has more work, earlier blocks are being fetched


@event
class BlockRejected(_Event):
    """A block broke a rule (realname: BlockChecked with an invalid state)."""

    kind: ClassVar[str] = "block-rejected"
    node: str
    block: bytes
    code: str  # reason code, e.g. "bad-cb-amount"
    detail: str  # one plain sentence from the rule, may be empty
    peer: str  # the peer whose message carried it (the node itself if local)
    direct: bool  # True: the block sent; False: an earlier block connected because of it


@event
class HeadersRejected(_Event):
    """A `headers` message broke a rule: the peer is punished."""

    kind: ClassVar[str] = "block-rejected"
    node: str
    code: str
    detail: str
    peer: str


@event
class Reorg(_Event):
    """The node's active chain switched branch."""

    kind: ClassVar[str] = "reorg"
    node: str
    fork: bytes  # last block both branches share
    fork_height: int
    dropped: tuple[bytes, ...]  # old-branch blocks, ascending height
    adopted: tuple[bytes, ...]  # new-branch blocks, ascending height
    returned_txs: tuple[bytes, ...]  # transactions of dropped blocks back in the mempool


@event
class HeadersAsked(_Event):
    """A node sent `getheaders`: the headers after the last block it knows (its locator), please."""

    kind: ClassVar[str] = "headers-asked"
    node: str
    peer: str  # asked
    start: bytes  # the first locator entry: the newest block the node names
    locator: int  # hashes in the locator


@event
class HeadersReceived(_Event):
    """A `headers` message passed every check (proof of work, link, time): the blocks it names get fetched."""

    kind: ClassVar[str] = "headers"
    node: str
    peer: str  # sent them
    count: int  # headers in the message
    first_height: int
    last_height: int
    last: bytes  # the last header's hash
    asked: int  # blocks now asked from `peer` (getdata) because of them


@event
class BlockForged(_Event):
    """The learner made a node mine a block that breaks a rule, sent to its peers."""

    kind: ClassVar[str] = "forged"
    node: str
    block: bytes
    rule: str  # the rule broken, e.g. "bad-pow"


# -- transactions ------------------------------------------------------------------------


@event
class TxAccepted(_Event):
    """A transaction entered a node's mempool."""

    kind: ClassVar[str] = "tx-accepted"
    node: str
    tx: bytes
    peer: str  # who sent it (the node itself if local)
    origin: str  # "own": its wallet's; "relayed": from `peer` or a local child; "caught-up": waited for the tip


@event
class TxRejected(_Event):
    """A transaction was refused by a node, with the reason."""

    kind: ClassVar[str] = "tx-rejected"
    node: str
    tx: bytes
    code: str
    detail: str
    peer: str


@event
class TxOrphan(_Event):
    """A transaction waits for its parent (realname: the orphanage)."""

    kind: ClassVar[str] = "tx-orphan"
    node: str
    tx: bytes
    peer: str


@event
class TxReturned(_Event):
    """A transaction of a dropped block is back in the mempool."""

    kind: ClassVar[str] = "tx-returned"
    node: str
    tx: bytes


@event
class TxEvicted(_Event):
    """A transaction left the mempool without being confirmed (realname: MemPoolRemovalReason)."""

    kind: ClassVar[str] = "tx-evicted"
    node: str
    tx: bytes
    code: str
    detail: str


@event
class TxHanded(_Event):
    """A wallet handed its transaction to another node than its own (`send ... via`)."""

    kind: ClassVar[str] = "tx-handed"
    node: str  # the node it was handed to
    wallet: str  # the node whose wallet made it
    tx: bytes


# -- peers -------------------------------------------------------------------------------


@event
class PeerConnected(_Event):
    """A lab link finished its handshake, or an outsider connected."""

    kind: ClassVar[str] = "peer-connected"
    node: str
    peer: str
    outsider: bool  # True: a live peer from outside the lab (it connected; no handshake yet)


@event
class PeerDisconnected(_Event):
    """A node closed its connection to a peer (not a punishment)."""

    kind: ClassVar[str] = "peer-disconnected"
    node: str
    peer: str
    reason: str


@event
class PeerPunished(_Event):
    """Disconnected and discouraged (realname: Misbehaving + MaybeDiscourageAndDisconnect)."""

    kind: ClassVar[str] = "peer-punished"
    node: str
    peer: str
    reason: str


@event
class PeerNoisy(_Event):
    """An outsider's rejections are no longer narrated one by one."""

    kind: ClassVar[str] = "peer-noisy"
    node: str
    peer: str
    limit: int  # lines narrated before


@event
class FrameDropped(_Event):
    """A frame with a bad checksum was dropped; the peer is kept (Core)."""

    kind: ClassVar[str] = "frame-dropped"
    node: str
    peer: str
    command: str


@event
class RejectReceived(_Event):
    """A peer told the node (`reject`) that something the node sent was refused."""

    kind: ClassVar[str] = "reject-received"
    node: str
    peer: str
    message: str  # what was refused: "block" | "tx"
    hash: bytes
    reason: str


@event
class InternalError(_Event):
    """A bug of ours while handling a peer's message: caught, the peer dropped."""

    kind: ClassVar[str] = "internal-error"
    node: str
    peer: str
    command: str
    detail: str


# -- the lab's own changes ------------------------------------------------------------------


@event
class LinkUp(_Event):
    """The learner connected two nodes (`connect`)."""

    kind: ClassVar[str] = "link-up"
    node: str
    peer: str


@event
class LinkDown(_Event):
    """The learner disconnected two nodes (`disconnect`)."""

    kind: ClassVar[str] = "link-down"
    node: str
    peer: str


@event
class Partitioned(_Event):
    """The network was split into groups (`partition`)."""

    kind: ClassVar[str] = "partition"
    groups: tuple[tuple[str, ...], ...]
    cut: int  # links cut
    node: None = None


@event
class Healed(_Event):
    """Partitions and cuts were undone and the topology reconnected (`heal`)."""

    kind: ClassVar[str] = "heal"
    reconnected: int  # links reconnected
    node: None = None


@event
class OneWayCut(_Event):
    """One direction of a link loses every frame (`cut A -> B`)."""

    kind: ClassVar[str] = "cut"
    src: str  # its frames to dst are lost
    dst: str
    node: None = None


@event
class NodeStopped(_Event):
    """A node was taken offline; it keeps its chain."""

    kind: ClassVar[str] = "node-stopped"
    node: str


@event
class NodeStarted(_Event):
    """A stopped node is back; it reconnects and catches up."""

    kind: ClassVar[str] = "node-started"
    node: str
    height: int  # its tip when it starts again


@event
class NodeAdded(_Event):
    """A new node joined with an empty chain (`add-node`)."""

    kind: ClassVar[str] = "node-added"
    node: str
    peers: tuple[str, ...]  # whom it connects to


@event
class StillBusy(_Event):
    """`settle` gave up: auto-miners kept the network busy."""

    kind: ClassVar[str] = "still-busy"
    mined: int  # blocks auto-mined while settling
    node: None = None


# The attacker's moves (withhold, publish, strategy, eclipse) are in lab/attack_events.py.

Event = Any  # any class above (a Union of 30 would only be noise)


class Record(NamedTuple):
    """One event in the log: its position and virtual time (a tuple: made for every event, so cheap)."""

    seq: int  # position in the log
    time: int  # virtual microseconds
    event: Event

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def node(self) -> str | None:
        return self.event.node

    @property
    def data(self) -> dict[str, Any]:
        ev = self.event
        return {name: getattr(ev, name) for name in ev.__slots__}
