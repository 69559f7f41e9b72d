"""Family 3: slow peers, flooding peers, and the caps that keep a node's memory bounded.

Stories:
- an outsider sends half a header and goes quiet, or trickles a frame one
  byte at a time: it is closed by the frame timeout (not punished: it may
  just be slow);
- an outsider never finishes its handshake: it is closed by the handshake
  timeout;
- outsiders flood a node with maximum-size junk: an honest outsider's 20
  pings are all answered within 2 s each;
- outsiders fill every pool and queue a peer can reach (orphan txs, orphan
  blocks, announcements, rejects, the send queue of a peer that never reads,
  narration, connections): each stays within its cap.

Timeouts are shrunk (monkeypatched) so the stories take fractions of a second.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import AbstractAsyncContextManager

import pytest
from labtest import lab_session
from robustkit import RawPeer, internal_errors, run, wait_for_condition

import lab.net.connection as conn_mod
import lab.net.peer as peer_mod
from lab.chain.block import GENESIS
from lab.chain.crypto import sha256d
from lab.chain.miner import BlockTemplate, Miner
from lab.chain.pow import bits_for_zero_bits
from lab.chain.script import p2pkh_script_sig
from lab.chain.tx import OutPoint, Tx, TxIn, TxOut
from lab.commands.session import Session
from lab.lab import Lab
from lab.net import messages as m
from lab.net.wire import HEADER_SIZE, encode_frame
from lab.params import MAX_INV, MAX_ORPHAN_BLOCKS, MAX_ORPHAN_TXS, MAX_PAYLOAD
from lab.render.events import sentence

FRAME_TIMEOUT = 0.3
HANDSHAKE_TIMEOUT = 0.4


@pytest.fixture(autouse=True)
def quick_timeouts(monkeypatch):
    monkeypatch.setattr(conn_mod, "FRAME_TIMEOUT", FRAME_TIMEOUT)
    monkeypatch.setattr(conn_mod, "HANDSHAKE_TIMEOUT", HANDSHAKE_TIMEOUT)


def new_lab() -> AbstractAsyncContextManager[tuple[Lab, Session]]:
    return lab_session(nodes=2, difficulty=6, latency_ms=5)


def rand32(i: int, tag: bytes) -> bytes:
    return sha256d(tag + i.to_bytes(8, "little"))


# --- slow peers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("handshake", [False, True], ids=["before-handshake", "after-handshake"])
def test_a_peer_that_sends_half_a_header_and_stalls_is_closed_by_the_frame_timeout(handshake):
    async def story():
        async with new_lab() as (lab, _):
            node = lab.nodes["A"]
            slow = await RawPeer.connect(node.port, "slow")
            if handshake:
                await slow.handshake()
            slow.send_bytes(encode_frame("ping", bytes(8))[:HEADER_SIZE - 3])
            t0 = asyncio.get_running_loop().time()
            assert await slow.closed_by_node(FRAME_TIMEOUT + 1.0)
            took = asyncio.get_running_loop().time() - t0
            assert took >= FRAME_TIMEOUT * 0.9
            assert slow.remote not in node.discouraged  # slow is not malicious
            reasons = [sentence(e) for e in lab.log if e.kind == "peer-disconnected"]
            assert any("stalled" in r or "handshake" in r for r in reasons), reasons

    run(story())


def test_a_peer_that_trickles_a_frame_byte_by_byte_is_closed_in_time():
    """Slowloris: every byte arrives before the timeout, but the frame never completes.

    The deadline runs from the frame's first byte, so trickling does not buy time.
    """
    async def story():
        async with new_lab() as (lab, _):
            node = lab.nodes["A"]
            slow = await RawPeer.connect(node.port, "trickler")
            await slow.handshake()
            frame = encode_frame("tx", bytes(200))
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            closed = False
            for byte in frame:  # one byte per FRAME_TIMEOUT/4: the node must close us meanwhile
                slow.send_bytes(bytes((byte,)))
                if await slow.closed_by_node(FRAME_TIMEOUT / 4):
                    closed = True
                    break
            assert closed, "a trickling peer kept its connection for the whole frame"
            assert loop.time() - t0 < FRAME_TIMEOUT + 1.0
            assert slow.remote not in node.discouraged

    run(story())


@pytest.mark.parametrize("says", [(), ("version",), ("verack",)], ids=["silent", "version-only", "verack-only"])
def test_a_peer_that_never_finishes_the_handshake_is_closed_by_timeout(says):
    async def story():
        async with new_lab() as (lab, _):
            node = lab.nodes["A"]
            lazy = await RawPeer.connect(node.port, "lazy")
            if "version" in says:
                lazy.send(m.MsgVersion(70016, 1, 0, 1, "/lazy/", 0))
            if "verack" in says:
                lazy.send(m.MsgVerack())
            assert await lazy.closed_by_node(HANDSHAKE_TIMEOUT + 1.0)
            assert lazy.remote not in node.peers and lazy.remote not in node.discouraged
            assert internal_errors(lab) == []

    run(story())


# --- flooding peers ----------------------------------------------------------------------------------
def junk_frames() -> list[bytes]:
    """Maximum-size junk a node may not punish: a bad checksum, and an unknown command."""
    payload = os.urandom(MAX_PAYLOAD)
    bad = bytearray(encode_frame("block", payload))
    bad[20:24] = bytes(4) if bad[20:24] != bytes(4) else b"\x01\x02\x03\x04"
    return [bytes(bad), encode_frame("junkjunk", payload)]


async def flood(peer: RawPeer, frames: list[bytes], stop: asyncio.Event, sent: list[int]) -> None:
    i = 0
    while not stop.is_set() and not peer.writer.is_closing():
        peer.send_bytes(frames[i % len(frames)])
        sent[0] += len(frames[i % len(frames)])
        i += 1
        await peer.drain(10)


def test_a_flood_of_max_size_junk_never_starves_honest_peers():
    async def story():
        async with new_lab() as (lab, _):
            node = lab.nodes["A"]
            honest = await RawPeer.connect(node.port, "honest")
            await honest.handshake()
            frames = junk_frames()
            stop = asyncio.Event()
            sent = [0]
            flooders = [await RawPeer.connect(node.port, f"flooder{i}") for i in range(3)]
            for f in flooders[:2]:
                await f.handshake()  # two flood after the handshake, one before it
            tasks = [asyncio.create_task(flood(f, frames, stop, sent)) for f in flooders]
            loop = asyncio.get_running_loop()
            answered, worst = 0, 0.0
            try:
                await wait_for_condition(lambda: sent[0] > 3 * MAX_PAYLOAD, 10, "the flood to start")
                for _ in range(20):
                    t0 = loop.time()
                    if await honest.ping(2.0):
                        answered += 1
                    worst = max(worst, loop.time() - t0)
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
            print(f"flood: {sent[0] / 1e6:.0f} MB of junk sent; {answered}/20 pings answered, worst {worst * 1000:.0f} ms")
            assert answered == 20
            # While a frame is half-read, the node buffers at most one frame per peer.
            for p in node.peers.values():
                assert p.frames.buffered <= MAX_PAYLOAD + HEADER_SIZE + (1 << 20)
            # Junk is dropped silently after the first note per peer: the log does not grow with the flood.
            noted = [e for e in lab.log if e.kind == "frame-dropped"]
            assert len(noted) <= len(flooders)
            for f in flooders:
                await f.close()
            assert internal_errors(lab) == []
            await lab.mine("A")
            await lab.settle()
            assert lab.nodes["B"].state.chain.tip.hash == node.state.chain.tip.hash

    run(story())


# --- pools and queues within their caps -------------------------------------------------------------
FAKE_SCRIPT_SIG = p2pkh_script_sig(b"\x30" * 70, b"\x02" * 33)  # the shape of a signature and a key


def orphan_tx(i: int) -> Tx:
    """A tx spending an output nobody has heard of: kept as an orphan, not punished."""
    return Tx((TxIn(OutPoint(rand32(i, b"missing-parent"), 0), FAKE_SCRIPT_SIG),),
              (TxOut.to_pkh(10_000, b"\x33" * 20),))


def dust_tx(i: int) -> Tx:
    """A tx refused by policy (dust): rejected without punishment, so a peer may send many."""
    return Tx((TxIn(OutPoint(rand32(i, b"dust"), 0), FAKE_SCRIPT_SIG),), (TxOut.to_pkh(1, b"\x33" * 20),))


def orphan_block(i: int) -> m.MsgBlock:
    """A block with valid proof of work at the lab's difficulty on a parent nobody has: kept in the orphan pool."""
    t = BlockTemplate(version=4, prev_hash=rand32(i, b"unknown-parent"), time=GENESIS.header.time + 600 * (i + 1),
                      bits=bits_for_zero_bits(6), height=5, txs=(), fees=0, subsidy=50 * 10**8, pkh=b"\x44" * 20)
    block = None
    miner = Miner(t)
    while block is None:
        block = miner.search(1_000)
    return m.MsgBlock(block)


def test_orphan_pools_stay_within_their_caps():
    async def story():
        async with new_lab() as (lab, _):
            node = lab.nodes["A"]
            p = await RawPeer.connect(node.port, "orphan-maker")
            await p.handshake()
            for i in range(MAX_ORPHAN_TXS * 3):
                p.send(m.MsgTx(orphan_tx(i)))
            for i in range(MAX_ORPHAN_BLOCKS + 50):
                p.send(orphan_block(i))
            await p.drain()
            assert await p.ping(5.0)  # the node has handled everything before the pong
            assert p.remote in node.peers  # orphans are not misbehaviour
            assert len(node.state.mempool.orphans) == MAX_ORPHAN_TXS
            assert len(node.state.chain.orphans) == MAX_ORPHAN_BLOCKS
            assert len(node.requested) <= peer_mod.MAX_PEER_TX_REQUESTS

    run(story())


def test_announcements_and_rejects_stay_within_their_caps():
    async def story():
        async with new_lab() as (lab, _):
            node = lab.nodes["A"]
            p = await RawPeer.connect(node.port, "announcer")
            await p.handshake()
            for k in range(6):  # 300,000 announcements of txs that do not exist
                p.send(m.MsgInv(tuple(m.InvItem(m.MSG_TX, rand32(k * MAX_INV + i, b"inv")) for i in range(MAX_INV))))
                await p.drain()
                assert await p.ping(5.0)
            for i in range(3_000):  # refused by policy, not punished
                p.send(m.MsgTx(dust_tx(i)))
            await p.drain()
            assert await p.ping(5.0)
            peer = node.peers[p.remote]
            print(f"requested {len(node.requested)}, known {len(peer.known)}, recent rejects {len(node.recent_rejects)}")
            assert len(node.requested) <= peer_mod.MAX_PEER_TX_REQUESTS
            assert len(peer.known) <= peer_mod.MAX_KNOWN_INVENTORY
            assert len(node.recent_rejects) <= peer_mod.MAX_KNOWN_INVENTORY
            assert len(node.state.recent_rejects) <= 1_000
            # The node narrates a few of the outsider's rejections, then counts them quietly.
            from_p = [e for e in lab.log if e.data.get("peer") == p.remote]
            assert len(from_p) <= 2 * peer_mod.MAX_NARRATED_PER_PEER

    run(story())


def test_a_peer_that_never_reads_is_dropped_when_its_send_queue_is_full(monkeypatch):
    cap = 256 * 1024
    monkeypatch.setattr(conn_mod, "MAX_SEND_QUEUE", cap)
    # Its second 1.8 MB getdata arrives while the node serves the first a few items per turn:
    # more than this file's 0.3 s frame deadline on a busy machine. Not what is tested here.
    monkeypatch.setattr(conn_mod, "FRAME_TIMEOUT", 5.0)

    async def story():
        async with new_lab() as (lab, _):
            node = lab.nodes["A"]
            honest = await RawPeer.connect(node.port, "honest")
            await honest.handshake()
            deaf = await RawPeer.connect(node.port, "deaf")
            await deaf.handshake()
            deaf.writer.transport.pause_reading()  # really deaf: its StreamReader would buffer 32 MB
            peer = node.peers[deaf.remote]
            biggest = [0]
            write = peer.transport.write

            def watched_write(data: bytes) -> None:
                write(data)
                biggest[0] = max(biggest[0], peer.transport.get_write_buffer_size())

            peer.transport.write = watched_write
            # 2 x 50,000 requests for the genesis block, ~28 MB of answers it will never read. (Served
            # a few per turn, what the kernel's socket buffers take - ~15 MB on Linux loopback - no
            # longer counts against the queue: only what stays buffered in this process does.)
            for _ in range(2):
                deaf.send(m.MsgGetdata((m.InvItem(m.MSG_BLOCK, GENESIS.hash),) * MAX_INV))
            await deaf.drain()
            await wait_for_condition(lambda: peer.closed, 30, "the deaf peer to be dropped")  # ~15 MB first fill the kernel's buffers
            assert "send queue" in peer.close_reason
            assert biggest[0] <= cap + len(encode_frame("block", GENESIS.serialize()))
            # Dropped means gone: nothing stays buffered for it.
            assert peer.transport.get_write_buffer_size() == 0
            assert await honest.ping(1.0)

    run(story())


def test_outsiders_get_a_bounded_number_of_connections():
    async def story():
        async with new_lab() as (lab, _):
            node = lab.nodes["A"]
            crowd = [await RawPeer.connect(node.port, f"crowd{i}") for i in range(peer_mod.MAX_LIVE_PEERS + 8)]
            refused = [c for c in crowd if await c.closed_by_node(0.05)]
            live = [p for p in node.peers.values() if not p.lab_link]
            assert len(live) <= peer_mod.MAX_LIVE_PEERS
            assert len(refused) >= 8
            # The lab's own links are never refused: a new node still joins.
            await lab.add_node("E")
            await lab.settle()
            assert "E" in node.peers
            for c in crowd:
                await c.close()

    run(story())


def test_stopping_a_node_with_peers_and_outsiders_connected_returns_at_once():
    """Regression: on Python 3.12.1+ Server.wait_closed() waits for every accepted
    connection, and the node waited for it before closing them: `stop B` hung."""
    async def story():
        async with new_lab() as (lab, _):
            node = lab.nodes["A"]
            outsider = await RawPeer.connect(node.port, "watcher")
            await outsider.handshake()
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            await asyncio.wait_for(lab.stop_node("A"), 3)
            assert loop.time() - t0 < 2
            assert await outsider.closed_by_node(1.0)
            await asyncio.wait_for(lab.start_node("A"), 3)
            await lab.mine("B")
            await lab.settle()
            assert node.state.chain.tip.hash == lab.nodes["B"].state.chain.tip.hash
            await asyncio.wait_for(lab.close(), 5)  # closing with an outsider connected returns too

    run(story())
