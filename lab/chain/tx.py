"""Transactions in Bitcoin's serialisation: outpoints, scripts, locktime, signature hash.

Reference: Bitcoin Core's primitives/transaction.h (CTransaction, CTxIn,
CTxOut) and script/interpreter.cpp (SignatureHash, the legacy algorithm).

Wire layout (little-endian; scripts and lists compact-size prefixed):

    Tx      version u32 | n_in | TxIn* | n_out | TxOut* | locktime u32
    TxIn    prev_txid 32 | prev_index u32 | scriptSig var | sequence u32
    TxOut   value i64 | scriptPubKey var

txid = sha256d(serialisation), displayed byte-reversed as Bitcoin does. The
lab writes no SegWit transactions (no marker, flag or witness).

Signature hash (realname: SignatureHash, legacy, SIGHASH_ALL): sha256d of
the transaction with every scriptSig emptied except the signed input's, which
holds the spent output's scriptPubKey (the "scriptCode"), followed by the
hash type as a u32. Done naively that re-serialises every input for every
input (CVE-2013-2292's quadratic shape); SighashCache serialises once and
keeps the hash state of the common prefix, so each input only hashes the
bytes after its own position.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

from lab.chain.crypto import hash_hex, sha256d
from lab.chain.script import (
    SIGHASH_ALL,
    SIGHASH_ANYONECANPAY,
    SIGHASH_NONE,
    SIGHASH_SINGLE,
    p2pkh_hash,
    p2pkh_script,
    push_data,
    push_int,
    script_sig_parts,
)
from lab.chain.serialize import (
    DecodeError,
    Reader,
    ser_bytes,
    ser_compact_size,
    ser_i64,
    ser_u32,
)
from lab.params import MAX_BLOCK_SIZE, SEQUENCE_FINAL

# Decoding builds these frozen values by setting their slots through the slot descriptors
# (what the dataclass __init__ does through object.__setattr__, at twice its speed); the
# fields are the ones __init__ would set, in the same order, so the objects are the same.
_new = object.__new__

NULL_TXID = b"\x00" * 32
NULL_INDEX = 0xFFFF_FFFF
MAX_IO = 100_000  # decode bound on input/output counts (a block is <= 1 MB)
MAX_SCRIPT_BYTES = MAX_BLOCK_SIZE  # decode bound on one script: Core runs at most 10,000 bytes, but a block may carry more


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
        op = _new(cls)  # decoding sets the slots directly (see _new): a block has thousands of these
        _OP_TXID(op, r.read(32))
        _OP_INDEX(op, r.u32())
        return op

    def __str__(self) -> str:
        return f"{hash_hex(self.txid)[:12]}:{self.index}"


NULL_OUTPOINT = OutPoint(NULL_TXID, NULL_INDEX)
_OP_TXID, _OP_INDEX = (getattr(OutPoint, f).__set__ for f in ("txid", "index"))


@dataclass(frozen=True, slots=True)
class TxIn:
    """Spends one earlier output; its scriptSig proves the right to (realname: CTxIn)."""

    prevout: OutPoint  # the output being spent (null for a coinbase)
    script_sig: bytes = b""  # P2PKH: <DER sig + hash type> <pubkey>; coinbase: height + extra data
    sequence: int = SEQUENCE_FINAL  # u32; below final enables the locktime

    def serialize(self) -> bytes:
        return self.prevout.serialize() + ser_bytes(self.script_sig) + ser_u32(self.sequence)

    @classmethod
    def read(cls, r: Reader) -> TxIn:
        txin = _new(cls)
        _IN_PREVOUT(txin, OutPoint.read(r))
        _IN_SCRIPT(txin, r.var_bytes(MAX_SCRIPT_BYTES))
        _IN_SEQUENCE(txin, r.u32())
        return txin

    @property
    def pubkey(self) -> bytes:
        """The public key a P2PKH scriptSig pushes, or b"" when it is not one."""
        parts = script_sig_parts(self.script_sig)
        return parts[1] if parts else b""


@dataclass(frozen=True, slots=True)
class TxOut:
    """An amount and the script that locks it (realname: CTxOut)."""

    value: int  # i64, base units (1 coin = 100,000,000)
    script_pubkey: bytes  # the lock; the lab's wallets write P2PKH

    @classmethod
    def to_pkh(cls, value: int, pkh: bytes) -> TxOut:
        """An output paying `value` to the key behind the 20-byte `pkh` (P2PKH)."""
        return cls(value, p2pkh_script(pkh))

    @property
    def pubkey_hash(self) -> bytes | None:
        """The key hash of a P2PKH lock, None for any other script."""
        return p2pkh_hash(self.script_pubkey)

    def serialize(self) -> bytes:
        return ser_i64(self.value) + ser_bytes(self.script_pubkey)

    @classmethod
    def read(cls, r: Reader) -> TxOut:
        out = _new(cls)
        _OUT_VALUE(out, r.i64())
        _OUT_SCRIPT(out, r.var_bytes(MAX_SCRIPT_BYTES))
        return out


_IN_PREVOUT, _IN_SCRIPT, _IN_SEQUENCE = (getattr(TxIn, f).__set__ for f in ("prevout", "script_sig", "sequence"))
_OUT_VALUE, _OUT_SCRIPT = (getattr(TxOut, f).__set__ for f in ("value", "script_pubkey"))


@dataclass(frozen=True, slots=True)
class Tx:
    """A transaction (realname: CTransaction). Immutable; txid computed once."""

    inputs: tuple[TxIn, ...]  # realname: vin
    outputs: tuple[TxOut, ...]  # realname: vout
    version: int = 1  # u32 (realname: CTransaction::version, signed before Core 28; same bytes)
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
        start = r.pos
        version = r.u32()
        inputs = tuple([TxIn.read(r) for _ in range(r.compact_size(MAX_IO))])
        outputs = tuple([TxOut.read(r) for _ in range(r.compact_size(MAX_IO))])
        locktime = r.u32()
        # The bytes just read are the serialisation (every length is canonical, every
        # field fixed-size or length-prefixed): keep them rather than write them again.
        tx = _new(cls)
        _TX_INPUTS(tx, inputs)
        _TX_OUTPUTS(tx, outputs)
        _TX_VERSION(tx, version)
        _TX_LOCKTIME(tx, locktime)
        raw = r.data[start : r.pos]
        _TX_RAW(tx, raw)
        _TX_TXID(tx, sha256d(raw))
        return tx

    @classmethod
    def deserialize(cls, data: bytes) -> Tx:
        r = Reader(data)
        tx = cls.read(r)
        r.end()
        return tx

    # -- signing --------------------------------------------------------------
    def sighash(self, index: int, script_code: bytes, hash_type: int = SIGHASH_ALL) -> bytes:
        """The digest input `index` signs. For many inputs use one SighashCache instead."""
        return SighashCache(self).digest(index, script_code, hash_type)

    def with_inputs(self, inputs: tuple[TxIn, ...]) -> Tx:
        return Tx(inputs, self.outputs, self.version, self.locktime)

    def __repr__(self) -> str:
        return f"Tx({self.txid_hex[:12]}, in={len(self.inputs)}, out={len(self.outputs)}, value={self.total_out()})"


_TX_INPUTS, _TX_OUTPUTS, _TX_VERSION, _TX_LOCKTIME, _TX_RAW, _TX_TXID = (
    getattr(Tx, f).__set__ for f in ("inputs", "outputs", "version", "locktime", "raw", "txid"))

_BLANK_IN = 41  # bytes of one input with an empty scriptSig: outpoint 36 + 0x00 + sequence 4


class SighashCache:
    """Legacy signature hashes of one transaction without re-serialising it per input.

    realname: SignatureHash + CTransactionSignatureSerializer; the cache plays
    the part of PrecomputedTransactionData. Every input's blank form (empty
    scriptSig) is serialised once; the SHA-256 state after the inputs before
    `index` is carried forward, so input i hashes only its own scriptCode and
    the bytes after it. The hashing is still linear per input (as in Core, which
    bounds it by the standard transaction size), the Python work is not.
    """

    __slots__ = ("tx", "_blank", "_tail", "_state", "_at")

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self._blank = memoryview(b"".join(i.prevout.serialize() + b"\x00" + ser_u32(i.sequence) for i in tx.inputs))
        self._tail = ser_compact_size(len(tx.outputs)) + b"".join(o.serialize() for o in tx.outputs) + ser_u32(tx.locktime)
        self._state = hashlib.sha256(ser_u32(tx.version) + ser_compact_size(len(tx.inputs)))
        self._at = 0  # the state has hashed the blank forms of inputs [0, _at)

    def _prefix(self, index: int) -> hashlib._Hash:
        if index < self._at:  # asked out of order: start again from the head
            self._state = hashlib.sha256(ser_u32(self.tx.version) + ser_compact_size(len(self.tx.inputs)))
            self._at = 0
        self._state.update(self._blank[_BLANK_IN * self._at : _BLANK_IN * index])
        self._at = index
        return self._state.copy()

    def digest(self, index: int, script_code: bytes, hash_type: int = SIGHASH_ALL) -> bytes:
        tx = self.tx
        if not 0 <= index < len(tx.inputs):
            raise DecodeError(f"no input {index}")
        base = hash_type & 0x1F
        if hash_type & SIGHASH_ANYONECANPAY or base in (SIGHASH_NONE, SIGHASH_SINGLE):
            return _sighash_other(tx, index, script_code, hash_type)
        h = self._prefix(index)
        txin = tx.inputs[index]
        h.update(txin.prevout.serialize() + ser_bytes(script_code) + ser_u32(txin.sequence))
        h.update(self._blank[_BLANK_IN * (index + 1) :])
        h.update(self._tail + ser_u32(hash_type))
        return hashlib.sha256(h.digest()).digest()


SIGHASH_SINGLE_BUG = b"\x01" + b"\x00" * 31  # realname: the uint256 one SignatureHash returns


def _sighash_other(tx: Tx, index: int, script_code: bytes, hash_type: int) -> bytes:
    """SIGHASH_NONE, SIGHASH_SINGLE and ANYONECANPAY, written plainly (the lab never signs these)."""
    base = hash_type & 0x1F
    if base == SIGHASH_SINGLE and index >= len(tx.outputs):
        return SIGHASH_SINGLE_BUG
    anyone = bool(hash_type & SIGHASH_ANYONECANPAY)
    ins = [index] if anyone else range(len(tx.inputs))
    parts = [ser_u32(tx.version), ser_compact_size(len(ins))]
    for j in ins:
        txin = tx.inputs[j]
        seq = txin.sequence if j == index or base not in (SIGHASH_NONE, SIGHASH_SINGLE) else 0
        parts.append(txin.prevout.serialize() + ser_bytes(script_code if j == index else b"") + ser_u32(seq))
    if base == SIGHASH_NONE:
        outs: list[bytes] = []
    elif base == SIGHASH_SINGLE:
        outs = [ser_i64(-1) + b"\x00"] * index + [tx.outputs[index].serialize()]
    else:
        outs = [o.serialize() for o in tx.outputs]
    parts += [ser_compact_size(len(outs)), *outs, ser_u32(tx.locktime), ser_u32(hash_type)]
    return sha256d(b"".join(parts))


# --- coinbase (BIP 34) ----------------------------------------------------------------
def coinbase_script_sig(height: int, extra: bytes = b"") -> bytes:
    """`CScript() << height`, then the extra data as one push (OP_0 when there is none)."""
    return push_int(height) + (push_data(extra) if extra else b"\x00")


def coinbase_height(script_sig: bytes) -> int | None:
    """The height a coinbase scriptSig starts with (OP_0, OP_1..OP_16 or a number push), or None."""
    if not script_sig:
        return None
    op = script_sig[0]
    if op == 0:
        return 0
    if 0x51 <= op <= 0x60:
        return op - 0x50
    if 1 <= op <= 8 and len(script_sig) > op:
        data = script_sig[1 : 1 + op]
        n = int.from_bytes(data, "little") & ~(0x80 << (8 * (len(data) - 1)))
        return -n if data[-1] & 0x80 else n
    return None


@lru_cache(maxsize=64)  # every node checks the same few heights
def bip34_prefix(height: int) -> bytes:
    """What a coinbase at `height` must start with (realname: CScript() << nHeight)."""
    return push_int(height)


def make_coinbase(height: int, value: int, pkh: bytes, extra: bytes = b"") -> Tx:
    """The first transaction of a block: creates the subsidy plus fees, paid to `pkh`."""
    return Tx((TxIn(NULL_OUTPOINT, coinbase_script_sig(height, extra)),), (TxOut.to_pkh(value, pkh),))

