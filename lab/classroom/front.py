"""`lab class host` and `lab join`: open or join a class, then take commands (-c, --script, stdin, the prompt).

The host prints, first, one line: `class open: lab join HOST:PORT --code CODE`.
A joiner whose code is refused (or who finds no class) gets one clear line
and exit code 1. A class lab runs live: the lab's clock follows the wall
clock (there is no shared virtual clock across laptops).
"""

from __future__ import annotations

import asyncio
import getpass
import ipaddress
import re
import socket
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from lab.classroom.auth import ClassCode, ClassCodeError, new_host_key
from lab.classroom.events import (
    ClassControlApplied,
    ClassControlRefused,
    ClassLeft,
    ClassOpened,
    ClassRefused,
)
from lab.classroom.room import ClassRoom, JoinError
from lab.errors import CommandError
from lab.render.events import sentence
from lab.render.style import Styler
from lab.sched import SECOND
from lab.world.topology import node_names

NARRATED_AT_ONCE = (ClassControlApplied, ClassControlRefused, ClassLeft, ClassRefused)


def default_name() -> str:
    """The login name as a participant name: a letter, then up to 11 letters, digits, - or _."""
    try:
        login = getpass.getuser()
    except Exception:  # no login name (a container): a neutral one
        login = "student"
    clean = re.sub(r"[^A-Za-z0-9_-]", "", login)
    if not clean[:1].isalpha():
        clean = "p" + clean
    return clean[:12]


def parse_addr(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """HOST:PORT (or :PORT, or PORT); CommandError if it is not one."""
    host, _, port = text.rpartition(":")
    host = host or default_host
    try:
        ipaddress.IPv4Address(host)
        number = int(port)
        if not 0 <= number <= 0xFFFF:
            raise ValueError
    except ValueError:
        raise CommandError(f"'{text}' is not an address", "write HOST:PORT with an IPv4 address, "
                           "e.g. 192.168.1.20:8333 (or 0.0.0.0:8333 to listen on the LAN)") from None
    return host, number


def lan_ip() -> str:
    """The address other machines reach this one at (the default route's), for a host on 0.0.0.0."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent
            return str(s.getsockname()[0])
    except OSError:
        return "127.0.0.1"


async def run_class(config: Any, *, hosting: bool, addr: str, code: str | None, name: str | None,
                    commands: str | None, script: Iterable[str] | None, script_name: str,
                    styler: Styler, out: Callable[[str], None], interactive: bool) -> int:
    from lab.commands.session import Session

    try:
        host, port = parse_addr(addr)
        participant = (name or default_name()).upper()
        parsed = None if hosting else ClassCode.parse(code or "")
    except (CommandError, ClassCodeError) as e:
        out(styler.line("error", e.message) + (f"\n  {e.hint}" if e.hint else ""))
        return 1
    listen = host if hosting else ("127.0.0.1" if ipaddress.IPv4Address(host).is_loopback else "0.0.0.0")
    # the participant's node, and any more lab nodes of this laptop (--nodes) on the lab's own fabric
    local = int(config.nodes) if isinstance(config.nodes, int) else 1
    others = [n for n in node_names(local + 1) if n != participant][:local - 1]
    config.nodes, config.host = [participant, *others], listen
    session = Session(config, styler)
    try:
        await session.start()
    except OSError as e:
        out(styler.line("error", f"the lab could not start: {e}"))
        return 1
    lab = session.need_lab()
    node = lab.node(participant)
    try:
        lab.epoch = int(time.time()) - lab.sched.now // SECOND  # live: the clock is the wall clock's
        if hosting:
            if port:
                await node.shutdown("listening on the class's port")
                try:
                    await node.listen(port)
                except OSError as e:
                    out(styler.line("error", f"cannot listen on {host}:{port}: {e.strerror or e}"))
                    return 1
            key = new_host_key()
            try:
                class_code = ClassCode.new(key.pubkey, secret=code)
            except ClassCodeError as e:
                out(styler.line("error", e.message) + f"\n  {e.hint}")
                return 1
            room = ClassRoom(lab, node, class_code, host_key=key)
            await room.open()
            shown = lan_ip() if host == "0.0.0.0" else host
            out(f"class open: lab join {shown}:{node.port} --code {class_code}")
        else:
            assert parsed is not None
            room = ClassRoom(lab, node, parsed, host_addr=(host, port))
            try:
                await room.open()
            except JoinError as e:
                out(styler.line("error", str(e)) + "\n  check HOST:PORT and the code on the instructor's screen")
                return 1
        opened = [r for r in lab.log if isinstance(r.event, ClassOpened)]
        out("\n".join(styler.line(r.kind, sentence(r.event) or "") for r in opened))
        await lab.set_mode("live")
        busy = [False]

        def narrate(record: Any) -> None:  # between commands, class news is shown at once
            if not busy[0] and isinstance(record.event, NARRATED_AT_ONCE):
                out(styler.line(record.kind, sentence(record.event) or ""))
        if not interactive:
            lab.listeners.append(narrate)
        if commands is not None or script is not None:
            lines = [(1, commands)] if commands is not None else list(enumerate(script or (), 1))
            busy[0] = True
            return await _run_lines(session, lines, "-c" if commands is not None else script_name, out)
        if interactive:
            from prompt_toolkit.patch_stdout import patch_stdout

            from lab.repl.app import Shell
            from lab.repl.history import open_history
            with patch_stdout(raw=True):
                history, _ = open_history()
                return await Shell(session, plain=styler.ascii_only, color=styler.color, history=history).run()
        return await _pipe(session, out, busy)
    finally:
        if lab.classroom is not None:
            await lab.classroom.leave("the lab closed")
        await session.close()


async def _pipe(session: Any, out: Callable[[str], None], busy: list[bool]) -> int:
    """Commands from a pipe, one a line, read without blocking the network; an error does not stop."""
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return 0
        busy[0] = True
        try:
            outcome = await session.execute(line)
        finally:
            busy[0] = False
        if outcome.text:
            out(outcome.text)
        if outcome.quit:
            return 0


async def _run_lines(session: Any, lines: Iterable[tuple[int, str]], source: str, out: Callable[[str], None]) -> int:
    """-c / --script: as `lab -c` runs them: stop at a command error (`FILE:LINE:`), count failed checks."""
    failed = 0
    for lineno, line in lines:
        outcome = await session.execute(line)
        if outcome.text:
            out(outcome.text)
        failed += outcome.check_failed
        if not outcome.ok and not outcome.check_failed:
            out(f"{source}:{lineno}: command failed: {line.strip()}")
            return 1
        if outcome.quit:
            break
    if failed:
        out(f"{failed} check{'s' if failed != 1 else ''} failed")
    return 1 if failed else 0
