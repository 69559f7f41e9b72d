"""`lab` in a real pseudo-terminal (pexpect), as a learner uses it.

TERM=dumb gives prompt_toolkit's plain prompt (no cursor movement), so the
output can be matched line by line. Completion runs in the background:
wait a moment after typing before pressing Tab.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

pexpect = pytest.importorskip("pexpect")

TIMEOUT = 30  # generous: a loaded CI machine starts Python slowly


def spawn(tmp_path, *args: str):
    env = {**os.environ, "TERM": "dumb", "LAB_STATE_DIR": str(tmp_path / "state")}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(sys.executable, ["-m", "lab", "--difficulty", "8", *args], env=env,
                          encoding="utf-8", timeout=TIMEOUT, dimensions=(40, 160))
    child.expect_exact("lab> ")
    return child


def test_a_learner_session_in_a_real_terminal(tmp_path):
    child = spawn(tmp_path)
    try:
        # a command and its narration
        child.sendline("add-node ALICE")
        child.expect_exact("ALICE joined the network")
        child.expect_exact("lab> ")

        # Tab completes the node name: `mine al` alone would name no node
        child.send("mine al")
        time.sleep(0.5)
        child.send("\t")
        time.sleep(0.5)
        child.send("\r")
        child.expect_exact("ALICE mined block 1")
        child.expect_exact("lab> ")

        # Ctrl-C drops the line; the prompt comes back and the command never ran
        child.send("mine B")
        time.sleep(0.2)
        child.sendcontrol("c")
        child.expect_exact("lab> ")
        child.sendline("check height B == 1")
        child.expect_exact("check height B == 1: ")  # ok lines say what was found after a colon
        child.expect_exact("lab> ")

        # live mode: the nodes mine on their own and the narration appears while nobody types
        child.sendline("speed 3000; autominer on; mode live")
        child.expect_exact("Mode live")
        child.expect(r"\+[\dhm.]+s \S+ mined block \d+")

        # Ctrl-D leaves cleanly
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        assert "Traceback" not in child.before
        assert (tmp_path / "state" / "history").read_text().count("+mine ALICE") == 1
    finally:
        if child.isalive():
            child.terminate(force=True)
