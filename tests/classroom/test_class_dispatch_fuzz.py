"""Every class message, fuzzed through a class node's dispatch (issue 16): random and mutated
payloads, before and after admission, over real TCP on 127.0.0.1. The node never hits an internal
error, drops the sender of anything malformed or premature, and keeps serving the class."""

from __future__ import annotations

import asyncio
import random
import time

from labtest import run

from lab.classroom import messages as cm
from lab.classroom.auth import Admission, ClassCode, ControlSigner, new_host_key
from lab.classroom.control import Autominer, Heal, Latency, Split
from lab.classroom.room import ClassRoom
from lab.net import messages as m
from lab.net.wire import FrameBuffer, encode_frame
from lab.params import PROTOCOL_VERSION, USER_AGENT
from lab.world.lab import Lab

RNG = random.Random(16)


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.frames, self.pending = reader, writer, FrameBuffer(), []

    @classmethod
    async def connect(cls, port: int) -> Client:
        c = cls(*await asyncio.open_connection("127.0.0.1", port))
        c.send(m.MsgVersion(PROTOCOL_VERSION, m.NODE_NETWORK, int(time.time()), 9, USER_AGENT, 0))
        c.send(m.MsgVerack())
        return c

    def send(self, msg: m.Message) -> None:
        self.raw(msg.msgtype, msg.serialize())

    def raw(self, command: str, payload: bytes) -> None:
        try:
            self.writer.write(encode_frame(command, payload))
        except ConnectionError:  # the node dropped us already
            pass

    async def recv(self, msgtype: str) -> m.Message | None:
        """The next `msgtype`; None once the node closed the connection."""
        while True:
            while self.pending:
                command, payload = self.pending.pop(0)
                if command == msgtype:
                    return m.decode_message(command, payload) or cm.decode_class_message(command, payload)
            try:
                data = await asyncio.wait_for(self.reader.read(65536), 10)
            except ConnectionError:  # reset, or a broken pipe: the node dropped us
                return None
            if not data:
                return None
            self.pending += self.frames.feed(data)

    async def alive(self) -> bool:
        """A ping answered: the node kept the link; the connection closed: it dropped us."""
        self.send(m.MsgPing(RNG.getrandbits(64)))
        return await self.recv("pong") is not None

    def close(self) -> None:
        self.writer.close()


def samples(host_key) -> list[cm.Message]:
    signer = ControlSigner(host_key)
    entry = cm.RosterEntry("MALLORY", "127.0.0.1", 1, 3, bytes(32), ("TEACHER",))
    return [cm.MsgClassHello(bytes(32), host_key.pubkey, "MALLORY"), cm.MsgClassAuth(bytes(32)),
            signer.sign(Split((("A",), ("B",))), 1), signer.sign(Heal(), 2),
            signer.sign(Latency(("A",), ("B",), 300), 3), signer.sign(Autominer(True, 5000), 4),
            cm.MsgClassRoster((entry,))]


def mutate(payload: bytes) -> bytes:
    b = bytearray(payload)
    for _ in range(RNG.randint(1, 4)):
        op = RNG.randrange(4)
        if op == 0 and b:
            b[RNG.randrange(len(b))] ^= 1 << RNG.randrange(8)
        elif op == 1 and b:
            del b[RNG.randrange(len(b)):]
        elif op == 2:
            b[RNG.randrange(len(b) + 1):0] = RNG.randbytes(RNG.randint(1, 8))
        else:
            b += RNG.randbytes(RNG.randint(1, 3))
    return bytes(b)


def test_fuzzed_class_messages_never_break_a_class_node():
    async def go():
        lab = await Lab.create(["TEACHER"], difficulty=6)
        key = new_host_key(RNG)
        code = ClassCode.new(key.pubkey, rng=RNG)
        node = lab.node("TEACHER")
        room = ClassRoom(lab, node, code, host_key=key)
        await room.open()
        try:
            kept = dropped = 0
            for i in range(60):
                node.discouraged.discard("127.0.0.1")  # every round from 127.0.0.1: lift the last round's
                client = await Client.connect(node.port)
                hello = await client.recv("classhello")
                assert isinstance(hello, cm.MsgClassHello)
                if i % 2 == 0:  # half of them first pass admission, the other half never do
                    adm = Admission(code, f"P{i}", initiator=True, host_pubkey=key.pubkey)
                    client.send(adm.hello())
                    client.send(adm.on_hello(hello))
                    auth = await client.recv("classauth")
                    assert isinstance(auth, cm.MsgClassAuth)
                    adm.on_auth(auth)
                sample = RNG.choice(samples(key))
                payload = sample.serialize() if i % 5 == 0 else (
                    RNG.randbytes(RNG.randint(0, 80)) if i % 3 == 0 else mutate(sample.serialize()))
                client.raw(sample.msgtype, payload)
                if await client.alive():
                    kept += 1
                else:
                    dropped += 1
                client.close()
            assert node.internal_errors == []
            assert dropped > 0 and node.online
            # the class still admits a participant after all that
            node.discouraged.discard("127.0.0.1")
            client = await Client.connect(node.port)
            hello = await client.recv("classhello")
            assert isinstance(hello, cm.MsgClassHello)
            adm = Admission(code, "LATE", initiator=True, host_pubkey=key.pubkey)
            client.send(adm.hello())
            client.send(adm.on_hello(hello))
            auth = await client.recv("classauth")
            assert isinstance(auth, cm.MsgClassAuth)
            adm.on_auth(auth)
            assert adm.admitted and await client.alive()
            client.close()
            return kept, dropped
        finally:
            await room.leave()
            await lab.close()

    kept, dropped = run(go())
    assert kept + dropped == 60
