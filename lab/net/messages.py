"""The peer-to-peer messages, in Bitcoin's shapes (realname: Bitcoin Core's
test/functional/test_framework/messages.py).

Every message has a `msgtype`, `serialize()`, a `deserialize(payload)`
classmethod that refuses malformed or oversized input with ProtocolError, and
a repr a learner can read. MESSAGEMAP maps a msgtype to its class; an unknown
msgtype is not in it and is ignored by the node, as Bitcoin Core does.

`version` has Core's full layout; the lab fills addr_recv/addr_from with the
unroutable address (Core's own addr_from since 0.20) and reads but ignores
services beyond NODE_NETWORK. `reject` is kept as a teaching aid (Bitcoin
Core removed it in 0.20).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from lab.chain.block import Block, BlockHeader
from lab.chain.crypto import short_hex
from lab.chain.serialize import (
    DecodeError,
    Reader,
    ser_bytes,
    ser_compact_size,
    ser_i32,
    ser_i64,
    ser_u32,
    ser_u64,
)
from lab.chain.tx import Tx
from lab.errors import ProtocolError
from lab.params import MAX_ADDR, MAX_HEADERS, MAX_INV, MAX_LOCATOR, MAX_USER_AGENT

MSG_TX = 1  # inventory type of a transaction (realname: MSG_TX)
MSG_BLOCK = 2  # inventory type of a block (realname: MSG_BLOCK)
INV_NAMES = {MSG_TX: "tx", MSG_BLOCK: "block"}
NODE_NETWORK = 1  # service bit: serves the full chain


class Message:
    msgtype: ClassVar[str]

    def serialize(self) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _read(cls, r: Reader) -> Message:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def deserialize(cls, payload: bytes) -> Message:
        r = Reader(payload)
        try:
            msg = cls._read(r)
            r.end()
        except DecodeError as e:
            raise ProtocolError(f"malformed {cls.msgtype}: {e}") from None
        except (ValueError, UnicodeDecodeError) as e:
            raise ProtocolError(f"malformed {cls.msgtype}: {e}") from None
        return msg

    def summary(self) -> str:
        """A short line for `queue` and step-mode narration."""
        return ""


def _limited(r: Reader, limit: int, what: str) -> int:
    n = r.compact_size(1 << 25)
    if n > limit:
        raise ProtocolError(f"oversized {what}: {n} entries (limit {limit})")
    return n


@dataclass(frozen=True)
class NetAddr:
    """An address without a time, as in `version` (realname: CService + services)."""

    services: int = 0  # u64 service bits
    ip: bytes = b"\x00" * 10 + b"\xff\xff" + b"\x00" * 4  # 16 bytes, IPv4-mapped IPv6 (0.0.0.0)
    port: int = 0  # u16, big-endian on the wire

    def serialize(self) -> bytes:
        return ser_u64(self.services) + self.ip + self.port.to_bytes(2, "big")

    @classmethod
    def read(cls, r: Reader) -> NetAddr:
        return cls(r.u64(), r.read(16), int.from_bytes(r.read(2), "big"))

    def __repr__(self) -> str:
        v4 = self.ip[:12] == b"\x00" * 10 + b"\xff\xff"
        host = ".".join(str(b) for b in self.ip[12:]) if v4 else f"[{self.ip.hex()}]"
        return f"{host}:{self.port} services={self.services}"


@dataclass(frozen=True)
class MsgVersion(Message):
    """The first message each side sends (Core's layout, protocol 70016).

    version i32 | services u64 | timestamp i64 | addr_recv 26 | addr_from 26 |
    nonce u64 | user_agent var | start_height i32 | relay u8
    """

    msgtype: ClassVar[str] = "version"
    version: int  # i32 protocol version
    services: int  # u64 service bits
    timestamp: int  # i64 sender's clock, unix seconds (virtual in the lab)
    nonce: int  # u64, detects connecting to oneself
    user_agent: str  # <= 256 bytes, e.g. "/blockchain-lab:0.1.0/"
    start_height: int  # i32 the sender's best height
    addr_recv: NetAddr = NetAddr()  # the receiver's address as the sender sees it
    addr_from: NetAddr = NetAddr()  # the sender's own address (Core sends 0.0.0.0:0)
    relay: int | None = 1  # u8, BIP 37: non-zero = announce transactions to me; None = left out (as before 70001)

    def serialize(self) -> bytes:
        return (ser_i32(self.version) + ser_u64(self.services) + ser_i64(self.timestamp)
                + self.addr_recv.serialize() + self.addr_from.serialize()
                + ser_u64(self.nonce) + ser_bytes(self.user_agent.encode()) + ser_i32(self.start_height)
                + (b"" if self.relay is None else bytes((self.relay,))))

    @classmethod
    def _read(cls, r: Reader) -> MsgVersion:
        version, services, ts = r.i32(), r.u64(), r.i64()
        addr_recv, addr_from, nonce = NetAddr.read(r), NetAddr.read(r), r.u64()
        ua = r.var_bytes(1 << 20)
        if len(ua) > MAX_USER_AGENT:
            raise ProtocolError(f"user agent of {len(ua)} bytes (limit {MAX_USER_AGENT})")
        start_height = r.i32()
        relay = r.u8() if r.remaining() else None  # optional, as Core reads it
        return cls(version, services, ts, nonce, ua.decode("utf-8"), start_height, addr_recv, addr_from, relay)

    def summary(self) -> str:
        return f"{self.user_agent} height {self.start_height}"


@dataclass(frozen=True)
class MsgVerack(Message):
    msgtype: ClassVar[str] = "verack"

    def serialize(self) -> bytes:
        return b""

    @classmethod
    def _read(cls, r: Reader) -> MsgVerack:
        return cls()


@dataclass(frozen=True)
class MsgPing(Message):
    msgtype: ClassVar[str] = "ping"
    nonce: int  # u64, echoed by pong

    def serialize(self) -> bytes:
        return ser_u64(self.nonce)

    @classmethod
    def _read(cls, r: Reader) -> Message:
        return cls(r.u64())

    def summary(self) -> str:
        return f"nonce={self.nonce:016x}"


@dataclass(frozen=True)
class MsgPong(MsgPing):
    msgtype: ClassVar[str] = "pong"


@dataclass(frozen=True)
class InvItem:
    type: int  # u32: MSG_TX or MSG_BLOCK
    hash: bytes  # 32 bytes

    def __repr__(self) -> str:
        return f"{INV_NAMES.get(self.type, self.type)}:{short_hex(self.hash)}"


@dataclass(frozen=True)
class MsgInv(Message):
    msgtype: ClassVar[str] = "inv"
    items: tuple[InvItem, ...]

    def serialize(self) -> bytes:
        return ser_compact_size(len(self.items)) + b"".join(ser_u32(i.type) + i.hash for i in self.items)

    @classmethod
    def _read(cls, r: Reader) -> Message:
        n = _limited(r, MAX_INV, cls.msgtype)
        return cls(tuple(InvItem(r.u32(), r.read(32)) for _ in range(n)))

    def summary(self) -> str:
        shown = ", ".join(repr(i) for i in self.items[:4])
        more = f" +{len(self.items) - 4}" if len(self.items) > 4 else ""
        return shown + more


@dataclass(frozen=True)
class MsgGetdata(MsgInv):
    msgtype: ClassVar[str] = "getdata"


@dataclass(frozen=True)
class MsgNotfound(MsgInv):
    msgtype: ClassVar[str] = "notfound"


@dataclass(frozen=True)
class MsgGetheaders(Message):
    msgtype: ClassVar[str] = "getheaders"
    locator: tuple[bytes, ...]  # block hashes, newest first, spaced exponentially
    hash_stop: bytes = b"\x00" * 32  # zero: as many as allowed
    version: int = 70016

    def serialize(self) -> bytes:
        return ser_u32(self.version) + ser_compact_size(len(self.locator)) + b"".join(self.locator) + self.hash_stop

    @classmethod
    def _read(cls, r: Reader) -> Message:
        version = r.u32()
        n = _limited(r, MAX_LOCATOR, "block locator")
        return cls(tuple(r.read(32) for _ in range(n)), r.read(32), version)

    def summary(self) -> str:
        return f"locator of {len(self.locator)} from {short_hex(self.locator[0]) if self.locator else '-'}"


@dataclass(frozen=True)
class MsgHeaders(Message):
    msgtype: ClassVar[str] = "headers"
    headers: tuple[BlockHeader, ...]

    def serialize(self) -> bytes:
        # each header is followed by a tx count, always 0 (Bitcoin's layout)
        return ser_compact_size(len(self.headers)) + b"".join(h.serialize() + b"\x00" for h in self.headers)

    @classmethod
    def _read(cls, r: Reader) -> Message:
        n = _limited(r, MAX_HEADERS, cls.msgtype)
        out = []
        for _ in range(n):
            out.append(BlockHeader.read(r))
            if r.compact_size() != 0:
                raise ProtocolError("headers entry with a non-zero tx count")
        return cls(tuple(out))

    def summary(self) -> str:
        if not self.headers:
            return "none"
        return f"{len(self.headers)}: {self.headers[0].short}..{self.headers[-1].short}"


@dataclass(frozen=True)
class MsgBlock(Message):
    msgtype: ClassVar[str] = "block"
    block: Block

    def serialize(self) -> bytes:
        return self.block.serialize()

    @classmethod
    def _read(cls, r: Reader) -> Message:
        return cls(Block.read(r))

    def summary(self) -> str:
        return f"{self.block.short} ({len(self.block.txs)} tx)"


@dataclass(frozen=True)
class MsgTx(Message):
    msgtype: ClassVar[str] = "tx"
    tx: Tx

    def serialize(self) -> bytes:
        return self.tx.serialize()

    @classmethod
    def _read(cls, r: Reader) -> Message:
        return cls(Tx.read(r))

    def summary(self) -> str:
        return f"{short_hex(self.tx.txid)}"


@dataclass(frozen=True)
class MsgGetaddr(Message):
    msgtype: ClassVar[str] = "getaddr"

    def serialize(self) -> bytes:
        return b""

    @classmethod
    def _read(cls, r: Reader) -> Message:
        return cls()


@dataclass(frozen=True)
class AddrEntry:
    time: int  # u32 last seen
    services: int  # u64
    ip: bytes  # 16 bytes, IPv4-mapped IPv6
    port: int  # u16, big-endian on the wire (as Bitcoin)

    @classmethod
    def ipv4(cls, time: int, host: str, port: int) -> AddrEntry:
        return cls(time, NODE_NETWORK, b"\x00" * 10 + b"\xff\xff" + bytes(int(p) for p in host.split(".")), port)

    def host(self) -> str:
        return ".".join(str(b) for b in self.ip[12:]) if self.ip[:12] == b"\x00" * 10 + b"\xff\xff" else self.ip.hex()


@dataclass(frozen=True)
class MsgAddr(Message):
    msgtype: ClassVar[str] = "addr"
    addrs: tuple[AddrEntry, ...]

    def serialize(self) -> bytes:
        return ser_compact_size(len(self.addrs)) + b"".join(
            ser_u32(a.time) + ser_u64(a.services) + a.ip + a.port.to_bytes(2, "big") for a in self.addrs)

    @classmethod
    def _read(cls, r: Reader) -> Message:
        n = _limited(r, MAX_ADDR, cls.msgtype)
        return cls(tuple(AddrEntry(r.u32(), r.u64(), r.read(16), int.from_bytes(r.read(2), "big")) for _ in range(n)))

    def summary(self) -> str:
        return f"{len(self.addrs)} addresses"


MAX_REJECT_REASON = 111  # bytes (realname: MAX_REJECT_MESSAGE_LENGTH)
REJECT_INVALID = 0x10  # Bitcoin's reject codes (BIP 61)
REJECT_DUPLICATE = 0x12
REJECT_NONSTANDARD = 0x40


@dataclass(frozen=True)
class MsgReject(Message):
    """Tells the sender why its block or transaction was refused (BIP 61, a teaching aid)."""

    msgtype: ClassVar[str] = "reject"
    message: str  # the msgtype refused: "block" or "tx"
    code: int  # u8, REJECT_*
    reason: str  # the reason code, e.g. "bad-cb-amount"
    hash: bytes = field(default=b"\x00" * 32)  # the refused block or tx

    def serialize(self) -> bytes:
        reason = self.reason.encode()[:MAX_REJECT_REASON]  # Core cut reasons to 111 bytes too
        return ser_bytes(self.message.encode()) + bytes((self.code,)) + ser_bytes(reason) + self.hash

    @classmethod
    def _read(cls, r: Reader) -> Message:
        msg = r.var_bytes(12).decode("ascii")
        code = r.u8()
        reason = r.var_bytes(MAX_REJECT_REASON).decode("ascii")
        return cls(msg, code, reason, r.read(32))

    def summary(self) -> str:
        return f"{self.message} {short_hex(self.hash)}: {self.reason}"


MESSAGEMAP: dict[str, type[Message]] = {
    cls.msgtype: cls
    for cls in (MsgVersion, MsgVerack, MsgPing, MsgPong, MsgInv, MsgGetdata, MsgNotfound,
                MsgGetheaders, MsgHeaders, MsgBlock, MsgTx, MsgGetaddr, MsgAddr, MsgReject)
}


def decode_message(command: str, payload: bytes) -> Message | None:
    """The message for a frame; None for an unknown command (ignored, as Bitcoin Core)."""
    cls = MESSAGEMAP.get(command)
    return cls.deserialize(payload) if cls else None


def describe(msg: Message) -> str:
    """`msgtype summary` for queue listings and step narration."""
    s = msg.summary()
    return f"{msg.msgtype} {s}".rstrip()

