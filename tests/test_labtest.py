"""The shared test helpers do what tests rely on: run_ok fails on an error, lab_session always closes."""

from __future__ import annotations

import pytest
from labtest import lab_session, run, run_ok


def test_run_ok_returns_the_outcome_and_fails_the_test_on_a_command_error_or_a_failed_check():
    async def story():
        async with lab_session(nodes=2, difficulty=6) as (lab, s):
            out = await run_ok(s, "mine A")
            assert "A mined block 1" in out.text and lab.nodes["B"].state.chain.height == 1
            for bad in ("mnie A", "check height A > 5"):
                with pytest.raises(pytest.fail.Exception, match="failed"):
                    await run_ok(s, bad)

    run(story())


def test_lab_session_closes_the_lab_when_the_block_raises():
    async def story():
        with pytest.raises(ZeroDivisionError):
            async with lab_session(nodes=2, difficulty=6) as (lab, _):
                kept = lab
                raise ZeroDivisionError
        return kept

    assert run(story()).closed
