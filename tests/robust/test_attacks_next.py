"""Issue 12, the rows of the attack table whose fix belongs to the next (net) wave.

Same story as test_attacks.py (attackkit.Watch on another node, the
learner's payment afterwards, no traceback), each marked xfail with exactly
what it needs. strict=False: when a row starts to pass, drop its mark.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from attackkit import (
    DIFFICULTY,
    Watch,
    coinbase_coin,
    coinbase_only_block,
    connect_and_handshake,
    finish,
    mine_coins_into,
    new_lab,
    no_traceback,
    send_each,
    side_blocks_on_genesis,
    split,
)
from labtest import lab_session
from robustkit import internal_errors, run, wait_for_condition

import lab.net.connection as conn_mod
from lab.lab import Lab
from lab.net import messages as m


@pytest.fixture(autouse=True)
def quick_timeouts(monkeypatch):
    monkeypatch.setattr(conn_mod, "HANDSHAKE_TIMEOUT", 3.0)


@pytest.mark.xfail(reason="needs net wave: getdata served a few items per turn, paused while the peer's send "
                   "buffer is full (fPauseSend)", strict=False)
def test_getdata_asking_for_the_same_big_block_thousands_of_times(capfd):
    async def story():
        async with new_lab() as (lab, _):
            a = lab.nodes["A"]
            big = await big_tip_block(lab, 400_000)
            msg = m.MsgGetdata(tuple(m.InvItem(m.MSG_BLOCK, big.hash) for _ in range(2_000)))
            async with Watch(lab.nodes["B"].port) as watch:
                for _ in range(2):
                    peer = await connect_and_handshake(a.port, "amplifier")
                    assert peer is not None
                    peer.send(msg)
                    await peer.drain()
                    await asyncio.sleep(0.5)  # an attacker that never reads: the node's send buffer fills
                    await peer.close()
            await finish(lab, watch)

    run(story(), timeout=300)
    no_traceback(capfd)


async def big_tip_block(lab: Lab, size: int):
    """A valid block of about `size` bytes on A's tip: many small payments to the attacker itself."""
    a = lab.nodes["A"]
    mined = await mine_coins_into(a, a.port, 4)
    await lab.settle()
    n = max(2, size // 50)
    fan = split(coinbase_coin(mined[0]), n)
    block = coinbase_only_block(a.state.chain, a.state.chain.tip, (fan,))
    await send_each(a.port, [m.MsgBlock(block)], "big-block")
    await wait_for_condition(lambda: a.state.chain.tip.hash == block.hash, 10.0, "the big block")
    await lab.settle()
    return block


@pytest.mark.xfail(reason="needs net wave: getheaders answered in bounded slices per turn, so 5,000 pipelined "
                   "getheaders cannot hold the event loop", strict=False)
def test_pipelined_getheaders_on_a_long_chain(capfd):
    async def story():
        async with lab_session(nodes=2, difficulty=4, latency_ms=1) as (lab, _):
            await lab.mine("A", 600)
            await lab.settle()
            await lab.mine("A", 4)
            a = lab.nodes["A"]
            genesis = a.state.chain.active[0].hash
            async with Watch(lab.nodes["B"].port) as watch:
                peer = await connect_and_handshake(a.port, "getheaders")
                assert peer is not None
                for _ in range(2_000):
                    peer.send(m.MsgGetheaders((genesis,)))
                await peer.drain()
                await peer.ping(30.0)
                await peer.close()
            await finish(lab, watch)

    run(story(), timeout=600)
    no_traceback(capfd)


@pytest.mark.xfail(reason="needs net wave: a block or tx payload over the size a block may have is refused "
                   "before it is parsed, or parsed in slices (4 MB = 0.5 s of parsing today)", strict=False)
def test_4mb_block_payloads_of_tiny_inputs(capfd):
    async def story():
        async with new_lab() as (lab, _):
            a = lab.nodes["A"]
            blocks = side_blocks_on_genesis(3, 3_900_000, DIFFICULTY)
            async with Watch(lab.nodes["B"].port) as watch:
                await send_each(a.port, [m.MsgBlock(b) for b in blocks], "4mb")
            await finish(lab, watch)

    run(story(), timeout=300)
    no_traceback(capfd)


@pytest.mark.xfail(reason="needs net wave: discouragement enforced on accept for outsiders by host, with expiry; "
                   "punishments narrated in bounded lines", strict=False)
def test_a_discouraged_outsider_cannot_come_back(capfd):
    async def story():
        async with new_lab() as (lab, _):
            a = lab.nodes["A"]
            p = await connect_and_handshake(a.port, "punished")
            assert p is not None
            p.send_frame("inv", b"\xff" * 9)  # undecodable: discouraged
            assert await p.closed_by_node(2.0)
            again = await connect_and_handshake(a.port, "punished-again")
            assert again is None or await again.closed_by_node(1.0), "a discouraged host was let back in"
            assert internal_errors(lab) == []

    run(story(), timeout=120)
    no_traceback(capfd)


def lab_cli(*args: str, timeout: float, nofile: int | None = None) -> subprocess.CompletedProcess[str] | None:
    """Run `lab ARGS` in a child process; None when it did not finish within `timeout` seconds."""
    def limit() -> None:
        if nofile is not None:
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    try:
        return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True,
                              timeout=timeout, preexec_fn=limit, env={**os.environ, "NO_COLOR": "1"})
    except subprocess.TimeoutExpired:
        return None


@pytest.mark.xfail(reason="needs net wave: node count checked against the open-file limit up front, and "
                   "EMFILE at any point reported as one error line, never a traceback flood", strict=False)
def test_more_nodes_than_open_files_allow_gives_one_clear_line():
    done = lab_cli("--nodes", "12", "--difficulty", "4", "-c", "peers A", timeout=60, nofile=40)  # 66 links
    assert done is not None, "the lab did not finish"
    assert "Traceback" not in done.stdout + done.stderr
    assert len((done.stdout + done.stderr).splitlines()) < 50


@pytest.mark.xfail(reason="needs net wave: long commands print their estimate, show progress and obey "
                   "`lab run --max-seconds` in scripts", strict=False)
def test_mining_at_32_bits_in_a_script_stops_within_its_limit():
    done = lab_cli("-c", "difficulty 32; mine A", timeout=10)
    assert done is not None, "`difficulty 32; mine A` ran past 10 s with no way out"


@pytest.mark.xfail(reason="needs net wave: node names are ASCII letters, digits and -_", strict=False)
def test_look_alike_node_names_are_refused():
    done = lab_cli("--difficulty", "4", "-c", "add-node \u0410; add-node \uff21; nodes", timeout=60)
    assert done is not None
    assert "\u0410" not in done.stdout and "\uff21" not in done.stdout
    assert done.stdout.count("error") + done.stdout.count("not a node name") >= 2
