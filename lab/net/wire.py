"""Frames on the wire, exactly Bitcoin's v1 transport (realname: CMessageHeader).

    magic 4 | command 12 (ASCII, NUL-padded) | length u32 | checksum 4 | payload

checksum = first 4 bytes of sha256d(payload). A receiver checks the magic and
the length *before* reading the payload, so a peer cannot make it buffer a
4 GiB frame: a wrong magic or an oversized length disconnects the peer. A bad
checksum drops that one message and keeps the peer (as Bitcoin Core does).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from lab.chain.crypto import sha256d
from lab.errors import ProtocolError
from lab.params import MAGIC, MAX_PAYLOAD

HEADER_SIZE = 24
_HDR = struct.Struct("<4s12sI4s")


def checksum(payload: bytes) -> bytes:
    return sha256d(payload)[:4]


def encode_frame(command: str, payload: bytes, magic: bytes = MAGIC) -> bytes:
    name = command.encode("ascii")
    if len(name) > 12:
        raise ValueError(f"command {command!r} longer than 12 bytes")
    return _HDR.pack(magic, name, len(payload), checksum(payload)) + payload  # "12s" NUL-pads the name


@dataclass(frozen=True, slots=True)
class FrameHeader:
    command: str  # decoded from the 12-byte NUL-padded field
    length: int  # payload bytes that follow
    checksum: bytes  # 4 bytes


def decode_header(data: bytes, magic: bytes = MAGIC, max_payload: int = MAX_PAYLOAD) -> FrameHeader:
    """Parse a 24-byte header; ProtocolError on wrong magic or size."""
    got_magic, raw_cmd, length, chk = _HDR.unpack_from(data)
    if got_magic != magic:
        raise ProtocolError(f"wrong network magic {got_magic.hex()}")
    if length > max_payload:
        raise ProtocolError(f"frame of {length} bytes exceeds the {max_payload}-byte limit")
    return FrameHeader(_command(raw_cmd), length, chk)


_COMMANDS: dict[bytes, str] = {}  # well-formed command fields seen, and their names
_MAX_COMMANDS = 64  # a peer inventing names cannot grow it further


def _command(raw_cmd: bytes) -> str:
    """The command a 12-byte field names; ProtocolError unless it is printable ASCII, NUL-padded."""
    name = _COMMANDS.get(raw_cmd)
    if name is not None:
        return name
    cmd, _, padding = raw_cmd.partition(b"\x00")
    if padding.strip(b"\x00") or not cmd or not all(0x20 < c < 0x7F for c in cmd):
        raise ProtocolError(f"malformed command field {raw_cmd!r}")
    name = cmd.decode("ascii")
    if len(_COMMANDS) < _MAX_COMMANDS:
        _COMMANDS[raw_cmd] = name
    return name


class FrameBuffer:
    """Accumulates bytes from a socket and yields whole frames.

    `feed(data)` returns the (command, payload) pairs completed. A frame whose
    checksum fails comes back as (command, None): the caller drops it and
    keeps the peer. Malformed headers raise ProtocolError at once, even if
    the payload has not arrived (check magic and length first).
    """

    def __init__(self, magic: bytes = MAGIC, max_payload: int = MAX_PAYLOAD) -> None:
        self.magic = magic
        self.max_payload = max_payload
        self._buf = bytearray()
        self._header: FrameHeader | None = None

    @property
    def partial(self) -> bool:
        """True while part of a frame is buffered (the caller times that out)."""
        return bool(self._buf) or self._header is not None

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as a frame (at most one frame's worth)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[tuple[str, bytes | None]]:
        buf = self._buf
        buf += data
        out: list[tuple[str, bytes | None]] = []
        pos, end = 0, len(buf)  # frames are cut at `pos`; what they used is deleted once, at the end
        h = self._header
        try:
            while True:
                if h is None:
                    if end - pos >= 4 and buf[pos : pos + 4] != self.magic:
                        raise ProtocolError(f"wrong network magic {bytes(buf[pos : pos + 4]).hex()}")
                    if end - pos < HEADER_SIZE:
                        return out
                    h = self._header = decode_header(bytes(buf[pos : pos + HEADER_SIZE]), self.magic, self.max_payload)
                    pos += HEADER_SIZE
                if end - pos < h.length:
                    return out
                payload = bytes(buf[pos : pos + h.length])
                pos += h.length
                self._header = None
                out.append((h.command, payload if checksum(payload) == h.checksum else None))
                h = None
        finally:
            del buf[:pos]
