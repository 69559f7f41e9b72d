"""Admission by class code, the pinned host key, and host-signed class control.

Three guards, each small enough to read in one go:

1. **The class code** (`ClassCode`), e.g. `K7QM-2XVA-9TRD-HF4C`, is a
   secret part (two groups of 4 base32 symbols, or the instructor's own words
   via `--code`) followed by the *fingerprint* of the host's public key (the
   last two groups: 40 bits of SHA-256 in Crockford base32). Letters are
   case-insensitive and O/I/L read as 0/1/1, so a code read off a projector
   types back the same.
2. **Admission** (`Admission`, one per link): right after `verack` both ends
   send `classhello` (a fresh 32-byte nonce, the host key they pinned, their
   name) and answer the other's with `classauth`:

       mac = HMAC-SHA256(key, "blockchain-lab classauth" | role | their hello | my hello)

   where key = PBKDF2-HMAC-SHA256(code) (slow, so a sniffed handshake is
   costly to brute-force) and role says which end answers (initiator or
   acceptor), so a reply cannot be reflected back on another link. A peer
   without the code cannot answer; any class message before admission, a
   wrong MAC, a host key that does not match the code's fingerprint: the
   peer is dropped (AdmissionError, a ProtocolError).
3. **Control** (`ControlSigner` on the host, `ControlVerifier` on every
   student): each `classctl` carries a sequence number and an ECDSA signature
   by the host's per-session secp256k1 key over
   sha256d("blockchain-lab classctl|" | host pubkey | the message without its
   signature). A student accepts only a valid signature from the pinned key
   and only a sequence number above the last it accepted: a classmate who
   knows the code can neither forge nor replay control.

Bitcoin has no such thing (its P2P layer is unauthenticated; BIP 324 encrypts
but does not authenticate). This is the lab's own, built from standard parts.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from dataclasses import dataclass, field
from enum import Enum

from lab.chain.crypto import CURVE_ORDER, PrivateKey, is_low_s, sha256, sha256d, verify
from lab.classroom.control import Control
from lab.classroom.messages import (
    CLASS_MESSAGEMAP,
    CLASS_PROTOCOL_VERSION,
    NONCE_SIZE,
    MsgClassAuth,
    MsgClassCtl,
    MsgClassHello,
)
from lab.errors import CommandError, ProtocolError

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # base32 without I, L, O, U
FINGERPRINT_BYTES = 5  # 40 bits: 8 base32 symbols
SECRET_SYMBOLS = 8  # a random secret part: 40 bits
MIN_SECRET, MAX_SECRET = 6, 32  # characters of a secret part; 6 so a code missing a group is caught
KDF_ITERATIONS = 50_000  # PBKDF2 rounds: ~30 ms once per lab, ~1e5 times the cost of a guess
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


class ClassCodeError(CommandError):
    """A class code that cannot be read (not a wrong code: that one is refused by the host)."""


class AdmissionError(ProtocolError):
    """A peer failed class admission: no code, a wrong code, or another class's host."""


def b32encode(data: bytes) -> str:
    """Crockford base32 of `data` (its bit length must be a multiple of 5)."""
    bits = len(data) * 8
    n = int.from_bytes(data, "big")
    return "".join(CROCKFORD[(n >> (bits - 5 * (i + 1))) & 31] for i in range(bits // 5))


def b32decode(text: str) -> bytes:
    n = 0
    for ch in text:
        i = CROCKFORD.find(ch)
        if i < 0:
            raise ValueError(f"'{ch}' is not a code symbol")
        n = n << 5 | i
    return n.to_bytes(len(text) * 5 // 8, "big")


def fingerprint(pubkey: bytes) -> bytes:
    """40 bits that pin a host key: SHA-256 of a tag and the compressed key."""
    return sha256(b"blockchain-lab class host|" + pubkey)[:FINGERPRINT_BYTES]


def group4(s: str) -> str:
    return "-".join(s[i:i + 4] for i in range(0, len(s), 4))


@dataclass(frozen=True)
class ClassCode:
    """What a student types: a shared secret and the host key's fingerprint.

    Written in groups of four, e.g. `K7QM-2XVA-9TRD-HF4C`: everything but the
    last 8 symbols is the secret, the last 8 are the fingerprint. Dashes,
    spaces and case do not matter, and O, I, L read as 0, 1, 1.
    """

    secret: str  # normalised: A-Z and 0-9 only, 4..32 of them
    fingerprint: bytes  # 5 bytes, see fingerprint()

    @classmethod
    def new(cls, host_pubkey: bytes, secret: str | None = None, rng: random.Random | None = None) -> ClassCode:
        """A code for this host key, with the instructor's secret (`--code`) or a random one."""
        if secret is None:
            pick = rng.choice if rng else secrets.choice
            secret = "".join(pick(CROCKFORD) for _ in range(SECRET_SYMBOLS))
        return cls(normalise_secret(secret), fingerprint(host_pubkey))

    @classmethod
    def parse(cls, text: str) -> ClassCode:
        """Read a typed code; ClassCodeError says what is wrong and what to type."""
        clean = _normalise(text)
        hint = "type the code exactly as the instructor's screen shows it, e.g. K7QM-2XVA-9TRD-HF4C"
        if not clean.isascii() or not clean.isalnum():
            raise ClassCodeError(f"the class code {text.strip()!r} has characters other than letters, "
                                 "digits and dashes", hint)
        if len(clean) < MIN_SECRET + 8 or len(clean) > MAX_SECRET + 8:
            raise ClassCodeError(f"the class code {text.strip()!r} has {len(clean)} letters and digits "
                                 f"(a code has {MIN_SECRET + 8} to {MAX_SECRET + 8})", hint)
        tail = clean[-8:]
        if any(ch not in CROCKFORD for ch in tail):
            raise ClassCodeError(f"the class code {text.strip()!r} does not end in a host fingerprint "
                                 "(no U in the last 8)", hint)
        return cls(clean[:-8], b32decode(tail))

    def __str__(self) -> str:
        return group4(self.secret + b32encode(self.fingerprint))

    def pins(self, pubkey: bytes) -> bool:
        """True when `pubkey` is the host key this code names."""
        return hmac.compare_digest(fingerprint(pubkey), self.fingerprint)

    def key(self) -> bytes:
        """The admission key: PBKDF2 over the whole code, so every part of it counts."""
        return _derive_key(self.secret, self.fingerprint)


def _normalise(text: str) -> str:
    return "".join(text.split()).replace("-", "").upper().translate(_ALIASES)


def normalise_secret(secret: str) -> str:
    """An instructor's secret as the code carries it; ClassCodeError if it cannot be one."""
    s = _normalise(secret)
    if not MIN_SECRET <= len(s) <= MAX_SECRET or not s.isascii() or not s.isalnum():
        raise ClassCodeError(f"a class secret is {MIN_SECRET}-{MAX_SECRET} letters and digits, not {secret!r}",
                             "e.g. --code tuesday-class")
    return s


_KEYS: dict[tuple[str, bytes], bytes] = {}


def _derive_key(secret: str, fp: bytes) -> bytes:
    if (secret, fp) not in _KEYS:
        salt = b"blockchain-lab class code|" + fp
        _KEYS[(secret, fp)] = hashlib.pbkdf2_hmac("sha256", secret.encode("ascii"), salt, KDF_ITERATIONS)
    return _KEYS[(secret, fp)]


def new_host_key(rng: random.Random | None = None) -> PrivateKey:
    """A fresh per-session host key (from the OS's randomness unless a test seeds `rng`)."""
    if rng is None:
        return PrivateKey(secrets.randbelow(CURVE_ORDER - 1) + 1)
    return PrivateKey(rng.randrange(1, CURVE_ORDER))


# --- admission: challenge and response right after verack -------------------------------------

INITIATOR, ACCEPTOR = b"I", b"A"  # which end of the TCP connection answers
_AUTH_TAG = b"blockchain-lab classauth"
UNKNOWN_HOST = b"\x02" + b"\x00" * 32  # "not learned yet": no x coordinate 0 is on secp256k1


def auth_mac(key: bytes, role: bytes, challenge: MsgClassHello, response: MsgClassHello) -> bytes:
    """HMAC-SHA256 by the answering end (`role`) over the challenger's hello, then its own."""
    return hmac.new(key, _AUTH_TAG + role + challenge.serialize() + response.serialize(), hashlib.sha256).digest()


@dataclass
class Admission:
    """One link's class admission, as a small state machine (realname: none; the lab's own).

    The node calls `hello()` after `verack`, `on_hello()` / `on_auth()` as the
    peer's messages arrive, and `check()` before handling any other class
    message. Every refusal is an AdmissionError: the node drops the peer.

    A student's first link is the one it opens to the host's address, made
    with `host_pubkey=None`: the key in the host's hello is pinned there (if
    the code's fingerprint fits). Every later link is made with the pinned key.
    """

    code: ClassCode
    name: str  # our participant name
    initiator: bool  # True on the end that opened the TCP connection
    host_pubkey: bytes | None = None  # the pinned host key; None until a student learns it
    own_nonces: set[bytes] = field(default_factory=set)  # shared by all of a node's links
    rng: random.Random | None = None  # a seeded one in tests; the OS's randomness otherwise
    admitted: bool = field(default=False, init=False)
    peer_name: str | None = field(default=None, init=False)  # the peer's name, once admitted
    _mine: MsgClassHello | None = field(default=None, init=False, repr=False)
    _theirs: MsgClassHello | None = field(default=None, init=False, repr=False)

    def hello(self) -> MsgClassHello:
        """Our challenge. A student that has not learned the host key yet sends UNKNOWN_HOST
        in its place and pins the key from the host's hello, if the code's fingerprint fits."""
        if self._mine is None:
            nonce = self.rng.randbytes(NONCE_SIZE) if self.rng else secrets.token_bytes(NONCE_SIZE)
            self.own_nonces.add(nonce)
            key = self.host_pubkey or UNKNOWN_HOST
            self._mine = MsgClassHello(nonce, key, self.name)
        return self._mine

    def on_hello(self, msg: MsgClassHello) -> MsgClassAuth:
        """Check the peer's challenge; our answer to it."""
        mine = self.hello()
        if self._theirs is not None:
            raise AdmissionError("a second classhello")
        if msg.version != CLASS_PROTOCOL_VERSION:
            raise AdmissionError(f"class protocol version {msg.version} (this lab speaks {CLASS_PROTOCOL_VERSION})")
        if msg.nonce in self.own_nonces:
            raise AdmissionError("our own nonce came back: a connection to ourselves or a reflection")
        if msg.name.lower() == self.name.lower():
            raise AdmissionError(f"a peer that calls itself {msg.name}, our own name")
        if msg.host_pubkey != UNKNOWN_HOST:
            if not self.code.pins(msg.host_pubkey):
                raise AdmissionError("the peer's host key does not match the class code's fingerprint")
            if self.host_pubkey is not None and msg.host_pubkey != self.host_pubkey:
                raise AdmissionError("the peer names another host key")  # pragma: no cover - 2^-40
        elif self.host_pubkey is None:
            raise AdmissionError("the peer did not present the host key: join through the host's address")
        self._theirs = msg
        role = INITIATOR if self.initiator else ACCEPTOR
        return MsgClassAuth(auth_mac(self.code.key(), role, msg, mine))

    def on_auth(self, msg: MsgClassAuth) -> None:
        """Check the peer's answer to our challenge; admitted when it is right."""
        if self._mine is None or self._theirs is None:
            raise AdmissionError("classauth before the hellos")
        if self.admitted:
            raise AdmissionError("a second classauth")
        role = ACCEPTOR if self.initiator else INITIATOR  # the peer's end of the connection
        if not hmac.compare_digest(msg.mac, auth_mac(self.code.key(), role, self._mine, self._theirs)):
            raise AdmissionError("wrong class code")
        self.admitted = True
        self.peer_name = self._theirs.name
        if self.host_pubkey is None:  # pinned: the fingerprint vouches for the key, the MAC for the peer
            self.host_pubkey = self._theirs.host_pubkey

    def check(self, msgtype: str) -> None:
        """Before handling `msgtype` from this peer: refuse class messages before admission."""
        if msgtype in CLASS_MESSAGEMAP and msgtype not in ("classhello", "classauth") and not self.admitted:
            raise AdmissionError(f"{msgtype} before class admission")



# --- control: signed by the host, verified by every student -----------------------------------

_CTL_TAG = b"blockchain-lab classctl|"


def control_digest(host_pubkey: bytes, msg: MsgClassCtl) -> bytes:
    """What the host signs: the session's key and every field but the signature."""
    return sha256d(_CTL_TAG + host_pubkey + msg.signed_bytes())


@dataclass
class ControlSigner:
    """The host's side: numbers and signs each control action of this class session."""

    key: PrivateKey  # the per-session host key (new_host_key())
    seq: int = 0  # the last number used; the first message is 1
    last: MsgClassCtl | None = None  # sent again to a newly admitted student: its replay floor

    def sign(self, control: Control, time: int) -> MsgClassCtl:
        self.seq += 1
        unsigned = MsgClassCtl(self.seq, time, control)
        sig = self.key.sign(control_digest(self.key.pubkey, unsigned))
        self.last = MsgClassCtl(self.seq, time, control, sig)
        return self.last


class Verdict(Enum):
    """What a student makes of a classctl. Only ACCEPTED acts; DUPLICATE is quiet."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"  # the same message again (relayed twice): ignored quietly
    UNSIGNED = "not signed by the host"
    FORGED = "signature does not match the host key"  # a forgery, or a field changed in transit
    REPLAYED = "an old control message sent again"

    @property
    def refused(self) -> bool:
        return self not in (Verdict.ACCEPTED, Verdict.DUPLICATE)


@dataclass
class ControlVerifier:
    """A student's side: accepts each host-signed control action once, in order."""

    host_pubkey: bytes  # pinned at admission; the code's fingerprint vouches for it
    seq: int = 0  # the highest sequence number accepted this session
    last: MsgClassCtl | None = None

    def check(self, msg: MsgClassCtl) -> Verdict:
        if not msg.sig:
            return Verdict.UNSIGNED
        if self.last is not None and msg.signed_bytes() == self.last.signed_bytes():
            return Verdict.DUPLICATE  # the same action again, whatever its signature's bytes
        if not is_low_s(msg.sig) or not verify(self.host_pubkey, msg.sig, control_digest(self.host_pubkey, msg)):
            return Verdict.FORGED  # the host signs with low S (BIP 62); a high-S copy is a malleation
        if msg.seq <= self.seq:
            return Verdict.REPLAYED
        self.seq, self.last = msg.seq, msg
        return Verdict.ACCEPTED
