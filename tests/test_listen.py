"""Nodes listen on loopback unless the user explicitly names another address."""

import subprocess
import sys

from labtest import lab_session, run


def test_nodes_listen_on_127_0_0_1_by_default():
    async def go():
        async with lab_session(difficulty=6) as (_, s):
            return {n.server.sockets[0].getsockname()[0] for n in s.lab.nodes.values()}

    assert run(go()) == {"127.0.0.1"}


def test_host_option_moves_every_node_and_the_lab_still_works():
    out = subprocess.run([sys.executable, "-m", "lab", "--host", "127.0.0.2", "--difficulty", "6", "-c",
                          "mine A; nodes --ports; check same-tip"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    rows = [line for line in out.stdout.splitlines() if line[:1] in "ABCD" and "127.0.0" in line]
    assert len(rows) == 4 and all("127.0.0.2:" in r for r in rows)


def test_a_link_command_naming_one_node_twice_is_refused():
    async def go():
        async with lab_session(difficulty=6) as (_, s):
            return [await s.execute(c) for c in ("latency B B 30s", "cut A -> a", "hold C C", "loss D D 5%")]

    for out in run(go()):
        assert not out.ok and "same node" in out.text
