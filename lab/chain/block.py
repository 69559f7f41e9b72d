"""Blocks: an 80-byte header chained by hash, and the transactions it commits to.

Header layout, exactly Bitcoin's (realname: CBlockHeader):

    version i32 | prev_hash 32 | merkle_root 32 | time u32 | bits u32 | nonce u32

The block hash is sha256d of those 80 bytes; shown byte-reversed, so a hash
that meets a low target starts with zeros. A block is its header followed by
a compact-size count and the transactions, the first being the coinbase.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from lab.chain.crypto import hash_hex, sha256d, short_hex
from lab.chain.merkle import merkle_root
from lab.chain.serialize import Reader, ser_compact_size
from lab.chain.tx import MAX_IO, Tx
from lab.params import GENESIS_TIME, MAX_BLOCK_SIZE

_HEADER = struct.Struct("<i32s32sIII")


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """The part of a block that is hashed and chained (80 bytes)."""

    version: int  # i32
    prev_hash: bytes  # 32 bytes: hash of the parent block's header (internal order)
    merkle_root: bytes  # 32 bytes: commits to every transaction in the block
    time: int  # u32, unix seconds (the lab's virtual clock)
    bits: int  # u32, compact encoding of the target
    nonce: int  # u32, what the miner varies
    hash: bytes = field(init=False, repr=False, compare=False)  # sha256d of the 80 bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "hash", sha256d(self.serialize()))

    def serialize(self) -> bytes:
        return _HEADER.pack(self.version, self.prev_hash, self.merkle_root, self.time, self.bits, self.nonce)

    @classmethod
    def read(cls, r: Reader) -> BlockHeader:
        raw = r.read(80)
        header = _new(cls)  # the slots set directly, as Tx.read does
        for put, value in zip(_HEADER_SLOTS, _HEADER.unpack(raw), strict=True):
            put(header, value)
        _HEADER_HASH(header, sha256d(raw))  # the 80 bytes read are the serialisation: hash them as they are
        return header

    @classmethod
    def deserialize(cls, data: bytes) -> BlockHeader:
        r = Reader(data)
        h = cls.read(r)
        r.end()
        return h

    @property
    def hash_hex(self) -> str:
        return hash_hex(self.hash)

    @property
    def short(self) -> str:
        return short_hex(self.hash)

    def __repr__(self) -> str:
        return f"BlockHeader({self.hash_hex[:16]}.., prev={hash_hex(self.prev_hash)[:16]}.., time={self.time}, bits={self.bits:#010x}, nonce={self.nonce})"


@dataclass(frozen=True, slots=True)
class Block:
    """A header and its transactions (realname: CBlock)."""

    header: BlockHeader
    txs: tuple[Tx, ...]  # realname: vtx; txs[0] is the coinbase
    size: int = field(init=False, repr=False, compare=False)  # serialised bytes (checked, stored, bounded: often asked)

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", 80 + len(ser_compact_size(len(self.txs))) + sum([len(t.raw) for t in self.txs]))

    @property
    def hash(self) -> bytes:
        return self.header.hash

    @property
    def hash_hex(self) -> str:
        return self.header.hash_hex

    @property
    def short(self) -> str:
        return self.header.short

    @property
    def prev_hash(self) -> bytes:
        return self.header.prev_hash

    def serialize(self) -> bytes:
        return self.header.serialize() + ser_compact_size(len(self.txs)) + b"".join(t.raw for t in self.txs)

    def compute_merkle_root(self) -> tuple[bytes, bool]:
        return merkle_root([t.txid for t in self.txs])

    @classmethod
    def read(cls, r: Reader) -> Block:
        start = r.pos
        header = BlockHeader.read(r)
        n = r.compact_size(min(MAX_IO, MAX_BLOCK_SIZE // 60))
        txs = tuple([Tx.read(r) for _ in range(n)])
        block = _new(cls)
        _BLOCK_HEADER(block, header)
        _BLOCK_TXS(block, txs)
        _BLOCK_SIZE(block, r.pos - start)  # what __post_init__ would count: the bytes just read
        return block

    @classmethod
    def deserialize(cls, data: bytes) -> Block:
        r = Reader(data)
        b = cls.read(r)
        r.end()
        return b

    def __repr__(self) -> str:
        return f"Block({self.hash_hex[:16]}.., txs={len(self.txs)})"


_new = object.__new__
_HEADER_SLOTS = tuple(getattr(BlockHeader, f).__set__ for f in ("version", "prev_hash", "merkle_root", "time", "bits", "nonce"))
_HEADER_HASH = vars(BlockHeader)["hash"].__set__
_BLOCK_HEADER, _BLOCK_TXS, _BLOCK_SIZE = (getattr(Block, f).__set__ for f in ("header", "txs", "size"))


# --- genesis ---------------------------------------------------------------
# Hard-coded like Bitcoin's: nothing is mined at start-up. The coinbase is
# Bitcoin's own genesis transaction, byte for byte (Satoshi's headline, 50
# coins to his public key), so the merkle root is mainnet's too; the header
# differs in `bits` (the lab's 16-bit difficulty) and hence in the nonce. As
# in Bitcoin, the genesis coinbase is never spendable.
GENESIS_COINBASE = Tx.deserialize(bytes.fromhex(
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d"
    "0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66"
    "207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe55"
    "48271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba"
    "0b8d578a4c702b6bf11d5fac00000000"
))
GENESIS_BITS = 0x1F00FFFF  # 16 zero bits, the lab's default difficulty
GENESIS_NONCE = 43994  # found once, offline, by a plain nonce search


def _genesis(nonce: int) -> Block:
    header = BlockHeader(1, b"\x00" * 32, GENESIS_COINBASE.txid, GENESIS_TIME, GENESIS_BITS, nonce)
    return Block(header, (GENESIS_COINBASE,))


GENESIS = _genesis(GENESIS_NONCE)
