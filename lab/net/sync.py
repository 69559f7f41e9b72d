"""Headers-first sync (realname: the headers download of net_processing).

On every new peer, and whenever a block's parent is unknown, the node sends
`getheaders` with a block locator. The answer `headers` is checked (proof of
work, difficulty, time) before any block is fetched; the blocks it reveals
are queued for the peer that sent them and fetched in batches (Downloads).
A full `headers` (MAX_HEADERS) means there may be more: ask on from its last.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lab import events as ev
from lab.errors import ValidationError
from lab.net import messages as m
from lab.net.download import Downloads, NodeCore
from lab.params import MAX_HEADERS

if TYPE_CHECKING:
    from lab.net.peer import Peer
    from lab.net.relay import Relay


class Sync:
    def __init__(self, node: NodeCore, downloads: Downloads, emit: Callable[[object], object],
                 punish: Callable[[Peer, str], None]) -> None:
        self.node = node
        self.downloads = downloads
        self.emit = emit
        self.punish = punish
        self.relay: Relay | None = None  # set by the node: what it keeps from whom (withheld, eclipse)

    def ask_headers(self, peer: Peer) -> None:
        locator = tuple(self.node.state.chain.locator())
        peer.send(m.MsgGetheaders(locator))
        self.emit(ev.HeadersAsked(self.node.name, peer.remote, locator[0], len(locator)))

    def on_getheaders(self, peer: Peer, msg: m.MsgGetheaders) -> None:
        stop = None if msg.hash_stop == b"\x00" * 32 else msg.hash_stop
        headers = self.node.state.chain.headers_after(list(msg.locator), stop, MAX_HEADERS)
        relay = self.relay
        if relay is not None and relay.filtering:  # stop before the first block not for this peer
            n = next((i for i, h in enumerate(headers) if not relay.allowed(peer, h.hash)), len(headers))
            headers = headers[:n]
        peer.send(m.MsgHeaders(tuple(headers)))

    def on_headers(self, peer: Peer, msg: m.MsgHeaders) -> None:
        if not msg.headers:
            return
        for h in msg.headers:
            peer.known.add(h.hash)
        state = self.node.state
        try:
            wanted = state.process_headers(list(msg.headers))
        except ValidationError as e:
            if e.punish:
                self.emit(ev.HeadersRejected(self.node.name, e.code, e.detail, peer.remote))
                self.punish(peer, f"invalid header: {e.code}")
            else:  # they don't connect to what we know yet: ask from our locator
                self.ask_headers(peer)
            return
        self.downloads.queue_blocks(wanted, peer.remote)
        self.downloads.fetch_blocks(peer)
        last = msg.headers[-1].hash
        index = state.chain.index
        first_i, last_i = index.get(msg.headers[0].hash), index.get(last)
        if first_i is not None and last_i is not None:
            tracker = self.downloads.tracker
            self.emit(ev.HeadersReceived(self.node.name, peer.remote, len(msg.headers), first_i.height,
                                         last_i.height, last, sum(1 for h in wanted if h in tracker)))
        if len(msg.headers) == MAX_HEADERS:  # there may be more: continue from the last one
            locator = (last, *state.chain.locator())[:101]
            peer.send(m.MsgGetheaders(locator))
            self.emit(ev.HeadersAsked(self.node.name, peer.remote, last, len(locator)))
