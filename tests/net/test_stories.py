"""The network, told as stories: real sockets on 127.0.0.1, the virtual clock, no sleeps.

Each test reads as the scenario it checks: who mines, how the
network is cut, what every node must agree on afterwards.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager

from labtest import lab_session, run, run_ok

from lab.chain.invariants import check_node
from lab.commands.session import Session
from lab.lab import Lab
from lab.net import messages as m
from lab.net.wire import FrameBuffer, encode_frame
from lab.render.events import sentence

FAST = dict(difficulty=6, latency_ms=20)


def tips(lab: Lab) -> dict[str, bytes]:
    return {n.name: n.state.chain.tip.hash for n in lab.online_nodes()}


def assert_converged(lab: Lab) -> None:
    """Every online node on the most-work tip, with identical, replay-exact UTXO sets."""
    best = lab.best_tip_node()
    assert set(tips(lab).values()) == {best.state.chain.tip.hash}, tips(lab)
    utxos = {n.name: dict(n.state.chain.utxo.items()) for n in lab.online_nodes()}
    first = next(iter(utxos.values()))
    assert all(u == first for u in utxos.values())
    for n in lab.online_nodes():
        assert check_node(n.state) == [], n.name
        assert n.internal_errors == []


def session(**cfg) -> AbstractAsyncContextManager[tuple[Lab, Session]]:
    return lab_session(**{**FAST, **cfg})


def test_partition_both_sides_grow_heal_and_reconcile_on_most_work():
    async def story():
        async with session() as (lab, s):
            # Alice (A) and Carol (C) earn coins while the network is whole.
            for line in ("mine A 4", "mine C 4", "mine D"):
                await run_ok(s, line)
            # The network splits in two.
            await run_ok(s, "partition A,B | C,D")
            # Left: A pays B, mined; A also pays C, not mined yet.
            # A double-spends its payment to B on the right side, through D.
            for line in ("send A B 20 as to_b", "mine B", "send A C 1 as left_pending",
                         "send A D 20 via D conflicting to_b as twin",
                         "send C D 5 as right_pay", "mine C 2"):
                await run_ok(s, line)
            await run_ok(s, "check forked")
            left_stale = lab.nodes["A"].state.chain.tip.hash
            # Heal: the right side has more work, so the left side reorganises.
            out = await run_ok(s, "heal")
            assert "reorg" in out.events
            assert_converged(lab)
            assert lab.nodes["A"].state.chain.tip.hash != left_stale
            assert lab.reorg_counts["A"] == 1 and lab.reorg_counts["C"] == 0
            # The double spend that won is confirmed; the one that lost is gone everywhere.
            await run_ok(s, "check confirmed twin")
            await run_ok(s, "check confirmed right_pay")
            to_b = lab.labels["to_b"].hash
            for n in lab.nodes.values():
                assert to_b not in n.state.mempool and n.state.chain.tx_block(to_b) is None
            # The non-conflicting payment from the losing side is in every mempool.
            await run_ok(s, "check mempool C contains left_pending")
            pending = lab.labels["left_pending"].hash
            assert all(pending in n.state.mempool for n in lab.nodes.values())
            # The reorg was narrated, naming what was dropped and adopted.
            reorgs = [sentence(e) for e in lab.log if e.kind == "reorg"]
            assert reorgs and "dropped 1" in reorgs[0] and "adopted 2" in reorgs[0]

    run(story())


def test_a_fresh_node_joins_and_syncs_500_blocks_headers_first():
    async def story():
        async with lab_session(nodes=3, difficulty=1, latency_ms=5) as (lab, _):
            await lab.mine("A", 500)
            await lab.settle()
            assert {n.state.chain.tip.height for n in lab.nodes.values()} == {500}
            node = await lab.add_node("E")
            await lab.settle()
            assert node.state.chain.tip.hash == lab.nodes["A"].state.chain.tip.hash
            assert check_node(node.state) == []
            sent = [f.command for f in lab.fabric.history if f.dst == "E" or f.src == "E"]
            assert "headers" in sent and "getheaders" in sent
            assert sent.count("getdata") >= 500 // 16  # fetched in batches, not one request

    run(story())


def test_a_line_delivers_a_block_hop_by_hop_in_step_mode():
    async def story():
        async with session(nodes=5, topology="line") as (lab, s):
            await run_ok(s, "relay inv")  # the classic relay: announce, ask, send
            await run_ok(s, "mode step")
            await run_ok(s, "mine A")
            heights = []
            commands = []
            while lab.sched.frames_pending:
                out = await s.execute("step")
                commands.append(out.text.split()[5] if out.text.split()[1].startswith("#") else "")
                heights.append([lab.nodes[x].state.chain.tip.height for x in "ABCDE"])
            # The block travels A -> B -> C -> D -> E, one hop at a time: inv, getdata, block.
            seen = [next(i for i, h in enumerate(heights) if h[k] == 1) for k in range(1, 5)]
            assert seen == sorted(seen) and len(set(seen)) == 4
            assert heights[-1] == [1] * 5
            flights = [f for f in lab.fabric.history if f.status == "delivered" and f.command in ("inv", "getdata", "block")]
            assert [(f.src, f.dst, f.command) for f in flights][:3] == [("A", "B", "inv"), ("B", "A", "getdata"), ("A", "B", "block")]

    run(story())


def test_a_one_way_cut_loses_one_direction_only():
    async def story():
        async with session(nodes=2) as (lab, s):
            await run_ok(s, "relay inv")  # announce, then fetch: needs both directions
            await run_ok(s, "cut A -> B")
            await run_ok(s, "mine A")
            assert lab.nodes["B"].state.chain.tip.height == 0  # A's inv never arrives
            await run_ok(s, "mine B 2")
            # B's announcements reach A, but A's getdata back to B is lost:
            # request and response need both directions.
            assert any(f.command == "inv" and f.src == "B" and f.status == "delivered" for f in lab.fabric.history)
            assert any(f.command == "getdata" and f.src == "A" and f.status == "lost" for f in lab.fabric.history)
            assert lab.nodes["A"].state.chain.tip.height == 1
            out = await s.execute("check same-tip")
            assert out.check_failed and "cut" in out.text
            # healing resets the half-dead connection; the nodes sync on the handshake
            await run_ok(s, "heal")
            assert_converged(lab)
            assert lab.nodes["A"].state.chain.tip.height == 2
            # With push relay a new block needs no request: under a new cut A -> B,
            # B's next block still reaches A, while A's is lost on the way to B.
            await run_ok(s, "relay push")
            await run_ok(s, "cut A -> B")
            await run_ok(s, "mine B")
            assert lab.nodes["A"].state.chain.tip.height == 3
            await run_ok(s, "mine A")
            assert lab.nodes["B"].state.chain.tip.height == 3  # A's push is lost on the cut

    run(story())


def test_a_stopped_node_misses_blocks_and_catches_up_when_started():
    async def story():
        async with session() as (lab, s):
            await run_ok(s, "stop C")
            await run_ok(s, "mine A 3")
            assert lab.nodes["C"].state.chain.tip.height == 0
            assert not (await s.execute("mine C")).ok  # a stopped node cannot mine
            await run_ok(s, "start C")
            assert_converged(lab)
            assert lab.nodes["C"].state.chain.tip.height == 3

    run(story())


async def _raw(port: int):
    return await asyncio.open_connection("127.0.0.1", port)


async def _handshake(reader, writer, buf: FrameBuffer):
    writer.write(encode_frame("version", m.MsgVersion(70016, 1, 0, 9, "/raw/", 0).serialize()))
    writer.write(encode_frame("verack", b""))
    await writer.drain()
    got = []
    while "verack" not in got:
        data = await asyncio.wait_for(reader.read(65536), 2)
        assert data
        got += [c for c, _ in buf.feed(data)]
    return got


async def _ping(reader, writer, buf: FrameBuffer, nonce: int) -> bool:
    writer.write(encode_frame("ping", m.MsgPing(nonce).serialize()))
    await writer.drain()
    while True:
        data = await asyncio.wait_for(reader.read(65536), 1)
        if not data:
            return False
        for c, p in buf.feed(data):
            if c == "pong" and m.MsgPong.deserialize(p).nonce == nonce:
                return True


def test_a_raw_socket_sending_garbage_is_dropped_and_the_lab_keeps_working():
    async def story():
        async with lab_session(nodes=2, **FAST) as (lab, _):
            port = lab.nodes["A"].port
            # an honest outside peer shakes hands and is answered
            hr, hw = await _raw(port)
            hbuf = FrameBuffer()
            await _handshake(hr, hw, hbuf)
            cases = [
                b"GET / HTTP/1.1\r\n\r\n",  # garbage: wrong magic
                encode_frame("ping", b"")[:16] + (2**32 - 1).to_bytes(4, "little") + b"\x00" * 4,  # oversized length
            ]
            for bad in cases:
                r, w = await _raw(port)
                w.write(bad)
                await w.drain()
                assert await asyncio.wait_for(r.read(), 2) == b""  # disconnected
                w.close()
                lab.nodes["A"].discouraged.discard("127.0.0.1")  # its host is refused now; the next stands for another
                assert await _ping(hr, hw, hbuf, len(bad))
            # a bad checksum drops the message but keeps the peer
            r, w = await _raw(port)
            buf = FrameBuffer()
            frame = bytearray(encode_frame("version", m.MsgVersion(70016, 1, 0, 1, "/x/", 0).serialize()))
            frame[20] ^= 0xFF
            w.write(bytes(frame))
            await _handshake(r, w, buf)  # the corrupted version was ignored; a proper one works
            assert await _ping(r, w, buf, 77)
            # a message before version is ignored: no pong, yet the connection stays
            r2, w2 = await _raw(port)
            w2.write(encode_frame("ping", m.MsgPing(5).serialize()))
            await w2.drain()
            buf2 = FrameBuffer()
            await _handshake(r2, w2, buf2)
            assert await _ping(r2, w2, buf2, 6)
            # the lab still works
            await lab.mine("A")
            await lab.settle()
            assert lab.nodes["B"].state.chain.tip.height == 1
            assert all(not n.internal_errors for n in lab.nodes.values())
            for wr in (hw, w, w2):
                wr.close()

    run(story())


SCRIPT = """mine A 4
send A B 12.5 as pay
latency A,B | C,D 300ms
partition A,B | C,D
mine A
mine C 2
heal
tree
check same-tip
log 30
"""


def test_the_same_seed_and_script_give_byte_identical_output(tmp_path):
    import subprocess
    import sys

    f = tmp_path / "s.lab"
    f.write_text(SCRIPT)
    outs = [subprocess.run([sys.executable, "-m", "lab", "--difficulty", "8", "--seed", "7", "run", str(f)],
                           capture_output=True, text=True, timeout=60) for _ in range(2)]
    assert outs[0].returncode == 0, outs[0].stdout + outs[0].stderr
    assert outs[0].stdout == outs[1].stdout
    assert "reorganised" in outs[0].stdout
    other = subprocess.run([sys.executable, "-m", "lab", "--difficulty", "8", "--seed", "8", "run", str(f)],
                           capture_output=True, text=True, timeout=60)
    assert other.stdout != outs[0].stdout  # the seed matters: other keys, other hashes
