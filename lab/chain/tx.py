"""Transactions in Bitcoin's shape: outpoints, inputs, outputs, locktime.

Simplified from Bitcoin: there is no script. An output locks coins to a
20-byte public-key hash (what a P2PKH script does); an input unlocks one by
carrying the public key and a signature (what its scriptSig would push).

Wire layout (little-endian, lists and byte strings compact-size prefixed):

    Tx      version u32 | n_in | TxIn* | n_out | TxOut* | locktime u32
    TxIn    prev_txid 32 | prev_index u32 | signature var | pubkey var | sequence u32
    TxOut   value i64 | pubkey_hash 20

txid = sha256d(serialisation), displayed byte-reversed as Bitcoin does.

Signature hash (realname: SignatureHash with SIGHASH_ALL, value committed as
in BIP 143): sha256d( the transaction with every input's signature and
pubkey emptied || input index u32 || spent output's value i64 || spent
output's pubkey_hash ). So a signature covers every input and output of the
transaction, the amount it spends and which key may spend it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.chain.crypto import hash_hex, sha256d
from lab.chain.serialize import (
    DecodeError,
    Reader,
    ser_bytes,
    ser_compact_size,
    ser_i64,
    ser_u32,
)
from lab.params import SEQUENCE_FINAL

NULL_TXID = b"\x00" * 32
NULL_INDEX = 0xFFFF_FFFF
MAX_IO = 100_000  # decode bound on input/output counts (a block is <= 1 MB)


@dataclass(frozen=True, slots=True)
class OutPoint:
    """Names one output: the transaction that made it and its position."""

    txid: bytes  # 32 bytes, internal byte order
    index: int  # u32, position in that transaction's outputs

    def is_null(self) -> bool:
        return self.txid == NULL_TXID and self.index == NULL_INDEX

    def serialize(self) -> bytes:
        return self.txid + ser_u32(self.index)

    @classmethod
    def read(cls, r: Reader) -> OutPoint:
        return cls(r.read(32), r.u32())

    def __str__(self) -> str:
        return f"{hash_hex(self.txid)[:12]}:{self.index}"


NULL_OUTPOINT = OutPoint(NULL_TXID, NULL_INDEX)


@dataclass(frozen=True, slots=True)
class TxIn:
    """Spends one earlier output, proving the right to by key and signature."""

    prevout: OutPoint  # the output being spent (null for a coinbase)
    signature: bytes = b""  # DER signature, low S; coinbase: height + extra data
    pubkey: bytes = b""  # 33-byte compressed public key; empty in a coinbase
    sequence: int = SEQUENCE_FINAL  # u32; below final enables the locktime

    def serialize(self) -> bytes:
        return self.prevout.serialize() + ser_bytes(self.signature) + ser_bytes(self.pubkey) + ser_u32(self.sequence)

    def serialize_unsigned(self) -> bytes:
        return self.prevout.serialize() + b"\x00\x00" + ser_u32(self.sequence)

    @classmethod
    def read(cls, r: Reader) -> TxIn:
        return cls(OutPoint.read(r), r.var_bytes(10_000), r.var_bytes(10_000), r.u32())


@dataclass(frozen=True, slots=True)
class TxOut:
    """An amount locked to whoever holds the key behind `pubkey_hash`."""

    value: int  # i64, base units (1 coin = 100,000,000)
    pubkey_hash: bytes  # 20 bytes, hash160 of the owner's public key

    def serialize(self) -> bytes:
        return ser_i64(self.value) + self.pubkey_hash

    @classmethod
    def read(cls, r: Reader) -> TxOut:
        return cls(r.i64(), r.read(20))


@dataclass(frozen=True, slots=True)
class Tx:
    """A transaction (realname: CTransaction). Immutable; txid computed once."""

    inputs: tuple[TxIn, ...]  # realname: vin
    outputs: tuple[TxOut, ...]  # realname: vout
    version: int = 1  # u32
    locktime: int = 0  # u32: height (< 500,000,000) or unix time before which it is not final
    raw: bytes = field(init=False, repr=False, compare=False)  # the serialisation
    txid: bytes = field(init=False, repr=False, compare=False)  # sha256d(raw)

    def __post_init__(self) -> None:
        raw = (
            ser_u32(self.version)
            + ser_compact_size(len(self.inputs))
            + b"".join(i.serialize() for i in self.inputs)
            + ser_compact_size(len(self.outputs))
            + b"".join(o.serialize() for o in self.outputs)
            + ser_u32(self.locktime)
        )
        object.__setattr__(self, "raw", raw)
        object.__setattr__(self, "txid", sha256d(raw))

    # -- identity -----------------------------------------------------------
    @property
    def txid_hex(self) -> str:
        return hash_hex(self.txid)

    @property
    def size(self) -> int:
        return len(self.raw)

    def is_coinbase(self) -> bool:
        return len(self.inputs) == 1 and self.inputs[0].prevout.is_null()

    def total_out(self) -> int:
        return sum(o.value for o in self.outputs)

    # -- encoding -----------------------------------------------------------
    def serialize(self) -> bytes:
        return self.raw

    @classmethod
    def read(cls, r: Reader) -> Tx:
        version = r.u32()
        inputs = tuple(TxIn.read(r) for _ in range(r.compact_size(MAX_IO)))
        outputs = tuple(TxOut.read(r) for _ in range(r.compact_size(MAX_IO)))
        return cls(inputs, outputs, version, r.u32())

    @classmethod
    def deserialize(cls, data: bytes) -> Tx:
        r = Reader(data)
        tx = cls.read(r)
        r.end()
        return tx

    # -- signing --------------------------------------------------------------
    def sighash(self, index: int, spent: TxOut) -> bytes:
        """The digest input `index` signs; `spent` is the output it spends."""
        if not 0 <= index < len(self.inputs):
            raise DecodeError(f"no input {index}")
        unsigned = (
            ser_u32(self.version)
            + ser_compact_size(len(self.inputs))
            + b"".join(i.serialize_unsigned() for i in self.inputs)
            + ser_compact_size(len(self.outputs))
            + b"".join(o.serialize() for o in self.outputs)
            + ser_u32(self.locktime)
        )
        return sha256d(unsigned + ser_u32(index) + spent.serialize())

    def with_inputs(self, inputs: tuple[TxIn, ...]) -> Tx:
        return Tx(inputs, self.outputs, self.version, self.locktime)

    def __repr__(self) -> str:
        return f"Tx({self.txid_hex[:12]}, in={len(self.inputs)}, out={len(self.outputs)}, value={self.total_out()})"


def coinbase_data(height: int, extra: bytes = b"") -> bytes:
    """BIP 34: a coinbase starts with its block height, so coinbase txids never repeat."""
    h = height.to_bytes((height.bit_length() + 8) // 8 or 1, "little")
    return bytes((len(h),)) + h + extra


def coinbase_height(data: bytes) -> int | None:
    """The height a coinbase's data starts with, or None when it does not."""
    if not data or data[0] > 8 or len(data) < 1 + data[0]:
        return None
    return int.from_bytes(data[1 : 1 + data[0]], "little")


def make_coinbase(height: int, value: int, pubkey_hash: bytes, extra: bytes = b"") -> Tx:
    """The first transaction of a block: creates the subsidy plus fees."""
    data = coinbase_data(height, extra)
    if len(data) < 2:
        data += b"\x00"
    return Tx((TxIn(NULL_OUTPOINT, data, b""),), (TxOut(value, pubkey_hash),))
