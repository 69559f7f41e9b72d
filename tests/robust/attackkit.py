"""Tools of the attack suite (issue 12): a watch on the lab's health, and crafted attack material.

- `Watch` is an honest outsider connected to *another* node than the one
  attacked. While the attack runs it pings every 20 ms and records how long
  each pong took, and samples the process's memory. `problems()` states what
  the issue requires as sentences: every ping answered within 1 s, p99 under
  250 ms, the process under 400 MB. The latency limits are counted on top
  of a baseline measured just before the attack, so a machine busy with
  other work does not fail a lab that is not frozen.
- The crafting helpers build blocks and transactions through the lab's own
  builders (BlockTemplate/Miner, make_template, Tx). EVERY line that depends
  on the transaction format (inputs, signatures, scripts) is in this module,
  so a change of format (issue 11) is adapted in one place.
- `new_lab`, `finish` and friends tell the story around every attack: a lab
  whose node A can pay, then after the attack the learner's payment, no
  internal error, no traceback; `record` writes figures for the README.
- Attack material is built BEFORE the watch starts: the attacker shares this
  process, and its own hashing must not be counted as the lab's slowness.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from labtest import lab_session, run_ok
from robustkit import HOST, RawPeer, internal_errors, wait_for_condition

from lab.chain.amount import COIN
from lab.chain.block import GENESIS, Block
from lab.chain.crypto import PrivateKey, sha256d
from lab.chain.miner import BlockTemplate, Miner, make_template
from lab.chain.pow import bits_for_zero_bits
from lab.chain.tx import OutPoint, Tx, TxIn, TxOut, make_coinbase
from lab.chain.wallet import script_sig_for, sign_inputs
from lab.commands.session import Session
from lab.lab import Lab
from lab.net import messages as m
from lab.net.wire import FrameBuffer, encode_frame
from lab.params import PROTOCOL_VERSION

PING_EVERY = 0.02  # seconds between the honest outsider's pings
PING_LIMIT = 1.0  # every ping answered within this (issue 12)
P99_LIMIT = 0.25  # and 99 % of them within this
RSS_LIMIT_MB = 400  # the lab process stays under this
BASELINE_PINGS = 15  # pings measured before the attack starts

ATTACKER = PrivateKey.derive(7, "attacker")  # an outsider's own key: coins it mined itself
_tags = itertools.count(1)


def rss_mb() -> float:
    """Resident memory of this process, in MB (Linux /proc)."""
    try:
        with open(f"/proc/{os.getpid()}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Watch:
    """An honest outsider pinging node `port` every 20 ms, and the process's memory, while an attack runs.

    It runs in its own thread on a blocking socket, as a separate program
    would: if the lab's event loop is held, its pings wait in the socket and
    their round trip shows it (a pinger on the same loop would not notice).
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.rtts: list[float] = []
        self.baseline: list[float] = []
        self.rss: list[float] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="honest-watch", daemon=True)

    async def __aenter__(self) -> Watch:
        self._thread.start()
        await wait_for_condition(lambda: self._ready.is_set() or self._error is not None, 5.0,
                                 "the honest outsider's handshake")
        if self._error is not None:
            raise self._error
        # A baseline before the attack: on a machine shared with other work, pings are slower for
        # reasons that are not the attack's; the limits are then what the attack adds to it.
        await wait_for_condition(lambda: len(self.rtts) >= BASELINE_PINGS or self._error is not None, 10.0,
                                 "the baseline pings")
        self.baseline, self.rtts = self.rtts[:], []
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await wait_for_condition(lambda: len(self.rtts) >= 3 or not self._thread.is_alive(), 5.0, "three pings")
        self._stop.set()
        await wait_for_condition(lambda: not self._thread.is_alive(), 10.0, "the honest outsider to finish")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            self._ping_loop()
        except BaseException as e:  # reported by __aenter__/__aexit__ on the loop's side
            self._error = e

    def _ping_loop(self) -> None:
        sock = socket.create_connection((HOST, self.port), timeout=5)
        sock.settimeout(0.01)
        frames = FrameBuffer()
        version = m.MsgVersion(PROTOCOL_VERSION, m.NODE_NETWORK, 0, 0x5EED_7777, "/honest-watch/", 0)
        sock.sendall(encode_frame("version", version.serialize()) + encode_frame("verack", b""))
        pending: dict[int, float] = {}
        nonces = itertools.count(1)
        next_ping = next_rss = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                if self._stop.is_set() and (not pending or now - max(pending.values()) > PING_LIMIT * 3):
                    break
                if self._ready.is_set() and not self._stop.is_set() and now >= next_ping:
                    nonce = next(nonces)
                    pending[nonce] = now
                    sock.sendall(encode_frame("ping", m.MsgPing(nonce).serialize()))
                    next_ping = now + PING_EVERY
                if now >= next_rss:
                    self.rss.append(rss_mb())
                    next_rss = now + 0.1
                try:
                    data = sock.recv(1 << 20)
                except TimeoutError:
                    continue
                if not data:
                    raise ConnectionError("the node closed the honest outsider's connection")
                for command, payload in frames.feed(data):
                    if command == "verack":
                        self._ready.set()
                    elif command == "pong" and payload is not None:
                        pong = m.decode_message(command, payload)
                        sent = pending.pop(pong.nonce, None) if isinstance(pong, m.MsgPong) else None
                        if sent is not None:
                            self.rtts.append(time.monotonic() - sent)
            self.rtts.extend(float("inf") for _ in pending)  # never answered
        finally:
            sock.close()

    @staticmethod
    def _p99(rtts: list[float]) -> float:
        s = sorted(rtts)
        return s[min(len(s) - 1, int(len(s) * 0.99))] if s else 0.0

    def p99(self) -> float:
        return self._p99(self.rtts)

    def summary(self) -> str:
        worst = max(self.rtts, default=0.0)
        return (f"{len(self.rtts)} pings, p99 {self.p99() * 1e3:.0f} ms, worst {worst * 1e3:.0f} ms "
                f"(before the attack: p99 {self._p99(self.baseline) * 1e3:.0f} ms), "
                f"peak memory {max(self.rss, default=0):.0f} MB")

    def problems(self) -> list[str]:
        """What the issue requires, as sentences; latency limits are over the pre-attack baseline."""
        out = []
        base = self._p99(self.baseline)
        if len(self.rtts) < 3:
            out.append(f"only {len(self.rtts)} pings were answered during the attack")
        late = [r for r in self.rtts if r > PING_LIMIT + base]
        if late:
            out.append(f"{len(late)} of {len(self.rtts)} honest pings took over {PING_LIMIT} s ({self.summary()})")
        if self.p99() > P99_LIMIT + base:
            out.append(f"honest ping p99 is {self.p99() * 1e3:.0f} ms, over {P99_LIMIT * 1e3:.0f} ms ({self.summary()})")
        if max(self.rss, default=0) > RSS_LIMIT_MB:
            out.append(f"the lab process reached {max(self.rss):.0f} MB, over {RSS_LIMIT_MB} MB")
        return out


# --- the story around every attack -------------------------------------------------------------------
DIFFICULTY = 8  # zero bits: cheap for the attacker and for the test; the mechanisms are the same at 16


@asynccontextmanager
async def new_lab(nodes: int = 3, difficulty: int = DIFFICULTY) -> AsyncIterator[tuple[Lab, Session]]:
    async with lab_session(nodes=nodes, difficulty=difficulty, latency_ms=5) as (lab, s):
        await run_ok(s, "mine A 4")  # A's first coinbase is mature: the learner can pay
        yield lab, s


async def honest_payment_survives(lab: Lab) -> None:
    """The learner pays B from A and mines: confirmed everywhere, or its eviction narrated."""
    tx = await lab.send("A", "B", COIN)
    await lab.mine("A", 1)
    await lab.settle()
    evicted = [r for r in lab.log if r.kind == "tx-evicted" and r.event.tx == tx.txid]
    confirmed = [n.name for n in lab.online_nodes() if n.state.chain.confirmations(tx.txid) >= 1]
    assert evicted or len(confirmed) == len(lab.online_nodes()), f"pay confirmed only on {confirmed}, not narrated as evicted"


def no_traceback(capfd) -> None:
    out = capfd.readouterr()
    assert "Traceback" not in out.out + out.err


def record(what: str) -> None:
    """Figures for README's Security section: `ATTACK_FIGURES=file pytest ...` appends them there."""
    path = os.environ.get("ATTACK_FIGURES")
    if path:
        with open(path, "a") as f:
            f.write(f"{os.environ.get('PYTEST_CURRENT_TEST', '?').split(' ')[0]}: {what}\n")


async def finish(lab: Lab, watch: Watch) -> None:
    record(f"honest outsider during the attack: {watch.summary()}")
    assert watch.problems() == []
    await honest_payment_survives(lab)
    assert internal_errors(lab) == []


# --- an outsider that keeps coming back ------------------------------------------------------------
async def connect_and_handshake(port: int, name: str) -> RawPeer | None:
    """A fresh connection with its handshake done, or None when the node refuses it."""
    try:
        p = await RawPeer.connect(port, name)
        await p.handshake(timeout=2.0)
    except (OSError, AssertionError, TimeoutError):
        return None
    return p


async def send_each(port: int, msgs: list[m.Message], name: str, *, pong_timeout: float = 5.0) -> dict[str, int]:
    """Send every message, reconnecting (from a new port) whenever the node drops us.

    Returns counts: sent, reconnects, refused (connections the node would not take).
    """
    counts = {"sent": 0, "reconnects": 0, "refused": 0}
    peer: RawPeer | None = None
    for msg in msgs:
        if peer is None or peer.eof:
            if peer is not None:
                await peer.close()
                counts["reconnects"] += 1
            peer = await connect_and_handshake(port, name)
            if peer is None:
                counts["refused"] += 1
                continue
        peer.send(msg)
        await peer.drain()
        counts["sent"] += 1
        await peer.ping(pong_timeout)  # the node handled it (or dropped us) before we send more
    if peer is not None:
        await peer.close()
    return counts


# --- blocks ------------------------------------------------------------------------------------------
def solve(t: BlockTemplate) -> Block:
    miner = Miner(t, tag=b"attack")
    while True:
        block = miner.search(50_000)
        if block is not None:
            return block


def junk_tx(size: int, tag: int) -> Tx:
    """A context-free valid tx of about `size` bytes made of tiny inputs spending outputs that do not exist.

    Tiny inputs are the most Python objects per byte: the worst memory case per byte stored.
    """
    n = max(1, (size - 60) // 41)  # 36-byte outpoint, an empty scriptSig, sequence = 41 bytes an input
    seed = tag.to_bytes(8, "little")
    inputs = tuple(TxIn(OutPoint(sha256d(seed + i.to_bytes(4, "little")), 0)) for i in range(n))
    return Tx(inputs, (TxOut.to_pkh(1_000, b"\x44" * 20),))


def block_on(parent_hash: bytes, height: int, time: int, bits: int, txs: tuple[Tx, ...] = (),
             pkh: bytes = ATTACKER.pkh) -> Block:
    """A block with valid proof of work for `bits` on any parent, its coinbase at `height` (BIP 34)."""
    t = BlockTemplate(version=4, prev_hash=parent_hash, time=time, bits=bits, height=height, txs=txs,
                      fees=0, subsidy=50 * 10**8, pkh=pkh)
    return solve(t)


def orphan_blocks(n: int, size: int, zero_bits: int, time: int) -> list[Block]:
    """n blocks of ~size bytes on parents nobody has, claiming `zero_bits` of difficulty."""
    filler = (junk_tx(size, next(_tags)),) if size > 1_000 else ()
    return [block_on(sha256d(b"no such parent" + i.to_bytes(4, "little")), 5, time + i,
                     bits_for_zero_bits(zero_bits), filler) for i in range(n)]


def side_blocks_on_genesis(n: int, size: int, zero_bits: int) -> list[Block]:
    """n different blocks of ~size bytes at height 1 on genesis: a side branch for any lab past height 1."""
    filler = (junk_tx(size, next(_tags)),) if size > 1_000 else ()
    return [block_on(GENESIS.hash, 1, GENESIS.header.time + 600 + i, bits_for_zero_bits(zero_bits), filler)
            for i in range(n)]


async def mine_coins_into(node: Any, port: int, n: int) -> list[Block]:
    """The attacker mines n blocks on `node`'s tip paying itself and sends them over its own socket."""
    peer = await connect_and_handshake(port, "attacker-miner")
    assert peer is not None
    blocks = []
    for _ in range(n):
        chain = node.state.chain  # what getheaders would tell the attacker
        block = solve(make_template(chain, chain.tip, ATTACKER.pkh))
        peer.send(m.MsgBlock(block))
        await peer.drain()
        await wait_for_condition(lambda b=block: node.state.chain.tip.hash == b.hash, 5.0,
                                 "the attacker's block to become the tip")
        blocks.append(block)
    await peer.close()
    return blocks


# --- transactions (format-dependent) --------------------------------------------------------------------
def coinbase_coin(block: Block) -> tuple[OutPoint, TxOut]:
    cb = block.txs[0]
    return OutPoint(cb.txid, 0), cb.outputs[0]


def sign(key: PrivateKey, spends: list[tuple[OutPoint, TxOut]], outputs: list[TxOut],
         *, bad_last: bool = False) -> Tx:
    """A tx spending `spends` (outpoint, spent output), every input signed by `key` with the
    wallet's own P2PKH signer (with `bad_last`, the last signature signs the wrong message)."""
    unsigned = Tx(tuple(TxIn(op) for op, _ in spends), tuple(outputs))
    inputs = list(sign_inputs(key, unsigned, [out for _, out in spends]))
    if bad_last:
        last = inputs[-1]
        inputs[-1] = TxIn(last.prevout, script_sig_for(key, sha256d(b"not this transaction")), last.sequence)
    return unsigned.with_inputs(tuple(inputs))


def tx_chain(coin: tuple[OutPoint, TxOut], n: int, fee: int) -> list[Tx]:
    """n txs each spending the one before, from the attacker's `coin`, each paying `fee`."""
    op, out = coin
    txs = []
    for _ in range(n):
        tx = sign(ATTACKER, [(op, out)], [TxOut.to_pkh(out.value - fee, ATTACKER.pkh)])
        txs.append(tx)
        op, out = OutPoint(tx.txid, 0), tx.outputs[0]
    return txs


def coins_of(tx: Tx) -> list[tuple[OutPoint, TxOut]]:
    """Every output of `tx` as a coin to spend."""
    return [(OutPoint(tx.txid, i), o) for i, o in enumerate(tx.outputs)]


def split(coin: tuple[OutPoint, TxOut], n: int, fee: int = 100_000) -> Tx:
    """One tx turning the attacker's coin into n outputs of its own."""
    op, out = coin
    each = (out.value - fee) // n
    return sign(ATTACKER, [(op, out)], [TxOut.to_pkh(each, ATTACKER.pkh)] * n)


def spend_all(parent: Tx, *, bad_last: bool) -> Tx:
    """One tx spending every output of `parent` (CVE-2013-2292's shape: many inputs, all signed)."""
    spends = [(OutPoint(parent.txid, i), o) for i, o in enumerate(parent.outputs)]
    total = sum(o.value for o in parent.outputs)
    return sign(ATTACKER, spends, [TxOut.to_pkh(total - 1_000_000, ATTACKER.pkh)], bad_last=bad_last)


def fake_tx_invs(n: int, tag: int) -> m.MsgInv:
    return m.MsgInv(tuple(m.InvItem(m.MSG_TX, sha256d(b"fake tx %d %d" % (tag, i))) for i in range(n)))


def coinbase_only_block(chain: Any, parent: Any, txs: tuple[Tx, ...]) -> Block:
    """A block on `parent` holding `txs` (fees unclaimed: always valid if they are)."""
    return solve(make_template(chain, parent, ATTACKER.pkh, txs))


__all__ = [
    "ATTACKER", "DIFFICULTY", "Watch", "finish", "honest_payment_survives", "new_lab", "no_traceback", "record", "block_on", "coinbase_coin", "coins_of", "coinbase_only_block", "connect_and_handshake",
    "fake_tx_invs", "junk_tx", "make_coinbase", "mine_coins_into", "orphan_blocks", "rss_mb", "send_each",
    "side_blocks_on_genesis", "sign", "spend_all", "split", "tx_chain",
]
