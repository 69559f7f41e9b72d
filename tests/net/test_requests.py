"""The one request tracker: every open request with its peer, time and tries; bounded; forgets a gone peer."""

from __future__ import annotations

from lab.net.requests import MAX_REQUESTS, RequestTracker
from lab.params import MAX_PEER_BLOCK_REQUESTS, MAX_PEER_TX_REQUESTS


def h(i: int) -> bytes:
    return i.to_bytes(32, "little")


def test_a_request_names_its_peer_time_and_tries_and_asking_again_counts_a_try():
    t = RequestTracker()
    t.ask("B", h(1), block=True, now=5)
    req = t.get(h(1))
    assert req is not None and (req.peer, req.block, req.asked, req.tries) == ("B", True, 5, 1)
    t.ask("C", h(1), block=True, now=9)  # asked again, from another peer
    req = t.get(h(1))
    assert req is not None and (req.peer, req.asked, req.tries) == ("C", 9, 2)
    assert (t.count("B"), t.count("C"), t.blocks("C")) == (0, 1, 1)
    assert t.done(h(1)) is not None and h(1) not in t and not t


def test_room_per_peer_and_in_total_shrinks_as_requests_open():
    t = RequestTracker()
    assert t.tx_room("B") == MAX_PEER_TX_REQUESTS and t.block_room("B") == MAX_PEER_BLOCK_REQUESTS
    for i in range(10):
        t.ask("B", h(i), block=i % 2 == 0, now=0)
    assert t.count("B") == 10 and t.blocks("B") == 5
    assert t.tx_room("B") == MAX_PEER_TX_REQUESTS - 10
    assert t.block_room("B") == MAX_PEER_BLOCK_REQUESTS - 5
    assert t.tx_room("C") == MAX_PEER_TX_REQUESTS  # another peer's room is its own
    assert MAX_REQUESTS >= MAX_PEER_TX_REQUESTS


def test_a_peer_that_disconnects_takes_its_requests_with_it():
    t = RequestTracker()
    t.ask("B", h(1), block=False, now=1)
    t.ask("C", h(2), block=True, now=2)
    t.ask("B", h(3), block=True, now=3)
    gone = t.forget_peer("B")
    assert [x for x, _ in gone] == [h(1), h(3)]
    assert list(t.open) == [h(2)] and t.count("B") == 0 and t.blocks("B") == 0
    assert t.oldest() == 2 and t.expired(now=10, timeout=5) == [h(2)]
