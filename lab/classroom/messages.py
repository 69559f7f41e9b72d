"""The class messages: four extra P2P message types a classroom network speaks.

They travel in Bitcoin's v1 frames (lab/net/wire.py) beside the ordinary
messages and follow lab/net/messages.py's shape: a `msgtype`, `serialize()`,
a `deserialize(payload)` classmethod that refuses malformed or oversized
input with ProtocolError, and a repr a learner can read. Bitcoin has no such
messages; they are the lab's own, and exist only on links that passed the
class-code admission (lab/classroom/auth.py).

    classhello   the challenge, sent by both ends right after `verack`
    classauth    the response: HMAC-SHA256 keyed by the class code
    classctl     a control action signed by the host's key (split, heal, ...)
    classroster  participants and their state, as the host last heard them

Layouts (integers little-endian, `str` = compact size + ASCII, as Bitcoin):

    classhello   version u8 | nonce 32 | host_pubkey 33 | name str
    classauth    mac 32
    classctl     seq u32 | time i64 | action u8 | body (control.py) | sig str(<= 73)
    classroster  count (<= 64) x entry
        entry    name str | ip 16 | port u16 big-endian | height u32 | tip 32 |
                 peers: count (<= 64) x name str | flags u8 (1 online, 2 host)

Names (`name str`): a letter, then up to 11 letters, digits, `-` or `_` (control.py).
Accepted bytes are canonical: serialising a parsed message gives them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lab.chain.crypto import short_hex
from lab.chain.serialize import (
    Reader,
    ser_bytes,
    ser_compact_size,
    ser_i64,
    ser_u32,
)
from lab.classroom.control import (
    CONTROLS,
    MAX_PARTICIPANTS,
    Action,
    Control,
    check_name,
    check_names,
    read_name,
    read_names,
    ser_name,
    ser_names,
)
from lab.errors import ProtocolError
from lab.net.messages import AddrEntry, Message

CLASS_PROTOCOL_VERSION = 1  # bumped when a class message layout changes
NONCE_SIZE = 32  # bytes of challenge in classhello
MAC_SIZE = 32  # HMAC-SHA256
PUBKEY_SIZE = 33  # compressed secp256k1 public key
MAX_SIG_SIZE = 73  # a DER ECDSA signature is at most 72 bytes (+1 spare, as Bitcoin's limit)
MAX_PEERS_LISTED = 64  # names in one roster entry's peer list

# --- classhello / classauth ------------------------------------------------------------------


@dataclass(frozen=True)
class MsgClassHello(Message):
    """The challenge: a fresh nonce, the host key this side pinned, and its name."""

    msgtype: ClassVar[str] = "classhello"
    nonce: bytes  # 32 random bytes, never reused
    host_pubkey: bytes  # 33 bytes: the class host's key; its fingerprint is in the class code
    name: str  # the sender's participant name
    version: int = CLASS_PROTOCOL_VERSION  # u8

    def __post_init__(self) -> None:
        if len(self.nonce) != NONCE_SIZE or len(self.host_pubkey) != PUBKEY_SIZE:
            raise ValueError("classhello needs a 32-byte nonce and a 33-byte host key")
        if self.host_pubkey[0] not in (2, 3):
            raise ValueError("host key is not a compressed public key")
        if not 0 <= self.version <= 0xFF:
            raise ValueError(f"class protocol version {self.version} out of range")
        check_name(self.name)

    def serialize(self) -> bytes:
        return bytes((self.version,)) + self.nonce + self.host_pubkey + ser_name(self.name)

    @classmethod
    def _read(cls, r: Reader) -> MsgClassHello:
        version = r.u8()
        nonce, key = r.read(NONCE_SIZE), r.read(PUBKEY_SIZE)
        return cls(nonce, key, read_name(r), version)

    def summary(self) -> str:
        return f"{self.name} v{self.version} nonce={self.nonce[:4].hex()}"

    def __repr__(self) -> str:
        return (f"msg_classhello(name={self.name}, version={self.version}, "
                f"nonce={self.nonce[:4].hex()}.., host={self.host_pubkey[:4].hex()}..)")


@dataclass(frozen=True)
class MsgClassAuth(Message):
    """The response: HMAC-SHA256(class key, both nonces and who answers) (see auth.py)."""

    msgtype: ClassVar[str] = "classauth"
    mac: bytes  # 32 bytes

    def __post_init__(self) -> None:
        if len(self.mac) != MAC_SIZE:
            raise ValueError("classauth carries a 32-byte MAC")

    def serialize(self) -> bytes:
        return self.mac

    @classmethod
    def _read(cls, r: Reader) -> MsgClassAuth:
        return cls(r.read(MAC_SIZE))

    def summary(self) -> str:
        return f"mac={self.mac[:4].hex()}"

    def __repr__(self) -> str:
        return f"msg_classauth(mac={self.mac[:4].hex()}..)"


# --- classctl ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MsgClassCtl(Message):
    """One control action, numbered and signed by the host (verified in auth.py)."""

    msgtype: ClassVar[str] = "classctl"
    seq: int  # u32, strictly increasing within a class session (replay protection)
    time: int  # i64, the host's wall clock, unix seconds (shown, not trusted)
    control: Control  # the action and its arguments
    sig: bytes = b""  # DER ECDSA by the host key over signed_bytes(); empty = unsigned

    def __post_init__(self) -> None:
        if not 0 <= self.seq <= 0xFFFF_FFFF or not -(2**63) <= self.time < 2**63:
            raise ValueError("classctl seq or time out of range")
        if len(self.sig) > MAX_SIG_SIZE:
            raise ValueError(f"signature of {len(self.sig)} bytes (limit {MAX_SIG_SIZE})")

    def signed_bytes(self) -> bytes:
        """Everything the signature covers: the whole message but the signature."""
        c = self.control
        return ser_u32(self.seq) + ser_i64(self.time) + bytes((c.action,)) + c.body()

    def serialize(self) -> bytes:
        return self.signed_bytes() + ser_bytes(self.sig)

    @classmethod
    def _read(cls, r: Reader) -> MsgClassCtl:
        seq, time, code = r.u32(), r.i64(), r.u8()
        if code not in CONTROLS:
            raise ProtocolError(f"unknown class control action {code}")
        control = CONTROLS[Action(code)].read(r)
        sig = r.var_bytes(1 << 25)
        return cls(seq, time, control, sig)

    def summary(self) -> str:
        return f"#{self.seq} {self.control}"

    def __repr__(self) -> str:
        sig = f"{self.sig[:4].hex()}.." if self.sig else "none"
        return f"msg_classctl(seq={self.seq}, time={self.time}, {self.control}, sig={sig})"


# --- classroster -----------------------------------------------------------------------------

ONLINE = 1  # roster entry flags
HOST = 2


@dataclass(frozen=True)
class RosterEntry:
    """One participant as last reported: where it listens, its tip, whom it is linked to."""

    name: str
    host: str  # IPv4 dotted quad it listens on, e.g. "192.168.1.20"
    port: int  # u16
    height: int  # u32, height of its best chain
    tip: bytes  # 32 bytes, hash of its best block
    peers: tuple[str, ...]  # names of the participants it has links to
    online: bool = True
    is_host: bool = False
    pkh: bytes = bytes(20)  # 20 bytes: its wallet's public key hash, where classmates pay it by name

    def __post_init__(self) -> None:
        check_name(self.name)
        if len(self.pkh) != 20:
            raise ValueError("roster entry pkh is not 20 bytes")
        parts = self.host.split(".")
        if len(parts) != 4 or not all(p.isdigit() and str(int(p)) == p and int(p) < 256 for p in parts):
            raise ValueError(f"bad IPv4 address {self.host!r}")
        if not 0 <= self.port <= 0xFFFF or not 0 <= self.height <= 0xFFFF_FFFF or len(self.tip) != 32:
            raise ValueError("roster entry port, height or tip out of range")
        check_names(self.peers, MAX_PEERS_LISTED, "peer list")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def serialize(self) -> bytes:
        ip = AddrEntry.ipv4(0, self.host, self.port).ip
        flags = (ONLINE if self.online else 0) | (HOST if self.is_host else 0)
        return (ser_name(self.name) + ip + self.port.to_bytes(2, "big") + ser_u32(self.height)
                + self.tip + ser_names(self.peers) + bytes((flags,)) + self.pkh)

    @classmethod
    def read(cls, r: Reader) -> RosterEntry:
        name = read_name(r)
        ip = r.read(16)
        if ip[:12] != b"\x00" * 10 + b"\xff\xff":
            raise ProtocolError("roster address is not an IPv4-mapped address")
        port = int.from_bytes(r.read(2), "big")
        height, tip = r.u32(), r.read(32)
        peers = read_names(r, MAX_PEERS_LISTED, "peer list")
        flags = r.u8()
        if flags & ~(ONLINE | HOST):
            raise ProtocolError(f"unknown roster flags {flags:#x}")
        pkh = r.read(20)
        host = ".".join(str(b) for b in ip[12:])
        return cls(name, host, port, height, tip, peers, bool(flags & ONLINE), bool(flags & HOST), pkh)

    def __repr__(self) -> str:
        state = "online" if self.online else "offline"
        role = " host" if self.is_host else ""
        return (f"{self.name}@{self.address} h={self.height} tip={short_hex(self.tip)} "
                f"peers=[{','.join(self.peers)}] {state}{role}")


@dataclass(frozen=True)
class MsgClassRoster(Message):
    """Participants and their state: the host's board, or one participant's own report."""

    msgtype: ClassVar[str] = "classroster"
    entries: tuple[RosterEntry, ...]

    def __post_init__(self) -> None:
        check_names(tuple(e.name for e in self.entries), MAX_PARTICIPANTS, "roster")

    def serialize(self) -> bytes:
        return ser_compact_size(len(self.entries)) + b"".join(e.serialize() for e in self.entries)

    @classmethod
    def _read(cls, r: Reader) -> MsgClassRoster:
        n = r.compact_size(1 << 25)
        if n > MAX_PARTICIPANTS:
            raise ProtocolError(f"oversized classroster: {n} entries (limit {MAX_PARTICIPANTS})")
        return cls(tuple(RosterEntry.read(r) for _ in range(n)))

    def summary(self) -> str:
        return f"{len(self.entries)} participants"

    def __repr__(self) -> str:
        return f"msg_classroster({'; '.join(repr(e) for e in self.entries)})"


CLASS_MESSAGEMAP: dict[str, type[Message]] = {
    cls.msgtype: cls for cls in (MsgClassHello, MsgClassAuth, MsgClassCtl, MsgClassRoster)
}


def decode_class_message(command: str, payload: bytes) -> Message | None:
    """The class message for a frame; None when the command is not a class message."""
    cls = CLASS_MESSAGEMAP.get(command)
    return cls.deserialize(payload) if cls else None
