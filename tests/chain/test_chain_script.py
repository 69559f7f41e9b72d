"""Scripts, BIP 34 heights, compact bits and the cost of the signature hash.

The byte-level claims are refereed by python-bitcoinlib in tests/bitcoin;
these tests pin the lab's own rules: what the interpreter accepts and
refuses under consensus and policy flags, how a coinbase writes its height,
how compact bits decode, and that a many-input tx hashes as the plain legacy
rule says (how long it takes is `lab bench --only sighash`).
"""

from __future__ import annotations

import pytest

from lab.chain import pow
from lab.chain.crypto import PrivateKey, sha256d
from lab.chain.miner import make_template, mine
from lab.chain.script import (
    MANDATORY_FLAGS,
    STANDARD_FLAGS,
    ScriptError,
    SignatureChecker,
    is_unspendable,
    op_return_script,
    p2pkh_script,
    p2pkh_script_sig,
    push_int,
    verify_script,
)
from lab.chain.sigcache import SigCache
from lab.chain.tx import OutPoint, SighashCache, Tx, TxIn, TxOut, coinbase_height
from lab.chain.utxo import Coin, UtxoSet
from lab.chain.validation import check_tx_signatures, preverify_block_scripts
from lab.chain.wallet import sign_inputs
from lab.errors import ValidationError
from lab.render.script import script_asm

KEY = PrivateKey.derive(1, "A")


def spend_of(n_inputs: int) -> tuple[Tx, list[Coin]]:
    """A tx spending `n_inputs` P2PKH coins of KEY, signed."""
    coins = [Coin(TxOut.to_pkh(100_000, KEY.pkh), 1, False) for _ in range(n_inputs)]
    ins = tuple(TxIn(OutPoint(sha256d(i.to_bytes(4, "little")), 0)) for i in range(n_inputs))
    unsigned = Tx(ins, (TxOut.to_pkh(n_inputs * 90_000, KEY.pkh),))
    return unsigned.with_inputs(sign_inputs(KEY, unsigned, [c.out for c in coins])), coins


def checker_for(tx: Tx, index: int) -> SignatureChecker:
    from lab.chain.crypto import verify

    cache = SighashCache(tx)
    return SignatureChecker(lambda code, ht: cache.digest(index, code, ht), verify)


# --- BIP 34 ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("height", "expected"), [
    (0, "00"), (1, "51"), (16, "60"), (17, "0111"), (127, "017f"), (128, "028000"), (255, "02ff00"),
    (256, "020001"), (65_535, "03ffff00"), (-1, "4f"),
])
def test_cscript_push_of_a_number_is_written_as_core_writes_it(height: int, expected: str) -> None:
    assert push_int(height).hex() == expected


def test_a_coinbase_at_heights_1_to_16_starts_with_op_1_to_op_16(world) -> None:
    a = world.node("A")
    for height in range(1, 18):
        world.clock.advance()
        block = mine(make_template(a.chain, a.chain.tip, KEY.pkh))
        assert a.process_block(block).status == "new-tip"
        script_sig = block.txs[0].inputs[0].script_sig
        assert script_sig[0] == (0x50 + height if height <= 16 else 0x01)
        assert coinbase_height(script_sig) == height


# --- the interpreter ---------------------------------------------------------------------------
def test_p2pkh_is_the_lock_and_signature_plus_key_the_key() -> None:
    tx, coins = spend_of(2)
    for n in range(2):
        verify_script(tx.inputs[n].script_sig, coins[n].out.script_pubkey, STANDARD_FLAGS, checker_for(tx, n))
    assert script_asm(p2pkh_script(KEY.pkh)) == f"OP_DUP OP_HASH160 {KEY.pkh.hex()} OP_EQUALVERIFY OP_CHECKSIG"


def test_a_signature_for_another_input_leaves_false_on_the_stack() -> None:
    tx, coins = spend_of(2)
    with pytest.raises(ScriptError, match="false/empty top stack element"):
        verify_script(tx.inputs[1].script_sig, coins[0].out.script_pubkey, MANDATORY_FLAGS, checker_for(tx, 0))
    with pytest.raises(ScriptError, match="Signature must be zero"):  # NULLFAIL is policy
        verify_script(tx.inputs[1].script_sig, coins[0].out.script_pubkey, STANDARD_FLAGS, checker_for(tx, 0))


def test_another_key_fails_op_equalverify() -> None:
    tx, _coins = spend_of(1)
    other = p2pkh_script(PrivateKey.derive(1, "B").pkh)
    with pytest.raises(ScriptError, match="OP_EQUALVERIFY"):
        verify_script(tx.inputs[0].script_sig, other, MANDATORY_FLAGS, checker_for(tx, 0))


def test_bad_der_is_refused_under_bip66_and_an_unknown_opcode_is_not_run() -> None:
    tx, coins = spend_of(1)
    not_der = p2pkh_script_sig(b"\x30\x01\x01\x01", KEY.pubkey)
    with pytest.raises(ScriptError, match="Non-canonical DER signature"):
        verify_script(not_der, coins[0].out.script_pubkey, MANDATORY_FLAGS, checker_for(tx, 0))
    with pytest.raises(ScriptError, match="Opcode missing or not understood"):
        verify_script(b"\x51\x51", b"\x93\x52\x87", MANDATORY_FLAGS, checker_for(tx, 0))  # 1 1 OP_ADD 2 OP_EQUAL


def test_op_return_outputs_carry_data_and_never_enter_the_utxo_set() -> None:
    data = op_return_script(b"hello, lab")
    assert is_unspendable(data) and script_asm(data) == "OP_RETURN " + b"hello, lab".hex()
    tx = Tx((TxIn(OutPoint(b"\x01" * 32, 0)),), (TxOut(0, data), TxOut.to_pkh(1_000, KEY.pkh)))
    utxo = UtxoSet()
    utxo.add(OutPoint(b"\x01" * 32, 0), Coin(TxOut.to_pkh(2_000, KEY.pkh), 1, False))
    undo = utxo.apply_tx(tx, 2)
    assert OutPoint(tx.txid, 0) not in utxo and OutPoint(tx.txid, 1) in utxo
    utxo.undo_tx(tx, undo)
    assert list(utxo) == [OutPoint(b"\x01" * 32, 0)]


# --- compact bits (arith_uint256::SetCompact, DeriveTarget) --------------------------------------
@pytest.mark.parametrize(("bits", "target", "negative", "overflow"), [
    (0x01003456, 0x00, False, False), (0x01123456, 0x12, False, False), (0x02123456, 0x1234, False, False),
    (0x05009234, 0x92340000, False, False), (0x04923456, 0x12345600, True, False),
    (0x01FEDCBA, 0x7E, True, False), (0x00923456, 0, False, False), (0xFF123456, 0, False, True),
    (0x20123456, 0x123456 << 232, False, False), (0x2100FFFF, 0xFFFF << 240, False, False),
    (0x22000001, 1 << 248, False, False), (0x21010000, 0, False, True), (0x22000100, 0, False, True),
    (0x23000001, 0, False, True),
])
def test_compact_bits_decode_as_core_sets_them(bits: int, target: int, negative: bool, overflow: bool) -> None:
    assert pow.set_compact(bits) == (target, negative, overflow)


def test_derive_target_refuses_negative_zero_overflowing_and_too_easy_bits() -> None:
    limit = pow.POW_LIMIT
    assert pow.derive_target(0x1F00FFFF, limit) == pow.bits_to_target(0x1F00FFFF)
    for bits in (0x04923456, 0x01003456, 0xFF123456, 0x2100FFFF):
        assert pow.derive_target(bits, limit) is None
        assert not pow.check_proof_of_work(b"\x00" * 32, bits)


# --- cost ---------------------------------------------------------------------------------
# How long a many-input tx takes is a `lab bench` figure (`lab bench --only sighash`); here, what the
# fast legacy sighash must still compute, and that each signature is verified once.
def plain_legacy_sighash(tx: Tx, index: int, script_code: bytes, hash_type: int = 1) -> bytes:
    """SignatureHash as the legacy rules state it: the whole tx, only input `index` carrying the scriptCode."""
    ins = tuple(TxIn(i.prevout, script_code if n == index else b"", i.sequence) for n, i in enumerate(tx.inputs))
    return sha256d(Tx(ins, tx.outputs, tx.version, tx.locktime).serialize() + hash_type.to_bytes(4, "little"))


def test_a_thousand_input_tx_hashes_as_the_plain_rule_says_and_verifies_each_signature_once() -> None:
    """CVE-2013-2292's shape: the legacy sighash does not re-serialise every input per input, same digests."""
    tx, coins = spend_of(1_000)
    code = coins[0].out.script_pubkey
    cache = SighashCache(tx)
    for index in (0, 1, 500, 999, 3):  # the last one out of order: the cache starts again from the head
        assert cache.digest(index, code) == plain_legacy_sighash(tx, index, code)
    sigs = SigCache()
    check_tx_signatures(tx, coins, sigs, policy=True)
    assert (sigs.misses, sigs.hits) == (1_000, 0)
    assert sigs.scripts_checked(tx.txid, True)
    check_tx_signatures(tx, coins, sigs, policy=True)  # the script execution cache answers the second time
    assert sigs.misses == 1_000


def test_a_thousand_input_tx_with_a_bad_last_signature_is_refused_naming_that_input() -> None:
    tx, coins = spend_of(1_000)
    ins = tx.inputs[:-1] + (TxIn(tx.inputs[-1].prevout, tx.inputs[0].script_sig, tx.inputs[-1].sequence),)
    with pytest.raises(ValidationError, match="input 999"):
        check_tx_signatures(tx.with_inputs(ins), coins, SigCache())


def test_a_block_preverified_in_slices_connects_from_the_cache() -> None:
    tx, coins = spend_of(50)
    utxo = {i.prevout: c for i, c in zip(tx.inputs, coins, strict=True)}
    cache = SigCache()

    class _Block:  # only .txs is read
        txs = (Tx((TxIn(OutPoint(b"\x00" * 32, 0xFFFF_FFFF), b"\x51\x00"),), (TxOut.to_pkh(1, KEY.pkh),)), tx)

    slices = list(preverify_block_scripts(_Block(), utxo.get, cache, slice_size=10))  # type: ignore[arg-type]
    assert slices == [10, 20, 30, 40, 50, 50]
    assert cache.scripts_checked(tx.txid, False)
    misses = cache.misses
    check_tx_signatures(tx, coins, cache)
    assert cache.misses == misses  # nothing verified twice
