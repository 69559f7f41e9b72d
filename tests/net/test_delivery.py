"""A lab frame whose delivery is due is handed over even if the event loop has not read it yet.

Both ends of a lab link are in this process: on loopback the bytes are in the
receiver's socket when the sender's write returns, so the receiving connection
reads them itself when the frame is taken, rather than waiting a turn of the
event loop. The frame and its order are the same either way.
"""

import asyncio

from labtest import lab_session, run, run_ok

from lab.net import messages as m


def test_a_frame_is_taken_off_the_socket_at_once_when_its_delivery_is_due():
    async def story():
        async with lab_session(nodes=2, topology="line", latency_ms=0, jitter=0) as (lab, s):
            await run_ok(s, "mode step")
            peer, receiver = lab.nodes["A"].peers["B"], lab.nodes["B"].peers["A"].conn
            read = receiver.received  # frames read off B's socket so far (the handshake's)
            peer.send(m.MsgPing(7))
            peer.send(m.MsgPing(8))  # no await since: the event loop has not polled the socket
            first, second = lab.fabric.in_flight()
            assert first.receiver is receiver and receiver.received == read  # not read yet
            got = receiver.take(first.index)
            assert not isinstance(got, asyncio.Future)
            assert got == ("ping", m.MsgPing(7).serialize())
            assert receiver.received == read + 2  # both frames were in the socket; the second waits its turn
            lab.fabric.drop(first.id)  # taken here by hand: its delivery event must not take it again
            await run_ok(s, "run until quiet")  # the second is delivered from what was read
            assert lab.fabric.find(second.id).status == "delivered"

    run(story())
