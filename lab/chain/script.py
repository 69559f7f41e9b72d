"""Bitcoin Script, the part the lab needs: building, parsing, templates, and a small evaluator.

Reference: Bitcoin Core's script/script.h (opcodes, CScript << n),
script/interpreter.cpp (EvalScript, VerifyScript, IsValidSignatureEncoding)
and script/solver.cpp (the standard templates).

A script is a byte string of opcodes; an opcode from 0x01 to 0x4e pushes
data. Coins are locked by a scriptPubKey and unlocked by a scriptSig: the
node runs the scriptSig, then the scriptPubKey on the stack it left, and the
spend is valid when the top of the stack is true. The lab's outputs use the
standard pay-to-public-key-hash (P2PKH) lock:

    scriptPubKey  OP_DUP OP_HASH160 <20-byte pubkey hash> OP_EQUALVERIFY OP_CHECKSIG
    scriptSig     <DER signature + hash-type byte> <33-byte public key>

Simplified: the evaluator knows the opcodes these templates (and a few
neighbours) use; any other opcode fails with Core's "Opcode missing or not
understood". There is no P2SH, SegWit or Taproot, and no OP_IF.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lab.chain.crypto import CURVE_ORDER, der_decode, hash160, sha256
from lab.chain.serialize import DecodeError

# --- opcodes (realname: enum opcodetype) -------------------------------------
OP_0 = 0x00
OP_PUSHDATA1, OP_PUSHDATA2, OP_PUSHDATA4 = 0x4C, 0x4D, 0x4E
OP_1NEGATE = 0x4F
OP_1, OP_16 = 0x51, 0x60
OP_NOP, OP_VERIFY, OP_RETURN = 0x61, 0x69, 0x6A
OP_DROP, OP_DUP = 0x75, 0x76
OP_EQUAL, OP_EQUALVERIFY = 0x87, 0x88
OP_SHA256, OP_HASH160 = 0xA8, 0xA9
OP_CODESEPARATOR, OP_CHECKSIG, OP_CHECKSIGVERIFY = 0xAB, 0xAC, 0xAD

_NAMES = (
    "OP_0", *(f"OP_PUSHBYTES_{n}" for n in range(1, 76)), "OP_PUSHDATA1", "OP_PUSHDATA2", "OP_PUSHDATA4",
    "OP_1NEGATE", "OP_RESERVED", *(f"OP_{n}" for n in range(1, 17)),
    "OP_NOP", "OP_VER", "OP_IF", "OP_NOTIF", "OP_VERIF", "OP_VERNOTIF", "OP_ELSE", "OP_ENDIF", "OP_VERIFY",
    "OP_RETURN", "OP_TOALTSTACK", "OP_FROMALTSTACK", "OP_2DROP", "OP_2DUP", "OP_3DUP", "OP_2OVER", "OP_2ROT",
    "OP_2SWAP", "OP_IFDUP", "OP_DEPTH", "OP_DROP", "OP_DUP", "OP_NIP", "OP_OVER", "OP_PICK", "OP_ROLL",
    "OP_ROT", "OP_SWAP", "OP_TUCK", "OP_CAT", "OP_SUBSTR", "OP_LEFT", "OP_RIGHT", "OP_SIZE", "OP_INVERT",
    "OP_AND", "OP_OR", "OP_XOR", "OP_EQUAL", "OP_EQUALVERIFY", "OP_RESERVED1", "OP_RESERVED2", "OP_1ADD",
    "OP_1SUB", "OP_2MUL", "OP_2DIV", "OP_NEGATE", "OP_ABS", "OP_NOT", "OP_0NOTEQUAL", "OP_ADD", "OP_SUB",
    "OP_MUL", "OP_DIV", "OP_MOD", "OP_LSHIFT", "OP_RSHIFT", "OP_BOOLAND", "OP_BOOLOR", "OP_NUMEQUAL",
    "OP_NUMEQUALVERIFY", "OP_NUMNOTEQUAL", "OP_LESSTHAN", "OP_GREATERTHAN", "OP_LESSTHANOREQUAL",
    "OP_GREATERTHANOREQUAL", "OP_MIN", "OP_MAX", "OP_WITHIN", "OP_RIPEMD160", "OP_SHA1", "OP_SHA256",
    "OP_HASH160", "OP_HASH256", "OP_CODESEPARATOR", "OP_CHECKSIG", "OP_CHECKSIGVERIFY", "OP_CHECKMULTISIG",
    "OP_CHECKMULTISIGVERIFY", "OP_NOP1", "OP_CHECKLOCKTIMEVERIFY", "OP_CHECKSEQUENCEVERIFY",
    *(f"OP_NOP{n}" for n in range(4, 11)), "OP_CHECKSIGADD",
)


def op_name(op: int) -> str:
    """Core's name for an opcode (realname: GetOpName); OP_UNKNOWN for unassigned bytes."""
    return _NAMES[op] if op < len(_NAMES) else "OP_UNKNOWN"


# --- building (realname: CScript::operator<<) ----------------------------------------
def push_data(data: bytes) -> bytes:
    """The shortest push of `data` (OP_0 for empty, else a direct push or OP_PUSHDATAn)."""
    n = len(data)
    if n < OP_PUSHDATA1:
        return bytes((n,)) + data
    if n <= 0xFF:
        return bytes((OP_PUSHDATA1, n)) + data
    if n <= 0xFFFF:
        return bytes((OP_PUSHDATA2,)) + n.to_bytes(2, "little") + data
    return bytes((OP_PUSHDATA4,)) + n.to_bytes(4, "little") + data


def script_num(n: int) -> bytes:
    """Minimal little-endian with a sign bit (realname: CScriptNum::serialize)."""
    if n == 0:
        return b""
    neg, a = n < 0, abs(n)
    out = bytearray(a.to_bytes((a.bit_length() + 7) // 8, "little"))
    if out[-1] & 0x80:
        out.append(0x80 if neg else 0)
    elif neg:
        out[-1] |= 0x80
    return bytes(out)


def push_int(n: int) -> bytes:
    """`CScript() << n`: OP_0, OP_1NEGATE, OP_1..OP_16, else a push of the script number."""
    if n == 0:
        return bytes((OP_0,))
    if n == -1 or 1 <= n <= 16:
        return bytes((OP_1 + n - 1,))
    return push_data(script_num(n))


# --- parsing (realname: CScript::GetOp) ---------------------------------------------
def ops(script: bytes) -> Iterator[tuple[int, bytes | None, int]]:
    """(opcode, pushed data or None, offset after it) for each op; DecodeError on a cut push."""
    i, n = 0, len(script)
    while i < n:
        op = script[i]
        i += 1
        if op > OP_PUSHDATA4:
            yield op, None, i
            continue
        if op < OP_PUSHDATA1:
            size = op
        else:
            width = {OP_PUSHDATA1: 1, OP_PUSHDATA2: 2, OP_PUSHDATA4: 4}[op]
            if i + width > n:
                raise DecodeError("push length runs past the end of the script")
            size = int.from_bytes(script[i : i + width], "little")
            i += width
        if i + size > n:
            raise DecodeError("push runs past the end of the script")
        yield op, script[i : i + size], i + size
        i += size


def is_push_only(script: bytes) -> bool:
    """realname: CScript::IsPushOnly (OP_1NEGATE and OP_1..OP_16 count as pushes)."""
    try:
        return all(op <= OP_16 and op != 0x50 for op, _, _ in ops(script))
    except DecodeError:
        return False


# --- standard templates (realname: Solver, TxoutType) ----------------------------------
def p2pkh_script(pkh: bytes) -> bytes:
    """OP_DUP OP_HASH160 <pkh> OP_EQUALVERIFY OP_CHECKSIG (25 bytes)."""
    return bytes((OP_DUP, OP_HASH160, 20)) + pkh + bytes((OP_EQUALVERIFY, OP_CHECKSIG))


def p2pkh_hash(script: bytes) -> bytes | None:
    """The 20-byte key hash a P2PKH scriptPubKey locks to, else None."""
    if len(script) == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        return script[3:23]
    return None


MAX_OP_RETURN_RELAY = 83  # bytes of a standard OP_RETURN script (realname: MAX_OP_RETURN_RELAY)


def op_return_script(data: bytes) -> bytes:
    """OP_RETURN <data>: an output that carries data and can never be spent."""
    return bytes((OP_RETURN,)) + push_data(data)


def is_unspendable(script: bytes) -> bool:
    """realname: CScript::IsUnspendable: starts with OP_RETURN or is too big to run."""
    return (bool(script) and script[0] == OP_RETURN) or len(script) > MAX_SCRIPT_SIZE


def script_type(script: bytes) -> str:
    """Core's TxoutType name: pubkeyhash, pubkey, nulldata, or nonstandard."""
    if p2pkh_hash(script) is not None:
        return "pubkeyhash"
    if len(script) in (35, 67) and script[0] == len(script) - 2 and script[-1] == OP_CHECKSIG:
        return "pubkey"
    if script[:1] == bytes((OP_RETURN,)) and is_push_only(script[1:]):
        return "nulldata"
    return "nonstandard"


def p2pkh_script_sig(sig_with_hashtype: bytes, pubkey: bytes) -> bytes:
    """<signature + hash type> <public key>: what unlocks a P2PKH output."""
    return push_data(sig_with_hashtype) + push_data(pubkey)


def script_sig_parts(script_sig: bytes) -> tuple[bytes, bytes] | None:
    """(signature with hash type, public key) of a P2PKH scriptSig, else None."""
    try:
        parts = list(ops(script_sig))
    except DecodeError:
        return None
    if len(parts) != 2 or parts[0][1] is None or parts[1][1] is None:
        return None
    return parts[0][1], parts[1][1]


def find_and_delete(script: bytes, pattern: bytes) -> bytes:
    """realname: FindAndDelete: drop every op-aligned occurrence of `pattern` (a push)."""
    if not pattern or pattern not in script:
        return script
    out, start = bytearray(), 0
    try:
        for _op, _data, end in ops(script):
            if script[start:end] != pattern:
                out += script[start:end]
            start = end
    except DecodeError:
        return script
    return bytes(out)


# --- evaluation (realname: EvalScript, VerifyScript) -------------------------------------
MAX_SCRIPT_SIZE = 10_000  # bytes (realname: MAX_SCRIPT_SIZE)
MAX_PUSH_SIZE = 520  # bytes (realname: MAX_SCRIPT_ELEMENT_SIZE)
MAX_OPS = 201  # non-push opcodes per script (realname: MAX_OPS_PER_SCRIPT)
SIGHASH_ALL, SIGHASH_NONE, SIGHASH_SINGLE, SIGHASH_ANYONECANPAY = 1, 2, 3, 0x80

# Verification flags (realname: SCRIPT_VERIFY_*). Blocks check the consensus
# set; the mempool the standard set, which adds rules that only shape relay.
VERIFY_DERSIG = 1 << 2  # BIP 66: strict DER signatures (consensus)
VERIFY_STRICTENC = 1 << 1  # defined hash type, well-formed public key (policy)
VERIFY_LOW_S = 1 << 3  # S in the lower half (policy)
VERIFY_SIGPUSHONLY = 1 << 5  # scriptSig only pushes (policy)
VERIFY_NULLFAIL = 1 << 14  # a failed signature must be empty (policy)
MANDATORY_FLAGS = VERIFY_DERSIG
STANDARD_FLAGS = MANDATORY_FLAGS | VERIFY_STRICTENC | VERIFY_LOW_S | VERIFY_SIGPUSHONLY | VERIFY_NULLFAIL


class ScriptError(Exception):
    """A script failed; the message is Core's ScriptErrorString."""


ERR_EVAL_FALSE = "Script evaluated without error but finished with a false/empty top stack element"
ERR_EQUALVERIFY = "Script failed an OP_EQUALVERIFY operation"
ERR_BAD_OPCODE = "Opcode missing or not understood"


@dataclass(frozen=True, slots=True)
class SignatureChecker:
    """Checks one input's signatures (realname: TransactionSignatureChecker).

    `sighash(script_code, hash_type)` gives the digest; `verify(pubkey, der, digest)`
    checks ECDSA (through the node's signature cache when it has one).
    """

    sighash: Callable[[bytes, int], bytes]
    verify: Callable[[bytes, bytes, bytes], bool]

    def check_sig(self, sig: bytes, pubkey: bytes, script_code: bytes) -> bool:
        if not sig:
            return False
        digest = self.sighash(script_code, sig[-1])
        return self.verify(pubkey, sig[:-1], digest)


def _check_signature_encoding(sig: bytes, flags: int) -> None:
    """realname: CheckSignatureEncoding (an empty signature is allowed: it just fails)."""
    if not sig:
        return
    if flags & (VERIFY_DERSIG | VERIFY_LOW_S | VERIFY_STRICTENC) and der_decode(sig[:-1]) is None:
        raise ScriptError("Non-canonical DER signature")
    if flags & VERIFY_LOW_S:
        rs = der_decode(sig[:-1])
        if rs is not None and rs[1] > CURVE_ORDER // 2:
            raise ScriptError("Non-canonical signature: S value is unnecessarily high")
    if flags & VERIFY_STRICTENC and sig[-1] & ~SIGHASH_ANYONECANPAY not in (SIGHASH_ALL, SIGHASH_NONE, SIGHASH_SINGLE):
        raise ScriptError("Signature hash type missing or not understood")


def _check_pubkey_encoding(pubkey: bytes, flags: int) -> None:
    ok = (len(pubkey) == 33 and pubkey[0] in (2, 3)) or (len(pubkey) == 65 and pubkey[0] == 4)
    if flags & VERIFY_STRICTENC and not ok:
        raise ScriptError("Public key is neither compressed or uncompressed")


def _true(v: bytes) -> bool:
    """realname: CastToBool: any non-zero byte, except a lone sign bit at the end."""
    return any(v[:-1]) or (bool(v) and v[-1] not in (0, 0x80))


def eval_script(stack: list[bytes], script: bytes, flags: int, checker: SignatureChecker) -> None:
    """Run `script` on `stack` (changed in place); ScriptError when it fails."""
    if len(script) > MAX_SCRIPT_SIZE:
        raise ScriptError("Script is too big")
    code_start, op_count = 0, 0
    try:
        parsed = list(ops(script))
    except DecodeError:
        raise ScriptError(ERR_BAD_OPCODE) from None
    for op, data, end in parsed:
        if data is not None:
            if len(data) > MAX_PUSH_SIZE:
                raise ScriptError("Push value size limit exceeded")
            stack.append(data)
            continue
        if op > OP_16:
            op_count += 1
            if op_count > MAX_OPS:
                raise ScriptError("Operation limit exceeded")
        if op == OP_1NEGATE:
            stack.append(b"\x81")
        elif OP_1 <= op <= OP_16:
            stack.append(bytes((op - OP_1 + 1,)))
        elif op == OP_NOP:
            pass
        elif op == OP_RETURN:
            raise ScriptError("OP_RETURN was encountered")
        elif op == OP_CODESEPARATOR:
            code_start = end
        elif op in (OP_VERIFY, OP_DROP, OP_DUP, OP_HASH160, OP_SHA256):
            if not stack:
                raise ScriptError("Operation not valid with the current stack size")
            if op == OP_VERIFY and not _true(stack.pop()):
                raise ScriptError("Script failed an OP_VERIFY operation")
            elif op == OP_DROP:
                stack.pop()
            elif op == OP_DUP:
                stack.append(stack[-1])
            elif op == OP_HASH160:
                stack.append(hash160(stack.pop()))
            elif op == OP_SHA256:
                stack.append(sha256(stack.pop()))
        elif op in (OP_EQUAL, OP_EQUALVERIFY, OP_CHECKSIG, OP_CHECKSIGVERIFY):
            if len(stack) < 2:
                raise ScriptError("Operation not valid with the current stack size")
            b, a = stack.pop(), stack.pop()
            if op in (OP_EQUAL, OP_EQUALVERIFY):
                if op == OP_EQUALVERIFY and a != b:
                    raise ScriptError(ERR_EQUALVERIFY)
                if op == OP_EQUAL:
                    stack.append(b"\x01" if a == b else b"")
                continue
            sig, pubkey = a, b  # the signature was pushed first
            script_code = find_and_delete(script[code_start:], push_data(sig))
            _check_signature_encoding(sig, flags)
            _check_pubkey_encoding(pubkey, flags)
            ok = checker.check_sig(sig, pubkey, script_code)
            if not ok and flags & VERIFY_NULLFAIL and sig:
                raise ScriptError("Signature must be zero for failed CHECK(MULTI)SIG operation")
            if op == OP_CHECKSIGVERIFY:
                if not ok:
                    raise ScriptError("Script failed an OP_CHECKSIGVERIFY operation")
            else:
                stack.append(b"\x01" if ok else b"")
        else:
            raise ScriptError(ERR_BAD_OPCODE)


def verify_script(script_sig: bytes, script_pubkey: bytes, flags: int, checker: SignatureChecker) -> None:
    """realname: VerifyScript: scriptSig, then scriptPubKey on its stack; the top must be true."""
    if flags & VERIFY_SIGPUSHONLY and not is_push_only(script_sig):
        raise ScriptError("Only push operators allowed in signatures")
    stack: list[bytes] = []
    eval_script(stack, script_sig, flags, checker)
    eval_script(stack, script_pubkey, flags, checker)
    if not stack or not _true(stack[-1]):
        raise ScriptError(ERR_EVAL_FALSE)
