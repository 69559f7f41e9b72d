"""Consensus rules for headers, transactions and blocks, each with a reason code.

Follows Bitcoin Core's validation.cpp and consensus/tx_check.cpp,
tx_verify.cpp, in the same stages and with the same reject strings:

1. check_block_header        (CheckBlockHeader)       proof of work alone
2. contextual_check_block_header (ContextualCheckBlockHeader)  needs the parent:
   difficulty bits, time after the median of the last 11, not too far ahead
3. check_transaction         (CheckTransaction)       one tx, no context
4. check_block               (CheckBlock)             merkle root, size, coinbase
5. contextual_check_block    (ContextualCheckBlock)   finality, BIP 34 height
6. connect_block             (ConnectBlock)           against the UTXO set:
   BIP 30, inputs exist and are mature, amounts, signatures, coinbase amount

Every failure raises ValidationError(code, detail, punish=...). `punish`
says whether a peer that sent this should be penalised, as Bitcoin Core's
net_processing decides; callers adjust it for policy (mempool) contexts.
Rules are never `assert`ed: `python -O` would strip them.

Scripts: every input runs its scriptSig and the spent output's scriptPubKey
through script.py's evaluator (realname: CheckInputScripts, one CScriptCheck
per input), blocks with the consensus flags, the mempool with the standard
ones; a failure gets Core's reason, "mandatory-script-verify-flag-failed
(<ScriptErrorString>)" or, when only a policy flag failed,
"non-mandatory-script-verify-flag (...)".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from lab.chain import pow
from lab.chain.amount import format_amount
from lab.chain.block import Block, BlockHeader
from lab.chain.consensus import Consensus
from lab.chain.crypto import verify
from lab.chain.script import (
    ERR_BAD_OPCODE,
    ERR_EQUALVERIFY,
    ERR_EVAL_FALSE,
    MANDATORY_FLAGS,
    STANDARD_FLAGS,
    ScriptError,
    SignatureChecker,
    verify_script,
)
from lab.chain.sigcache import SigCache
from lab.chain.tx import OutPoint, SighashCache, Tx, bip34_prefix, coinbase_height
from lab.chain.utxo import BlockUndo, Coin, UtxoSet
from lab.errors import ValidationError
from lab.params import (
    LOCKTIME_THRESHOLD,
    MAX_BLOCK_SIZE,
    MAX_COINBASE_DATA,
    MAX_MONEY,
    MIN_COINBASE_DATA,
    SEQUENCE_FINAL,
)

if TYPE_CHECKING:
    from lab.chain.chainstate import BlockIndex

SCRIPT_FAILED = "mandatory-script-verify-flag-failed ({})"  # a consensus script rule failed
POLICY_FAILED = "non-mandatory-script-verify-flag ({})"  # only a standardness flag failed
ERR_HIGH_S = "Non-canonical signature: S value is unnecessarily high"

# Every reason code the lab uses, with what it means in plain words. The
# renderer and `explain` can show these; tests check each is reachable.
REASONS: dict[str, str] = {
    # headers
    "high-hash": "the block's hash is above the target its bits demand: no valid proof of work",
    "bad-diffbits": "the block's bits are not the difficulty the rules require at its height",
    "time-too-old": "the block's time is not after the median time of the 11 blocks before it",
    "time-too-new": "the block's time is more than 2 hours ahead of this node's clock",
    "bad-prevblk": "the block builds on a block already found invalid",
    "prev-blk-not-found": "the header's parent is unknown to this node",
    "non-continuous-headers": "a headers message whose headers do not build on each other",
    "duplicate-invalid": "this block was already checked and found invalid",
    "unrequested-less-work": "nobody asked for this block and its chain has less work than the tip: not stored",
    "side-branches-full": "side branches are kept up to a byte limit and this block has the least work of them: not kept",
    # block structure
    "bad-txnmrklroot": "the merkle root in the header does not match the transactions",
    "bad-txns-duplicate": "the transaction list repeats a transaction to fake the merkle root (CVE-2012-2459)",
    "bad-blk-length": "the block has no transactions or is larger than the size limit",
    "bad-cb-missing": "the first transaction is not a coinbase",
    "bad-cb-multiple": "more than one coinbase transaction in the block",
    "bad-cb-length": "the coinbase data is shorter than 2 or longer than 100 bytes",
    "bad-cb-height": "the coinbase does not start with the block's height (BIP 34)",
    "bad-cb-amount": "the coinbase pays out more than subsidy plus fees",
    "bad-txns-nonfinal": "a transaction's locktime has not been reached yet",
    "bad-txns-BIP30": "a transaction would overwrite outputs that are still unspent (BIP 30)",
    # transactions, context-free
    "bad-txns-vin-empty": "the transaction has no inputs",
    "bad-txns-vout-empty": "the transaction has no outputs",
    "bad-txns-oversize": "the transaction is larger than a block may be",
    "bad-txns-vout-negative": "an output has a negative value",
    "bad-txns-vout-toolarge": "an output is worth more than 21 million coins",
    "bad-txns-txouttotal-toolarge": "the outputs add up to more than 21 million coins",
    "bad-txns-inputs-duplicate": "the transaction spends the same output twice",
    "bad-txns-prevout-null": "a normal transaction has an input that looks like a coinbase's",
    # transactions against the coins they spend
    "bad-txns-inputs-missingorspent": "an input spends an output that does not exist or is already spent",
    "bad-txns-premature-spend-of-coinbase": "an input spends a coinbase output that has not matured yet",
    "bad-txns-inputvalues-outofrange": "the inputs are worth more than 21 million coins",
    "bad-txns-in-belowout": "the outputs are worth more than the inputs",
    SCRIPT_FAILED.format(ERR_EQUALVERIFY): "an input's public key does not hash to the key hash its output "
    "is locked to: OP_EQUALVERIFY failed",
    SCRIPT_FAILED.format(ERR_EVAL_FALSE): "an input's signature does not verify: OP_CHECKSIG left false on the stack",
    SCRIPT_FAILED.format(ERR_BAD_OPCODE): "a script uses an opcode the lab's small interpreter does not run",
    # mempool policy (Bitcoin Core's standardness and mempool rules)
    "coinbase": "a coinbase transaction only exists inside its block, never in a mempool",
    "txn-already-in-mempool": "the transaction is already in this mempool",
    "txn-already-known": "the transaction is already confirmed or waiting in the orphan pool",
    "txn-mempool-conflict": "the transaction spends an output another mempool transaction spends (first seen wins)",
    "non-final": "the transaction's locktime has not been reached for the next block",
    "tx-size": "the transaction is larger than the relay limit",
    "version": "the transaction's version is not one nodes relay (1 or 2)",
    "scriptsig-size": "a scriptSig is larger than 1,650 bytes",
    "scriptsig-not-pushonly": "a scriptSig does more than push data",
    "scriptpubkey": "an output is locked by a script that is not a standard template",
    "multi-op-return": "more than one OP_RETURN data output",
    "bad-txns-nonstandard-inputs": "an input spends an output locked by a non-standard script",
    "dust": "an output is so small that spending it would cost more than it is worth",
    "min relay fee not met": "the fee is below the minimum relay fee for the transaction's size",
    "mempool-full": "the mempool is full and this transaction pays a lower fee rate than all in it",
    "too-long-mempool-chain": "the transaction would have too many unconfirmed ancestors or descendants (25, or 101 kB)",
    POLICY_FAILED.format(ERR_HIGH_S): "a signature uses the high S value (malleable); nodes only relay low-S signatures",
    # why a transaction left the mempool
    "conflict": "a block spent the same output this transaction spends",
}

MUTATION_CODES = frozenset({"bad-txnmrklroot", "bad-txns-duplicate"})  # realname: BLOCK_MUTATED


def fail(code: str, detail: str = "", *, punish: bool = True) -> ValidationError:
    """Build the ValidationError for `code`; the detail defaults to REASONS[code]."""
    return ValidationError(code, detail or REASONS.get(code, ""), punish=punish)


# --- headers -----------------------------------------------------------------


def check_block_header(header: BlockHeader) -> None:
    """realname: CheckBlockHeader: the hash meets the target the header claims."""
    if not pow.check_proof_of_work(header.hash, header.bits):
        raise fail("high-hash")


def contextual_check_block_header(header: BlockHeader, parent: BlockIndex, consensus: Consensus, now: int) -> None:
    """realname: ContextualCheckBlockHeader. `parent` is the parent's BlockIndex, `now` the node's clock."""
    expected = consensus.expected_bits(parent)
    if header.bits != expected:
        raise fail("bad-diffbits", f"bits {header.bits:#010x}, expected {expected:#010x} at height {parent.height + 1}")
    mtp = parent.median_time_past()
    if header.time <= mtp:
        raise fail("time-too-old", f"time {header.time} is not after the median time past {mtp}")
    if header.time > now + consensus.max_future_time:
        raise fail(
            "time-too-new",
            f"time {header.time} is {header.time - now} s ahead of this node's clock (limit {consensus.max_future_time} s)",
            punish=False,  # Bitcoin Core: BLOCK_TIME_FUTURE, the peer's clock may just differ
        )


def orphan_check_bits(header: BlockHeader, consensus: Consensus) -> None:
    """A header whose parent is unknown: its bits may not be easier than any the rules ever require.

    Without its parent the exact bits cannot be checked (realname: Core keeps
    no orphan blocks since headers-first), but with a fixed schedule no height
    ever allows an easier target than the schedule's easiest, so a block
    claiming 1 zero bit is refused before it is stored. With retargeting the
    target may drift down to the proof-of-work limit, which is then the bound.
    """
    easiest = pow.POW_LIMIT
    if not consensus.retarget_interval:
        easiest = max(pow.bits_to_target(bits) for _, bits in consensus.schedule)
    if pow.bits_to_target(header.bits) > easiest:
        raise fail("bad-diffbits", f"bits {header.bits:#010x} are easier than any this lab requires "
                   f"({pow.target_to_bits(easiest):#010x})")


def min_chain_work(tip: BlockIndex, depth: int) -> int:
    """The least chain work a header chain must end with to be stored (realname: nMinimumChainWork).

    Core's value is a constant of the release; the lab's is the tip's work
    minus `depth` blocks at the tip's difficulty, so forks near the tip are
    kept and a long cheap chain forking deep is not.
    """
    return tip.chain_work - depth * pow.work_from_bits(tip.header.bits)


# --- transactions ---------------------------------------------------------------


def check_transaction(tx: Tx) -> None:
    """realname: CheckTransaction: rules a transaction must follow on its own."""
    if not tx.inputs:
        raise fail("bad-txns-vin-empty")
    if not tx.outputs:
        raise fail("bad-txns-vout-empty")
    if tx.size > MAX_BLOCK_SIZE:
        raise fail("bad-txns-oversize", f"{tx.size} bytes, a block holds at most {MAX_BLOCK_SIZE}")
    total = 0
    for n, out in enumerate(tx.outputs):
        if out.value < 0:
            raise fail("bad-txns-vout-negative", f"output {n} has value {format_amount(out.value) if out.value >= 0 else out.value}")
        if out.value > MAX_MONEY:
            raise fail("bad-txns-vout-toolarge", f"output {n} has value {format_amount(out.value) if out.value >= 0 else out.value}")
        total += out.value
        if total > MAX_MONEY:
            raise fail("bad-txns-txouttotal-toolarge")
    seen: set[OutPoint] = set()
    for txin in tx.inputs:
        if txin.prevout in seen:
            raise fail("bad-txns-inputs-duplicate", f"output {txin.prevout} is spent twice")
        seen.add(txin.prevout)
    if tx.is_coinbase():
        n = len(tx.inputs[0].script_sig)
        if not MIN_COINBASE_DATA <= n <= MAX_COINBASE_DATA:
            raise fail("bad-cb-length", f"coinbase data is {n} bytes")
    else:
        for txin in tx.inputs:
            if txin.prevout.is_null():
                raise fail("bad-txns-prevout-null")


def is_final_tx(tx: Tx, height: int, time_cutoff: int) -> bool:
    """realname: IsFinalTx. Locktime below 500,000,000 is a height, above it a time."""
    if tx.locktime == 0:
        return True
    limit = height if tx.locktime < LOCKTIME_THRESHOLD else time_cutoff
    if tx.locktime < limit:
        return True
    return all(i.sequence == SEQUENCE_FINAL for i in tx.inputs)  # all final: locktime ignored


def check_tx_inputs(
    tx: Tx, get_coin: Callable[[OutPoint], Coin | None], spend_height: int, consensus: Consensus
) -> tuple[list[Coin], int]:
    """realname: Consensus::CheckTxInputs. Returns (the spent coins in input order, fee)."""
    coins: list[Coin] = []
    value_in = 0
    for txin in tx.inputs:
        coin = get_coin(txin.prevout)
        if coin is None:
            raise fail("bad-txns-inputs-missingorspent", f"output {txin.prevout} is missing or spent")
        if coin.coinbase and spend_height - coin.height < consensus.coinbase_maturity:
            raise fail(
                "bad-txns-premature-spend-of-coinbase",
                f"coinbase output {txin.prevout} from height {coin.height} matures at height "
                f"{coin.height + consensus.coinbase_maturity}; this spend is at height {spend_height}",
            )
        value_in += coin.out.value
        if not 0 <= coin.out.value <= MAX_MONEY or value_in > MAX_MONEY:
            raise fail("bad-txns-inputvalues-outofrange")
        coins.append(coin)
    value_out = tx.total_out()
    if value_in < value_out:
        raise fail("bad-txns-in-belowout", f"inputs hold {format_amount(value_in)} coins, outputs pay {format_amount(value_out)}")
    return coins, value_in - value_out


class ScriptCheck:
    """One input's script check, run now or later (realname: CScriptCheck).

    Calling it returns None when the input's scripts pass, else Core's script
    error string. The signature cache remembers every signature that verified,
    so a check run early (in slices, off a big block) makes the later one free.
    """

    __slots__ = ("tx", "index", "script_pubkey", "flags", "sighashes", "sigcache")

    def __init__(self, tx: Tx, index: int, script_pubkey: bytes, flags: int, sighashes: SighashCache,
                 sigcache: SigCache | None) -> None:
        self.tx = tx
        self.index = index  # which input
        self.script_pubkey = script_pubkey  # the lock of the coin it spends
        self.flags = flags  # SCRIPT_VERIFY_* bits
        self.sighashes = sighashes  # shared by every input of the transaction
        self.sigcache = sigcache

    def __call__(self, flags: int | None = None) -> str | None:
        index = self.index
        checker = SignatureChecker(
            sighash=lambda code, hash_type: self.sighashes.digest(index, code, hash_type),
            verify=self.sigcache.verify if self.sigcache is not None else verify,
        )
        try:
            verify_script(self.tx.inputs[index].script_sig, self.script_pubkey,
                          self.flags if flags is None else flags, checker)
        except ScriptError as e:
            return str(e)
        return None


def script_checks(tx: Tx, coins: Sequence[Coin], sigcache: SigCache | None, *, policy: bool = False) -> list[ScriptCheck]:
    """One ScriptCheck per input, sharing one SighashCache: the caller may run them in slices."""
    flags = STANDARD_FLAGS if policy else MANDATORY_FLAGS
    sighashes = SighashCache(tx)
    return [ScriptCheck(tx, n, coin.out.script_pubkey, flags, sighashes, sigcache) for n, coin in enumerate(coins)]


def check_tx_signatures(tx: Tx, coins: Sequence[Coin], sigcache: SigCache | None, *, policy: bool = False) -> None:
    """realname: CheckInputScripts: every input's scriptSig unlocks the coin it spends.

    With `policy` (mempool acceptance) the standard flags apply too (low S,
    strict encodings, push-only scriptSig, a failed signature must be empty);
    a failure that the consensus flags alone would pass is not punished, as
    Bitcoin Core returns TX_NOT_STANDARD for it.
    """
    if sigcache is not None and sigcache.scripts_checked(tx.txid, policy):
        return  # every input already passed with these rules (script execution cache)
    for check in script_checks(tx, coins, sigcache, policy=policy):
        if sigcache is not None and sigcache.input_checked(tx.txid, check.index, policy):
            continue  # passed when the block was verified in slices (lab/net/bigblock.py)
        error = check()
        if error is None:
            continue
        if policy:
            mandatory_error = check(MANDATORY_FLAGS)
            if mandatory_error is None:
                raise fail(POLICY_FAILED.format(error), f"input {check.index}: {error}", punish=False)
            error = mandatory_error
        raise fail(SCRIPT_FAILED.format(error), f"input {check.index}: {error}")
    if sigcache is not None:
        sigcache.add_scripts_checked(tx.txid, policy)


def preverify_block_scripts(block: Block, get_coin: Callable[[OutPoint], Coin | None], sigcache: SigCache,
                            slice_size: int = 50) -> Iterator[int]:
    """Run a block's input checks ahead of connect_block, yielding every `slice_size` checks.

    A generator for the node's event loop: `for done in preverify_block_scripts(...):
    await asyncio.sleep(0)` verifies a large block without holding the loop. Coins
    come from `get_coin` (the UTXO set) or earlier transactions of the block. Each
    transaction whose every input passes goes into the script execution cache, so
    connect_block skips it; anything that fails or is missing is left for
    connect_block, which rejects the block with the right reason. Yields the
    number of checks run so far. One check hashes its whole transaction once
    (legacy sighash): ~0.3 ms for a 6,500-input, 1 MB transaction, so 50 checks
    hold the loop ~15 ms; slice_size=1 lets the caller keep its own time budget.
    """
    made: dict[OutPoint, Coin] = {}
    done = 0
    for tx in block.txs[1:]:
        found = [made.get(i.prevout) or get_coin(i.prevout) for i in tx.inputs]
        for n, out in enumerate(tx.outputs):
            made[OutPoint(tx.txid, n)] = Coin(out, 0, False)
        coins = [c for c in found if c is not None]
        if len(coins) != len(found) or sigcache.scripts_checked(tx.txid, False):
            continue
        passed = True
        for check in script_checks(tx, coins, sigcache):
            passed = check() is None
            if passed:
                sigcache.add_input_checked(tx.txid, check.index, False)
            done += 1
            if done % slice_size == 0:
                yield done
            if not passed:
                break
        if passed:
            sigcache.add_scripts_checked(tx.txid, False)
    yield done


# --- blocks -------------------------------------------------------------------------


def check_block(block: Block) -> None:
    """realname: CheckBlock: rules a block follows with no knowledge of the chain."""
    check_block_header(block.header)
    root, mutated = block.compute_merkle_root()
    if root != block.header.merkle_root:
        raise fail("bad-txnmrklroot")
    if mutated:  # the duplicate-transaction trick: same root, different (invalid) list
        raise fail("bad-txns-duplicate")
    size = block.size
    if not block.txs or size > MAX_BLOCK_SIZE:
        raise fail("bad-blk-length", f"{len(block.txs)} transactions, {size} bytes")
    if not block.txs[0].is_coinbase():
        raise fail("bad-cb-missing")
    for tx in block.txs[1:]:
        if tx.is_coinbase():
            raise fail("bad-cb-multiple")
    for tx in block.txs:
        check_transaction(tx)


def contextual_check_block(block: Block, parent: BlockIndex, consensus: Consensus) -> None:
    """realname: ContextualCheckBlock: finality (BIP 113 uses the parent's median time) and BIP 34."""
    height = parent.height + 1
    cutoff = parent.median_time_past()
    for tx in block.txs:
        if not is_final_tx(tx, height, cutoff):
            raise fail("bad-txns-nonfinal", f"tx {tx.txid_hex[:12]} locktime {tx.locktime}")
    script_sig = block.txs[0].inputs[0].script_sig
    if not script_sig.startswith(bip34_prefix(height)):  # realname: CScript() << nHeight, a prefix
        got = coinbase_height(script_sig)
        raise fail("bad-cb-height", f"coinbase says height {got}, block is at {height}")


def connect_block(
    block: Block, height: int, utxo: UtxoSet, consensus: Consensus, sigcache: SigCache | None
) -> BlockUndo:
    """realname: ConnectBlock: spend and create coins; on any failure the UTXO set is unchanged."""
    # BIP 30: no transaction may create an output that already exists unspent.
    for tx in block.txs:
        for n in range(len(tx.outputs)):
            if OutPoint(tx.txid, n) in utxo:
                raise fail("bad-txns-BIP30", f"tx {tx.txid_hex[:12]} output {n} already exists")
    undo: list[tuple[Coin, ...]] = []
    fees = 0
    try:
        for tx in block.txs[1:]:
            coins, fee = check_tx_inputs(tx, utxo.get, height, consensus)
            check_tx_signatures(tx, coins, sigcache)
            fees += fee
            undo.append(utxo.apply_tx(tx, height))  # later txs may spend these outputs
        limit = consensus.subsidy(height) + fees
        paid = block.txs[0].total_out()
        if paid > limit:
            raise fail("bad-cb-amount", f"coinbase pays {format_amount(paid)} coins; subsidy + fees allow {format_amount(limit)}")
        utxo.apply_tx(block.txs[0], height)
    except ValidationError:
        for tx, tx_undo in zip(reversed(block.txs[1 : 1 + len(undo)]), reversed(undo), strict=True):
            utxo.undo_tx(tx, tx_undo)
        raise
    return tuple(undo)
