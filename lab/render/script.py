"""Scripts and transactions as a learner reads them beside Bitcoin's documentation.

`script_asm` writes a script the way Bitcoin Core's ScriptToAsmStr does
(`OP_DUP OP_HASH160 <hex> OP_EQUALVERIFY OP_CHECKSIG`; small pushes as
numbers; a signature's hash type as `[ALL]`), so what `tx ID` shows can be
compared with `bitcoin-cli decoderawtransaction` or any block explorer.
"""

from __future__ import annotations

from collections.abc import Callable

from lab.chain.amount import format_amount
from lab.chain.crypto import der_decode, short_hex
from lab.chain.script import OP_1, OP_1NEGATE, OP_16, op_name, ops, script_type
from lab.chain.serialize import DecodeError
from lab.chain.tx import Tx, TxOut, coinbase_height

_HASH_TYPES = {1: "ALL", 2: "NONE", 3: "SINGLE", 0x81: "ALL|ANYONECANPAY", 0x82: "NONE|ANYONECANPAY",
               0x83: "SINGLE|ANYONECANPAY"}


def _num(data: bytes) -> int:
    """A script number: little-endian, sign in the top bit of the last byte."""
    if not data:
        return 0
    n = int.from_bytes(data, "little") & ~(0x80 << (8 * (len(data) - 1)))
    return -n if data[-1] & 0x80 else n


def script_asm(script: bytes, *, sighash_decode: bool = False) -> str:
    """realname: ScriptToAsmStr. `sighash_decode` marks a trailing hash-type byte of a DER signature."""
    words: list[str] = []
    try:
        for op, data, _end in ops(script):
            if data is None:
                if op == OP_1NEGATE:
                    words.append("-1")
                elif OP_1 <= op <= OP_16:
                    words.append(str(op - OP_1 + 1))
                else:
                    words.append(op_name(op))
            elif len(data) <= 4:
                words.append(str(_num(data)))
            elif sighash_decode and data[-1] in _HASH_TYPES and der_decode(data[:-1]) is not None:
                words.append(data[:-1].hex() + f"[{_HASH_TYPES[data[-1]]}]")
            else:
                words.append(data.hex())
    except DecodeError:
        words.append("[error]")
    return " ".join(words)


def describe_lock(out: TxOut, owner_of: Callable[[bytes], str]) -> str:
    """Who can spend an output: a node name or address for P2PKH, else the template's name."""
    pkh = out.pubkey_hash
    if pkh is not None:
        return owner_of(pkh)
    kind = script_type(out.script_pubkey)
    return {"nulldata": "nobody (OP_RETURN data)", "pubkey": "a public key (P2PK)"}.get(kind, "a non-standard script")


def tx_lines(tx: Tx, owner_of: Callable[[bytes], str]) -> list[str]:
    """Each input and output of `tx` with its scripts in ASM."""
    lines: list[str] = []
    for i, txin in enumerate(tx.inputs):
        if tx.is_coinbase():
            lines.append(f"  in  {i}: coinbase, height {coinbase_height(txin.script_sig)}")
        else:
            lines.append(f"  in  {i}: spends {short_hex(txin.prevout.txid)}:{txin.prevout.index}")
        lines.append(f"          scriptSig    {script_asm(txin.script_sig, sighash_decode=not tx.is_coinbase())}")
    for i, out in enumerate(tx.outputs):
        lines.append(f"  out {i}: {format_amount(out.value)} to {describe_lock(out, owner_of)}")
        lines.append(f"          scriptPubKey {script_asm(out.script_pubkey)}")
    return lines


def raw_hex(data: bytes) -> list[str]:
    """Serialised bytes as one line of hex: paste it into any Bitcoin decoder."""
    return [data.hex()]
