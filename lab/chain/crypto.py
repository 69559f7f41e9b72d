"""Hashes, secp256k1 keys, signatures and addresses, as Bitcoin uses them.

- sha256d: SHA-256 twice, Bitcoin's hash for txids, block hashes, checksums.
- hash160: RIPEMD-160 of SHA-256, the 20-byte public-key hash in an address.
- Keys and signatures: secp256k1 through coincurve, the Python binding of
  libsecp256k1, the library Bitcoin Core itself uses (about 25,000
  verifications a second here against ~1,200 for pure-Python `ecdsa`, which
  stays as the fallback when coincurve is missing; both give the same bytes).
- Signatures: deterministic (RFC 6979), DER-encoded, normalised to low S
  (BIP 62 / BIP 146), so a signature cannot be malleated by a third party.
- Addresses: base58check(version byte || hash160(compressed pubkey)).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from lab.params import ADDRESS_VERSION

CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # n of secp256k1

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
# DER, as BIP 66 fixes it: 0x30 len 0x02 len(R) R 0x02 len(S) S, each integer
# big-endian, minimal, and positive (no high bit without a leading zero).


def der_decode(sig: bytes) -> tuple[int, int] | None:
    """(r, s) of a strict-DER signature without a hash-type byte, or None."""
    if len(sig) < 8 or len(sig) > 72 or sig[0] != 0x30 or sig[1] != len(sig) - 2 or sig[2] != 0x02:
        return None
    len_r = sig[3]
    if 5 + len_r >= len(sig) or sig[4 + len_r] != 0x02:
        return None
    len_s = sig[5 + len_r]
    if 6 + len_r + len_s != len(sig):
        return None
    r, s = sig[4 : 4 + len_r], sig[6 + len_r :]
    for x in (r, s):
        if not x or x[0] & 0x80 or (len(x) > 1 and x[0] == 0 and not x[1] & 0x80):
            return None
    return int.from_bytes(r, "big"), int.from_bytes(s, "big")


def der_encode(r: int, s: int) -> bytes:
    def part(x: int) -> bytes:
        b = x.to_bytes((x.bit_length() + 8) // 8, "big")  # room for a zero when the high bit is set
        return b"\x02" + bytes((len(b),)) + b

    body = part(r) + part(s)
    return b"\x30" + bytes((len(body),)) + body


def is_low_s(sig: bytes) -> bool:
    """S in the lower half of the curve order (BIP 62); False also when not DER."""
    rs = der_decode(sig)
    return rs is not None and 1 <= rs[1] <= CURVE_ORDER // 2


def normalize_s(sig: bytes) -> bytes:
    """The low-S twin of a DER signature (realname: secp256k1_ecdsa_signature_normalize)."""
    rs = der_decode(sig)
    if rs is None or rs[1] <= CURVE_ORDER // 2:
        return sig
    return der_encode(rs[0], CURVE_ORDER - rs[1])


try:
    import coincurve

    BACKEND = "libsecp256k1"

    @lru_cache(maxsize=1024)
    def _private_key(secret: int) -> coincurve.PrivateKey:
        return coincurve.PrivateKey(secret.to_bytes(32, "big"))

    def _pubkey_of(secret: int) -> bytes:
        return bytes(_private_key(secret).public_key.format(compressed=True))

    def _sign(secret: int, digest: bytes) -> bytes:
        return bytes(_private_key(secret).sign(digest, hasher=None))

    @lru_cache(maxsize=4096)
    def _public_key(pubkey: bytes) -> coincurve.PublicKey:
        return coincurve.PublicKey(pubkey)  # parsing a compressed key costs a square root

    def _verify(pubkey: bytes, sig: bytes, digest: bytes) -> bool:
        # libsecp256k1 refuses high S; Bitcoin's consensus accepts it (CPubKey::Verify normalises first)
        return bool(_public_key(pubkey).verify(normalize_s(sig), digest, hasher=None))

except ImportError:  # pragma: no cover - the fallback when coincurve has no wheel for this machine
    from ecdsa import SECP256k1, SigningKey, VerifyingKey
    from ecdsa.ellipticcurve import PointJacobi
    from ecdsa.util import sigdecode_der, sigencode_der_canonize

    BACKEND = "ecdsa"

    def _key(secret: int) -> SigningKey:
        return SigningKey.from_secret_exponent(secret, curve=SECP256k1, hashfunc=hashlib.sha256)

    def _pubkey_of(secret: int) -> bytes:
        return bytes(_key(secret).get_verifying_key().to_string("compressed"))

    def _sign(secret: int, digest: bytes) -> bytes:
        return bytes(_key(secret).sign_digest_deterministic(digest, hashfunc=hashlib.sha256, sigencode=sigencode_der_canonize))

    @lru_cache(maxsize=4096)
    def _ecdsa_key(pubkey: bytes) -> VerifyingKey:
        vk = VerifyingKey.from_string(pubkey, curve=SECP256k1, hashfunc=hashlib.sha256)
        pt = vk.pubkey.point  # give the point its order so ecdsa builds its table
        vk.pubkey.point = PointJacobi(SECP256k1.curve, pt.x(), pt.y(), 1, CURVE_ORDER, generator=True)
        return vk

    def _verify(pubkey: bytes, sig: bytes, digest: bytes) -> bool:
        return bool(_ecdsa_key(pubkey).verify_digest(sig, digest, sigdecode=sigdecode_der))


class PrivateKey:
    """A secp256k1 private key with its compressed public key and address."""

    __slots__ = ("_secret", "pubkey", "pkh", "address")

    def __init__(self, secret: int) -> None:
        if not 1 <= secret < CURVE_ORDER:
            raise ValueError("secret out of range")
        self._secret = secret
        self.pubkey: bytes = _pubkey_of(secret)  # 33 bytes, compressed
        self.pkh: bytes = hash160(self.pubkey)  # 20 bytes
        self.address: str = address_from_pkh(self.pkh)

    @classmethod
    def derive(cls, seed: int, name: str) -> PrivateKey:
        """The same key for the same lab seed and node name, on every machine."""
        material = sha256d(b"blockchain-lab key|" + str(seed).encode() + b"|" + name.upper().encode())
        return cls(int.from_bytes(material, "big") % (CURVE_ORDER - 1) + 1)

    @property
    def secret(self) -> bytes:
        """The 32-byte secret (for handing a lab key to another Bitcoin library)."""
        return self._secret.to_bytes(32, "big")

    def sign(self, digest: bytes) -> bytes:
        """Deterministic RFC 6979 signature of a 32-byte digest, DER, low S."""
        return _sign(self._secret, digest)

    def __repr__(self) -> str:
        return f"PrivateKey(address={self.address})"


def verify(pubkey: bytes, sig: bytes, digest: bytes) -> bool:
    """True when `sig` (DER, no hash-type byte) is a valid signature of `digest` by `pubkey`."""
    if not ((len(pubkey) == 33 and pubkey[0] in (2, 3)) or (len(pubkey) == 65 and pubkey[0] == 4)):
        return False
    if der_decode(sig) is None:
        return False
    try:
        return _verify(pubkey, sig, digest)
    except Exception:  # a point not on the curve, an r or s out of range
        return False
