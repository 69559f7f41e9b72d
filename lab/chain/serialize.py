"""Bitcoin's binary encoding helpers, in pairs: ser_X / Reader.X.

Integers are little-endian; lists and byte strings are prefixed by a
compact-size length (realname: CompactSize / VarInt in the P2P docs).
"""

from __future__ import annotations

import struct

from lab.errors import LabError


class DecodeError(LabError):
    """Bytes that do not decode: too short, too long, or out of range."""


def ser_compact_size(n: int) -> bytes:
    if n < 0:
        raise ValueError("compact size must be >= 0")
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    if n <= 0xFFFF_FFFF:
        return b"\xfe" + struct.pack("<I", n)
    return b"\xff" + struct.pack("<Q", n)


def ser_bytes(b: bytes) -> bytes:
    return ser_compact_size(len(b)) + b


def ser_u32(n: int) -> bytes:
    return struct.pack("<I", n)


def ser_i32(n: int) -> bytes:
    return struct.pack("<i", n)


def ser_i64(n: int) -> bytes:
    return struct.pack("<q", n)


def ser_u64(n: int) -> bytes:
    return struct.pack("<Q", n)


_U16, _U32, _I32, _I64, _U64 = (struct.Struct(f) for f in ("<H", "<I", "<i", "<q", "<Q"))


class Reader:
    """Reads Bitcoin-encoded fields from a byte string; every fault is DecodeError.

    The fixed-size readers unpack in place (struct's unpack_from at `pos`): a block
    holds thousands of small fields, and slicing each one out first doubled the cost
    of decoding it. A read past the end goes through `read`, which says what was short.
    """

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def read(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError(f"truncated: wanted {n} bytes at offset {self.pos}, have {self.remaining()}")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def _fixed(self, s: struct.Struct) -> int:
        pos = self.pos
        end = pos + s.size
        if end > len(self.data):
            self.read(s.size)  # raises: truncated
        self.pos = end
        return s.unpack_from(self.data, pos)[0]  # type: ignore[no-any-return]

    def u8(self) -> int:
        pos = self.pos
        if pos >= len(self.data):
            self.read(1)  # raises: truncated
        self.pos = pos + 1
        return self.data[pos]

    def u16(self) -> int:
        return self._fixed(_U16)

    def u32(self) -> int:
        return self._fixed(_U32)

    def i32(self) -> int:
        return self._fixed(_I32)

    def i64(self) -> int:
        return self._fixed(_I64)

    def u64(self) -> int:
        return self._fixed(_U64)

    def compact_size(self, limit: int = 0x0200_0000) -> int:
        """A compact size, refused when non-canonical or above `limit`."""
        first = self.u8()
        if first < 0xFD:
            n = first
        elif first == 0xFD:
            n = self.u16()
            if n < 0xFD:
                raise DecodeError("non-canonical compact size")
        elif first == 0xFE:
            n = self.u32()
            if n <= 0xFFFF:
                raise DecodeError("non-canonical compact size")
        else:
            n = self.u64()
            if n <= 0xFFFF_FFFF:
                raise DecodeError("non-canonical compact size")
        if n > limit:
            raise DecodeError(f"count {n} exceeds the limit of {limit}")
        return n

    def var_bytes(self, limit: int = 0x0200_0000) -> bytes:
        return self.read(self.compact_size(limit))

    def end(self) -> None:
        """Refuse trailing bytes: a message must be exactly its fields."""
        if self.remaining():
            raise DecodeError(f"{self.remaining()} unexpected trailing bytes")
