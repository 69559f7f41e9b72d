"""Family 1: parser fuzzing. Whatever bytes a peer sends, the parsers answer with
the lab's ProtocolError or a message, never with any other exception; and every
message survives serialise -> frame -> parse exactly.

Over 10,000 generated cases in total (the max_examples below add up to 10,500),
each case a random payload, a random frame, or a valid message mutated by bit
flips, truncation, insertion and overwrites. Hypothesis runs derandomised, so
the cases are the same on every run (seed printed by `-s`).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.chain.block import Block, BlockHeader
from lab.chain.tx import OutPoint, Tx, TxIn, TxOut
from lab.errors import ProtocolError
from lab.net import messages as m
from lab.net.wire import HEADER_SIZE, FrameBuffer, encode_frame
from lab.params import MAGIC, MAX_PAYLOAD


def fuzz(n: int) -> settings:
    """n derandomised examples: the same cases on every run and every machine."""
    return settings(max_examples=n, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])



u8 = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFF_FFFF)
i32 = st.integers(-(2**31), 2**31 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
u64 = st.integers(0, 2**64 - 1)
h32 = st.binary(min_size=32, max_size=32)

outpoints = st.builds(OutPoint, h32, u32)
txins = st.builds(TxIn, outpoints, st.binary(max_size=120), u32)
txouts = st.builds(TxOut, i64, st.binary(max_size=40))
txs = st.builds(Tx, st.lists(txins, max_size=3).map(tuple), st.lists(txouts, max_size=3).map(tuple), u32, u32)
headers = st.builds(BlockHeader, i32, h32, h32, u32, u32, u32)
blocks = st.builds(Block, headers, st.lists(txs, max_size=3).map(tuple))
inv_items = st.builds(m.InvItem, st.sampled_from([m.MSG_TX, m.MSG_BLOCK, 0, 7, 0xFFFF_FFFF]), h32)
net_addrs = st.builds(m.NetAddr, u64, st.binary(min_size=16, max_size=16), st.integers(0, 0xFFFF))
addrs = st.builds(m.AddrEntry, u32, u64, st.binary(min_size=16, max_size=16), st.integers(0, 0xFFFF))
user_agents = st.text(max_size=60).filter(lambda s: len(s.encode()) <= 256)
ascii_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=12)

MESSAGES = {
    "version": st.builds(m.MsgVersion, i32, u64, i64, u64, user_agents, i32, net_addrs, net_addrs, st.one_of(st.none(), u8)),
    "verack": st.just(m.MsgVerack()),
    "ping": st.builds(m.MsgPing, u64),
    "pong": st.builds(m.MsgPong, u64),
    "inv": st.builds(m.MsgInv, st.lists(inv_items, max_size=6).map(tuple)),
    "getdata": st.builds(m.MsgGetdata, st.lists(inv_items, max_size=6).map(tuple)),
    "notfound": st.builds(m.MsgNotfound, st.lists(inv_items, max_size=6).map(tuple)),
    "getheaders": st.builds(m.MsgGetheaders, st.lists(h32, max_size=6).map(tuple), h32, u32),
    "headers": st.builds(m.MsgHeaders, st.lists(headers, max_size=4).map(tuple)),
    "block": st.builds(m.MsgBlock, blocks),
    "tx": st.builds(m.MsgTx, txs),
    "getaddr": st.just(m.MsgGetaddr()),
    "addr": st.builds(m.MsgAddr, st.lists(addrs, max_size=4).map(tuple)),
    "reject": st.builds(m.MsgReject, ascii_text, u8,
                        st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=111), h32),
}
any_message = st.one_of(*MESSAGES.values())


def test_the_fuzzer_covers_every_message_type():
    assert set(MESSAGES) == set(m.MESSAGEMAP)


def parse_or_refuse(command: str, payload: bytes) -> m.Message | None:
    """The one contract: a message, None (unknown command), or ProtocolError. Nothing else."""
    try:
        msg = m.decode_message(command, payload)
    except ProtocolError:
        return None
    if msg is not None:
        # Accepted bytes are canonical: serialising the message gives them back
        # (no second encoding of the same message, so no malleated ids) ...
        assert msg.serialize() == payload, (command, payload.hex())
        # ... and narration can describe anything the parser accepted.
        assert m.describe(msg).startswith(command)
        repr(msg)
    return msg


# --- round trips ------------------------------------------------------------------------------
@fuzz(2_500)
@given(msg=any_message, cut=st.integers(1, 64))
def test_every_message_round_trips_exactly_through_a_frame(msg, cut):
    payload = msg.serialize()
    frame = encode_frame(msg.msgtype, payload)
    buf = FrameBuffer()
    got = []
    for i in range(0, len(frame), cut):  # TCP may split a frame anywhere
        got += buf.feed(frame[i:i + cut])
    assert got == [(msg.msgtype, payload)]
    assert not buf.partial
    again = m.decode_message(msg.msgtype, payload)
    assert again == msg
    assert again.serialize() == payload


# --- random payloads for every type -------------------------------------------------------------
@fuzz(2_500)
@given(command=st.sampled_from(sorted(m.MESSAGEMAP)), payload=st.binary(max_size=300))
def test_random_payloads_are_parsed_or_refused_with_a_protocol_error(command, payload):
    parse_or_refuse(command, payload)


def _mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    """Apply (kind, position, value) mutations: flip a bit, overwrite, insert, delete, truncate."""
    b = bytearray(data)
    for kind, pos, value in ops:
        if not b and kind != 2:
            continue
        p = pos % (len(b) + 1)
        if kind == 0 and p < len(b):
            b[p] ^= 1 << (value % 8)
        elif kind == 1 and p < len(b):
            b[p] = value
        elif kind == 2:
            b[p:p] = bytes((value,)) * (1 + value % 5)
        elif kind == 3:
            del b[p:p + 1 + value % 9]
        elif kind == 4:
            del b[p:]
        elif kind == 5 and p < len(b):
            b[p] = 0xFF if value % 2 else 0xFD  # a compact size that claims far too much
    return bytes(b)


mutations = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 10_000), u8), min_size=1, max_size=4)


@fuzz(3_000)
@given(msg=any_message, ops=mutations, retype=st.sampled_from([None, *sorted(m.MESSAGEMAP)]))
def test_mutated_messages_are_parsed_or_refused_with_a_protocol_error(msg, ops, retype):
    """A valid payload with a few bytes broken, sometimes sent under another type's name."""
    parse_or_refuse(retype or msg.msgtype, _mutate(msg.serialize(), ops))


# --- random and mutated frames --------------------------------------------------------------------
def feed_all(chunks: list[bytes]) -> list[tuple[str, bytes | None]]:
    """Feed chunks as a peer would send them; stop at the first ProtocolError, as the node does."""
    buf = FrameBuffer()
    got: list[tuple[str, bytes | None]] = []
    for chunk in chunks:
        try:
            frames = buf.feed(chunk)
        except ProtocolError:
            return got
        got += frames
        for command, payload in frames:
            assert len(command) <= 12 and command.isascii()
            if payload is not None:
                assert len(payload) <= MAX_PAYLOAD
                parse_or_refuse(command, payload)
    return got


@fuzz(1_500)
@given(msgs=st.lists(any_message, min_size=1, max_size=4), ops=mutations, cut=st.integers(1, 200))
def test_mutated_frame_streams_yield_frames_or_a_protocol_error(msgs, ops, cut):
    stream = _mutate(b"".join(encode_frame(x.msgtype, x.serialize()) for x in msgs), ops)
    feed_all([stream[i:i + cut] for i in range(0, len(stream), cut)])


@fuzz(1_000)
@given(
    magic=st.sampled_from([MAGIC, MAGIC, b"\xf9\xbe\xb4\xd9", b"\x00\x00\x00\x00"]),
    command=st.one_of(st.sampled_from(sorted(m.MESSAGEMAP)), st.binary(max_size=12)),
    length=st.one_of(st.integers(0, 64), st.sampled_from([MAX_PAYLOAD, MAX_PAYLOAD + 1, 2**32 - 1])),
    body=st.binary(max_size=64),
    good_checksum=st.booleans(),
)
def test_random_frame_headers_yield_frames_or_a_protocol_error(magic, command, length, body, good_checksum):
    name = command.encode() if isinstance(command, str) else command
    payload = body[:length]
    frame = bytearray(encode_frame("x", payload))
    frame[0:4] = magic
    frame[4:16] = name.ljust(12, b"\x00")
    frame[16:20] = length.to_bytes(4, "little")
    if not good_checksum:
        frame[20:24] = bytes(4)
    got = feed_all([bytes(frame)])
    if magic != MAGIC or length > MAX_PAYLOAD:
        assert got == []  # refused from the header alone: the payload is never awaited
    if got and not good_checksum and frame[20:24] != encode_frame("x", payload)[20:HEADER_SIZE]:
        assert got[0][1] is None  # a bad checksum drops the frame, not the peer


@pytest.mark.parametrize("command", sorted(m.MESSAGEMAP))
def test_empty_and_all_ff_payloads_of_every_type(command):
    """The edge cases a random generator rarely picks: nothing at all, and every length field maxed."""
    for payload in (b"", b"\x00", b"\xff" * 9, b"\xff" * 120, b"\xfe\xff\xff\xff\xff" + b"\x00" * 40):
        parse_or_refuse(command, payload)


@pytest.mark.soak
@pytest.mark.timeout(1800)
@fuzz(100_000)
@given(msg=any_message, ops=mutations, retype=st.sampled_from([None, *sorted(m.MESSAGEMAP)]), cut=st.integers(1, 200))
def test_mutated_messages_and_frames_soak(msg, ops, retype, cut):
    parse_or_refuse(retype or msg.msgtype, _mutate(msg.serialize(), ops))
    stream = _mutate(encode_frame(msg.msgtype, msg.serialize()), ops)
    feed_all([stream[i:i + cut] for i in range(0, len(stream), cut)])
