"""The lab's own limits: open files for its sockets (EMFILE), said up front in one line.

Every node listens on a socket and every link is two sockets, all in this one
process. A 200-node mesh is 19,900 links, ~40,000 descriptors: over most
systems' limit, and asyncio then printed a traceback for every refused
accept (~11,000 of them). Now the count is checked before anything opens,
with the figures and what to do instead; an EMFILE that happens anyway (other
programs, an outsider flood) is one line (`EmfileReporter`).
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from lab.errors import CommandError
from lab.net.links import raise_fd_limit

SPARE_FILES = 16  # descriptors for everything else: stdio, the event loop, a few outsiders


def topology_links(kind: str, n: int, k: int = 3) -> int:
    """How many links a topology of n nodes has (random: at most n*k)."""
    if n < 2:
        return 0
    return {"mesh": n * (n - 1) // 2, "ring": n if n > 2 else 1, "line": n - 1,
            "star": n - 1}.get(kind, n * max(1, min(k, n - 1)))


def files_needed(nodes: int, links: int) -> int:
    return nodes + 2 * links + SPARE_FILES


def check_open_files(nodes: int, links: int, what: str) -> None:
    """Raise CommandError (one line, with advice) unless this process may open enough files."""
    needed = files_needed(nodes, links)
    soft = raise_fd_limit(needed)
    if soft < 0 or soft >= needed:
        return
    raise CommandError(
        f"{what} needs about {needed:,} open files ({nodes:,} listening sockets, {links:,} links x 2) "
        f"but this process may open {soft:,}",
        f"use fewer nodes or a sparser topology: a {nodes}-node mesh is {nodes * (nodes - 1) // 2:,} links, "
        f"--topology 'random 3' about {nodes * 3:,}; or raise the limit with `ulimit -n {needed}`")


def is_emfile(exc: BaseException | None) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE)


class EmfileReporter:
    """An event-loop exception handler: 'too many open files' said once, in one line; the rest as before."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.count = 0

    def __call__(self, loop: Any, context: dict[str, Any]) -> None:
        if is_emfile(context.get("exception")):
            self.count += 1
            if self.count == 1:
                self.say("error: out of open files (EMFILE): new connections are refused until some close; "
                         "use fewer nodes or links, or raise the limit (ulimit -n)")
            return
        loop.default_exception_handler(context)
