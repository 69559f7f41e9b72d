"""Helpers for the REPL tests: a fast lab, waiting for conditions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from labtest import lab_session

from lab.render.style import Styler

if TYPE_CHECKING:
    from lab.commands.session import Session
    from lab.lab import Lab

FAST = dict(difficulty=8)  # 8 zero bits: ~256 hashes a block, mining is instant


def new_session(styler: Styler | None = None, **config) -> AbstractAsyncContextManager[tuple[Lab, Session]]:
    """`async with new_session() as (lab, s)`: a fast lab with a colourless styler, closed after."""
    return lab_session(styler or Styler(), **{**FAST, **config})


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll `predicate` on the loop; fail naming `what` if it never holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.02)
