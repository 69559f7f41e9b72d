"""Standardness: what a node relays and keeps in its mempool, beyond what blocks allow.

Reference: Bitcoin Core's policy/policy.cpp (IsStandardTx, AreInputsStandard,
IsDust) and policy.h (MAX_STANDARD_TX_WEIGHT, MAX_STANDARD_SCRIPTSIG_SIZE).
A block may hold any script consensus allows; a mempool takes only the
standard templates, so every script it runs is one the lab's small
interpreter was written for. Failures are never punished: they are this
node's policy, not proof the sender cheated.
"""

from __future__ import annotations

from collections.abc import Sequence

from lab.chain.script import MAX_OP_RETURN_RELAY, is_push_only, script_type
from lab.chain.tx import Tx
from lab.chain.utxo import Coin
from lab.errors import ValidationError
from lab.params import DUST_THRESHOLD, MAX_TX_SIZE

TX_MAX_STANDARD_VERSION = 2  # realname: TX_MAX_STANDARD_VERSION
MAX_STANDARD_SCRIPTSIG_SIZE = 1_650  # bytes (realname: MAX_STANDARD_SCRIPTSIG_SIZE)
STANDARD_OUTPUTS = ("pubkeyhash", "pubkey", "nulldata")  # the templates the lab relays


def _refuse(code: str, detail: str) -> ValidationError:
    return ValidationError(code, detail, punish=False)


def check_standard_tx(tx: Tx) -> None:
    """realname: IsStandardTx. Raises ValidationError with Core's reason string."""
    if not 1 <= tx.version <= TX_MAX_STANDARD_VERSION:
        raise _refuse("version", f"version {tx.version}; relayed versions are 1..{TX_MAX_STANDARD_VERSION}")
    if tx.size > MAX_TX_SIZE:  # Core: weight > MAX_STANDARD_TX_WEIGHT (400,000 = 4 x 100,000 legacy bytes)
        raise _refuse("tx-size", f"{tx.size} bytes, relay limit is {MAX_TX_SIZE}")
    for n, txin in enumerate(tx.inputs):
        if len(txin.script_sig) > MAX_STANDARD_SCRIPTSIG_SIZE:
            raise _refuse("scriptsig-size", f"input {n}'s scriptSig is {len(txin.script_sig)} bytes")
        if not is_push_only(txin.script_sig):
            raise _refuse("scriptsig-not-pushonly", f"input {n}'s scriptSig does more than push data")
    data_outputs = 0
    for n, out in enumerate(tx.outputs):
        kind = script_type(out.script_pubkey)
        if kind not in STANDARD_OUTPUTS or (kind == "nulldata" and len(out.script_pubkey) > MAX_OP_RETURN_RELAY):
            raise _refuse("scriptpubkey", f"output {n} is locked by a non-standard script")
        if kind == "nulldata":
            data_outputs += 1
        elif out.value < DUST_THRESHOLD:
            raise _refuse("dust", f"output {n} is {out.value} base units, below {DUST_THRESHOLD}")
    if data_outputs > 1:
        raise _refuse("multi-op-return", f"{data_outputs} OP_RETURN outputs; one is relayed")


def check_inputs_standard(tx: Tx, coins: Sequence[Coin]) -> None:
    """realname: AreInputsStandard: every coin spent is locked by a template the lab runs."""
    for n, coin in enumerate(coins):
        if script_type(coin.out.script_pubkey) not in ("pubkeyhash", "pubkey"):
            raise _refuse("bad-txns-nonstandard-inputs", f"input {n} spends a non-standard output")
