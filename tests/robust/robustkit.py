"""Shared tools of the robustness suite: a raw peer, a watched event loop, invariant checks.

- `run(coro)` runs a story on a fresh event loop whose exception handler
  records every unhandled task exception; the story fails if any was seen.
- `RawPeer` is a peer outside the lab speaking the wire protocol over a real
  socket to 127.0.0.1 and a node's real port. It waits for conditions (a
  pong, a closed socket) with asyncio timeouts on reads, never sleeps.
- `converged_problems(lab)` and friends restate docs/ARCHITECTURE.md's "after a
  partition heals" list as sentences; an empty list means all hold.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from lab.chain.invariants import check_node, replay_utxo
from lab.chain.tx import OutPoint
from lab.net import messages as m
from lab.net.wire import FrameBuffer, encode_frame
from lab.params import PROTOCOL_VERSION
from lab.render.events import sentence

HOST = "127.0.0.1"


# --- a loop that notices every unhandled exception ---------------------------------------------
def run(coro: Awaitable[Any], timeout: float = 100.0) -> Any:
    """asyncio.run with an exception handler that fails the test on any unhandled task error."""
    errors: list[str] = []

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _l, ctx: errors.append(
            f"{ctx.get('message')}: {ctx.get('exception')!r}"))
        try:
            return await asyncio.wait_for(coro, timeout)
        finally:
            for peer in list(RawPeer.opened):  # a failed story must not leak sockets into the next
                await peer.close()
            gc.collect()  # "Task exception was never retrieved" is reported at collection
            await asyncio.sleep(0)

    result = asyncio.run(main())
    if errors:
        pytest.fail("unhandled exception in the event loop: " + "; ".join(errors))
    return result


async def wait_for_condition(pred: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll a condition while the loop runs other work; fail naming it on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for: {what}")
        await asyncio.sleep(0.005)  # a poll interval, not a guess at how long something takes


# --- a raw peer --------------------------------------------------------------------------------------
_nonces = itertools.count(0x5EED_0000)


class RawPeer:
    """One socket to a node, outside the lab: sends any bytes, reads frames."""

    opened: list[RawPeer] = []  # every peer not yet closed, so `run` can close them

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str) -> None:
        self.reader = reader
        self.writer = writer
        self.name = name
        self.frames = FrameBuffer()
        self.inbox: list[tuple[str, bytes | None]] = []
        self.eof = False
        host, port = writer.get_extra_info("sockname")[:2]
        self.remote = f"{host}:{port}"  # how the node names this peer

    @classmethod
    async def connect(cls, port: int, name: str = "raw") -> RawPeer:
        reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 24)
        peer = cls(reader, writer, name)
        cls.opened.append(peer)
        return peer

    # -- sending
    def send_bytes(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def send_frame(self, command: str, payload: bytes) -> None:
        self.send_bytes(encode_frame(command, payload))

    def send(self, msg: m.Message) -> None:
        self.send_frame(msg.msgtype, msg.serialize())

    async def drain(self, timeout: float = 5.0) -> None:
        try:
            await asyncio.wait_for(self.writer.drain(), timeout)
        except TimeoutError:
            raise
        except (ConnectionError, OSError):
            pass  # the node closed the socket: reading tells the story

    # -- receiving
    async def _fill(self, timeout: float) -> bool:
        """Read once more off the socket; False on EOF."""
        if self.eof:
            return False
        try:
            data = await asyncio.wait_for(self.reader.read(1 << 20), timeout)
        except TimeoutError:  # a subclass of OSError since 3.11: let the caller see it
            raise
        except (ConnectionError, OSError):
            data = b""
        if not data:
            self.eof = True
            return False
        self.inbox += self.frames.feed(data)
        return True

    async def expect(self, pred: Callable[[str, m.Message | None], bool], timeout: float) -> m.Message | None:
        """The first frame satisfying pred(command, msg) within `timeout` seconds; None if the socket closed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            while self.inbox:
                command, payload = self.inbox.pop(0)
                msg = m.decode_message(command, payload) if payload is not None else None
                if pred(command, msg):
                    return msg
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"{self.name}: nothing matching within {timeout}s")
            try:
                if not await self._fill(left):
                    return None
            except TimeoutError:
                raise TimeoutError(f"{self.name}: nothing matching within {timeout}s") from None

    async def handshake(self, timeout: float = 2.0, height: int = 0) -> None:
        self.send(m.MsgVersion(PROTOCOL_VERSION, m.NODE_NETWORK, 0, next(_nonces), f"/{self.name}/", height))
        self.send(m.MsgVerack())
        got = await self.expect(lambda c, _m: c == "verack", timeout)
        assert got is not None, f"{self.name}: the node closed the connection during the handshake"

    async def ping(self, timeout: float = 1.0) -> bool:
        """Send a ping; True when its pong comes back within `timeout` seconds."""
        nonce = next(_nonces)
        self.send(m.MsgPing(nonce))
        try:
            got = await self.expect(lambda c, msg: c == "pong" and msg.nonce == nonce, timeout)
        except TimeoutError:
            return False
        return got is not None

    async def closed_by_node(self, timeout: float = 2.0) -> bool:
        """True when the node closes the socket within `timeout` seconds (frames before EOF are read)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                if not await self._fill(left):
                    return True
            except TimeoutError:
                return False

    async def stays_open(self, timeout: float = 0.2) -> bool:
        return not await self.closed_by_node(timeout)

    async def close(self) -> None:
        if self in RawPeer.opened:
            RawPeer.opened.remove(self)
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except (ConnectionError, OSError, TimeoutError):
            pass


# --- invariants after a run ---------------------------------------------------------------------------
def tips(lab: Any) -> dict[str, str]:
    return {n.name: n.state.chain.tip.header.short + f"@{n.state.chain.tip.height}" for n in lab.nodes.values()}


def converged_problems(lab: Any) -> list[str]:
    """docs/ARCHITECTURE.md "after a partition heals" 1, 2, 3, 4 and 6 over every online node."""
    problems: list[str] = []
    online = lab.online_nodes()
    best = max(n.state.chain.tip.chain_work for n in online)
    hashes = {n.state.chain.tip.hash for n in online}
    if len(hashes) != 1:
        problems.append(f"online nodes disagree on the tip: {tips(lab)}")
    for n in online:
        if n.state.chain.tip.chain_work != best:
            problems.append(f"{n.name} is not on the most-work tip")
        for p in check_node(n.state):
            problems.append(f"{n.name}: {p}")
    utxos = [dict(n.state.chain.utxo.items()) for n in online]
    if any(u != utxos[0] for u in utxos):
        problems.append("online nodes hold different UTXO sets")
    if online and utxos[0] != replay_utxo(online[0].state.chain):
        problems.append("the UTXO set differs from a replay of the chain")
    return problems


def internal_errors(lab: Any, *sessions: Any) -> list[str]:
    errs = [f"{n.name}: {e}" for n in lab.nodes.values() for e in n.internal_errors]
    for s in sessions:
        errs += list(s.internal_errors)
    errs += [sentence(e) for e in lab.log if e.kind == "internal-error"]
    return errs


def lost_transactions(lab: Any, accepted: set[bytes]) -> list[str]:
    """Accepted txs that are neither confirmed, nor in every mempool, nor provably dead."""
    online = lab.online_nodes()
    chain = lab.best_tip_node().state.chain
    pools = [n.state.mempool for n in online]
    spent_on_chain: dict[OutPoint, bytes] = {}
    for idx in chain.active[1:]:
        for tx in chain.blocks[idx.hash].txs[1:]:
            for txin in tx.inputs:
                spent_on_chain[txin.prevout] = tx.txid
    memo: dict[bytes, bool] = {}

    def confirmed(txid: bytes) -> bool:
        return txid in chain.tx_index

    def dead(txid: bytes) -> bool:
        """The winning chain (with the mempools) makes this tx impossible."""
        if txid in memo:
            return memo[txid]
        memo[txid] = False  # no cycles in a tx graph, but be safe
        tx = lab.txs[txid]
        verdict = False
        for txin in tx.inputs:
            op = txin.prevout
            spender = spent_on_chain.get(op) or next((p.spent_by[op] for p in pools if op in p.spent_by), None)
            if spender is not None and spender != txid:
                verdict = True  # conflicts with the chain or a surviving mempool tx
            elif not confirmed(op.txid) and op.txid not in pools[0]:
                parent = lab.txs.get(op.txid)
                if parent is None or parent.is_coinbase() or dead(op.txid):
                    verdict = True  # spends an orphaned coinbase or a dead parent
            elif confirmed(op.txid) and lab.txs[op.txid].is_coinbase():
                height = chain.tx_block(op.txid).height
                if chain.height + 1 - height < chain.consensus.coinbase_maturity:
                    verdict = True  # a reorg made its coinbase immature again
        memo[txid] = verdict
        return verdict

    lost = []
    for txid in sorted(accepted):
        if confirmed(txid) or all(txid in p for p in pools):
            continue
        if any(txid in p for p in pools):
            lost.append(f"{lab.txs[txid].txid_hex[:12]} is in some mempools but not all")
        elif not dead(txid):
            lost.append(f"{lab.txs[txid].txid_hex[:12]} was accepted and is now nowhere (lost)")
    return lost
