"""Downloads: asking peers for blocks and transactions, and asking again (realname: block download logic).

Every request goes through the node's one RequestTracker (lab/net/requests.py).
A request unanswered after REQUEST_TIMEOUT (virtual) is asked again from
another peer that announced the hash, at most MAX_REQUEST_TRIES times; a
peer's `notfound` or its disconnection sends its requests elsewhere at once.
Blocks found through headers wait in `fetch_queue` for the peer that has
them and are fetched GETDATA_BATCH at a time (realname: MAX_BLOCKS_IN_TRANSIT_PER_PEER).

The node is reached only through the narrow `NodeCore` protocol below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from lab.net import messages as m
from lab.net.requests import Request, RequestTracker
from lab.params import GETDATA_BATCH, MAX_REQUEST_TRIES, REQUEST_TIMEOUT

if TYPE_CHECKING:
    from lab.chain.node_state import NodeState
    from lab.net.peer import Peer
    from lab.sched import Event, Scheduler


class NodeCore(Protocol):
    """What downloads, relay and sync need from their node."""

    name: str
    state: NodeState
    peers: dict[str, Peer]
    online: bool

    def active_peers(self) -> list[Peer]: ...


class Downloads:
    def __init__(self, node: NodeCore, sched: Scheduler) -> None:
        self.node = node
        self.sched = sched
        self.tracker = RequestTracker()
        self.fetch_queue: dict[bytes, str] = {}  # block hashes to fetch -> peer that has them
        self._timer: Event | None = None  # the one retry timer, while a request is open

    def have(self, h: bytes) -> bool:
        state = self.node.state
        return state.get_block(h) is not None or state.has_tx(h)

    # -- asking ----------------------------------------------------------------------------
    def ask(self, peer: Peer, items: list[m.InvItem], tries: dict[bytes, int] | None = None) -> None:
        """getdata, remembering whom we asked and when; unanswered requests are retried."""
        now = self.sched.now
        track = self.tracker.ask
        for item in items:
            track(peer.remote, item.hash, item.type == m.MSG_BLOCK, now, tries.get(item.hash, 0) if tries else 0)
        peer.send(m.MsgGetdata(tuple(items)))
        self._arm()

    def answered(self, h: bytes) -> None:
        tracker = self.tracker
        if tracker.done(h) is not None and not tracker and self._timer is not None:
            self.sched.cancel(self._timer)
            self._timer = None

    def fetch_blocks(self, peer: Peer) -> None:
        """Ask `peer` for blocks it announced, at most GETDATA_BATCH in flight."""
        if not self.fetch_queue or peer.closed or not peer.active:
            return
        room = GETDATA_BATCH - self.tracker.blocks(peer.remote)
        if room <= 0:
            return
        chain, state = self.node.state.chain, self.node.state
        batch = []
        for h, who in list(self.fetch_queue.items()):
            if who != peer.remote:
                continue
            del self.fetch_queue[h]
            if chain.contains(h) and state.get_block(h) is not None:
                continue
            if h in self.tracker:
                continue
            batch.append(m.InvItem(m.MSG_BLOCK, h))
            if len(batch) >= room:
                break
        if batch:
            self.ask(peer, batch)

    def queue_blocks(self, hashes: list[bytes], peer: str) -> None:
        """Blocks `peer` has, to fetch from it when it has room (a block queued for another peer stays so)."""
        for h in hashes:
            if h not in self.tracker:
                self.fetch_queue.setdefault(h, peer)

    # -- asking again ------------------------------------------------------------------------
    def _arm(self) -> None:
        # realname: block stalling / getdata expiry. One timer per node; a "retry"
        # event keeps the network busy, so it exists only while a request is open.
        if self._timer is not None and not self._timer.cancelled:
            self.sched.cancel(self._timer)
        self._timer = None
        oldest = self.tracker.oldest()
        if oldest is not None and self.node.online:
            self._timer = self.sched.at(oldest + REQUEST_TIMEOUT, self._on_timer, kind="retry")

    def _on_timer(self) -> None:
        self._timer = None
        if self.node.online:
            due = []
            now = self.sched.now
            for h, req in list(self.tracker.open.items()):
                if self.have(h):
                    self.answered(h)
                elif now - req.asked >= REQUEST_TIMEOUT:
                    due.append((h, req))
            self.retry(due)
        self._arm()

    def not_found(self, peer: Peer, hashes: list[bytes]) -> None:
        """`peer` does not have these after all: ask another peer that announced them."""
        missing = []
        for h in hashes:
            req = self.tracker.get(h)
            if req is not None and req.peer == peer.remote:
                missing.append((h, req))
        if missing:
            self.retry(missing)

    def peer_closed(self, peer: Peer) -> None:
        """Its requests go to other peers that announced them, or are forgotten; so does its fetch queue."""
        gone = self.tracker.forget_peer(peer.remote)
        if gone and self.node.online:
            self.retry(gone)  # ask someone else who announced them
        self._arm()
        for h in [h for h, who in self.fetch_queue.items() if who == peer.remote]:
            del self.fetch_queue[h]

    def retry(self, requests: list[tuple[bytes, Request]]) -> None:
        """Ask again, from a peer that announced it, what was asked for and never came."""
        if not self.node.online:
            return
        by_peer: dict[str, list[m.InvItem]] = {}
        tries: dict[bytes, int] = {}
        active = self.node.active_peers()
        for h, req in requests:
            if self.have(h):
                self.answered(h)
                continue
            if req.tries >= MAX_REQUEST_TRIES:
                self.answered(h)  # give up until it is announced again
                continue
            holders = [p for p in active if h in p.known]
            if not holders:
                self.answered(h)  # nobody to ask: forget it (an outsider's never-delivered `inv`)
                continue
            last = req.peer if req.block else None
            others = [p for p in holders if p.remote != last] or holders
            target = others[req.tries % len(others)]
            tries[h] = req.tries
            by_peer.setdefault(target.remote, []).append(m.InvItem(m.MSG_BLOCK if req.block else m.MSG_TX, h))
        for name, items in by_peer.items():
            self.ask(self.node.peers[name], items, tries)
