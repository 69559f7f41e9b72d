"""Shared test helpers (importable as `labtest`): run a coroutine with a loop that fails the test on any unhandled task error."""

from __future__ import annotations

import asyncio

import pytest


def run(coro):
    """asyncio.run, but an exception in any background task fails the test."""
    errors: list[str] = []

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, ctx: errors.append(str(ctx.get("exception") or ctx["message"])))
        return await coro

    result = asyncio.run(main())
    if errors:
        pytest.fail("unhandled exception in a background task: " + "; ".join(errors))
    return result
