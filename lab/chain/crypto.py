"""Hashes, secp256k1 keys, signatures and addresses, as Bitcoin uses them.

- sha256d: SHA-256 twice, Bitcoin's hash for txids, block hashes, checksums.
- hash160: RIPEMD-160 of SHA-256, the 20-byte public-key hash in an address.
- Keys: secp256k1 through `ecdsa`, always with curve=SECP256k1 and
  hashfunc=sha256 (the library's defaults are NIST192p and SHA-1).
- Signatures: deterministic (RFC 6979), DER-encoded, normalised to low S
  (BIP 62 / BIP 146), so a signature cannot be malleated by a third party.
- Addresses: base58check(version byte || hash160(compressed pubkey)).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from ecdsa import BadSignatureError, SECP256k1, SigningKey, VerifyingKey
from ecdsa.ellipticcurve import PointJacobi
from ecdsa.util import sigdecode_der, sigencode_der_canonize

from lab.params import ADDRESS_VERSION

CURVE_ORDER = SECP256k1.order

try:  # OpenSSL 3 may ship without RIPEMD-160; then the pure fallback serves
    hashlib.new("ripemd160", b"")

    def _ripemd160(data: bytes) -> bytes:
        return hashlib.new("ripemd160", data).digest()
except ValueError:  # pragma: no cover - depends on the OpenSSL build
    from lab.chain.ripemd160 import ripemd160 as _ripemd160


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def sha256d(data: bytes) -> bytes:
    """SHA-256 applied twice (realname: Hash / HASH256)."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def hash160(data: bytes) -> bytes:
    """RIPEMD-160(SHA-256(data)) (realname: Hash160)."""
    return _ripemd160(hashlib.sha256(data).digest())


def hash_hex(h: bytes) -> str:
    """A hash as Bitcoin displays it: byte-reversed hex, so PoW zeros lead."""
    return h[::-1].hex()


def short_hex(h: bytes | str) -> str:
    """Six hex digits that tell hashes apart: the digits after the leading zeros."""
    s = hash_hex(h) if isinstance(h, bytes) else h
    return s.lstrip("0")[:6] or "0" * 6


# --- base58check ---------------------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    pad = len(data) - len(data.lstrip(b"\x00"))
    return "1" * pad + out


def b58decode(s: str) -> bytes:
    n = 0
    for ch in s:
        i = _B58.find(ch)
        if i < 0:
            raise ValueError(f"'{ch}' is not a base58 character")
        n = n * 58 + i
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    pad = len(s) - len(s.lstrip("1"))
    return b"\x00" * pad + body


def b58check_encode(version: int, payload: bytes) -> str:
    raw = bytes((version,)) + payload
    return b58encode(raw + sha256d(raw)[:4])


def b58check_decode(s: str) -> tuple[int, bytes]:
    raw = b58decode(s)
    if len(raw) < 5 or sha256d(raw[:-4])[:4] != raw[-4:]:
        raise ValueError("bad base58check checksum")
    return raw[0], raw[1:-4]


def address_from_pkh(pkh: bytes) -> str:
    return b58check_encode(ADDRESS_VERSION, pkh)


def pkh_from_address(address: str) -> bytes:
    """The 20-byte public-key hash inside an address; ValueError if it is not one."""
    version, payload = b58check_decode(address)
    if version != ADDRESS_VERSION or len(payload) != 20:
        raise ValueError("not a lab address")
    return payload


# --- keys and signatures -------------------------------------------------------


class PrivateKey:
    """A secp256k1 private key with its compressed public key and address."""

    __slots__ = ("_sk", "pubkey", "pkh", "address")

    def __init__(self, secret: int) -> None:
        if not 1 <= secret < CURVE_ORDER:
            raise ValueError("secret out of range")
        self._sk = SigningKey.from_secret_exponent(secret, curve=SECP256k1, hashfunc=hashlib.sha256)
        self.pubkey: bytes = self._sk.get_verifying_key().to_string("compressed")  # 33 bytes
        self.pkh: bytes = hash160(self.pubkey)  # 20 bytes
        self.address: str = address_from_pkh(self.pkh)

    @classmethod
    def derive(cls, seed: int, name: str) -> PrivateKey:
        """The same key for the same lab seed and node name, on every machine."""
        material = sha256d(b"blockchain-lab key|" + str(seed).encode() + b"|" + name.upper().encode())
        return cls(int.from_bytes(material, "big") % (CURVE_ORDER - 1) + 1)

    def sign(self, digest: bytes) -> bytes:
        """Deterministic RFC 6979 signature of a 32-byte digest, DER, low S."""
        return self._sk.sign_digest_deterministic(
            digest, hashfunc=hashlib.sha256, sigencode=sigencode_der_canonize
        )

    def __repr__(self) -> str:
        return f"PrivateKey(address={self.address})"


@lru_cache(maxsize=4096)
def _verifying_key(pubkey: bytes) -> VerifyingKey:
    # Parsing a compressed key costs a square root; nodes reuse few keys, and
    # precompute() makes each later verification several times faster.
    vk = VerifyingKey.from_string(pubkey, curve=SECP256k1, hashfunc=hashlib.sha256)
    pt = vk.pubkey.point  # give the point its order so ecdsa builds its table
    vk.pubkey.point = PointJacobi(SECP256k1.curve, pt.x(), pt.y(), 1, CURVE_ORDER, generator=True)
    return vk


def is_low_s(sig: bytes) -> bool:
    """False also when the signature is not valid DER."""
    try:
        _r, s = sigdecode_der(sig, CURVE_ORDER)
    except Exception:
        return False
    return 1 <= s <= CURVE_ORDER // 2


def verify(pubkey: bytes, sig: bytes, digest: bytes) -> bool:
    """True when `sig` is a valid DER signature of `digest` by `pubkey`."""
    if len(pubkey) != 33 or pubkey[0] not in (2, 3):
        return False
    try:
        vk = _verifying_key(pubkey)
        return bool(vk.verify_digest(sig, digest, sigdecode=sigdecode_der))
    except (BadSignatureError, ValueError, Exception):  # malformed DER, bad point
        return False
