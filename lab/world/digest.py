"""The `digest` command's value: one short hex line that changes when any node's state does.

It covers what decides a node's future: its tip, its UTXO set and its
mempool. Two labs with the same digest agree on all three, for every node,
so `back` can be checked ("the digest before the command, exactly") and a
replayed submission compared with the learner's run.

The function works on plain data, so it can be computed from a live lab, a
loaded save or a test fixture alike:

    node_digest = sha256( name | tip hash | utxo commitment | mempool commitment )
    utxo commitment    = sha256 of the entries  txid | index u32 | value i64 | script, sorted by their bytes
    mempool commitment = sha256 of the txids, sorted
    lab digest         = sha256 over the node digests in name order, first 8 bytes in hex

Sets are sorted before hashing, so the order they are given in does not
matter; nodes are taken in name order. Each UTXO entry is serialised as
Bitcoin serialises an outpoint and an output (realname: COutPoint, CTxOut),
the way Bitcoin Core's `gettxoutsetinfo` hashes the UTXO set (realname:
hash_serialized, which also commits to height and coinbase; those follow
from the chain the tip names).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from typing import NamedTuple

from lab.chain.node_state import NodeState
from lab.chain.serialize import ser_bytes
from lab.chain.tx import TxOut

DIGEST_BYTES = 8  # 16 hex digits: short enough to read aloud, 64 bits against accidental equality

_OUTPOINT_VALUE = struct.Struct("<Iq")  # output index u32 and value i64, little-endian as on the wire
UtxoEntry = tuple[tuple[bytes, int], int, bytes]  # ((txid, index), value, scriptPubKey)


class NodeSnapshot(NamedTuple):
    """What the digest covers of one node, as plain data."""

    name: str
    tip: bytes  # tip block hash, internal byte order
    utxos: Iterable[UtxoEntry]  # every unspent output: ((txid, index), value in base units, scriptPubKey)
    mempool: Iterable[bytes]  # txids of the mempool transactions


def node_digest(node: NodeSnapshot) -> bytes:
    """sha256 committing to one node's name, tip, UTXO set and mempool (32 bytes)."""
    entries: set[bytes] = set()
    for (txid, index), value, script in node.utxos:
        entries.add(_hash32(txid, "txid") + _OUTPOINT_VALUE.pack(index, value) + ser_bytes(bytes(script)))
    utxos = hashlib.sha256(b"".join(sorted(entries))).digest()
    mempool = hashlib.sha256(b"".join(sorted({_hash32(txid, "mempool txid") for txid in node.mempool}))).digest()
    return hashlib.sha256(ser_bytes(node.name.encode()) + _hash32(node.tip, "tip") + utxos + mempool).digest()


def lab_digest(nodes: Iterable[NodeSnapshot]) -> str:
    """The `digest` line: 16 hex digits over every node's digest, nodes in name order."""
    digests: dict[str, bytes] = {}
    for node in nodes:
        if node.name in digests:
            raise ValueError(f"node {node.name!r} given twice")
        digests[node.name] = node_digest(node)
    h = hashlib.sha256()
    for name in sorted(digests):
        h.update(digests[name])
    return h.digest()[:DIGEST_BYTES].hex()


def _hash32(value: bytes, what: str) -> bytes:
    if len(value) != 32:
        raise ValueError(f"{what} must be 32 bytes, got {len(value)}")
    return bytes(value)


# --- from today's nodes --------------------------------------------------------------------


def script_pubkey(out: TxOut) -> bytes:
    """An output's locking script (realname: scriptPubKey).

    Outputs that carry Bitcoin's script give it as is; outputs that carry
    only a key hash give the P2PKH script it stands for:
    OP_DUP OP_HASH160 <20 bytes> OP_EQUALVERIFY OP_CHECKSIG.
    """
    script = getattr(out, "script_pubkey", None)
    if isinstance(script, bytes):
        return script
    return b"\x76\xa9\x14" + bytes(getattr(out, "pubkey_hash", b"")) + b"\x88\xac"


def snapshot(node: NodeState) -> NodeSnapshot:
    """Read one node's tip, UTXO set and mempool (nothing is changed)."""
    return NodeSnapshot(
        node.name,
        node.chain.tip.hash,
        [((op.txid, op.index), coin.out.value, script_pubkey(coin.out)) for op, coin in node.chain.utxo.items()],
        list(node.mempool.entries),
    )


def digest_of(nodes: Iterable[NodeState]) -> str:
    """The `digest` line of these nodes."""
    return lab_digest(snapshot(n) for n in nodes)
