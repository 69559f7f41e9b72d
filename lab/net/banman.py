"""Who a node will not talk to for a while (realname: BanMan's discouragement filter).

A peer that misbehaves is disconnected and discouraged. A lab node is
discouraged by name until the learner connects the two again (`connect`). An
outsider is discouraged by *host*, not by host:port: reconnecting from a new
port would otherwise start over with a clean slate (3,000 punish cycles were
3,000 fresh connections). Its host is refused on accept until
DISCOURAGE_SECONDS of wall-clock time have passed (Bitcoin keeps a rolling
filter for about a day). Everything here is bounded: at most MAX_HOSTS hosts
(the oldest forgotten first) and MAX_REMOTES recent host:port entries.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator

from lab.net.peer import BoundedSet
from lab.params import DISCOURAGE_SECONDS

MAX_HOSTS = 1_000  # outsider hosts remembered (Core's rolling filter holds 50,000 addresses)
MAX_REMOTES = 1_000  # recent host:port entries, for `in` by the address a peer had


def host_of(remote: str) -> str:
    """'127.0.0.1:5555' -> '127.0.0.1' (and '[::1]:5555' -> '[::1]')."""
    return remote.rsplit(":", 1)[0]


class Discouraged:
    def __init__(self, seconds: float = DISCOURAGE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.names: set[str] = set()  # lab nodes, by name
        self.hosts: OrderedDict[str, float] = OrderedDict()  # outsider host -> wall-clock expiry
        self.remotes = BoundedSet(MAX_REMOTES)  # the host:port each punished outsider had
        self.punished = 0  # punishments in all (outsiders and lab nodes)
        self.refused = 0  # connections refused on accept because their host is discouraged

    def add(self, remote: str, *, lab_node: bool) -> None:
        self.punished += 1
        if lab_node:
            self.names.add(remote)
            return
        self.remotes.add(remote)
        host = host_of(remote)
        self.hosts.pop(host, None)
        self.hosts[host] = self.clock() + self.seconds
        while len(self.hosts) > MAX_HOSTS:
            self.hosts.popitem(last=False)

    def refuses(self, host: str) -> bool:
        """Is this outsider host still discouraged? (Counts the refusal; forgets an expired host.)"""
        until = self.hosts.get(host)
        if until is None:
            return False
        if self.clock() >= until:
            del self.hosts[host]
            return False
        self.refused += 1
        return True

    def discard(self, name: str) -> None:
        """Lift it: a lab node's name, or an outsider's host."""
        self.names.discard(name)
        self.hosts.pop(host_of(name) if name not in self.hosts else name, None)
        self.remotes.discard(name)

    def __contains__(self, item: object) -> bool:
        return item in self.names or item in self.remotes or item in self.hosts

    def listed(self) -> list[str]:
        """For `peers`: lab nodes by name, then outsider hosts still discouraged (bounded by MAX_HOSTS)."""
        now = self.clock()
        return sorted(self.names) + sorted(h for h, until in self.hosts.items() if until > now)

    def __iter__(self) -> Iterator[str]:
        return iter(self.listed())

    def __len__(self) -> int:
        return len(self.names) + len(self.hosts)
