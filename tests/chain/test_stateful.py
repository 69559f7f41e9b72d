"""Random programs against one node, with every invariant checked after every step.

Hypothesis drives a node through mining on any known block (forks), paying
between three owners, double-spending in the mempool and inside blocks,
delivering blocks out of order, forging invalid blocks and growing longer
branches (reorgs). After every step:

- the UTXO set equals a replay of the active chain from genesis;
- disconnecting the tip then connecting it again restores the exact set;
- coins in existence never exceed the subsidies paid;
- no outpoint is spent twice on the active chain;
- the mempool holds no conflicts and nothing already confirmed;
- no valid block with more work than the tip is left unused;
- side branches stay within their byte cap (small here, so trimming is
  exercised) and mempool package totals match a recount;
- no transaction is lost: each one ever accepted or confirmed is confirmed,
  in the mempool, or was reported evicted (docs/ARCHITECTURE.md, invariant 5).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from lab.chain.chainstate import BlockIndex
from lab.chain.consensus import Consensus
from lab.chain.crypto import PrivateKey
from lab.chain.events import Event, TxAccepted, TxEvicted, TxReturned
from lab.chain.invariants import check_node
from lab.chain.miner import make_template, mine, template_from_mempool
from lab.chain.node_state import NodeState
from lab.chain.tx import Tx, TxIn, TxOut
from lab.chain.wallet import Wallet, sign_inputs
from lab.errors import ValidationError, WalletError
from lab.params import GENESIS_TIME

OWNERS = ("A", "B", "C")
KEYS = {name: PrivateKey.derive(7, name) for name in (*OWNERS, "N")}


class ChainMachine(RuleBasedStateMachine):
    """One node N; owners A, B, C mine and pay through it."""

    @initialize()
    def start(self) -> None:
        self.now = GENESIS_TIME + 1_000_000
        self.node = NodeState("N", KEYS["N"], Consensus.with_difficulty(1), lambda: self.now)
        self.node.chain.side.max_bytes = 3_000  # a few side blocks: trimming happens often
        self.wallets = {o: Wallet(o, KEYS[o], self.node.chain, self.node.mempool) for o in OWNERS}
        self.known: set[bytes] = set()  # every non-coinbase txid ever in the mempool or a connected block
        self.evicted: set[bytes] = set()
        self.conflicts: list[Tx] = []  # double-spends waiting to be put into a block
        self.node.listeners.append(self.on_event)
        for owner in OWNERS:  # enough mature coins to play with
            self._process(self._block(self.node.chain.tip, owner, with_mempool=False))
        for _ in range(3):
            self._process(self._block(self.node.chain.tip, "A", with_mempool=False))

    # --- helpers -------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        if isinstance(event, (TxAccepted, TxReturned)):
            self.known.add(event.txid)
        elif isinstance(event, TxEvicted):
            self.evicted.add(event.txid)

    def _blocks(self) -> list[BlockIndex]:
        """Known blocks with data that are not known invalid, in header arrival order."""
        chain = self.node.chain
        return sorted((i for i in chain.index.values() if i.have_data and not i.failed), key=lambda i: i.header_seq)

    def _block(self, parent: BlockIndex, owner: str, *, with_mempool: bool, extra: tuple[Tx, ...] = (), bonus: int = 0):
        self.now += 600
        chain = self.node.chain
        if with_mempool and parent is chain.tip:
            t = template_from_mempool(chain, self.node.mempool, KEYS[owner].pkh)
            t = make_template(chain, parent, t.pkh, t.txs + extra, t.fees + bonus)
        else:
            t = make_template(chain, parent, KEYS[owner].pkh, extra, bonus)
        return mine(t)

    def _process(self, block, requested: bool = True) -> None:  # noqa: ANN001
        chain = self.node.chain
        tip_work = chain.tip.chain_work
        result = self.node.process_block(block, requested=requested)
        if result.status == "ignored":  # never stored: unasked with less work, or the least-work side block
            assert block.hash not in chain.blocks
            assert not requested or result.error.code == "side-branches-full"
            assert requested or chain.index[block.hash].chain_work < tip_work
        for idx in chain.active[1:]:
            for tx in chain.blocks[idx.hash].txs[1:]:
                self.known.add(tx.txid)

    # --- rules ---------------------------------------------------------------
    @rule(data=st.data(), owner=st.sampled_from(OWNERS), with_mempool=st.booleans())
    def mine_on_any_block(self, data, owner: str, with_mempool: bool) -> None:  # noqa: ANN001
        blocks = self._blocks()
        parent = data.draw(st.sampled_from(blocks[-8:]), label="parent")
        self._process(self._block(parent, owner, with_mempool=with_mempool))

    @rule(sender=st.sampled_from(OWNERS), receiver=st.sampled_from(OWNERS), share=st.integers(1, 90), fee=st.sampled_from([10_000, 50_000]))
    def pay(self, sender: str, receiver: str, share: int, fee: int) -> None:
        wallet = self.wallets[sender]
        amount = max(wallet.balance().spendable * share // 100, 1_000)
        try:
            tx = wallet.pay(KEYS[receiver].pkh, amount, fee)
            self.node.accept_tx(tx)
        except (WalletError, ValidationError):
            pass

    @rule(data=st.data(), receiver=st.sampled_from(OWNERS))
    def double_spend(self, data, receiver: str) -> None:  # noqa: ANN001
        """Spend again a coin a mempool tx already spends: refused now, kept for a block."""
        pool = self.node.mempool
        spent = [op for op in pool.spent_by if op in self.node.chain.utxo]
        if not spent:
            return
        op = data.draw(st.sampled_from(spent), label="outpoint")
        coin = self.node.chain.utxo[op]
        owner = next(o for o in OWNERS if KEYS[o].pkh == coin.out.pubkey_hash)
        key = KEYS[owner]
        unsigned = Tx((TxIn(op),), (TxOut.to_pkh(coin.out.value - 20_000, KEYS[receiver].pkh),))
        tx = unsigned.with_inputs(sign_inputs(key, unsigned, [coin.out]))
        with pytest.raises(ValidationError):
            self.node.accept_tx(tx)
        self.conflicts.append(tx)

    @rule(data=st.data(), owner=st.sampled_from(OWNERS))
    def mine_a_double_spend(self, data, owner: str) -> None:  # noqa: ANN001
        """A block (on any recent block) carrying a double-spend: valid or not depends on the branch."""
        if not self.conflicts:
            return
        tx = self.conflicts.pop(data.draw(st.integers(0, len(self.conflicts) - 1), label="which"))
        parent = data.draw(st.sampled_from(self._blocks()[-6:]), label="parent")
        self._process(self._block(parent, owner, with_mempool=False, extra=(tx,)))

    @rule(owner=st.sampled_from(OWNERS))
    def mine_the_mempool(self, owner: str) -> None:
        """The common case: a block on the tip with the mempool's transactions."""
        self._process(self._block(self.node.chain.tip, owner, with_mempool=True))

    @rule(owner=st.sampled_from(OWNERS), depth=st.integers(1, 3), with_conflict=st.booleans())
    def outgrow_from_below(self, owner: str, depth: int, with_conflict: bool) -> None:
        """A branch from `depth` blocks below the tip, one block longer: a reorg.

        With `with_conflict`, its first block carries a waiting double-spend,
        so the reorg must evict whatever that spend conflicts with.
        """
        chain = self.node.chain
        parent = chain.active[max(0, chain.height - depth)]
        extra = (self.conflicts.pop(),) if with_conflict and self.conflicts else ()
        for _ in range(depth + 1):
            block = self._block(parent, owner, with_mempool=False, extra=extra)
            extra = ()
            self._process(block)
            parent = chain.index.get(block.hash, parent)
            if parent.failed:
                return

    @rule(data=st.data(), owner=st.sampled_from(OWNERS))
    def push_an_unrequested_block(self, data, owner: str) -> None:  # noqa: ANN001
        """An outsider pushes a block nobody asked for, on any recent block: kept only with the tip's work."""
        parent = data.draw(st.sampled_from(self._blocks()[-6:]), label="parent")
        self._process(self._block(parent, owner, with_mempool=False), requested=False)

    @rule(owner=st.sampled_from(OWNERS))
    def deliver_out_of_order(self, owner: str) -> None:
        """Two blocks on the tip, the child first: it waits as an orphan."""
        chain = self.node.chain
        first = self._block(chain.tip, owner, with_mempool=True)
        self.now += 600
        t = make_template(chain, chain.tip, KEYS[owner].pkh)
        second = mine(replace(t, prev_hash=first.hash, height=t.height + 1, subsidy=chain.consensus.subsidy(t.height + 1)))
        assert self.node.process_block(second).status == "orphan"
        self._process(first)
        assert chain.tip.hash == second.hash

    @rule(data=st.data(), owner=st.sampled_from(OWNERS))
    def forge_overpaying_block(self, data, owner: str) -> None:  # noqa: ANN001
        parent = data.draw(st.sampled_from(self._blocks()[-6:]), label="parent")
        self._process(self._block(parent, owner, with_mempool=False, bonus=1))

    @rule(data=st.data())
    def resubmit_a_confirmed_tx(self, data) -> None:  # noqa: ANN001
        chain = self.node.chain
        confirmed = [tx for idx in chain.active[-5:] for tx in chain.blocks[idx.hash].txs[1:]]
        if confirmed:
            tx = data.draw(st.sampled_from(confirmed), label="tx")
            assert self.node.accept_tx(tx).status == "duplicate"

    @rule()
    def disconnect_then_connect_the_tip(self) -> None:
        """On the real chain, not a copy: the UTXO set and tx index come back exactly."""
        chain = self.node.chain
        if chain.height == 0:
            return
        utxo, tx_index, tip = chain.utxo.snapshot(), dict(chain.tx_index), chain.tip
        chain._disconnect_tip()
        assert chain.utxo.snapshot() != utxo or not chain.blocks[tip.hash].txs[0].outputs
        chain._connect_tip(tip)
        self.node._pending.clear()  # the two events describe no real change
        assert chain.utxo.snapshot() == utxo
        assert chain.tx_index == tx_index
        assert chain.tip is tip

    # --- invariants ------------------------------------------------------------
    @invariant()
    def node_invariants_hold(self) -> None:
        assert check_node(self.node) == [], check_node(self.node)

    @invariant()
    def no_transaction_is_lost(self) -> None:
        chain, pool = self.node.chain, self.node.mempool
        lost = {t for t in self.known if t not in chain.tx_index and t not in pool and t not in self.evicted}
        assert not lost

    @invariant()
    def wallets_add_up(self) -> None:
        """Every coin belongs to an owner; pending payments move value between them, minus fees."""
        balances = [w.balance() for w in self.wallets.values()]
        in_utxo = self.node.chain.utxo.total_value()
        assert sum(b.confirmed + b.immature for b in balances) == in_utxo
        assert sum(b.total for b in balances) == in_utxo - self.node.mempool.total_fees()


ChainMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    derandomize=True,  # the same programs on every run and every laptop
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestChainMachine = ChainMachine.TestCase


@pytest.mark.soak
def test_stateful_soak() -> None:
    """Many more random programs (pytest -m soak)."""
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        ChainMachine,
        settings=settings(max_examples=400, stateful_step_count=40, deadline=None, database=None),
    )

