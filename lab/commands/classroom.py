"""`class`: the roster of a class network, and the host's commands over it (issue 16).

    class                                the roster and the groups the peer graph has
    class split NAMES | NAMES ...        (host) split the room
    class heal                           (host)
    class latency NAMES | NAMES D        (host) latency between groups
    class autominer on [INTERVAL] | off  (host) every participant's auto-miner
    class leave                          (student) leave the class; the lab goes on alone

The class itself is lab/classroom/room.py; this module only reads its state
and hands it the host's (checked) commands.
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING, Any

from lab.chain.crypto import short_hex
from lab.chain.serialize import ser_bytes
from lab.classroom.control import Autominer, Heal
from lab.classroom.roster import GROUP_COLUMNS, ROSTER_COLUMNS
from lab.commands.parse import parse_duration
from lab.errors import CommandError
from lab.render.output import Line, Output, Table, output
from lab.world.digest import snapshot

if TYPE_CHECKING:
    from lab.commands.session import Session

USAGE = ("class | class split NAMES | NAMES ... | class heal | class latency NAMES | NAMES D | "
         "class autominer on [INTERVAL] | off | class leave")


def _room(s: Session) -> Any:
    room = getattr(s.need_lab(), "classroom", None)
    if room is None or room.left:
        raise CommandError("this lab is not in a class",
                           "open one with `lab class host`, or join one with `lab join HOST:PORT --code CODE`")
    return room


def _host(room: Any, what: str) -> None:
    if not room.is_host:
        raise CommandError(f"only the instructor's lab can {what}", "type `class` to see the roster")


def _groups(words: list[str]) -> tuple[tuple[str, ...], ...]:
    text = " ".join(words)
    groups = tuple(tuple(n for n in part.replace(",", " ").split()) for part in text.split("|"))
    if any(not g for g in groups):
        raise CommandError(f"'{text}' has an empty group", "e.g. class split alice bob | carol dave")
    return groups


async def cmd_class(s: Session, args: list[str]) -> Output:
    room = _room(s)
    word = args[0].lower() if args else ""
    rest = args[1:]
    if not word:
        return _roster(room)
    if word == "split":
        _host(room, "split the class")
        groups = _groups(rest)
        if len(groups) < 2:
            raise CommandError("a split needs two groups or more", "e.g. class split alice bob | carol dave")
        room.command(room.membership.plan_split(groups))
        return output()
    if word == "heal":
        _host(room, "heal the class")
        if rest:
            raise CommandError(f"'class heal' takes nothing after it, not '{' '.join(rest)}'", "type: class heal")
        room.command(Heal())
        return output()
    if word == "latency":
        _host(room, "set latency")
        if len(rest) < 4:
            raise CommandError("class latency needs two groups and a delay", "e.g. class latency alice | bob 300ms")
        delay_ms = parse_duration(rest[-1]) // 1000
        if not 0 <= delay_ms <= 60_000:
            raise CommandError(f"a delay of {rest[-1]} is out of range", "0ms to 60s; 0 removes it")
        groups = _groups(rest[:-1])
        if len(groups) != 2:
            raise CommandError("class latency needs exactly two groups", "e.g. class latency alice | bob 300ms")
        room.command(room.membership.plan_latency(groups[0], groups[1], delay_ms))
        return output()
    if word == "autominer":
        _host(room, "run the auto-miners")
        on = rest[0].lower() if rest else ""
        if on not in ("on", "off") or (on == "off" and len(rest) > 1) or len(rest) > 2:
            raise CommandError(f"'{' '.join(rest)}' is not on, on INTERVAL or off", "e.g. class autominer on 30s")
        interval = parse_duration(rest[1]) // 1000 if len(rest) == 2 else 0
        if len(rest) == 2 and interval < 1000:
            raise CommandError("the block interval must be at least 1s", "e.g. class autominer on 30s")
        room.command(Autominer(on == "on", interval))
        return output()
    if word == "leave":
        if room.is_host:
            raise CommandError("the instructor's lab is the class", "type `quit` to close the class")
        await room.leave()
        return output()
    raise CommandError(f"'class {word}' is not a class command", f"usage: {USAGE}")


def _roster(room: Any) -> Output:
    roster = room.roster
    rows = tuple(roster.rows())
    groups = tuple(roster.group_rows())
    online = sum(1 for e in roster.participants() if e.online)
    tips = len(roster.tips())
    summary = (f"{online} participant{'s' if online != 1 else ''} online, {len(groups)} "
               f"group{'s' if len(groups) != 1 else ''}, {tips} tip{'s' if tips != 1 else ''}")
    return output(Table(ROSTER_COLUMNS, rows), Table(GROUP_COLUMNS, groups), _mine(room), Line(summary, "bold"))


def _mine(room: Any) -> str:
    """This lab's own node, with a commitment to its UTXO set: compare it with a classmate's."""
    state = room.node.state
    entries = sorted(txid + struct.pack("<Iq", index, value) + ser_bytes(bytes(script))
                     for (txid, index), value, script in snapshot(state).utxos)
    tip = state.chain.tip
    return (f"your node {room.name}: height {tip.height}, tip {short_hex(tip.hash)}, UTXO set "
            f"{len(entries)} coins, commitment {hashlib.sha256(b''.join(entries)).hexdigest()[:16]}")
