"""Frames and messages: round trips, limits, and the malformed cases Bitcoin Core refuses."""

import pytest

from lab.chain.block import GENESIS
from lab.errors import ProtocolError
from lab.net import messages as m
from lab.net.wire import HEADER_SIZE, FrameBuffer, encode_frame
from lab.params import MAGIC, MAX_HEADERS, MAX_INV, MAX_LOCATOR, MAX_PAYLOAD

SAMPLES = [
    m.MsgVersion(70016, 1, 1_231_006_505, 42, "/blockchain-lab:0.1.0/", 7),
    m.MsgVerack(),
    m.MsgPing(0x2A),
    m.MsgPong(0x2A),
    m.MsgInv((m.InvItem(m.MSG_BLOCK, GENESIS.hash), m.InvItem(m.MSG_TX, GENESIS.txs[0].txid))),
    m.MsgGetdata((m.InvItem(m.MSG_BLOCK, GENESIS.hash),)),
    m.MsgNotfound((m.InvItem(m.MSG_TX, b"\x01" * 32),)),
    m.MsgGetheaders((GENESIS.hash, b"\x02" * 32)),
    m.MsgHeaders((GENESIS.header,)),
    m.MsgBlock(GENESIS),
    m.MsgTx(GENESIS.txs[0]),
    m.MsgGetaddr(),
    m.MsgAddr((m.AddrEntry.ipv4(5, "127.0.0.1", 18444),)),
    m.MsgReject("block", m.REJECT_INVALID, "bad-cb-amount", GENESIS.hash),
]


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda x: x.msgtype)
def test_every_message_round_trips_through_a_frame(msg):
    frame = encode_frame(msg.msgtype, msg.serialize())
    [(command, payload)] = FrameBuffer().feed(frame)
    assert command == msg.msgtype
    assert m.decode_message(command, payload) == msg
    assert msg.msgtype in repr(m.describe(msg)) or m.describe(msg).startswith(msg.msgtype)


def test_every_message_type_is_in_the_map():
    assert {s.msgtype for s in SAMPLES} == set(m.MESSAGEMAP)


def test_frames_split_anywhere_reassemble():
    data = b"".join(encode_frame(s.msgtype, s.serialize()) for s in SAMPLES)
    buf = FrameBuffer()
    got = []
    for i in range(0, len(data), 7):
        got += buf.feed(data[i:i + 7])
    assert [c for c, _ in got] == [s.msgtype for s in SAMPLES]
    assert not buf.partial


def test_wrong_magic_is_refused_before_the_header_is_complete():
    with pytest.raises(ProtocolError, match="magic"):
        FrameBuffer().feed(b"\xde\xad\xbe\xef")


def test_oversized_length_is_refused_before_the_payload_arrives():
    frame = encode_frame("block", b"")
    huge = frame[:16] + (MAX_PAYLOAD + 1).to_bytes(4, "little") + frame[20:HEADER_SIZE]
    with pytest.raises(ProtocolError, match="exceeds"):
        FrameBuffer().feed(huge)
    top = frame[:16] + (2**32 - 1).to_bytes(4, "little") + frame[20:HEADER_SIZE]
    with pytest.raises(ProtocolError):
        FrameBuffer().feed(top)


def test_bad_checksum_drops_the_message_only():
    frame = bytearray(encode_frame("ping", m.MsgPing(1).serialize()))
    frame[-1] ^= 0xFF
    good = encode_frame("ping", m.MsgPing(2).serialize())
    got = FrameBuffer().feed(bytes(frame) + good)
    assert got[0] == ("ping", None)
    assert m.decode_message(*got[1]) == m.MsgPing(2)


def test_malformed_command_field_is_refused():
    frame = bytearray(encode_frame("ping", b""))
    frame[4:16] = b"pi\x00ng\x00\x00\x00\x00\x00\x00\x00"
    with pytest.raises(ProtocolError, match="command"):
        FrameBuffer().feed(bytes(frame))


def test_unknown_command_decodes_to_nothing():
    assert m.decode_message("sendcmpct", b"\x00" * 9) is None


@pytest.mark.parametrize("cls,limit,entry", [
    (m.MsgInv, MAX_INV, b"\x02\x00\x00\x00" + b"\x00" * 32),
    (m.MsgGetdata, MAX_INV, b"\x02\x00\x00\x00" + b"\x00" * 32),
    (m.MsgHeaders, MAX_HEADERS, GENESIS.header.serialize() + b"\x00"),
])
def test_oversized_lists_are_protocol_errors(cls, limit, entry):
    from lab.chain.serialize import ser_compact_size
    payload = ser_compact_size(limit + 1) + entry * 2
    with pytest.raises(ProtocolError, match="oversized"):
        cls.deserialize(payload)


def test_locator_longer_than_101_is_refused():
    msg = m.MsgGetheaders(tuple(bytes([i]) * 32 for i in range(MAX_LOCATOR + 1)))
    with pytest.raises(ProtocolError, match="locator"):
        m.MsgGetheaders.deserialize(msg.serialize())


def test_user_agent_over_256_bytes_is_refused():
    msg = m.MsgVersion(70016, 1, 0, 0, "x" * 257, 0)
    with pytest.raises(ProtocolError, match="user agent"):
        m.MsgVersion.deserialize(msg.serialize())


def test_truncated_and_trailing_payloads_are_protocol_errors():
    payload = m.MsgPing(5).serialize()
    with pytest.raises(ProtocolError):
        m.MsgPing.deserialize(payload[:-1])
    with pytest.raises(ProtocolError):
        m.MsgPing.deserialize(payload + b"\x00")


def test_frame_header_layout_is_bitcoins():
    frame = encode_frame("verack", b"")
    assert frame[:4] == MAGIC
    assert frame[4:16] == b"verack\x00\x00\x00\x00\x00\x00"
    assert frame[16:20] == b"\x00\x00\x00\x00"
    assert frame[20:24] == bytes.fromhex("5df6e0e2")  # sha256d("")[:4], as in Bitcoin
