"""The class as data: who takes part, what each reports, the groups the peer graph has, and the
host's policy on membership and splits.

- `Roster`: each participant's last report (a `RosterEntry`: address, height,
  tip, peers, online), bounded by the class size; `groups()` are the connected
  components of the graph the peer lists draw, so the roster shows two groups
  while a split holds and one when it heals. `rows()` and `group_rows()` return
  table rows for the `class` command to render (nothing here prints).
- `Membership`: the participant limit (default 64), names taken once in any
  case, and the control state every participant applies from a verified
  `classctl`: the split groups and who refuses whom while split, latency
  between groups, the auto-miner.

A report is what a participant says of itself (as Bitcoin's `version` says
its start height): the roster shows it, nothing in consensus trusts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.chain.crypto import short_hex
from lab.classroom.control import (
    MAX_PARTICIPANTS,
    Autominer,
    Control,
    Heal,
    Latency,
    Split,
    check_name,
)
from lab.classroom.messages import MsgClassRoster, RosterEntry
from lab.errors import CommandError

ROSTER_COLUMNS = ("name", "address", "height", "tip", "peers", "online", "group")
GROUP_COLUMNS = ("group", "members", "tips")


class MembershipError(CommandError):
    """The class cannot take this participant, or a host command names someone not in it."""


@dataclass
class Roster:
    """Participants' last reports, keyed by name in any case."""

    limit: int = MAX_PARTICIPANTS
    _entries: dict[str, RosterEntry] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._entries

    def get(self, name: str) -> RosterEntry | None:
        return self._entries.get(name.lower())

    def update(self, entry: RosterEntry) -> bool:
        """Record a report; False (and nothing kept) when the class is full and it is new."""
        key = entry.name.lower()
        if key not in self._entries and len(self._entries) >= self.limit:
            return False
        self._entries[key] = entry
        return True

    def merge(self, msg: MsgClassRoster) -> int:
        """Take every entry of a roster message; how many were kept."""
        return sum(self.update(e) for e in msg.entries)

    def take_report(self, sender: str, msg: MsgClassRoster) -> bool:
        """On the host: a participant's report of itself. Kept only when it is one entry, about
        the admitted sender, not claiming to be the host; False (ignored) otherwise."""
        if len(msg.entries) != 1:
            return False
        e = msg.entries[0]
        if e.name.lower() != sender.lower() or e.is_host:
            return False
        return self.update(e)

    def replace(self, msg: MsgClassRoster) -> None:
        """On a student: the host's roster replaces what it showed before (up to the limit)."""
        self._entries.clear()
        self.merge(msg)

    def set_online(self, name: str, online: bool) -> None:
        e = self.get(name)
        if e is not None and e.online != online:
            self._entries[name.lower()] = RosterEntry(e.name, e.host, e.port, e.height, e.tip, e.peers,
                                                      online, e.is_host, e.pkh)

    def remove(self, name: str) -> None:
        self._entries.pop(name.lower(), None)

    def participants(self) -> list[RosterEntry]:
        """The host first, then by name."""
        return sorted(self._entries.values(), key=lambda e: (not e.is_host, e.name.lower()))

    def to_message(self) -> MsgClassRoster:
        return MsgClassRoster(tuple(self.participants()))

    # --- the peer graph ------------------------------------------------------------------

    def links(self) -> set[frozenset[str]]:
        """Links between online participants, as either end reports them (reports lag;
        a link counts while one end still lists it). Names in lower case."""
        online = {k for k, e in self._entries.items() if e.online}
        out: set[frozenset[str]] = set()
        for k in online:
            for p in self._entries[k].peers:
                other = p.lower()
                if other in online and other != k:
                    out.add(frozenset((k, other)))
        return out

    def groups(self) -> list[tuple[str, ...]]:
        """Connected components of the online participants' peer graph (realname: none;
        `getpeerinfo` on every node, joined up). Largest group first, names sorted."""
        online = sorted(k for k, e in self._entries.items() if e.online)
        parent = {k: k for k in online}

        def find(k: str) -> str:
            while parent[k] != k:
                parent[k] = parent[parent[k]]
                k = parent[k]
            return k

        for link in self.links():
            a, b = sorted(link)
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        comps: dict[str, list[str]] = {}
        for k in online:
            comps.setdefault(find(k), []).append(self._entries[k].name)
        groups = [tuple(sorted(c, key=str.lower)) for c in comps.values()]
        return sorted(groups, key=lambda g: (-len(g), g[0].lower()))

    def group_of(self) -> dict[str, int]:
        """Each online participant's group number (1 = the largest), by lower-case name."""
        return {n.lower(): i for i, g in enumerate(self.groups(), 1) for n in g}

    def tips(self, names: tuple[str, ...] | None = None) -> set[bytes]:
        """The distinct tips the online participants (or just `names`) report."""
        chosen = self._entries.values() if names is None else [self._entries[n.lower()] for n in names]
        return {e.tip for e in chosen if e.online}

    # --- rows for the `class` command ----------------------------------------------------

    def rows(self) -> list[tuple[str, ...]]:
        """One row per participant, in ROSTER_COLUMNS order; strings, ready for a table."""
        group = self.group_of()
        out: list[tuple[str, ...]] = []
        for e in self.participants():
            name = f"{e.name} (host)" if e.is_host else e.name
            out.append((name, e.address, str(e.height), short_hex(e.tip), ", ".join(e.peers) or "-",
                        "yes" if e.online else "no", str(group.get(e.name.lower(), "-"))))
        return out

    def group_rows(self) -> list[tuple[str, ...]]:
        """One row per group in GROUP_COLUMNS order: its members and the tips they report."""
        out: list[tuple[str, ...]] = []
        for i, g in enumerate(self.groups(), 1):
            tips = sorted(self.tips(g), key=lambda t: t[::-1])
            out.append((str(i), ", ".join(g), ", ".join(short_hex(t) for t in tips)))
        return out


@dataclass
class Membership:
    """Who is in the class, and the control state the host's commands set.

    While split, a participant named in no group (a late joiner, or one the
    host left out) counts as a member of the first group, so every participant
    is in exactly one group and the split cannot be bridged by someone unnamed.
    """

    limit: int = MAX_PARTICIPANTS
    members: dict[str, str] = field(default_factory=dict)  # lower case -> as written
    split: Split | None = None
    latency: dict[frozenset[str], int] = field(default_factory=dict)  # pair of lower-case names -> ms
    autominer: Autominer = field(default_factory=lambda: Autominer(False))

    def admit(self, name: str) -> str:
        """Take a participant in; MembershipError when the class is full or the name taken."""
        try:
            check_name(name)
        except ValueError:
            raise MembershipError(f"{name!r} cannot be a participant's name",
                                  "a letter, then letters, digits, - and _ (12 at most), e.g. --name alice") from None
        if name.lower() in self.members:
            raise MembershipError(f"{self.members[name.lower()]} is already in the class",
                                  "join with another name, e.g. --name " + name + "2")
        if len(self.members) >= self.limit:
            raise MembershipError(f"the class is full ({self.limit} participants)",
                                  "ask the instructor to start the class with a larger limit")
        self.members[name.lower()] = name
        return name

    def leave(self, name: str) -> None:
        self.members.pop(name.lower(), None)

    def resolve(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """Names as members write them; MembershipError naming the first unknown one."""
        out: list[str] = []
        for n in names:
            if n.lower() not in self.members:
                known = ", ".join(sorted(self.members.values(), key=str.lower)) or "nobody yet"
                raise MembershipError(f"{n} is not in the class", f"participants: {known}")
            out.append(self.members[n.lower()])
        return tuple(out)

    def plan_split(self, groups: tuple[tuple[str, ...], ...]) -> Split:
        """The host's `class split NAMES | NAMES ...`, checked against who is in the class."""
        return Split(tuple(self.resolve(g) for g in groups))

    def plan_latency(self, a: tuple[str, ...], b: tuple[str, ...], delay_ms: int) -> Latency:
        return Latency(self.resolve(a), self.resolve(b), delay_ms)

    def apply(self, control: Control) -> None:
        """Apply a control action (the host's own, or a verified classctl on a student)."""
        if isinstance(control, Split):
            self.split = control
        elif isinstance(control, Heal):
            self.split = None
        elif isinstance(control, Latency):
            for x in control.a:
                for y in control.b:
                    pair = frozenset((x.lower(), y.lower()))
                    if control.delay_ms:
                        self.latency[pair] = control.delay_ms
                    else:
                        self.latency.pop(pair, None)
        elif isinstance(control, Autominer):
            self.autominer = control

    def group_of(self, name: str) -> int:
        """The split group `name` is in (0-based); 0 when not split or not named."""
        if self.split is None:
            return 0
        for i, g in enumerate(self.split.groups):
            if name.lower() in (n.lower() for n in g):
                return i
        return 0

    def refuses(self, me: str, other: str) -> bool:
        """True while split and `other` is in another group: drop the link, refuse a new one."""
        return self.split is not None and self.group_of(me) != self.group_of(other)

    def companions(self, me: str) -> tuple[str, ...]:
        """The members in my group, but me: "the instructor split the class: you are with ...".
        Named ones first, as the host wrote them; then, in the first group, the unnamed."""
        if self.split is None:
            return ()
        mine = self.group_of(me)
        named = [n for n in self.split.groups[mine] if n.lower() != me.lower()]
        if mine == 0:
            listed = {n.lower() for g in self.split.groups for n in g} | {me.lower()}
            named += sorted((n for k, n in self.members.items() if k not in listed), key=str.lower)
        return tuple(named)

    def latency_ms(self, a: str, b: str) -> int:
        """Extra one-way delay the host set between `a` and `b` (0: none)."""
        return self.latency.get(frozenset((a.lower(), b.lower())), 0)
