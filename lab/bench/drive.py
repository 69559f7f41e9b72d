"""How the bench drives a lab: a Session running command lines, as `lab -c` does.

Everything the bench changes in a lab goes through the command language. What it
reads back (tips, counts, the wall time at which each node connected a block) it
reads from the lab's state and from each node's chain events, which it only
listens to: nothing in the lab is replaced or wrapped.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from lab.chain.events import BlockConnected
from lab.commands.session import LabConfig, Session


def now() -> float:
    return time.perf_counter()


@asynccontextmanager
async def session(**config: Any) -> AsyncIterator[Session]:
    """A started Session on a fresh lab (LabConfig fields as keywords), closed after."""
    s = Session(LabConfig(**config))
    await s.start()
    try:
        yield s
    finally:
        await s.close()


async def run(s: Session, line: str) -> str:
    """Run one command line; a command error (or a failed check) stops the figure with its text."""
    out = await s.execute(line)
    if not out.ok:
        raise RuntimeError(f"`{line}` failed: {out.text.strip()}")
    return out.text


def the_lab(s: Session) -> Any:
    assert s.lab is not None, "the session is not started"
    return s.lab


# -- reading the lab ----------------------------------------------------------------------------
def names(s: Session) -> list[str]:
    return list(the_lab(s).nodes)


def edges(s: Session) -> list[tuple[str, str]]:
    """The links of the lab's topology."""
    return list(the_lab(s).edges)


def mined_count(s: Session) -> int:
    """Blocks mined so far (stale ones included)."""
    return len(the_lab(s).mined_at)


def sig_verifications(s: Session) -> int:
    """Signatures actually verified by every node so far (sig cache misses)."""
    return sum(n.state.sigcache.misses for n in the_lab(s).nodes.values())


def mempool_sizes(s: Session) -> set[int]:
    return {len(n.state.mempool) for n in the_lab(s).nodes.values()}


def tip_hash(s: Session, name: str) -> bytes:
    return bytes(the_lab(s).nodes[name].state.chain.tip.hash)


class ConnectWatch:
    """Wall time at which each node connected a given block to its chain (a chain-event listener)."""

    def __init__(self, s: Session) -> None:
        self.block: bytes | None = None
        self.times: dict[str, float] = {}
        for name, node in the_lab(s).nodes.items():
            node.state.listeners.append(lambda ev, name=name: self._on_event(name, ev))

    def expect(self, block: bytes) -> None:
        self.block, self.times = block, {}

    def _on_event(self, name: str, ev: Any) -> None:
        if isinstance(ev, BlockConnected) and ev.hash == self.block:
            self.times.setdefault(name, now())
