"""Shared test helpers (importable as `labtest`, the tests folder is on pytest's path).

- `run(coro)`: asyncio.run, but an exception in any background task fails the test.
- `lab_session(**config)`: an async context manager giving `(lab, session)` on a
  fresh lab (LabConfig fields as keywords), closed after, however the test ends.
- `run_ok(session, line)`: run a command line; a command error or a failed check
  fails the test with the lab's own text. Returns the Outcome.

    async def story():
        async with lab_session(nodes=3, difficulty=6) as (lab, s):
            await run_ok(s, "mine A 2")
            assert lab.nodes["C"].state.chain.height == 2

    run(story())
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from lab.commands.session import LabConfig, Session
from lab.render.style import Styler

if TYPE_CHECKING:
    from lab.commands.session import Outcome
    from lab.lab import Lab

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    """asyncio.run, but an exception in any background task fails the test."""
    errors: list[str] = []

    async def main() -> T:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, ctx: errors.append(str(ctx.get("exception") or ctx["message"])))
        return await coro

    result = asyncio.run(main())
    if errors:
        pytest.fail("unhandled exception in a background task: " + "; ".join(errors))
    return result


@asynccontextmanager
async def lab_session(styler: Styler | None = None, **config: Any) -> AsyncIterator[tuple[Lab, Session]]:
    """A started Session on a fresh lab, and that lab; the lab is closed when the block ends.

    `session.lab` is the lab to use after a command that rebuilds it (`reset`, `seed N`).
    """
    session = Session(LabConfig(**config), styler)
    await session.start()
    try:
        assert session.lab is not None
        yield session.lab, session
    finally:
        await session.close()


async def run_ok(session: Session, line: str) -> Outcome:
    """Run `line`; fail the test (with what the lab printed) if a command failed or a check did not hold."""
    out = await session.execute(line)
    if not out.ok:
        pytest.fail(f"`{line}` failed:\n{out.text}", pytrace=False)
    return out
