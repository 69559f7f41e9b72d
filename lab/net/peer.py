"""A node's protocol state for one peer (realname: CNodeState, with CNode's handshake flags).

Owned by the node; the bytes travel on its Connection (lab/net/connection.py),
which knows nothing of what is in them. What is in flight to the peer is in
the node's one RequestTracker (lab/net/requests.py), not here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterator
from typing import TYPE_CHECKING, Any

from lab.net.messages import Message
from lab.net.wire import encode_frame
from lab.params import (
    MAX_KNOWN_INVENTORY,
    MAX_LIVE_PEERS,  # noqa: F401  (re-exported for the node and the tests)
    MAX_NARRATED_PER_PEER,  # noqa: F401
    MAX_PEER_BLOCK_REQUESTS,  # noqa: F401
    MAX_PEER_TX_REQUESTS,  # noqa: F401
)

if TYPE_CHECKING:
    import asyncio

    from lab.net.connection import Connection
    from lab.net.wire import FrameBuffer


class Peer:
    __slots__ = ("conn", "sent_version", "version", "got_verack", "active", "known", "best_height",
                 "narrated", "bad_checksums", "getdata")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        conn.peer = self
        # handshake (realname: fSuccessfullyConnected)
        self.sent_version = False
        self.version: Any = None  # their MsgVersion once received
        self.got_verack = False
        self.active = False
        # relay bookkeeping (realname: m_tx_inventory_known_filter)
        self.known = BoundedSet(MAX_KNOWN_INVENTORY)  # hashes this peer has (told us, or we sent it)
        self.best_height = 0
        self.narrated = 0  # noisy events (rejections, bad frames) narrated for this outsider
        self.bad_checksums = 0  # frames dropped for a bad checksum (the peer is kept, as in Core)
        self.getdata: deque[Any] = deque()  # an outsider's getdata items not served yet (realname: vRecvGetData)

    def send(self, msg: Message, frame: bytes | None = None) -> None:
        """Serialise and frame `msg`, and hand it to the connection (a lab link: timed by the fabric).

        `frame`: msg's frame already made (one block pushed to many peers is framed once).
        """
        conn = self.conn
        if conn.closed or conn.send_full or conn.transport is None:
            return
        conn.send(msg.msgtype, frame if frame is not None else encode_frame(msg.msgtype, msg.serialize()), msg)

    def close(self, reason: str) -> None:
        self.conn.close(reason)

    # -- the connection, as the node and the views see it ---------------------------
    @property
    def remote(self) -> str:
        return self.conn.remote

    @property
    def closed(self) -> bool:
        return self.conn.closed

    @property
    def close_reason(self) -> str:
        return self.conn.close_reason

    @property
    def lab_link(self) -> bool:
        return self.conn.lab_link

    @property
    def inbound(self) -> bool:
        return self.conn.inbound

    @property
    def twin(self) -> Peer | None:
        twin = self.conn.twin
        return twin.peer if twin is not None else None

    @property
    def transport(self) -> asyncio.Transport | None:
        return self.conn.transport

    @property
    def frames(self) -> FrameBuffer:
        return self.conn.frames

    @property
    def sent(self) -> int:
        return self.conn.sent

    @property
    def received(self) -> int:
        return self.conn.received

    def __repr__(self) -> str:
        return f"Peer({self.conn!r})"


class BoundedSet:
    """A set that forgets its oldest entries beyond `cap` (realname: CRollingBloomFilter).

    Like Bitcoin's rolling filter it is approximate at the edges (an entry
    removed and added again may be forgotten early); its memory never is.
    """

    __slots__ = ("cap", "_items", "_order")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._items: set[Hashable] = set()
        self._order: deque[Hashable] = deque()

    def add(self, item: Hashable) -> None:
        if item in self._items:
            return
        self._items.add(item)
        self._order.append(item)
        if len(self._order) > self.cap:
            while len(self._order) > self.cap:
                self._items.discard(self._order.popleft())

    def discard(self, item: Hashable) -> None:
        self._items.discard(item)

    def clear(self) -> None:
        if self._order:
            self._items.clear()
            self._order.clear()

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._items)
