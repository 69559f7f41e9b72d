"""Family 2: malformed frames over real TCP, against a running lab.

The story of every case: an honest outsider has connected to node A and
finished its handshake. An offender connects to A's real port on 127.0.0.1
and sends one kind of bad bytes. Then:

- the offender is treated exactly as the README's Security section says:
  *discouraged* (disconnected and remembered as misbehaving), *dropped*
  (disconnected by a timeout, not punished), or *ignored* (the bad frame
  has no effect and the connection stays up);
- the honest peer's ping is answered within one second;
- the lab keeps working: A mines, B follows, nobody hit an internal error.

What the README's Security section promises, case by case:

    wrong magic, length > 4,000,000, malformed command field,
    undecodable payload of any type, oversized inv/getdata/notfound/
    headers/addr/locator, user agent > 256 bytes   -> discouraged
    bad checksum                                     -> ignored (message dropped)
    unknown command, anything before version,
    a second version                                 -> ignored
    half a header or half a payload, then silence    -> dropped by timeout
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from labtest import lab_session
from robustkit import RawPeer, internal_errors, run

import lab.net.connection as conn_mod
from lab.chain.block import GENESIS
from lab.chain.serialize import ser_compact_size
from lab.errors import ProtocolError
from lab.lab import Lab
from lab.net import messages as m
from lab.net.wire import encode_frame
from lab.params import MAX_ADDR, MAX_HEADERS, MAX_INV, MAX_LOCATOR, MAX_PAYLOAD

FRAME_TIMEOUT = 0.3  # seconds; the lab's 5 s shrunk so stalls are seen quickly


def garbage_for(command: str) -> bytes:
    """A payload that the `command` parser must refuse (the first candidate that fails)."""
    for payload in (b"\xff" * 9, b"\x01", b"\x00\x01\x02", b"\xfd\x00"):
        try:
            m.decode_message(command, payload)
        except ProtocolError:
            return payload
    raise AssertionError(f"no garbage found for {command}")


def header(command: str, length: int, checksum: bytes = b"\x00" * 4, magic: bytes | None = None) -> bytes:
    frame = bytearray(encode_frame(command, b""))
    if magic is not None:
        frame[0:4] = magic
    frame[16:20] = length.to_bytes(4, "little")
    frame[20:24] = checksum
    return bytes(frame)


def oversized(count: int, entry: bytes, prefix: bytes = b"") -> bytes:
    return prefix + ser_compact_size(count) + entry * count


@dataclass
class Case:
    name: str
    expect: str  # "discouraged" | "dropped" | "ignored"
    handshake: bool  # does the offender finish its handshake first?
    act: Callable[[RawPeer], Awaitable[None] | None]


def _send(command: str, payload: bytes) -> Callable[[RawPeer], None]:
    return lambda p: p.send_frame(command, payload)


async def _before_version(p: RawPeer) -> None:
    # Chatter before `version` is ignored: in particular this ping gets no pong.
    p.send(m.MsgPing(7))
    p.send(m.MsgInv((m.InvItem(m.MSG_BLOCK, b"\x01" * 32),)))
    p.send(m.MsgGetdata((m.InvItem(m.MSG_BLOCK, GENESIS.hash),)))
    p.send(m.MsgVerack())
    with pytest.raises(TimeoutError):
        await p.expect(lambda c, _m: True, 0.2)


async def _duplicate_version(p: RawPeer) -> None:
    p.send(m.MsgVersion(70016, 1, 0, 99, "/second/", 12345))
    with pytest.raises(TimeoutError):  # no second verack, no answer at all
        await p.expect(lambda c, _m: c in ("version", "verack"), 0.2)


async def _bad_checksum(p: RawPeer) -> None:
    frame = bytearray(encode_frame("ping", m.MsgPing(99).serialize()))
    frame[20] ^= 0xFF
    p.send_bytes(bytes(frame))
    with pytest.raises(TimeoutError):  # the damaged ping is dropped, so never answered
        await p.expect(lambda c, msg: c == "pong", 0.2)


def _stall(data: bytes) -> Callable[[RawPeer], None]:
    return lambda p: p.send_bytes(data)


CASES = [
    Case("bad-magic", "discouraged", False, lambda p: p.send_bytes(header("version", 0, magic=b"\xf9\xbe\xb4\xd9"))),
    Case("bad-magic-after-handshake", "discouraged", True,
         lambda p: p.send_bytes(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
    Case("bad-checksum", "ignored", True, _bad_checksum),
    Case("length-max+1", "discouraged", True, lambda p: p.send_bytes(header("block", MAX_PAYLOAD + 1))),
    Case("length-2^32-1", "discouraged", True, lambda p: p.send_bytes(header("block", 2**32 - 1))),
    Case("malformed-command-field", "discouraged", True,
         lambda p: p.send_bytes(b"".join([encode_frame("ping", bytes(8))[:4], b"pi\x00ng\x00\x00\x00\x00\x00\x00\x00\x00",
                                          encode_frame("ping", bytes(8))[16:]]))),
    Case("unknown-command", "ignored", True, _send("sendcmpct", b"\x00" * 9)),
    Case("truncated-header", "dropped", True, _stall(encode_frame("ping", bytes(8))[:11])),
    Case("truncated-payload", "dropped", True, _stall(encode_frame("tx", bytes(100))[:24 + 50])),
    Case("before-version", "ignored", False, _before_version),
    Case("duplicate-version", "ignored", True, _duplicate_version),
    Case("oversized-inv", "discouraged", True, _send("inv", oversized(MAX_INV + 1, b"\x01\x00\x00\x00" + b"\x11" * 32))),
    Case("oversized-getdata", "discouraged", True,
         _send("getdata", oversized(MAX_INV + 1, b"\x02\x00\x00\x00" + b"\x11" * 32))),
    Case("oversized-notfound", "discouraged", True,
         _send("notfound", oversized(MAX_INV + 1, b"\x02\x00\x00\x00" + b"\x11" * 32))),
    Case("oversized-headers", "discouraged", True,
         _send("headers", oversized(MAX_HEADERS + 1, GENESIS.header.serialize() + b"\x00"))),
    Case("oversized-addr", "discouraged", True, _send("addr", oversized(MAX_ADDR + 1, bytes(30)))),
    Case("oversized-locator", "discouraged", True,
         _send("getheaders", oversized(MAX_LOCATOR + 1, b"\x22" * 32, prefix=b"\x80\x11\x01\x00") + bytes(32))),
    Case("user-agent-257-bytes", "discouraged", False,
         _send("version", m.MsgVersion(70016, 1, 0, 5, "x" * 257, 0).serialize())),
    Case("garbage-version-first", "discouraged", False, _send("version", garbage_for("version"))),
] + [
    Case(f"garbage-{cmd}", "discouraged", True, _send(cmd, garbage_for(cmd)))
    for cmd in sorted(m.MESSAGEMAP)
]


async def play(lab: Lab, honest: RawPeer, case: Case) -> None:
    """Run one case against node A and check everything the family promises."""
    node = lab.nodes["A"]
    log_mark = len(lab.log)
    offender = await RawPeer.connect(node.port, case.name)
    try:
        if case.handshake:
            await offender.handshake()
        result = case.act(offender)
        if asyncio.iscoroutine(result):
            await result
        await offender.drain()

        if case.expect == "ignored":
            assert await offender.stays_open(0.2), f"{case.name}: the node closed an ignorable offender"
            if not case.handshake:
                await offender.handshake()  # still welcome: the handshake works afterwards
            assert await offender.ping(), f"{case.name}: the ignored offender's own ping was not answered"
            assert offender.remote in node.peers
            assert offender.remote not in node.discouraged
        else:
            limit = 1.0 if case.expect == "discouraged" else FRAME_TIMEOUT + 1.0
            assert await offender.closed_by_node(limit), f"{case.name}: the offender was not disconnected"
            assert offender.remote not in node.peers
            punished = [e for e in lab.log[log_mark:] if e.kind == "peer-punished"]
            if case.expect == "discouraged":
                assert offender.remote in node.discouraged, f"{case.name}: not discouraged"
                assert punished, f"{case.name}: the punishment was not narrated"
                # Its host (127.0.0.1) is now refused on accept; the next offender stands for
                # another machine: lift the host for it.
                node.discouraged.discard(offender.remote)
            else:
                assert offender.remote not in node.discouraged, f"{case.name}: a slow peer was punished"
                assert not punished
        # The honest peer never noticed: its ping is answered within a second.
        assert await honest.ping(1.0), f"after {case.name}: the honest peer's ping went unanswered"
    finally:
        await offender.close()


async def lab_keeps_working(lab: Lab) -> None:
    before = lab.nodes["B"].state.chain.tip.height
    await lab.mine("A", 1)
    await lab.settle()
    assert lab.nodes["B"].state.chain.tip.height == before + 1
    assert lab.nodes["B"].state.chain.tip.hash == lab.nodes["A"].state.chain.tip.hash
    assert internal_errors(lab) == []


@pytest.fixture(autouse=True)
def quick_timeouts(monkeypatch):
    monkeypatch.setattr(conn_mod, "FRAME_TIMEOUT", FRAME_TIMEOUT)
    monkeypatch.setattr(conn_mod, "HANDSHAKE_TIMEOUT", 3.0)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_one_kind_of_bad_bytes(case):
    async def story():
        async with lab_session(nodes=2, difficulty=6, latency_ms=5) as (lab, _):
            honest = await RawPeer.connect(lab.nodes["A"].port, "honest")
            await honest.handshake()
            await play(lab, honest, case)
            await lab_keeps_working(lab)
            assert await honest.ping(1.0)
            await honest.close()

    run(story())


def test_every_case_in_a_row_against_one_lab():
    """The gauntlet: one honest peer stays connected while every offender takes its turn."""
    async def story():
        async with lab_session(nodes=3, difficulty=6, latency_ms=5) as (lab, _):
            honest = await RawPeer.connect(lab.nodes["A"].port, "honest")
            await honest.handshake()
            for case in CASES:
                await play(lab, honest, case)
            await lab_keeps_working(lab)
            assert await honest.ping(1.0)
            # The lab's own links survived it all.
            assert set(lab.nodes["A"].peers) >= {"B", "C"}
            await honest.close()

    run(story())


# --- well-formed nonsense: random messages that parse, aimed at the handlers ------------------------
def random_message(rng, known: list[bytes], tip_header) -> m.Message:
    """A message that decodes fine but says something arbitrary, often about real blocks."""
    from lab.chain.block import Block, BlockHeader
    from lab.chain.tx import OutPoint, Tx, TxIn, TxOut

    def h() -> bytes:
        return rng.choice(known) if known and rng.random() < 0.6 else rng.randbytes(32)

    def header() -> BlockHeader:
        prev = h()
        bits = rng.choice([tip_header.bits, 0x207FFFFF, 0x1D00FFFF, rng.getrandbits(32)])
        return BlockHeader(rng.choice([1, 4, -1]), prev, rng.randbytes(32), (tip_header.time + rng.randint(-10**6, 10**6)) % 2**32,
                           bits, rng.getrandbits(32))

    def tx() -> Tx:
        ins = tuple(TxIn(OutPoint(h(), rng.choice([0, 1, 0xFFFFFFFF])), rng.randbytes(rng.randint(0, 110)),
                         rng.getrandbits(32)) for _ in range(rng.randint(0, 3)))
        outs = tuple(TxOut(rng.choice([0, 1, 546, 10**8, -5, 21 * 10**14 + 1]), rng.randbytes(rng.choice([0, 25, 40])))
                     for _ in range(rng.randint(0, 3)))
        return Tx(ins, outs, rng.getrandbits(32), rng.choice([0, 0, 5, 600_000_000]))

    kind = rng.randrange(12)
    items = lambda: tuple(m.InvItem(rng.choice([1, 2, 0, 3]), h()) for _ in range(rng.randint(0, 20)))  # noqa: E731
    if kind == 0:
        return m.MsgInv(items())
    if kind == 1:
        return m.MsgGetdata(items())
    if kind == 2:
        return m.MsgNotfound(items())
    if kind == 3:
        return m.MsgGetheaders(tuple(h() for _ in range(rng.randint(0, 101))), rng.choice([bytes(32), h()]))
    if kind == 4:
        return m.MsgHeaders(tuple(header() for _ in range(rng.randint(0, 5))))
    if kind == 5:
        return m.MsgBlock(Block(header(), tuple(tx() for _ in range(rng.randint(0, 3)))))
    if kind == 6:
        return m.MsgTx(tx())
    if kind == 7:
        return m.MsgAddr(tuple(m.AddrEntry(rng.getrandbits(32), rng.getrandbits(64), rng.randbytes(16), rng.getrandbits(16))
                               for _ in range(rng.randint(0, 10))))
    if kind == 8:
        return m.MsgReject(rng.choice(["tx", "block", "x"]), rng.getrandbits(8), rng.choice(["dust", "", "bad"]), h())
    if kind == 9:
        return m.MsgVersion(rng.getrandbits(31), rng.getrandbits(64), rng.getrandbits(63), rng.getrandbits(64),
                            "/x/", rng.randint(-5, 10**6))
    if kind == 10:
        return rng.choice([m.MsgVerack(), m.MsgGetaddr(), m.MsgPong(rng.getrandbits(64))])
    return m.MsgPing(rng.getrandbits(64))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_thousands_of_well_formed_random_messages_break_nothing(seed):
    """An outsider that speaks the protocol but talks nonsense: punished or ignored, never a crash."""
    import random

    from lab.chain.invariants import check_node

    async def story():
        rng = random.Random(seed)
        async with lab_session(nodes=3, difficulty=4, latency_ms=5) as (lab, _):
            await lab.mine("B", 5)
            await lab.settle()
            node = lab.nodes["A"]
            honest = await RawPeer.connect(node.port, "honest")
            await honest.handshake()
            known = [GENESIS.hash, *(i.hash for i in node.state.chain.active)]
            talker = None
            sent = reconnects = 0
            while sent < 3_000:
                if talker is None or talker.eof:
                    if talker is not None:
                        await talker.close()
                        node.discouraged.discard(talker.remote)  # the next talker stands for another host
                    talker = await RawPeer.connect(node.port, f"talker{reconnects}")
                    reconnects += 1
                    await talker.handshake(height=rng.randint(0, 10))
                for _ in range(rng.randint(1, 8)):
                    talker.send(random_message(rng, known, node.state.chain.tip.header))
                    sent += 1
                await talker.drain()
                if not await talker.ping(3.0) and not talker.eof:
                    raise AssertionError("a talker that was not dropped got no pong")
                assert await honest.ping(1.0)
            await lab.settle()
            assert internal_errors(lab) == []
            for n in lab.nodes.values():
                assert check_node(n.state) == [], n.name
            print(f"seed {seed}: {sent} messages over {reconnects} connections")
            await lab_keeps_working(lab)

    run(story())


def test_every_node_listens_on_the_loopback_address_only():
    """Security: a lab is reachable from this machine only, unless someone explicitly asks otherwise."""
    async def story():
        async with lab_session(nodes=3, difficulty=6, latency_ms=5) as (lab, _):
            await lab.add_node("D")
            await lab.stop_node("B")
            await lab.start_node("B")
            for node in lab.nodes.values():
                addrs = {sock.getsockname()[0] for sock in node.server.sockets}
                assert addrs == {"127.0.0.1"}, (node.name, addrs)
                for peer in node.peers.values():
                    assert peer.transport.get_extra_info("peername")[0] == "127.0.0.1"

    run(story())
