"""Issue 12 found a node keeping for ever the hashes an outsider announced and never delivered."""

from __future__ import annotations

from labtest import lab_session
from robustkit import RawPeer, run, wait_for_condition

from lab.chain.crypto import sha256d
from lab.net import messages as m


def test_an_outsiders_undelivered_announcements_are_forgotten_when_it_leaves():
    async def story():
        async with lab_session(nodes=2, difficulty=6, latency_ms=5) as (lab, _):
            node = lab.nodes["A"]
            p = await RawPeer.connect(node.port, "announcer")
            await p.handshake()
            fake = [sha256d(b"never" + bytes([i])) for i in range(50)]
            p.send(m.MsgInv(tuple(m.InvItem(m.MSG_TX, x) for x in fake)))
            await p.drain()
            assert await p.ping(5.0)
            assert all(x in node.requested for x in fake)  # asked for, never delivered
            await p.close()
            await wait_for_condition(lambda: p.remote not in node.peers, 5.0, "the node to notice the close")
            assert not any(x in node.requested for x in fake)
            assert node.requested.count(p.remote) == 0

    run(story())
