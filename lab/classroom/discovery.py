"""Peer discovery in miniature: a bounded address table fed by `addr` gossip, and a seeded
choice of outbound peers, so a class forms a mesh and not a star around the host.

Bitcoin Core keeps the addresses it hears in an address manager (realname:
AddrMan: ~65,000 "new" and ~16,000 "tried" slots, bucketed by the source's
network group so one peer cannot fill it) and keeps 8 full-relay outbound
connections (realname: MAX_OUTBOUND_FULL_RELAY_CONNECTIONS), picked at random
from it. Here the quantities shrink for a room of laptops and the mechanism
stays: at most TABLE_LIMIT addresses, at most SOURCE_LIMIT from any one
source, terrible ones forgotten first, OUTBOUND = 3 outbound peers chosen by a
seeded shuffle (the same seed and table give the same choice on every machine).
Simplified: no buckets or network groups (a LAN is one /16), no anchors.
Unlike Core, only local-network addresses are kept (see `dialable`).
Pure logic: no sockets, no clock (the caller passes `now`, unix seconds).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable
from dataclasses import dataclass

from lab.chain.crypto import sha256
from lab.net.messages import AddrEntry, MsgAddr
from lab.params import MAX_ADDR

OUTBOUND = 3  # outbound peers per participant; Bitcoin Core: 8 full-relay (+2 block-relay-only)
MAX_INBOUND = 8  # inbound links a student accepts; Core: 125 slots in all. The host takes everyone
TABLE_LIMIT = 256  # addresses remembered; Core: 1,024 x 64 new + 256 x 64 tried
SOURCE_LIMIT = 64  # addresses remembered from one source (the host gossips the whole class); Core: buckets
GETADDR_LIMIT = 64  # addresses shared in one answer to getaddr; Core: 23% of the table, <= 1,000
RETRY_SECONDS = 60  # no new attempt at an address sooner; Core: tries the same peer at most every 10 min
MAX_FAILURES = 3  # failed attempts without a success make an address terrible (Core: ADDRMAN_RETRIES)
HORIZON_SECONDS = 30 * 24 * 3600  # older than this is terrible; Core: ADDRMAN_HORIZON, 30 days


IPV4_MAPPED = b"\x00" * 10 + b"\xff\xff"


def dialable(addr: Address) -> bool:
    """An address a class participant may dial: a port, and an IPv4 address on a local
    network (private, loopback or link-local). Gossip naming anything else (a web server
    on the Internet, say) is ignored, so a class cannot be turned against outsiders."""
    try:
        ip = ipaddress.IPv4Address(addr.host)
    except ValueError:
        return False
    local = ip.is_private or ip.is_loopback or ip.is_link_local
    odd = ip.is_unspecified or ip.is_multicast or ip.is_reserved  # 0.0.0.0, 224/4, 240/4 (broadcast)
    return 0 < addr.port <= 0xFFFF and local and not odd


@dataclass(frozen=True, slots=True, order=True)
class Address:
    host: str  # IPv4 dotted quad
    port: int  # u16

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def of(cls, entry: AddrEntry) -> Address:
        return cls(entry.host(), entry.port)


@dataclass(slots=True)
class AddrInfo:
    """What the table knows of one address (realname: AddrInfo)."""

    addr: Address
    source: str  # who told us (a participant's name, or "self")
    time: int  # last seen, as gossiped (clamped to now)
    attempts: int = 0  # failed tries since the last success
    last_try: int = 0
    last_success: int = 0

    @property
    def tried(self) -> bool:
        return self.last_success > 0

    def is_terrible(self, now: int) -> bool:
        """Worth forgetting (realname: AddrInfo::IsTerrible): failing, or not heard of for long."""
        if self.last_try and now - self.last_try < RETRY_SECONDS:
            return False  # just tried: give it a chance to answer
        if now - self.time > HORIZON_SECONDS:
            return True
        return not self.tried and self.attempts >= MAX_FAILURES

    def _worth(self, now: int) -> tuple[bool, bool, int, int]:
        """Sort key, worst first: terrible, never tried, many failures, old."""
        return (not self.is_terrible(now), self.tried, -self.attempts, self.time)


class AddrTable:
    """A bounded table of peer addresses learned from gossip (realname: AddrMan)."""

    def __init__(self, me: Address | None = None, limit: int = TABLE_LIMIT, per_source: int = SOURCE_LIMIT) -> None:
        self.me = me  # our own listening address: never stored, never chosen
        self.limit = limit
        self.per_source = per_source
        self._info: dict[Address, AddrInfo] = {}
        self._by_source: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._info)

    def __contains__(self, addr: Address) -> bool:
        return addr in self._info

    def get(self, addr: Address) -> AddrInfo | None:
        return self._info.get(addr)

    def add(self, addrs: Iterable[Address | AddrEntry], source: str, now: int) -> int:
        """Take addresses from `source` (an `addr` message's entries, seen at their time but
        never in the future; or Address values, seen now); how many new ones were kept.
        Known ones only refresh their time."""
        added = 0
        for a in addrs:
            seen = min(a.time, now) if isinstance(a, AddrEntry) else now
            if isinstance(a, AddrEntry) and a.ip[:12] != IPV4_MAPPED:
                continue  # the class speaks IPv4 only
            addr = Address.of(a) if isinstance(a, AddrEntry) else a
            if addr == self.me or not dialable(addr):
                continue
            known = self._info.get(addr)
            if known is not None:
                known.time = max(known.time, seen)
                continue
            if self._by_source.get(source, 0) >= self.per_source:
                continue  # one source may not fill the table
            if len(self._info) >= self.limit and not self._evict(now, seen):
                continue
            self._info[addr] = AddrInfo(addr, source, seen)
            self._by_source[source] = self._by_source.get(source, 0) + 1
            added += 1
        return added

    def _evict(self, now: int, newcomer_time: int) -> bool:
        """Make room for a new address by forgetting the worst one, if it is worse than a new one."""
        worst = min(self._info.values(), key=lambda i: (i._worth(now), i.addr))
        if not worst.is_terrible(now) and (worst.tried or worst.time >= newcomer_time):
            return False
        self._forget(worst)
        return True

    def _forget(self, info: AddrInfo) -> None:
        del self._info[info.addr]
        self._by_source[info.source] -= 1
        if not self._by_source[info.source]:
            del self._by_source[info.source]

    def attempt(self, addr: Address, now: int) -> None:
        """We are dialling `addr` (realname: AddrMan::Attempt)."""
        if info := self._info.get(addr):
            info.last_try = now
            info.attempts += 1

    def good(self, addr: Address, now: int) -> None:
        """A handshake with `addr` succeeded (realname: AddrMan::Good)."""
        if info := self._info.get(addr):
            info.last_success = info.time = now
            info.attempts = 0

    def entries(self) -> list[AddrInfo]:
        return sorted(self._info.values(), key=lambda i: i.addr)

    def for_getaddr(self, now: int, rng: random.Random, limit: int = GETADDR_LIMIT) -> list[Address]:
        """Addresses to share when a peer asks (realname: AddrMan::GetAddr): not terrible,
        a random sample of at most `limit`."""
        good = [i.addr for i in self.entries() if not i.is_terrible(now)]
        return sorted(rng.sample(good, min(limit, len(good))))


def gossip(addrs: Iterable[Address], now: int) -> MsgAddr:
    """An `addr` message announcing `addrs` as seen at `now` (at most MAX_ADDR of them)."""
    entries = tuple(AddrEntry.ipv4(now, a.host, a.port) for a in list(addrs)[:MAX_ADDR])
    return MsgAddr(entries)


def outbound_rng(seed: int, name: str) -> random.Random:
    """The seeded randomness one participant uses to choose peers: the same on every machine."""
    material = sha256(b"blockchain-lab outbound|" + str(seed).encode() + b"|" + name.lower().encode())
    return random.Random(int.from_bytes(material, "big"))


def choose_outbound(table: AddrTable, connected: Iterable[Address], now: int, rng: random.Random,
                    k: int = OUTBOUND) -> list[Address]:
    """Up to k more addresses to dial, so that with `connected` we have k outbound peers
    (realname: ThreadOpenConnections picking from AddrMan::Select).

    Never ourselves, never one we are linked to, never twice, not a terrible one,
    not one tried in the last RETRY_SECONDS. Candidates are shuffled with the
    participant's seeded `rng`, so each participant picks differently and the
    class forms a mesh; among them, addresses that answered before come first.
    """
    linked = set(connected)
    want = k - len(linked)
    if want <= 0:
        return []
    candidates = [i for i in table.entries()
                  if i.addr not in linked and i.addr != table.me and not i.is_terrible(now)
                  and not (i.last_try and now - i.last_try < RETRY_SECONDS)]
    rng.shuffle(candidates)
    candidates.sort(key=lambda i: not i.tried)  # stable: the shuffle decides among equals
    return [i.addr for i in candidates[:want]]


def accepts_inbound(inbound: int, is_host: bool, class_limit: int) -> bool:
    """May we take one more inbound class link? The host takes every participant; a student
    keeps room for MAX_INBOUND (realname: the inbound slots of CConnman)."""
    return inbound < (class_limit if is_host else MAX_INBOUND)
