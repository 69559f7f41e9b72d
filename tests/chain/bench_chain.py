"""Measure the two consensus performance figures (run: python tests/chain/bench_chain.py).

1. Mining: double-SHA-256 per second of Miner.search on one core (target >= 1.2 M/s).
2. Connecting a 100-transaction block whose transactions the node already
   accepted into its mempool (warm sig cache) versus one that never saw them
   (cold): the warm case should take a few milliseconds.

Not collected by pytest (the name does not start with test_); `lab bench`
can reuse `measure_hashrate` and `measure_connect`.
"""

from __future__ import annotations

import time
from dataclasses import replace

from lab.chain import pow
from lab.chain.consensus import Consensus
from lab.chain.crypto import PrivateKey
from lab.chain.miner import Miner, mine
from lab.chain.node_state import NodeState
from lab.chain.tx import OutPoint, Tx, TxIn, TxOut
from lab.chain.wallet import sign_inputs
from lab.params import GENESIS_TIME


def measure_hashrate(nonces: int = 2_000_000) -> float:
    """Double-SHA-256 per second of one Miner.search slice at an unreachable target."""
    node = NodeState("A", PrivateKey.derive(1, "A"), Consensus.with_difficulty(1), lambda: GENESIS_TIME + 1_000_000)
    miner = Miner(replace(node.block_template(), bits=pow.bits_for_zero_bits(60)))  # never found: pure hashing
    start = time.perf_counter()
    miner.search(nonces)
    return miner.hashes_done / (time.perf_counter() - start)


def _sign(key: PrivateKey, op: OutPoint, out: TxOut, outputs: tuple[TxOut, ...]) -> Tx:
    unsigned = Tx((TxIn(op),), outputs)
    return unsigned.with_inputs(sign_inputs(key, unsigned, [out]))


def measure_connect(n_tx: int = 100, rounds: int = 5) -> tuple[float, float]:
    """(warm, cold) seconds to process one block of `n_tx` payments, best of `rounds`."""
    now = [GENESIS_TIME + 1_000_000]

    def clock() -> int:
        return now[0]

    consensus = Consensus.with_difficulty(1)
    key = PrivateKey.derive(1, "A")
    source = NodeState("A", key, consensus, clock)

    def mine_on(node: NodeState) -> None:
        now[0] += 600
        node.process_block(node.mine_block())

    for _ in range(4):
        mine_on(source)
    warm_s, cold_s = [], []
    for _ in range(rounds):
        # A coin split into n_tx outputs, confirmed, so each payment has its own input.
        op, out = next(
            (op, c.out)
            for op, c in source.chain.utxo.coins_for(key.pkh)
            if c.height + consensus.coinbase_maturity <= source.chain.height + 1
        )
        each = (out.value - 100_000) // n_tx
        split = _sign(key, op, out, tuple(TxOut.to_pkh(each, key.pkh) for _ in range(n_tx)))
        source.accept_tx(split)
        mine_on(source)
        payments = [
            _sign(key, OutPoint(split.txid, i), split.outputs[i], (TxOut.to_pkh(each - 10_000, b"\x07" * 20),))
            for i in range(n_tx)
        ]
        warm = NodeState("W", PrivateKey.derive(1, "W"), consensus, clock)
        cold = NodeState("C", PrivateKey.derive(1, "C"), consensus, clock)
        for blk in list(source.chain.blocks.values())[1:]:
            warm.process_block(blk)
            cold.process_block(blk)
        for tx in payments:
            source.accept_tx(tx)
            warm.accept_tx(tx)
        now[0] += 600
        block = mine(source.block_template())
        assert len(block.txs) == n_tx + 1
        for node, out_list in ((warm, warm_s), (cold, cold_s)):
            t0 = time.perf_counter()
            result = node.process_block(block)
            out_list.append(time.perf_counter() - t0)
            assert result.status == "new-tip"
        source.process_block(block)
    return min(warm_s), min(cold_s)


if __name__ == "__main__":
    rates = [measure_hashrate() for _ in range(3)]
    print(f"mining: {max(rates) / 1e6:.2f} M double-SHA-256/s (best of 3; runs {', '.join(f'{r / 1e6:.2f}' for r in rates)})")
    warm, cold = measure_connect()
    print(f"100-tx block connect: warm sig cache {warm * 1000:.1f} ms, cold {cold * 1000:.1f} ms ({cold / warm:.0f}x)")
