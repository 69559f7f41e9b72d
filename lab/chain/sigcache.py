"""A per-node cache of signatures already verified (realname: CSignatureCache).

Verifying a secp256k1 signature in Python costs about half a millisecond.
A node verifies each transaction's signatures when the transaction enters
its mempool; when the same transaction later arrives inside a block, the
cache answers instead, so the block connects in milliseconds.

An entry is sha256(nonce || sighash || pubkey || signature): it says "this
key signed this digest with this signature, and it checked out". Only
successful verifications are stored. The cache is bounded; when full, the
oldest entry goes first (Bitcoin Core evicts at random from a cuckoo table;
oldest-first keeps the lab deterministic).
"""

from __future__ import annotations

import hashlib

from lab.chain.crypto import verify
from lab.params import MAX_SIGCACHE_ENTRIES


class SigCache:
    """Bounded set of verified (digest, pubkey, signature) triples."""

    __slots__ = ("_entries", "_nonce", "max_entries", "hits", "misses", "_scripts")

    def __init__(self, max_entries: int = MAX_SIGCACHE_ENTRIES, nonce: bytes = b"") -> None:
        self._entries: dict[bytes, None] = {}  # insertion-ordered: first key is the oldest
        self._nonce = nonce  # realname: nonce; salts keys (Core uses a random one)
        self.max_entries = max_entries
        self.hits = 0  # verifications answered from the cache
        self.misses = 0  # verifications that ran ECDSA
        self._scripts: dict[bytes, None] = {}  # txid + flag of transactions whose every input checked out

    def _key(self, digest: bytes, pubkey: bytes, sig: bytes) -> bytes:
        return hashlib.sha256(self._nonce + digest + pubkey + sig).digest()

    def __len__(self) -> int:
        return len(self._entries)

    def contains(self, digest: bytes, pubkey: bytes, sig: bytes) -> bool:
        return self._key(digest, pubkey, sig) in self._entries

    def add(self, digest: bytes, pubkey: bytes, sig: bytes) -> None:
        key = self._key(digest, pubkey, sig)
        if key in self._entries:
            return
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # evict the oldest
        self._entries[key] = None

    def verify(self, pubkey: bytes, sig: bytes, digest: bytes) -> bool:
        """crypto.verify, answered from the cache when this triple was verified before."""
        key = self._key(digest, pubkey, sig)
        if key in self._entries:
            self.hits += 1
            return True
        self.misses += 1
        if not verify(pubkey, sig, digest):
            return False
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = None
        return True

    # --- whole transactions (realname: g_scriptExecutionCache) -------------------------
    # Core also remembers "every input script of this transaction passed with these
    # flags", so a block of transactions the mempool already checked skips even the
    # signature hashes. A txid fixes the signatures and the outpoints, and an outpoint
    # fixes the coin (its scriptPubKey, the scriptCode the signature hash commits to).
    def scripts_checked(self, txid: bytes, policy: bool) -> bool:
        return txid + (b"p" if policy else b"c") in self._scripts

    # One input at a time (the lab's addition, for a big block verified in slices ahead of its
    # connect): an input that passed is not run again when its transaction fails elsewhere, so a
    # 6,500-input transaction whose last signature is bad costs one more check, not 6,500.
    def input_checked(self, txid: bytes, index: int, policy: bool) -> bool:
        return txid + index.to_bytes(4, "little") + (b"p" if policy else b"c") in self._scripts

    def add_input_checked(self, txid: bytes, index: int, policy: bool) -> None:
        if len(self._scripts) >= self.max_entries:
            del self._scripts[next(iter(self._scripts))]  # evict the oldest
        self._scripts[txid + index.to_bytes(4, "little") + (b"p" if policy else b"c")] = None

    def add_scripts_checked(self, txid: bytes, policy: bool) -> None:
        flags = (b"p", b"c") if policy else (b"c",)  # passing policy (stricter) implies consensus
        for f in flags:
            if len(self._scripts) >= self.max_entries:
                del self._scripts[next(iter(self._scripts))]  # evict the oldest
            self._scripts[txid + f] = None

    def clear(self) -> None:
        self._entries.clear()
        self._scripts.clear()
