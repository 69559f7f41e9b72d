"""The reason-code catalogue: every rule the lab enforces, broken once, by its own case.

Each scenario starts from node A with four blocks of its own (two coinbases
mature) and breaks exactly one rule; the test checks the reason code and
whether Bitcoin Core would punish the peer that sent it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from chainkit import raised

from lab.chain.block import Block
from lab.chain.crypto import CURVE_ORDER, der_decode, der_encode, sha256d
from lab.chain.miner import failing_pow
from lab.chain.script import (
    ERR_BAD_OPCODE,
    ERR_EQUALVERIFY,
    ERR_EVAL_FALSE,
    op_return_script,
    p2pkh_script_sig,
    push_data,
    script_sig_parts,
)
from lab.chain.tx import NULL_OUTPOINT, OutPoint, Tx, TxIn, TxOut, make_coinbase
from lab.chain.utxo import Coin
from lab.chain.validation import ERR_HIGH_S, POLICY_FAILED, REASONS, SCRIPT_FAILED, check_tx_inputs
from lab.chain.wallet import script_sig_for, sign_inputs
from lab.errors import ValidationError
from lab.params import COIN, MAX_MONEY


def mature(a, height: int = 1) -> tuple[OutPoint, TxOut]:
    """The coinbase output of A's block at `height`."""
    cb = a.chain.blocks[a.chain.active[height].hash].txs[0]
    return OutPoint(cb.txid, 0), cb.outputs[0]


def pay(w, a, value: int = 10 * COIN, fee: int = 10_000, height: int = 1, to: bytes | None = None) -> Tx:
    op, out = mature(a, height)
    outs = [TxOut.to_pkh(value, to or w.key("B").pkh)]
    if out.value - value - fee:
        outs.append(TxOut.to_pkh(out.value - value - fee, a.key.pkh))
    return w.signed_tx(a.key, [(op, out)], outs)


def high_s(txin: TxIn) -> TxIn:
    """The same input with its signature's S replaced by n - S: still valid, now malleated."""
    parts = script_sig_parts(txin.script_sig)
    assert parts is not None
    sig, pubkey = parts
    rs = der_decode(sig[:-1])
    assert rs is not None
    return TxIn(txin.prevout, p2pkh_script_sig(der_encode(rs[0], CURVE_ORDER - rs[1]) + sig[-1:], pubkey), txin.sequence)


EVAL_FALSE = SCRIPT_FAILED.format(ERR_EVAL_FALSE)
WRONG_KEY = SCRIPT_FAILED.format(ERR_EQUALVERIFY)
BAD_OPCODE = SCRIPT_FAILED.format(ERR_BAD_OPCODE)
HIGH_S = POLICY_FAILED.format(ERR_HIGH_S)
OP_TRUE = b"\x51"  # OP_1 alone: anyone can spend, and nodes do not relay it


def confirm_to_script(w, a, script: bytes) -> OutPoint:
    """A block (blocks may lock coins with any script) with a tx paying 1 coin to `script`."""
    op, out = mature(a, 1)
    unsigned = Tx((TxIn(op),), (TxOut(COIN, script), TxOut.to_pkh(out.value - COIN - 10_000, a.key.pkh)))
    tx = unsigned.with_inputs(sign_inputs(a.key, unsigned, [out]))
    assert a.process_block(w.block_on(a, txs=[tx])).status == "new-tip"
    return OutPoint(tx.txid, 0)


# --- scenarios: each raises the ValidationError under test -------------------------


def s_high_hash(w, a):
    raised(a.process_block(failing_pow(w.block_on(a))))


def s_bad_txnmrklroot(w, a):
    b = w.block_on(a)
    other = make_coinbase(a.chain.height + 1, 1, a.key.pkh, b"other")
    raised(a.process_block(w.with_txs(b, (other,), fix_merkle=False)))


def s_bad_txns_duplicate(w, a):
    a.accept_tx(pay(w, a, height=1))
    a.accept_tx(pay(w, a, height=2))
    b = a.mine_block()
    raised(a.process_block(Block(b.header, (*b.txs, b.txs[-1]))))  # [cb, t1, t2, t2]: same root


def s_bad_blk_length(w, a):
    raised(a.process_block(w.with_txs(w.block_on(a), ())))


def s_bad_cb_missing(w, a):
    raised(a.process_block(w.with_txs(w.block_on(a), (pay(w, a),))))


def s_bad_cb_multiple(w, a):
    b = w.block_on(a)
    raised(a.process_block(w.with_txs(b, (b.txs[0], make_coinbase(99, 1, a.key.pkh)))))


def s_bad_cb_length(w, a):
    cb = Tx((TxIn(NULL_OUTPOINT, b"\x05"),), (TxOut.to_pkh(1, a.key.pkh),))
    raised(a.process_block(w.with_txs(w.block_on(a), (cb,))))


def s_bad_cb_height(w, a):
    cb = make_coinbase(a.chain.height + 7, 1, a.key.pkh)
    raised(a.process_block(w.with_txs(w.block_on(a), (cb,))))


def s_bad_txns_nonfinal(w, a):
    op, out = mature(a)
    late = w.signed_tx(a.key, [(op, out)], [TxOut.to_pkh(out.value - 10_000, a.key.pkh)], locktime=a.chain.height + 10, sequence=0)
    b = w.block_on(a)
    raised(a.process_block(w.with_txs(b, (b.txs[0], late))))


def s_bad_cb_amount(w, a):
    raised(a.process_block(a.forge_block("overpay")))


def s_block_missingorspent(w, a):
    raised(a.process_block(a.forge_block("double-spend")))


def s_block_premature(w, a):
    op, out = mature(a, 4)  # height-4 coinbase in a height-5 block: 1 < 3
    tx = w.signed_tx(a.key, [(op, out)], [TxOut.to_pkh(out.value, a.key.pkh)])
    raised(a.process_block(w.block_on(a, txs=[tx])))


def s_bad_txns_bip30(w, a):
    tx = pay(w, a)
    a.accept_tx(tx)
    w.mine(a)  # tx confirmed, its outputs unspent
    raised(a.process_block(w.block_on(a, txs=[tx])))


def s_block_invalid_signature(w, a):
    raised(a.process_block(a.forge_block("bad-signature")))


def s_time_too_new(w, a):
    raised(a.process_block(a.forge_block("future-time")))


def s_time_too_old(w, a):
    mtp = a.chain.tip.median_time_past()
    raised(a.process_block(w.block_on(a, time=mtp)))


def s_bad_diffbits(w, a):
    from lab.chain.pow import bits_for_zero_bits

    raised(a.process_block(w.remine(w.block_on(a), bits=bits_for_zero_bits(2))))


def s_bad_prevblk(w, a):
    bad = a.forge_block("overpay")
    with pytest.raises(ValidationError):
        raised(a.process_block(bad))
    raised(a.process_block(w.remine(w.block_on(a), prev_hash=bad.hash)))


def s_duplicate_invalid(w, a):
    bad = a.forge_block("overpay")
    with pytest.raises(ValidationError):
        raised(a.process_block(bad))
    raised(a.process_block(bad))


def s_unrequested_less_work(w, a):
    (side,) = w.branch(a, a.chain.active[a.chain.height - 2].hash, 1)  # less work than A's tip
    raised(a.process_block(side, requested=False))


def s_side_branches_full(w, a):
    a.chain.side.max_bytes = 0  # no room for side branches at all
    (side,) = w.branch(a, a.chain.active[a.chain.height - 2].hash, 1)
    raised(a.process_block(side))


def s_prev_blk_not_found(w, a):
    a.process_headers([w.remine(w.block_on(a), prev_hash=b"\x42" * 32).header])


def s_non_continuous_headers(w, a):
    b1, b2, b3 = w.branch(a, a.chain.tip.hash, 3)
    a.process_headers([b1.header, b3.header])


# --- transactions (through the mempool) ---------------------------------------------------


def s_vin_empty(w, a):
    a.accept_tx(Tx((), (TxOut.to_pkh(COIN, a.key.pkh),)))


def s_vout_empty(w, a):
    op, _ = mature(a)
    a.accept_tx(Tx((TxIn(op),), ()))


def s_vout_negative(w, a):
    op, _ = mature(a)
    a.accept_tx(Tx((TxIn(op),), (TxOut.to_pkh(-1, a.key.pkh),)))


def s_vout_toolarge(w, a):
    op, _ = mature(a)
    a.accept_tx(Tx((TxIn(op),), (TxOut.to_pkh(MAX_MONEY + 1, a.key.pkh),)))


def s_txouttotal_toolarge(w, a):
    op, _ = mature(a)
    a.accept_tx(Tx((TxIn(op),), (TxOut.to_pkh(MAX_MONEY, a.key.pkh), TxOut.to_pkh(MAX_MONEY, a.key.pkh))))


def s_inputs_duplicate(w, a):
    op, out = mature(a)
    a.accept_tx(w.signed_tx(a.key, [(op, out), (op, out)], [TxOut.to_pkh(COIN, a.key.pkh)]))


def s_prevout_null(w, a):
    op, _ = mature(a)
    a.accept_tx(Tx((TxIn(op), TxIn(NULL_OUTPOINT)), (TxOut.to_pkh(COIN, a.key.pkh),)))


def s_oversize(w, a):
    op, _ = mature(a)
    a.accept_tx(Tx((TxIn(op, b"\x00" * 1_000_001),), (TxOut.to_pkh(COIN, a.key.pkh),)))


def s_tx_size(w, a):
    op, _ = mature(a)
    a.accept_tx(Tx((TxIn(op, b"\x00" * 200_000),), (TxOut.to_pkh(COIN, a.key.pkh),)))


def s_coinbase(w, a):
    a.accept_tx(make_coinbase(a.chain.height + 1, COIN, a.key.pkh))


def s_dust(w, a):
    a.accept_tx(pay(w, a, value=545))


def s_non_final(w, a):
    op, out = mature(a)
    a.accept_tx(w.signed_tx(a.key, [(op, out)], [TxOut.to_pkh(out.value - 10_000, a.key.pkh)], locktime=a.chain.height + 5, sequence=0))


def s_missingorspent(w, a):
    tx = pay(w, a)
    a.accept_tx(tx)
    w.mine(a)
    a.accept_tx(pay(w, a, value=11 * COIN))  # the same coin again, now spent in a block


def s_premature(w, a):
    a.accept_tx(pay(w, a, height=4))


def s_in_belowout(w, a):
    op, out = mature(a)
    a.accept_tx(w.signed_tx(a.key, [(op, out)], [TxOut.to_pkh(out.value + 1, a.key.pkh)]))


def s_inputvalues_outofrange(w, a):
    op1, op2 = OutPoint(b"\x01" * 32, 0), OutPoint(b"\x02" * 32, 0)
    coins = {op1: Coin(TxOut.to_pkh(MAX_MONEY, a.key.pkh), 1, False), op2: Coin(TxOut.to_pkh(MAX_MONEY, a.key.pkh), 1, False)}
    tx = Tx((TxIn(op1), TxIn(op2)), (TxOut.to_pkh(COIN, a.key.pkh),))
    check_tx_inputs(tx, coins.get, 10, a.consensus)


def s_min_relay_fee(w, a):
    a.accept_tx(pay(w, a, fee=0))


def s_wrong_key(w, a):
    op, out = mature(a)
    a.accept_tx(w.signed_tx(w.key("B"), [(op, out)], [TxOut.to_pkh(out.value - 10_000, a.key.pkh)]))


def s_invalid_signature(w, a):
    good = pay(w, a)
    i = good.inputs[0]
    a.accept_tx(good.with_inputs((TxIn(i.prevout, script_sig_for(a.key, sha256d(b"something else"))),)))


def s_high_s(w, a):
    good = pay(w, a)
    a.accept_tx(good.with_inputs((high_s(good.inputs[0]),)))


def s_version(w, a):
    op, out = mature(a)
    unsigned = Tx((TxIn(op),), (TxOut.to_pkh(out.value - 10_000, a.key.pkh),), version=3)
    a.accept_tx(unsigned.with_inputs(sign_inputs(a.key, unsigned, [out])))


def s_scriptsig_size(w, a):
    good = pay(w, a)
    i = good.inputs[0]
    a.accept_tx(good.with_inputs((TxIn(i.prevout, push_data(b"\x00" * 500) * 4 + i.script_sig),)))


def s_scriptsig_not_pushonly(w, a):
    good = pay(w, a)
    i = good.inputs[0]
    a.accept_tx(good.with_inputs((TxIn(i.prevout, i.script_sig + b"\x61"),)))  # ... OP_NOP


def s_scriptpubkey(w, a):
    op, out = mature(a)
    unsigned = Tx((TxIn(op),), (TxOut(out.value - 10_000, OP_TRUE),))
    a.accept_tx(unsigned.with_inputs(sign_inputs(a.key, unsigned, [out])))


def s_multi_op_return(w, a):
    op, out = mature(a)
    outs = (TxOut(0, op_return_script(b"one")), TxOut(0, op_return_script(b"two")),
            TxOut.to_pkh(out.value - 10_000, a.key.pkh))
    unsigned = Tx((TxIn(op),), outs)
    a.accept_tx(unsigned.with_inputs(sign_inputs(a.key, unsigned, [out])))


def s_nonstandard_inputs(w, a):
    op = confirm_to_script(w, a, OP_TRUE)
    a.accept_tx(Tx((TxIn(op),), (TxOut.to_pkh(COIN - 10_000, a.key.pkh),)))


def s_bad_opcode(w, a):
    op = confirm_to_script(w, a, b"\x93\x52\x87")  # OP_ADD OP_2 OP_EQUAL: the lab does no arithmetic
    spend = Tx((TxIn(op, b"\x51\x51"),), (TxOut.to_pkh(COIN - 10_000, a.key.pkh),))  # OP_1 OP_1
    raised(a.process_block(w.block_on(a, txs=[spend])))


def s_already_in_mempool(w, a):
    tx = pay(w, a)
    a.accept_tx(tx)
    a.mempool.accept(tx)  # NodeState turns this into status "duplicate"; the mempool raises


def s_already_known(w, a):
    tx = pay(w, a)
    a.accept_tx(tx)
    w.mine(a)
    a.mempool.accept(tx)


def s_mempool_conflict(w, a):
    a.accept_tx(pay(w, a, value=10 * COIN))
    a.accept_tx(pay(w, a, value=20 * COIN))


def s_mempool_full(w, a):
    small = w.node("S", max_mempool=1)
    for b in a.chain.blocks.values():
        if b is not a.chain.genesis:
            small.process_block(b)
    small.accept_tx(pay(w, a, fee=20_000, height=1))
    small.accept_tx(pay(w, a, fee=10_000, height=2))  # lower fee rate than the one inside


def s_too_long_mempool_chain(w, a):
    op, out = mature(a)
    for _ in range(26):  # the 26th would have 25 unconfirmed ancestors: one too many
        tx = w.signed_tx(a.key, [(op, out)], [TxOut.to_pkh(out.value - 1_000, a.key.pkh)])
        a.accept_tx(tx)
        op, out = OutPoint(tx.txid, 0), tx.outputs[0]


# code -> (scenario, punish)
CATALOGUE: dict[str, tuple[Callable, bool]] = {
    "high-hash": (s_high_hash, True),
    "bad-txnmrklroot": (s_bad_txnmrklroot, True),
    "bad-txns-duplicate": (s_bad_txns_duplicate, True),
    "bad-blk-length": (s_bad_blk_length, True),
    "bad-cb-missing": (s_bad_cb_missing, True),
    "bad-cb-multiple": (s_bad_cb_multiple, True),
    "bad-cb-length": (s_bad_cb_length, True),
    "bad-cb-height": (s_bad_cb_height, True),
    "bad-txns-nonfinal": (s_bad_txns_nonfinal, True),
    "bad-cb-amount": (s_bad_cb_amount, True),
    "bad-txns-BIP30": (s_bad_txns_bip30, True),
    EVAL_FALSE: (s_invalid_signature, True),
    BAD_OPCODE: (s_bad_opcode, True),
    "time-too-new": (s_time_too_new, False),
    "time-too-old": (s_time_too_old, True),
    "bad-diffbits": (s_bad_diffbits, True),
    "bad-prevblk": (s_bad_prevblk, True),
    "duplicate-invalid": (s_duplicate_invalid, True),
    "unrequested-less-work": (s_unrequested_less_work, False),
    "side-branches-full": (s_side_branches_full, False),
    "prev-blk-not-found": (s_prev_blk_not_found, False),
    "non-continuous-headers": (s_non_continuous_headers, True),
    "bad-txns-vin-empty": (s_vin_empty, True),
    "bad-txns-vout-empty": (s_vout_empty, True),
    "bad-txns-vout-negative": (s_vout_negative, True),
    "bad-txns-vout-toolarge": (s_vout_toolarge, True),
    "bad-txns-txouttotal-toolarge": (s_txouttotal_toolarge, True),
    "bad-txns-inputs-duplicate": (s_inputs_duplicate, True),
    "bad-txns-prevout-null": (s_prevout_null, True),
    "bad-txns-oversize": (s_oversize, True),
    "bad-txns-inputs-missingorspent": (s_missingorspent, False),
    "bad-txns-premature-spend-of-coinbase": (s_premature, False),
    "bad-txns-in-belowout": (s_in_belowout, True),
    "bad-txns-inputvalues-outofrange": (s_inputvalues_outofrange, True),
    WRONG_KEY: (s_wrong_key, True),
    "coinbase": (s_coinbase, True),
    "tx-size": (s_tx_size, False),
    "dust": (s_dust, False),
    "non-final": (s_non_final, False),
    "min relay fee not met": (s_min_relay_fee, False),
    HIGH_S: (s_high_s, False),
    "version": (s_version, False),
    "scriptsig-size": (s_scriptsig_size, False),
    "scriptsig-not-pushonly": (s_scriptsig_not_pushonly, False),
    "scriptpubkey": (s_scriptpubkey, False),
    "multi-op-return": (s_multi_op_return, False),
    "bad-txns-nonstandard-inputs": (s_nonstandard_inputs, False),
    "txn-already-in-mempool": (s_already_in_mempool, False),
    "txn-already-known": (s_already_known, False),
    "txn-mempool-conflict": (s_mempool_conflict, False),
    "mempool-full": (s_mempool_full, False),
    "too-long-mempool-chain": (s_too_long_mempool_chain, False),
}

# The same code from a second place, where punishment differs or the path does.
EXTRA = {
    "block missingorspent": ("bad-txns-inputs-missingorspent", s_block_missingorspent, True),
    "block premature coinbase": ("bad-txns-premature-spend-of-coinbase", s_block_premature, True),
    "block bad signature": (EVAL_FALSE, s_block_invalid_signature, True),
}


@pytest.mark.parametrize("code", list(CATALOGUE))
def test_each_rule_has_its_code(funded, code: str) -> None:
    world, a = funded
    scenario, punish = CATALOGUE[code]
    with pytest.raises(ValidationError) as info:
        scenario(world, a)
    assert info.value.code == code, info.value
    assert info.value.punish is punish
    assert code in REASONS


@pytest.mark.parametrize("name", list(EXTRA))
def test_same_code_from_a_block(funded, name: str) -> None:
    world, a = funded
    code, scenario, punish = EXTRA[name]
    with pytest.raises(ValidationError) as info:
        scenario(world, a)
    assert (info.value.code, info.value.punish) == (code, punish)


def test_catalogue_is_big_enough_and_complete() -> None:
    assert len(CATALOGUE) >= 25
    untested = set(REASONS) - set(CATALOGUE) - {"conflict"}  # "conflict" is an eviction reason
    assert not untested


def test_high_s_is_policy_only_a_block_may_carry_it(funded) -> None:
    world, a = funded
    good = pay(world, a)
    i = good.inputs[0]
    malleated = good.with_inputs((high_s(i),))
    assert malleated.txid != good.txid  # the malleability low-S rules exist to stop
    result = a.process_block(world.block_on(a, txs=[malleated]))
    assert result.status == "new-tip"


def test_mutated_block_does_not_mark_the_hash_invalid(funded) -> None:
    world, a = funded
    a.accept_tx(pay(world, a, height=1))
    a.accept_tx(pay(world, a, height=2))
    block = a.mine_block()
    with pytest.raises(ValidationError, match="bad-txns-duplicate"):
        raised(a.process_block(Block(block.header, (*block.txs, block.txs[-1]))))
    assert not a.chain.index[block.hash].failed
    assert a.process_block(block).status == "new-tip"


def test_bad_merkle_does_not_mark_the_hash_invalid(funded) -> None:
    world, a = funded
    block = world.block_on(a)
    with pytest.raises(ValidationError, match="bad-txnmrklroot"):
        raised(a.process_block(Block(block.header, (make_coinbase(a.chain.height + 1, 5, a.key.pkh),))))
    assert a.process_block(block).status == "new-tip"


def test_time_too_new_is_not_remembered(funded) -> None:
    """A block from the future is refused now and accepted once the clock catches up."""
    world, a = funded
    early = a.forge_block("future-time")
    with pytest.raises(ValidationError, match="time-too-new"):
        raised(a.process_block(early))
    assert early.hash not in a.chain.index
    world.clock.advance(3 * 3600)
    assert a.process_block(early).status == "new-tip"


def test_duplicate_tx_is_a_status_not_an_error(funded) -> None:
    world, a = funded
    tx = pay(world, a)
    assert a.accept_tx(tx).status == "accepted"
    again = a.accept_tx(tx)
    assert (again.status, again.code) == ("duplicate", "txn-already-in-mempool")
