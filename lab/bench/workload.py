"""The figures that drive a whole lab through a workload: experiment, sync, sigs, responsive."""

from __future__ import annotations

import asyncio

from lab.bench import drive
from lab.bench.drive import now, run
from lab.bench.table import Sample
from lab.chain.crypto import PrivateKey
from lab.chain.node_state import NodeState
from lab.params import COINBASE_MATURITY

EXPERIMENT_DIFFICULTY = 12  # 4,096 tries a block: the proof of work is ~3 ms of each block's cost


async def experiment(quick: bool, runs: int) -> list[Sample]:
    """`autominer on`, then `run 10m` until N blocks were mined; `autominer off`; all agree."""
    n, k, blocks = (5, 2, 20) if quick else (20, 4, 1_000)
    out: list[Sample] = []
    for r in range(runs):
        async with drive.session(nodes=n, topology="random", k=k, seed=1 + r, difficulty=EXPERIMENT_DIFFICULTY) as s:
            t0 = now()
            await run(s, "autominer on")
            while drive.mined_count(s) < blocks:
                await run(s, "run 10m")
            await run(s, "autominer off")
            dt = now() - t0
            await run(s, "check same-tip")
            out.append({"value": dt})
    return out


async def sync(quick: bool, runs: int) -> list[Sample]:
    """A's chain is built once (not timed); each run times `add-node` (it syncs in the command), then stops it."""
    blocks, chunk = (200, 100) if quick else (10_000, 500)
    async with drive.session(nodes=["A"], seed=1, difficulty=1) as s:
        for _ in range(blocks // chunk):
            await run(s, f"mine A {chunk}; run {chunk * 10}m")  # ten virtual minutes a block, as mined
        out: list[Sample] = []
        for r in range(runs):
            name = f"S{r + 1}"
            t0 = now()
            await run(s, f"add-node {name}")
            dt = now() - t0
            await run(s, f"check tip {name} == A; stop {name}")
            out.append({"value": dt})
        return out


async def sigs(quick: bool, runs: int) -> list[Sample]:
    """`send A J 0.01` N times on a line (signed, accepted, relayed node by node), then `mine A`.

    `value`: signatures verified per second while the payments crossed the line.
    `connect`: ms per 100 transactions for a node that already holds them (signatures
    in its cache) to connect the block that confirms them: a fresh NodeState replays
    the lab's chain, accepts the payments, and `process_block` is timed. That is
    CheckBlock, ConnectBlock (UTXO updates; the scripts are skipped, as Core's script
    execution cache skips them, since the mempool checked them) and removeForBlock: the
    mempool dropping the 1,000 confirmed txs, chains of about 20, at once.
    """
    n, txs = (3, 30) if quick else (10, 1_000)
    out: list[Sample] = []
    for r in range(runs):
        async with drive.session(nodes=n, topology="line", seed=1 + r) as s:
            last = drive.names(s)[-1]
            # A coin of its own for every 20 payments: the wallet spends confirmed coins first, then its
            # change, so each chain of unconfirmed payments stays under the mempool's ancestor limit (25).
            await run(s, f"mine A {COINBASE_MATURITY + max(2, txs // 20)}")
            verified0 = drive.sig_verifications(s)
            await run(s, "mode step")  # every payment first, then relay them all, as a busy wallet would
            t0 = now()
            for _ in range(txs):
                await run(s, f"send A {last} 0.01")
            await run(s, "run until quiet")
            dt = now() - t0
            verified = drive.sig_verifications(s) - verified0
            if drive.mempool_sizes(s) != {txs}:
                raise RuntimeError("not every node holds every transaction")
            await run(s, "mode auto; mine A; check same-tip")
            if drive.mempool_sizes(s) != {0}:
                raise RuntimeError("the block did not confirm every transaction on every node")
            out.append({"value": verified / dt, "connect": _connect_ms_per_100(s)})
    return out


def _connect_ms_per_100(s: drive.Session) -> float:
    lab = drive.the_lab(s)
    a = lab.nodes["A"].state
    tip = a.chain.tip
    state = NodeState("Z", PrivateKey.derive(lab.seed, "Z"), lab.consensus, lab.clock)
    for height in range(1, tip.height):
        state.process_block(a.get_block(tip.ancestor(height).hash))
    block = a.get_block(tip.hash)
    for tx in block.txs[1:]:
        state.accept_tx(tx)
    t0 = now()
    state.process_block(block)
    dt = now() - t0
    if state.chain.tip.hash != tip.hash:
        raise RuntimeError("the replayed node did not connect the block")
    return dt * 1e3 * 100 / (len(block.txs) - 1)


async def responsive(quick: bool, runs: int) -> list[Sample]:
    """The REPL's situation: `autominer on; speed 10000; mode live`, and a ticker measuring loop lag."""
    seconds = 0.5 if quick else 5.0
    period = 0.002
    out: list[Sample] = []
    for r in range(runs):
        async with drive.session(nodes=4, seed=1 + r) as s:
            await run(s, "autominer on; speed 10000; mode live")
            lags: list[float] = []
            mined0 = drive.mined_count(s)
            end = now() + seconds
            while now() < end:
                t0 = now()
                await asyncio.sleep(period)
                lags.append(max(0.0, now() - t0 - period))
            mined = drive.mined_count(s) - mined0
            await run(s, "autominer off")
            if mined == 0 and not quick:
                raise RuntimeError("the auto-miners found no block: nothing was measured")
            lags.sort()
            p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
            out.append({"value": p99 * 1e3, "blocks": float(mined)})
    return out
