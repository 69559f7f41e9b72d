"""Family 4: the invalid transaction and block catalogue, sent over the network.

The story: nodes A, B and C run a small chain; C has mature coins. An
outsider who knows the chain (it signs with C's key, the way a student's
half-written node would) connects to A's real port and sends one broken
block, header or transaction per case. For every case:

- A rejects it with its reason code (Bitcoin Core's string);
- the outsider is disconnected and discouraged exactly when Bitcoin Core
  would punish it, and otherwise stays connected and gets a `reject`
  naming the code (the lab's teaching aid);
- every honest node's tip and mempool are what they were before.

Then the same for blocks a lab node forges with the `forge` command: every
honest peer checks the block on its own, rejects it and (unless the rule is
one Bitcoin forgives) disconnects the forger.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from labtest import lab_session, run_ok
from robustkit import RawPeer, internal_errors, run

from lab.chain import pow
from lab.chain.block import Block, BlockHeader
from lab.chain.crypto import CURVE_ORDER, PrivateKey, der_decode, der_encode, sha256d
from lab.chain.merkle import merkle_root
from lab.chain.miner import failing_pow, make_template, mine
from lab.chain.node_state import FORGE_RULES
from lab.chain.script import p2pkh_script_sig, script_sig_parts
from lab.chain.tx import NULL_OUTPOINT, OutPoint, Tx, TxIn, TxOut, make_coinbase
from lab.chain.wallet import script_sig_for, sign_inputs
from lab.commands.session import Session
from lab.lab import Lab
from lab.net import messages as m
from lab.params import COIN, MAX_MONEY

DIFFICULTY = 6


# --- building broken things from C's view of the chain ----------------------------------------------
class Forger:
    """Makes blocks and transactions on the lab's chain, signed with C's key, sent by an outsider."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.state = lab.nodes["C"].state
        self.key: PrivateKey = self.state.key
        self.chain = self.state.chain

    # coins
    def coin(self, height: int) -> tuple[OutPoint, TxOut]:
        cb = self.chain.blocks[self.chain.active[height].hash].txs[0]
        return OutPoint(cb.txid, 0), cb.outputs[0]

    def signed(self, spends: list[tuple[OutPoint, TxOut]], outputs: list[TxOut], *, key: PrivateKey | None = None,
               locktime: int = 0, sequence: int = 0xFFFF_FFFF) -> Tx:
        key = key or self.key
        unsigned = Tx(tuple(TxIn(op, sequence=sequence) for op, _ in spends), tuple(outputs), locktime=locktime)
        return unsigned.with_inputs(sign_inputs(key, unsigned, [out for _, out in spends]))

    def pay(self, height: int = 2, value: int = 10 * COIN, fee: int = 10_000) -> Tx:
        op, out = self.coin(height)
        outs = [TxOut.to_pkh(value, b"\x42" * 20)]
        if out.value - value - fee:
            outs.append(TxOut.to_pkh(out.value - value - fee, self.key.pkh))
        return self.signed([(op, out)], outs)

    # blocks
    def block(self, txs: tuple[Tx, ...] = (), parent: bytes | None = None, time: int | None = None) -> Block:
        pidx = self.chain.tip if parent is None else self.chain.index[parent]
        return mine(make_template(self.chain, pidx, self.key.pkh, txs, 0, time))

    @staticmethod
    def remine(block: Block, *, txs: tuple[Tx, ...] | None = None, fix_merkle: bool = False, **fields) -> Block:
        h = block.header
        txs = block.txs if txs is None else txs
        f = {"version": h.version, "prev_hash": h.prev_hash, "merkle_root": h.merkle_root, "time": h.time, "bits": h.bits}
        if fix_merkle:
            f["merkle_root"] = merkle_root([t.txid for t in txs])[0]
        f.update(fields)
        for nonce in range(1 << 22):
            header = BlockHeader(nonce=nonce, **f)
            if pow.check_proof_of_work(header.hash, header.bits):
                return Block(header, txs)
        raise RuntimeError("no nonce")

    failing_pow = staticmethod(failing_pow)

    def height(self) -> int:
        return self.chain.height


def high_s(txin: TxIn) -> TxIn:
    """The same input with S replaced by n - S: valid in a block, refused by relay policy."""
    parts = script_sig_parts(txin.script_sig)
    assert parts is not None
    sig, pubkey = parts
    rs = der_decode(sig[:-1])
    assert rs is not None
    return TxIn(txin.prevout, p2pkh_script_sig(der_encode(rs[0], CURVE_ORDER - rs[1]) + sig[-1:], pubkey), txin.sequence)


EVAL_FALSE = "mandatory-script-verify-flag-failed (Script evaluated without error but finished with a false/empty top stack element)"
WRONG_KEY = "mandatory-script-verify-flag-failed (Script failed an OP_EQUALVERIFY operation)"
HIGH_S = "non-mandatory-script-verify-flag (Non-canonical signature: S value is unnecessarily high)"


@dataclass
class Case:
    code: str  # the reason code A must give
    punish: bool  # does Bitcoin Core punish the sender?
    build: Callable[[Forger], list[m.Message]]  # the messages the outsider sends, last one is the offence
    kind: str = "tx"  # "tx" | "block" | "headers"


def tx(f: Callable[[Forger], Tx]) -> Callable[[Forger], list[m.Message]]:
    return lambda fg: [m.MsgTx(f(fg))]


def blk(f: Callable[[Forger], Block]) -> Callable[[Forger], list[m.Message]]:
    return lambda fg: [m.MsgBlock(f(fg))]


def _bip30(fg: Forger) -> Block:
    confirmed = fg.chain.blocks[fg.chain.tip.hash].txs[1]  # the payment the setup confirmed
    return fg.block((confirmed,))


def _duplicate_txs(fg: Forger) -> Block:
    t1, t2 = fg.pay(2), fg.pay(3)
    b = fg.block((t1, t2))
    return Block(b.header, (*b.txs, b.txs[-1]))  # [cb, t1, t2, t2]: the same merkle root


def _nonfinal_in_block(fg: Forger) -> Block:
    op, out = fg.coin(2)
    late = fg.signed([(op, out)], [TxOut.to_pkh(out.value - 10_000, fg.key.pkh)], locktime=fg.height() + 10, sequence=0)
    return fg.block((late,))


def _bad_sig_tx(fg: Forger) -> Tx:
    good = fg.pay()
    i = good.inputs[0]
    return good.with_inputs((TxIn(i.prevout, script_sig_for(fg.key, sha256d(b"something else"))),))


def _high_s_tx(fg: Forger) -> Tx:
    good = fg.pay()
    return good.with_inputs((high_s(good.inputs[0]),))


def _spent_tx(fg: Forger) -> Tx:
    confirmed = fg.chain.blocks[fg.chain.tip.hash].txs[1]
    op = confirmed.inputs[0].prevout  # spent by the confirmed payment
    return fg.signed([(op, fg.chain.blocks[fg.chain.active[1].hash].txs[0].outputs[0])],
                     [TxOut.to_pkh(COIN, fg.key.pkh)])


def big_tx(fg: Forger, inputs: int) -> Tx:
    """`inputs` inputs with the largest signature field a tx may carry (10,000 bytes each)."""
    ins = tuple(TxIn(OutPoint(sha256d(bytes([i])), 0), b"\x30" * 10_000) for i in range(inputs))
    return Tx(ins, (TxOut.to_pkh(COIN, fg.key.pkh),))


def _orphan_block(fg: Forger) -> Block:
    return fg.remine(fg.block(), prev_hash=b"\x42" * 32)


def _conflict(fg: Forger) -> list[m.Message]:
    # the first spend is accepted (and relayed); the second, spending the same coin, conflicts
    return [m.MsgTx(fg.pay(3, value=10 * COIN)), m.MsgTx(fg.pay(3, value=20 * COIN))]


CASES: dict[str, Case] = {
    # blocks: consensus failures are punished ...
    "high-hash": Case("high-hash", True, blk(lambda f: f.failing_pow(f.block())), "block"),
    "bad-txnmrklroot": Case("bad-txnmrklroot", True, blk(lambda f: f.remine(
        f.block(), txs=(make_coinbase(f.height() + 1, 1, f.key.pkh, b"other"),))), "block"),
    "bad-txns-duplicate": Case("bad-txns-duplicate", True, blk(_duplicate_txs), "block"),
    "bad-blk-length": Case("bad-blk-length", True, blk(lambda f: f.remine(f.block(), txs=(), fix_merkle=True)), "block"),
    "bad-cb-missing": Case("bad-cb-missing", True, blk(lambda f: f.remine(f.block(), txs=(f.pay(),), fix_merkle=True)), "block"),
    "bad-cb-multiple": Case("bad-cb-multiple", True, blk(lambda f: f.remine(
        f.block(), txs=(f.block().txs[0], make_coinbase(99, 1, f.key.pkh)), fix_merkle=True)), "block"),
    "bad-cb-length": Case("bad-cb-length", True, blk(lambda f: f.remine(
        f.block(), txs=(Tx((TxIn(NULL_OUTPOINT, b"\x05"),), (TxOut.to_pkh(1, f.key.pkh),)),), fix_merkle=True)), "block"),
    "bad-cb-height": Case("bad-cb-height", True, blk(lambda f: f.remine(
        f.block(), txs=(make_coinbase(f.height() + 7, 1, f.key.pkh),), fix_merkle=True)), "block"),
    "bad-txns-nonfinal": Case("bad-txns-nonfinal", True, blk(_nonfinal_in_block), "block"),
    "bad-cb-amount": Case("bad-cb-amount", True, blk(lambda f: f.state.forge_block("overpay")), "block"),
    "bad-txns-BIP30": Case("bad-txns-BIP30", True, blk(_bip30), "block"),
    "block-double-spend": Case("bad-txns-inputs-missingorspent", True,
                               blk(lambda f: f.state.forge_block("double-spend")), "block"),
    "block-premature-coinbase": Case("bad-txns-premature-spend-of-coinbase", True, blk(lambda f: f.block(
        (f.signed([f.coin(f.height())], [TxOut.to_pkh(f.coin(f.height())[1].value, f.key.pkh)]),))), "block"),
    "block-bad-signature": Case(EVAL_FALSE, True,
                                blk(lambda f: f.state.forge_block("bad-signature")), "block"),
    "time-too-old": Case("time-too-old", True, blk(lambda f: f.block(time=f.chain.tip.median_time_past())), "block"),
    "bad-diffbits": Case("bad-diffbits", True, blk(lambda f: f.remine(f.block(), bits=pow.bits_for_zero_bits(DIFFICULTY - 2))),
                         "block"),
    "bad-prevblk": Case("bad-prevblk", True, lambda f: [m.MsgBlock(bad := f.state.forge_block("overpay")),
                                                        m.MsgBlock(f.remine(f.block(), prev_hash=bad.hash))], "block"),
    "duplicate-invalid": Case("duplicate-invalid", True, lambda f: [m.MsgBlock(bad := f.state.forge_block("overpay")),
                                                                    m.MsgBlock(bad)], "block"),
    # ... a block from the future is not: the sender's clock may just differ
    "time-too-new": Case("time-too-new", False, blk(lambda f: f.state.forge_block("future-time")), "block"),
    "orphan-block": Case("", False, blk(_orphan_block), "block"),
    # headers
    "header-high-hash": Case("high-hash", True, lambda f: [m.MsgHeaders((f.failing_pow(f.block()).header,))], "headers"),
    "non-continuous-headers": Case("non-continuous-headers", True, lambda f: [m.MsgHeaders(
        (f.block().header, f.remine(f.block(), prev_hash=b"\x07" * 32).header))], "headers"),
    "prev-blk-not-found": Case("", False, lambda f: [m.MsgHeaders((f.remine(f.block(), prev_hash=b"\x42" * 32).header,))],
                               "headers"),
    # transactions: consensus failures are punished ...
    "bad-txns-vin-empty": Case("bad-txns-vin-empty", True, tx(lambda f: Tx((), (TxOut.to_pkh(COIN, f.key.pkh),)))),
    "bad-txns-vout-empty": Case("bad-txns-vout-empty", True, tx(lambda f: Tx((TxIn(f.coin(2)[0]),), ()))),
    "bad-txns-vout-negative": Case("bad-txns-vout-negative", True,
                                   tx(lambda f: Tx((TxIn(f.coin(2)[0]),), (TxOut.to_pkh(-1, f.key.pkh),)))),
    "bad-txns-vout-toolarge": Case("bad-txns-vout-toolarge", True,
                                   tx(lambda f: Tx((TxIn(f.coin(2)[0]),), (TxOut.to_pkh(MAX_MONEY + 1, f.key.pkh),)))),
    "bad-txns-txouttotal-toolarge": Case("bad-txns-txouttotal-toolarge", True, tx(lambda f: Tx(
        (TxIn(f.coin(2)[0]),), (TxOut.to_pkh(MAX_MONEY, f.key.pkh), TxOut.to_pkh(MAX_MONEY, f.key.pkh))))),
    "bad-txns-inputs-duplicate": Case("bad-txns-inputs-duplicate", True, tx(lambda f: f.signed(
        [f.coin(2), f.coin(2)], [TxOut.to_pkh(COIN, f.key.pkh)]))),
    "bad-txns-prevout-null": Case("bad-txns-prevout-null", True, tx(lambda f: Tx(
        (TxIn(f.coin(2)[0]), TxIn(NULL_OUTPOINT)), (TxOut.to_pkh(COIN, f.key.pkh),)))),
    "bad-txns-oversize": Case("bad-txns-oversize", True, tx(lambda f: big_tx(f, 101))),
    "coinbase": Case("coinbase", True, tx(lambda f: make_coinbase(f.height() + 1, COIN, f.key.pkh))),
    "bad-txns-in-belowout": Case("bad-txns-in-belowout", True, tx(lambda f: f.signed(
        [f.coin(2)], [TxOut.to_pkh(f.coin(2)[1].value + 1, f.key.pkh)]))),
    "bad-txns-wrong-key": Case(WRONG_KEY, True, tx(lambda f: f.signed(
        [f.coin(2)], [TxOut.to_pkh(f.coin(2)[1].value - 10_000, f.key.pkh)], key=PrivateKey.derive(99, "mallory")))),
    "bad-txns-invalid-signature": Case(EVAL_FALSE, True, tx(_bad_sig_tx)),
    # ... policy, and what the sender may not know yet, is not
    "bad-txns-inputs-missingorspent": Case("bad-txns-inputs-missingorspent", False, tx(_spent_tx)),
    "bad-txns-premature-spend-of-coinbase": Case("bad-txns-premature-spend-of-coinbase", False, tx(
        lambda f: f.signed([f.coin(f.height())], [TxOut.to_pkh(f.coin(f.height())[1].value - 10_000, f.key.pkh)]))),
    "tx-size": Case("tx-size", False, tx(lambda f: big_tx(f, 11))),
    "dust": Case("dust", False, tx(lambda f: f.pay(value=545))),
    "non-final": Case("non-final", False, tx(lambda f: f.signed(
        [f.coin(2)], [TxOut.to_pkh(f.coin(2)[1].value - 10_000, f.key.pkh)], locktime=f.height() + 5, sequence=0))),
    "min relay fee not met": Case("min relay fee not met", False, tx(lambda f: f.pay(fee=0))),
    "sig-high-s": Case(HIGH_S, False, tx(_high_s_tx)),
    "txn-mempool-conflict": Case("txn-mempool-conflict", False, _conflict),
    # a duplicate is not even a rejection: nothing happens
    "txn-already-in-mempool": Case("", False, lambda f: [m.MsgTx(t := f.pay(3)), m.MsgTx(t)]),
    "txn-already-known": Case("", False, tx(lambda f: f.chain.blocks[f.chain.tip.hash].txs[1])),
    "orphan-tx": Case("", False, tx(lambda f: f.signed([(OutPoint(b"\x55" * 32, 0), TxOut.to_pkh(COIN, f.key.pkh))],
                                                      [TxOut.to_pkh(COIN - 10_000, f.key.pkh)]))),
}


def snapshot(lab: Lab) -> dict[str, tuple[bytes, frozenset[bytes]]]:
    return {n.name: (n.state.chain.tip.hash, frozenset(n.state.mempool.entries)) for n in lab.nodes.values()}


@asynccontextmanager
async def funded_lab() -> AsyncIterator[tuple[Lab, Session]]:
    """A, B, C; C owns mature coins and one confirmed payment sits on the tip."""
    async with lab_session(nodes=3, difficulty=DIFFICULTY, latency_ms=5) as (lab, s):
        await run_ok(s, "mine C 5; send C B 1; mine C; check same-tip")
        yield lab, s


@pytest.mark.parametrize("name", list(CASES))
def test_a_broken_block_or_tx_from_an_outsider(name):
    case = CASES[name]

    async def story():
        async with funded_lab() as (lab, _):
            node = lab.nodes["A"]
            fg = Forger(lab)
            msgs = case.build(fg)
            before = snapshot(lab)
            mark = len(lab.log)
            senders = []
            if case.punish and len(msgs) > 1:
                # The block it builds on is punished first, from another connection.
                first = await RawPeer.connect(node.port, name + "-prelude")
                await first.handshake(height=fg.height())
                first.send(msgs.pop(0))
                assert await first.closed_by_node(3.0)
                senders.append(first.remote)
                # Its host is now discouraged (refused on accept); the test's next outsider is
                # another machine in real life, here the same 127.0.0.1: lift the host for it.
                node.discouraged.discard(first.remote)
            outsider = await RawPeer.connect(node.port, name)
            senders.append(outsider.remote)
            await outsider.handshake(height=fg.height())
            expected_accept = 1 if name in ("txn-mempool-conflict", "txn-already-in-mempool") else 0  # first tx valid
            for msg in msgs:
                outsider.send(msg)
            await outsider.drain()

            if case.punish:
                assert await outsider.closed_by_node(3.0), f"{name}: the sender was not disconnected"
                assert outsider.remote in node.discouraged
            else:
                if case.code:  # the teaching aid: a `reject` naming the reason code
                    got = await outsider.expect(lambda c, msg: c == "reject", 3.0)
                    assert got is not None and got.reason == case.code, f"{name}: reject said {got}"
                elif case.kind != "tx":  # an unconnected block or header: A asks for headers instead
                    assert await outsider.expect(lambda c, _m: c == "getheaders", 3.0) is not None
                assert await outsider.ping(3.0), f"{name}: the sender was dropped"  # handled in order
                assert outsider.remote in node.peers and outsider.remote not in node.discouraged
            await lab.settle()

            rejected = [e for e in lab.log[mark:] if e.kind in ("tx-rejected", "block-rejected") and e.node == "A"]
            codes = {e.data.get("code") for e in rejected}
            if case.code:
                assert case.code in codes, f"{name}: A gave {codes or 'no rejection'}"
            else:
                assert not codes, f"{name}: a forgivable message was rejected: {codes}"
            assert not [e for e in lab.log[mark:] if e.kind == "peer-punished" and e.data.get("peer") not in senders]

            after = snapshot(lab)
            if expected_accept:
                # the one valid tx reached every mempool; nothing else changed
                assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}
                assert all(len(after[k][1] - before[k][1]) == 1 for k in after)
            else:
                assert after == before, f"{name}: an honest node's tip or mempool changed"
            assert internal_errors(lab) == []

    run(story())


def test_a_non_punished_rejection_comes_back_as_a_reject_naming_the_code():
    async def story():
        async with funded_lab() as (lab, _):
            fg = Forger(lab)
            outsider = await RawPeer.connect(lab.nodes["A"].port, "learner")
            await outsider.handshake(height=fg.height())
            outsider.send(m.MsgTx(fg.pay(value=545)))
            got = await outsider.expect(lambda c, _m: c == "reject", 2.0)
            assert got is not None and got.reason == "dust" and got.message == "tx"

    run(story())


@pytest.mark.parametrize("rule", FORGE_RULES)
def test_a_lab_node_forges_a_block_and_honest_peers_reject_it(rule):
    """`forge C RULE`: B and D check the block themselves; C is cut off unless the rule is forgivable."""
    async def story():
        async with lab_session(nodes=4, difficulty=DIFFICULTY, latency_ms=5) as (lab, s):
            for line in ("mine C 5", "send C A 1", "mine A"):
                await run_ok(s, line)
            before = snapshot(lab)
            mark = len(lab.log)
            await run_ok(s, f"forge C {rule} as bad")
            bad = lab.labels["bad"].hash
            honest = [n for n in lab.nodes.values() if n.name != "C"]
            punished = rule != "future-time"
            for n in honest:
                assert n.state.chain.tip.hash == before[n.name][0]
                assert frozenset(n.state.mempool.entries) == before[n.name][1]
                assert (n.name, bad) in {(x, h) for x, h, _ in lab.rejections}, f"{n.name} did not reject it"
                assert ("C" in n.discouraged) is punished
                assert ("C" in n.peers) is not punished
            codes = {e.data.get("code") for e in lab.log[mark:] if e.kind == "block-rejected"}
            assert len(codes) == 1, codes
            assert internal_errors(lab, s) == []
            # The forger's honest peers keep working among themselves.
            await run_ok(s, "mine A; check same-tip A,B,D")

    run(story())
