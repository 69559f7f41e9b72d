"""Issue 12, the rows of the attack table fixed by the net wave, and the lab's own limits.

Same story as test_attacks.py (attackkit.Watch on another node, the
learner's payment afterwards, no traceback): getdata and getheaders served
a few items per turn (fPauseSend), 4 MB payloads refused before parsing,
discouragement by host, and the lab's limits (open files, EMFILE,
--max-seconds, node names) run as real `lab` processes.
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
from lab.commands import reads
from lab.lab import Lab
from lab.net import messages as m


@pytest.fixture(autouse=True)
def quick_timeouts(monkeypatch):
    monkeypatch.setattr(conn_mod, "HANDSHAKE_TIMEOUT", 3.0)


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


def test_punish_cycles_from_one_host_say_little_and_list_one_host(capfd):
    """Before: 3,000 punish cycles printed 6,003 lines and `peers A` listed 3,001 addresses."""
    async def story():
        async with new_lab() as (lab, _):
            a = lab.nodes["A"]
            mark = len(lab.log)
            for i in range(30):
                p = await connect_and_handshake(a.port, f"cycle{i}")
                if p is not None:
                    p.send_frame("inv", b"\xff" * 9)
                    await p.closed_by_node(2.0)
                    await p.close()
            said = [r for r in lab.log[mark:] if r.kind in ("peer-connected", "peer-punished", "peer-disconnected")]
            assert len(said) <= 3, [r.kind for r in said]
            assert reads.discouraged(a) == ["127.0.0.1"]
            assert a.discouraged.refused >= 29

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


def test_more_nodes_than_open_files_allow_gives_one_clear_line():
    done = lab_cli("--nodes", "12", "--difficulty", "4", "-c", "peers A", timeout=60, nofile=40)  # 66 links
    assert done is not None, "the lab did not finish"
    assert "Traceback" not in done.stdout + done.stderr
    assert len((done.stdout + done.stderr).splitlines()) < 50
    assert "open files" in done.stdout and "66 links" in done.stdout  # the figures, and the advice
    assert done.returncode == 1


def test_adding_nodes_past_the_open_file_limit_refuses_the_one_too_many():
    done = lab_cli("--nodes", "3", "--difficulty", "4", "-c", "add-node; add-node; add-node; add-node; add-node",
                   timeout=60, nofile=40)
    assert done is not None, "the lab did not finish"
    assert "Traceback" not in done.stdout + done.stderr
    assert "open files" in done.stdout and done.returncode == 1


def test_emfile_at_any_point_is_one_line():
    import errno

    from lab.world.limits import EmfileReporter

    said: list[str] = []

    async def flood() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(EmfileReporter(said.append))
        for _ in range(1_000):  # what asyncio's accept loop reports on every refused connection
            loop.call_exception_handler({"message": "socket.accept() out of system resource",
                                         "exception": OSError(errno.EMFILE, "Too many open files")})

    asyncio.run(flood())
    assert len(said) == 1 and "open files" in said[0]


def test_mining_at_32_bits_in_a_script_stops_within_its_limit():
    done = lab_cli("-c", "difficulty 32; mine A", timeout=10)
    assert done is not None, "`difficulty 32; mine A` ran past 10 s with no way out"
    assert "takes about" in done.stdout and "time limit" in done.stdout  # the estimate, and why it stops
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr


def test_a_script_stops_when_its_max_seconds_run_out(tmp_path):
    script = tmp_path / "long.lab"
    script.write_text("difficulty 26\nmine A\n")
    done = lab_cli("run", "--max-seconds", "2", str(script), timeout=30)
    assert done is not None, "the script ran past its limit"
    assert "time limit of 2 s" in done.stdout and done.returncode == 1


def test_auto_miners_for_many_hours_at_high_difficulty_are_refused_in_a_script():
    done = lab_cli("--difficulty", "24", "-c", "autominer on; run 1000h", timeout=30)
    assert done is not None, "`run 1000h` with auto-miners ran on"
    assert "takes about" in done.stdout and done.returncode == 1


@pytest.mark.parametrize("name", ["\u0410", "\uff21"], ids=["cyrillic-A", "fullwidth-A"])
def test_look_alike_node_names_are_refused(name):
    """A script stops at its first error, so each look-alike gets its own run."""
    done = lab_cli("--difficulty", "4", "-c", f"add-node {name}; nodes", timeout=60)
    assert done is not None
    assert name not in done.stdout + done.stderr  # never echoed as if it were "A"
    assert "not a node name" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == 1
