"""The class handshake and signed control over real TCP on 127.0.0.1, in Bitcoin's frames.

Not yet the lab's nodes (the wiring comes with issue 16): a minimal host that admits by class
code and then sends one signed control message, and three callers: a student with the code, an
outsider with a wrong code, and an outsider who sends a control message without any handshake.
"""

from __future__ import annotations

import asyncio
import random

from labtest import run

from lab.classroom import auth as ca
from lab.classroom import control as cc
from lab.classroom import messages as cm
from lab.errors import ProtocolError
from lab.net.wire import FrameBuffer, encode_frame

RNG = random.Random(1616)
HOST_KEY = ca.new_host_key(RNG)
CODE = ca.ClassCode.new(HOST_KEY.pubkey, rng=RNG)
SPLIT = cc.Split((("alice",), ("bob",)))


class Link:
    """One end of a TCP connection that sends and receives class messages as frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.buf = reader, writer, FrameBuffer()
        self.pending: list[tuple[str, bytes | None]] = []

    def send(self, msg: cm.Message) -> None:
        self.writer.write(encode_frame(msg.msgtype, msg.serialize()))

    async def recv(self) -> cm.Message | None:
        """The next class message; None when the other end closed the connection."""
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(4096), 5)
            if not data:
                return None
            self.pending += self.buf.feed(data)
        command, payload = self.pending.pop(0)
        assert payload is not None
        return cm.decode_class_message(command, payload)


async def serve(events: list[str]) -> tuple[asyncio.Server, int]:
    signer = ca.ControlSigner(HOST_KEY)

    async def on_peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link, adm = Link(reader, writer), ca.Admission(CODE, "teacher", initiator=False, host_pubkey=HOST_KEY.pubkey)
        link.send(adm.hello())
        try:
            while not adm.admitted:
                msg = await link.recv()
                if msg is None:
                    return
                adm.check(msg.msgtype)
                if isinstance(msg, cm.MsgClassHello):
                    link.send(adm.on_hello(msg))
                elif isinstance(msg, cm.MsgClassAuth):
                    adm.on_auth(msg)
            events.append(f"admitted {adm.peer_name}")
            link.send(signer.sign(SPLIT, 1_700_000_000))
            await writer.drain()
        except ProtocolError as e:
            events.append(f"dropped: {e.reason}")
        finally:
            writer.close()

    server = await asyncio.start_server(on_peer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def join(port: int, code: ca.ClassCode, name: str) -> tuple[list[str], ca.ControlVerifier | None]:
    """A student's side: handshake, pin the host key, then verify what the host sends."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    link, adm = Link(reader, writer), ca.Admission(code, name, initiator=True)
    link.send(adm.hello())
    seen: list[str] = []
    verifier = None
    try:
        while (msg := await link.recv()) is not None:
            if isinstance(msg, cm.MsgClassHello):
                link.send(adm.on_hello(msg))
            elif isinstance(msg, cm.MsgClassAuth):
                adm.on_auth(msg)
                assert adm.host_pubkey is not None
                verifier = ca.ControlVerifier(adm.host_pubkey)
            elif isinstance(msg, cm.MsgClassCtl) and verifier:
                seen.append(f"{verifier.check(msg).value}: {msg.control}")
    except ProtocolError as e:
        seen.append(f"refused: {e.reason}")
    finally:
        writer.close()
    return seen, verifier


def test_a_student_joins_over_tcp_and_acts_on_the_hosts_signed_split():
    async def main():
        events: list[str] = []
        server, port = await serve(events)
        async with server:
            seen, verifier = await join(port, ca.ClassCode.parse(str(CODE).lower()), "alice")
        return events, seen, verifier

    events, seen, verifier = run(main())
    assert events == ["admitted alice"]
    assert seen == ["accepted: split alice | bob"]
    assert verifier is not None and verifier.seq == 1


def test_a_wrong_code_is_refused_by_the_host_and_the_caller_learns_why():
    wrong = ca.ClassCode("WRONG1", CODE.fingerprint)

    async def main():
        events: list[str] = []
        server, port = await serve(events)
        async with server:
            seen, _ = await join(port, wrong, "mallory")
        return events, seen

    events, seen = run(main())
    assert events == ["dropped: wrong class code"]
    assert seen == ["refused: wrong class code"]  # the host's answer is wrong for her code too


def test_a_control_message_without_a_handshake_gets_the_caller_dropped():
    async def main():
        events: list[str] = []
        server, port = await serve(events)
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(encode_frame("classctl", cm.MsgClassCtl(1, 0, SPLIT).serialize()))
            link = Link(reader, writer)
            first = await link.recv()  # the host's hello, sent before it read anything
            closed = await link.recv()
            writer.close()
        return events, first, closed

    events, first, closed = run(main())
    assert isinstance(first, cm.MsgClassHello) and closed is None
    assert events == ["dropped: classctl before class admission"]
