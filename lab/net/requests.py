"""One tracker for every block and transaction a node has asked for (realname: mapBlocksInFlight, TxRequestTracker).

Each open request names the peer asked, what it is (block or transaction),
when it was asked and how many times. It is the only record of what is in
flight: the per-peer counts the limits need are kept beside it, in step by
this class alone. Bounded, so no peer can make a node remember without end:

- a peer may have MAX_PEER_BLOCK_REQUESTS blocks and MAX_PEER_TX_REQUESTS
  requests in all outstanding (realname: MAX_PEER_TX_ANNOUNCEMENTS);
- the node holds at most MAX_REQUESTS open requests;
- a peer that disconnects takes its requests with it (`forget_peer`): the
  node asks someone else who announced them, or forgets them.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.params import MAX_PEER_BLOCK_REQUESTS, MAX_PEER_TX_REQUESTS

MAX_REQUESTS = 4 * MAX_PEER_TX_REQUESTS  # open requests per node, all peers together


@dataclass(slots=True)
class Request:
    peer: str  # whom we asked
    block: bool  # a block (else a transaction)
    asked: int  # virtual µs of the latest ask
    tries: int  # asks so far, this one included


class RequestTracker:
    def __init__(self) -> None:
        self.open: dict[bytes, Request] = {}  # hash -> its request, oldest first
        self._count: dict[str, int] = {}  # peer -> requests open to it
        self._blocks: dict[str, int] = {}  # peer -> block requests open to it

    def __contains__(self, h: object) -> bool:
        return h in self.open

    def __len__(self) -> int:
        return len(self.open)

    def __bool__(self) -> bool:
        return bool(self.open)

    def get(self, h: bytes) -> Request | None:
        return self.open.get(h)

    def count(self, peer: str) -> int:
        """Requests open to `peer`, blocks and transactions."""
        return self._count.get(peer, 0)

    def blocks(self, peer: str) -> int:
        return self._blocks.get(peer, 0)

    def tx_room(self, peer: str) -> int:
        return min(MAX_PEER_TX_REQUESTS - self.count(peer), MAX_REQUESTS - len(self.open))

    def block_room(self, peer: str) -> int:
        return min(MAX_PEER_BLOCK_REQUESTS - self.blocks(peer), MAX_REQUESTS - len(self.open))

    def ask(self, peer: str, h: bytes, block: bool, now: int, tries: int = 0) -> Request:
        """Record that `peer` was asked for `h` (again: `tries` asks before this one)."""
        old = self.open.pop(h, None)
        if old is not None:
            self._drop_count(old)
            tries = max(tries, old.tries)
        req = self.open[h] = Request(peer, block, now, tries + 1)
        self._count[peer] = self._count.get(peer, 0) + 1
        if block:
            self._blocks[peer] = self._blocks.get(peer, 0) + 1
        return req

    def done(self, h: bytes) -> Request | None:
        """`h` arrived, was refused, or is given up: no longer open."""
        req = self.open.pop(h, None)
        if req is not None:
            self._drop_count(req)
        return req

    def of_peer(self, peer: str) -> list[bytes]:
        if not self._count.get(peer):
            return []
        return [h for h, r in self.open.items() if r.peer == peer]

    def oldest(self) -> int | None:
        """When the longest-open request was asked (the next to time out)."""
        return min((r.asked for r in self.open.values()), default=None)

    def expired(self, now: int, timeout: int) -> list[bytes]:
        return [h for h, r in self.open.items() if now - r.asked >= timeout]

    def forget_peer(self, peer: str) -> list[tuple[bytes, Request]]:
        """`peer` disconnected: its requests are no longer open; returned so they can be asked elsewhere."""
        gone = [(h, r) for h, r in self.open.items() if r.peer == peer] if self._count.get(peer) else []
        for h, _ in gone:
            del self.open[h]
        self._count.pop(peer, None)
        self._blocks.pop(peer, None)
        return gone

    def clear(self) -> None:
        self.open.clear()
        self._count.clear()
        self._blocks.clear()

    def _drop_count(self, req: Request) -> None:
        n = self._count[req.peer] - 1
        if n:
            self._count[req.peer] = n
        else:
            del self._count[req.peer]
        if req.block:
            b = self._blocks[req.peer] - 1
            if b:
                self._blocks[req.peer] = b
            else:
                del self._blocks[req.peer]
