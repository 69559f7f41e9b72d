"""One node's consensus state behind one facade: chain, mempool, wallet, sig cache.

This is what the network layer calls when a peer sends a block, headers or
a transaction, and what the lab calls to mine or pay. It plays the part of
Bitcoin Core's ChainstateManager + CTxMemPool + CWallet + the glue in
net_processing that keeps the mempool in step with the chain
(realname: ProcessNewBlock, ProcessNewBlockHeaders, AcceptToMemoryPool,
CValidationInterface).

Every change is reported as events (events.py): returned in the result and
sent to each listener in `listeners`, in order, after the operation has
finished, so a listener always sees a consistent state. No I/O, no
printing, no wall clock: time comes from the injected `clock`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from lab.chain.block import Block, BlockHeader
from lab.chain.chainstate import ChainState
from lab.chain.consensus import Consensus
from lab.chain.crypto import PrivateKey, sha256d
from lab.chain.events import Event, TxRejected
from lab.chain.mempool import Mempool
from lab.chain.miner import BlockTemplate, Miner, failing_pow, mine, template_from_mempool
from lab.chain.sigcache import SigCache
from lab.chain.tx import OutPoint, Tx, TxIn, TxOut
from lab.chain.wallet import Wallet, script_sig_for
from lab.errors import ValidationError, WalletError
from lab.params import MAX_MEMPOOL_TXS, MAX_ORPHAN_BLOCKS, MAX_ORPHAN_TXS, TARGET_BLOCK_INTERVAL

FORGE_RULES = ("overpay", "double-spend", "bad-signature", "bad-merkle", "future-time", "bad-pow")
DUPLICATE_TX_CODES = frozenset({"txn-already-in-mempool", "txn-already-known"})
MAX_RECENT_REJECTS = 1_000  # Bitcoin Core keeps a 120,000-entry rolling bloom filter


@dataclass(frozen=True, slots=True)
class BlockResult:
    """What process_block did. It never raises for a bad block: `error` says what was wrong."""

    status: str  # "new-tip" | "side-branch" | "orphan" | "duplicate" | "invalid" | "ignored"
    events: tuple[Event, ...]
    accepted_txs: tuple[Tx, ...] = ()  # txs that (re)entered the mempool: returned by a reorg, or unlocked orphans
    error: ValidationError | None = None  # "invalid": the rule broken (.punish: penalise the sender);
    #   "ignored": why it was not stored (an unrequested less-work block), never punished


@dataclass(frozen=True, slots=True)
class TxResult:
    """What accept_tx did."""

    status: str  # "accepted" | "orphan" | "duplicate"
    events: tuple[Event, ...]
    accepted: list[Tx]  # the tx plus any orphans it unlocked; announce all of them
    code: str = ""  # for "duplicate": txn-already-in-mempool or txn-already-known


class NodeState:
    """Chain, mempool, wallet and sig cache of one node, and the events they emit."""

    def __init__(
        self,
        name: str,
        key: PrivateKey,
        consensus: Consensus,
        clock: Callable[[], int],
        *,
        max_mempool: int = MAX_MEMPOOL_TXS,
        max_orphan_txs: int = MAX_ORPHAN_TXS,
        max_orphan_blocks: int = MAX_ORPHAN_BLOCKS,
    ) -> None:
        self.name = name
        self.key = key
        self.consensus = consensus
        self.clock = clock
        self.listeners: list[Callable[[Event], None]] = []
        self._pending: list[Event] = []
        self.sigcache = SigCache()
        self.chain = ChainState(
            consensus, clock, sigcache=self.sigcache, emit=self._emit, max_orphans=max_orphan_blocks
        )
        self.mempool = Mempool(
            self.chain, sigcache=self.sigcache, emit=self._emit, max_txs=max_mempool, max_orphans=max_orphan_txs
        )
        self.wallet = Wallet(name, key, self.chain, self.mempool)
        self.recent_rejects: dict[bytes, str] = {}  # txid -> code; cleared on every new tip (recentRejects)

    def __repr__(self) -> str:
        return f"NodeState({self.name}, height={self.chain.height}, tip={self.chain.tip.header.short}, mempool={len(self.mempool)})"

    # --- events ------------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        self._pending.append(event)

    def _flush(self) -> tuple[Event, ...]:
        """Hand the operation's events to every listener, in order, and return them."""
        events = tuple(self._pending)
        self._pending.clear()
        for event in events:
            for listener in list(self.listeners):
                listener(event)
        return events

    # --- blocks and headers ------------------------------------------------------------
    def process_block(self, block: Block, *, requested: bool = True) -> BlockResult:
        """A block from a peer or our own miner (realname: ProcessNewBlock).

        `requested`: False for a block nobody asked for (an outsider pushed it);
        then a block whose chain has less work than the tip is "ignored", not
        stored (realname: AcceptBlock, fRequested). Our own blocks, blocks we
        sent getdata for, and the lab's own are requested.
        """
        outcome = self.chain.process_block(block, requested=requested)
        accepted: list[Tx] = []
        if outcome.update is not None:
            accepted = self.mempool.update_for_tip(outcome.update)
            self.recent_rejects.clear()
        return BlockResult(outcome.status, self._flush(), tuple(accepted), outcome.error)

    def process_headers(self, headers: list[BlockHeader]) -> list[bytes]:
        """A `headers` message (realname: ProcessNewBlockHeaders): hashes of blocks to fetch."""
        try:
            wanted = self.chain.process_headers(headers)
        except ValidationError as e:
            e.events = self._flush()  # type: ignore[attr-defined]
            raise
        self._flush()
        return wanted

    def get_block(self, block_hash: bytes) -> Block | None:
        """A stored block we would serve to a peer (never one we found invalid)."""
        idx = self.chain.index.get(block_hash)
        if idx is None or idx.failed:
            return None
        return self.chain.blocks.get(block_hash)

    # --- transactions -------------------------------------------------------------------
    def accept_tx(self, tx: Tx) -> TxResult:
        """A transaction from a peer or our wallet (realname: AcceptToMemoryPool)."""
        try:
            result = self.mempool.accept(tx)
        except ValidationError as e:
            if e.code in DUPLICATE_TX_CODES:
                return TxResult("duplicate", self._flush(), [], e.code)
            self._emit(TxRejected(tx.txid, e.code, e.detail))
            self._remember_reject(tx.txid, e.code)
            e.events = self._flush()  # type: ignore[attr-defined]
            raise
        return TxResult(result.status, self._flush(), list(result.accepted))

    def _remember_reject(self, txid: bytes, code: str) -> None:
        if len(self.recent_rejects) >= MAX_RECENT_REJECTS:
            del self.recent_rejects[next(iter(self.recent_rejects))]
        self.recent_rejects[txid] = code

    def get_tx(self, txid: bytes) -> Tx | None:
        """A mempool transaction (what we relay)."""
        return self.mempool.get(txid)

    def has_tx(self, txid: bytes) -> bool:
        """No need to fetch it: in the mempool, orphan pool, confirmed, or recently rejected (AlreadyHaveTx)."""
        return (
            txid in self.mempool
            or txid in self.mempool.orphans
            or txid in self.chain.tx_index
            or txid in self.recent_rejects
        )

    # --- mining ----------------------------------------------------------------------------
    def block_template(self, time: int | None = None) -> BlockTemplate:
        """A template on our tip paying us; time defaults to max(clock, tip's median time + 1)."""
        return template_from_mempool(self.chain, self.mempool, self.key.pkh, time)

    def mine_block(self, time: int | None = None) -> Block:
        """Search until a block is found. Does NOT process it: call process_block(block) next."""
        return mine(self.block_template(time))

    def forge_block(self, rule: str, time: int | None = None) -> Block:
        """A block on our tip that breaks exactly one rule (for lessons on rejection).

        Valid proof of work unless the rule is "bad-pow". See FORGE_RULES.
        """
        if rule not in FORGE_RULES:
            raise ValueError(f"unknown rule '{rule}'; one of: {', '.join(FORGE_RULES)}")
        t = self.block_template(time)
        if rule == "future-time":
            t = replace(t, time=self.clock() + self.consensus.max_future_time + TARGET_BLOCK_INTERVAL)
        elif rule == "overpay":
            t = replace(t, subsidy=t.subsidy + 1)  # one base unit more than allowed
        elif rule == "double-spend":
            t = replace(t, txs=t.txs + self._double_spend_txs(t))
        elif rule == "bad-signature":
            t = replace(t, txs=t.txs + (self._badly_signed_tx(t),))
        miner = Miner(t)
        if rule == "bad-merkle":
            miner.merkle_root = sha256d(b"not the merkle root of these transactions")
            miner.prepare_header()
        if rule == "bad-pow":
            return failing_pow(miner.block_with_nonce(0))
        while True:
            block = miner.search(100_000)
            if block is not None:
                return block

    def _free_coin(self, t: BlockTemplate) -> tuple[OutPoint, TxOut] | None:
        """One of our confirmed, mature coins that no template tx spends."""
        used = {i.prevout for tx in t.txs for i in tx.inputs}
        for c in self.wallet.coins():
            if c.state == "spendable" and c.height is not None and c.outpoint not in used:
                return c.outpoint, c.out
        return None

    def _spend(self, op: OutPoint, out: TxOut, value: int, digest: bytes | None = None) -> Tx:
        unsigned = Tx((TxIn(op),), (TxOut.to_pkh(value, self.key.pkh),))
        script_sig = script_sig_for(self.key, digest or unsigned.sighash(0, out.script_pubkey))
        return unsigned.with_inputs((TxIn(op, script_sig),))

    def _double_spend_txs(self, t: BlockTemplate) -> tuple[Tx, ...]:
        free = self._free_coin(t)
        if free is not None and free[1].value > 30_000:
            op, out = free  # two valid, signed txs spending the same coin: the second must fail
            return (self._spend(op, out, out.value - 10_000), self._spend(op, out, out.value - 20_000))
        for idx in reversed(self.chain.active[1:]):  # an outpoint the chain already spent
            for tx in self.chain.blocks[idx.hash].txs[1:]:
                op = tx.inputs[0].prevout
                return (self._spend(op, TxOut.to_pkh(tx.total_out(), self.key.pkh), tx.total_out()),)
        op = next(iter(self.chain.utxo), OutPoint(b"\x11" * 32, 0))  # the same outpoint twice
        return (Tx((TxIn(op), TxIn(op)), (TxOut.to_pkh(1_000, self.key.pkh),)),)

    def _badly_signed_tx(self, t: BlockTemplate) -> Tx:
        free = self._free_coin(t)
        if free is None:
            raise WalletError(
                f"{self.name} has no mature coin to sign badly with",
                f"mine {self.consensus.coinbase_maturity + 1} blocks on {self.name} first",
            )
        op, out = free
        return self._spend(op, out, out.value - 10_000, digest=sha256d(b"a message other than this tx"))
