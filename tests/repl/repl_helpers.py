"""Helpers for the REPL tests: a fast lab, waiting for conditions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from lab.commands.session import LabConfig, Session
from lab.render.style import Styler

FAST = dict(difficulty=8)  # 8 zero bits: ~256 hashes a block, mining is instant


async def new_session(styler: Styler | None = None, **config) -> Session:
    session = Session(LabConfig(**{**FAST, **config}), styler or Styler())
    await session.start()
    return session


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll `predicate` on the loop; fail naming `what` if it never holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.02)
