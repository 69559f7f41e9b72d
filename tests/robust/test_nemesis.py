"""Family 5: the partition nemesis (Jepsen's, on five lab nodes).

Each run is one seed. The seed draws a schedule of faults and work through
the command language: partitions (two halves, one isolated node, a bridge
node that alone links two groups, a one-way cut), latency changes, nodes
stopped and started, step-mode stretches where frames are still in flight
when the next fault lands, payments, double spends submitted on another
side of a partition, and mining on every side. Then the nemesis stops:
heal, start every node, run until quiet, and one last block settles the
double spends no chain had decided yet.

After every run (docs/ARCHITECTURE.md, "After a partition heals"):
1. every online node is on the same tip, the one with the most work;
2. every UTXO set is identical and equals a replay of the chain;
3. every transaction any node ever accepted is confirmed on that chain, in
   every mempool, or provably dead: it spends an output the chain (or a
   mempool tx) spent otherwise, an output of a dead or orphaned
   transaction, or a coinbase that is not mature any more. Anything else
   is a lost transaction;
4. no mempool holds conflicts, nothing confirmed is still in a mempool;
5. no internal error anywhere: not in a node, not at the prompt, and no
   unhandled exception in the event loop.

Seeds are fixed and printed; `pytest -m soak` runs many more, longer ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest
from labtest import lab_session, run_ok
from robustkit import converged_problems, internal_errors, lost_transactions, run

from lab.chain.tx import Tx
from lab.commands.session import LabConfig, Session
from lab.errors import LabError
from lab.lab import Lab
from lab.render.events import sentence

NAMES = ["A", "B", "C", "D", "E"]
SEEDS = list(range(1, 26))  # 25 runs in the default suite
SOAK_SEEDS = list(range(1000, 1100))


@dataclass
class Record:
    """What the nemesis saw: every tx any node accepted, and what it did."""

    seed: int
    accepted: set[bytes] = field(default_factory=set)
    actions: list[str] = field(default_factory=list)
    double_spends: int = 0
    lossy: bool = False  # frames were lost on live links (loss, drop): announcements may be gone for good


def watch(lab: Lab, rec: Record, nodes: list[str] | None = None) -> None:
    for name in nodes or list(lab.nodes):
        lab.nodes[name].state.listeners.append(lambda ev: rec.accepted.add(ev.txid) if ev.kind == "tx-accepted" else None)


def conflicting(lab: Lab, payer: str, original: Tx, to: str) -> Tx:
    """A tx signed by `payer` spending exactly the inputs of `original`, paying someone else."""
    spends = [(i.prevout, lab.txs[i.prevout.txid].outputs[i.prevout.index]) for i in original.inputs]
    total = sum(out.value for _, out in spends)
    wallet = lab.nodes[payer].state.wallet
    return wallet.respend(spends, lab.nodes[to].state.wallet.pkh, total - 20_000, fee=20_000)


# --- the schedule --------------------------------------------------------------------------------------
async def nemesis(seed: int, steps: int) -> tuple[Session, Record]:
    rng = random.Random(f"nemesis|{seed}")
    s = await Session(LabConfig(nodes=5, seed=seed, difficulty=4, latency_ms=10)).start()
    lab = s.lab
    rec = Record(seed)
    watch(lab, rec)
    sent: list[tuple[str, Tx]] = []  # (payer, tx) for later double spends

    async def do(line: str) -> bool:
        rec.actions.append(line)
        out = await s.execute(line)
        return out.ok

    def online() -> list[str]:
        return [n.name for n in lab.online_nodes()]

    NAMES = list(lab.nodes)  # noqa: N806  (grows when a node joins)

    async def mine_each(groups: list[list[str]]) -> None:
        for g in groups:
            live = [x for x in g if lab.nodes[x].online]
            if live and rng.random() < 0.8:
                await do(f"mine {rng.choice(live)} {rng.randint(1, 3)}")

    # Everyone earns some coins first, so payments can start early.
    for name in NAMES:
        await do(f"mine {name}")
    await do("mine A 3")

    for _ in range(steps):
        roll = rng.random()
        names = online()
        if roll < 0.14:  # two halves
            shuffled = rng.sample(NAMES, len(NAMES))
            k = rng.randint(2, len(NAMES) - 2)
            groups = [sorted(shuffled[:k]), sorted(shuffled[k:])]
            await do("partition " + " | ".join(",".join(g) for g in groups))
            await mine_each(groups)
        elif roll < 0.22:  # one node alone
            alone = rng.choice(NAMES)
            groups = [[alone], [x for x in NAMES if x != alone]]
            await do(f"partition {alone} | {','.join(groups[1])}")
            await mine_each(groups)
        elif roll < 0.28:  # a bridge: two groups that hear each other only through one node
            shuffled = rng.sample(NAMES, len(NAMES))
            bridge, left, right = shuffled[0], shuffled[1:3], shuffled[3:]
            rec.actions.append(f"# bridge {bridge} between {left} and {right}")
            for a in left:
                for b in right:
                    await lab.disconnect(a, b, keep_edge=True)
            await mine_each([left, right])
        elif roll < 0.34:  # a one-way cut
            a, b = rng.sample(NAMES, 2)
            await do(f"cut {a} -> {b}")
        elif roll < 0.40:
            await do("heal")
        elif roll < 0.45:  # latency
            if rng.random() < 0.3:
                await do(f"latency all {rng.choice([1, 5, 20, 80])}ms")
            else:
                a, b = rng.sample(NAMES, 2)
                await do(f"latency {a} {b} {rng.randint(1, 300)}ms")
        elif roll < 0.49:  # a lossy link, or one whose frames are held back
            a, b = rng.sample(NAMES, 2)
            if rng.random() < 0.5:
                rec.lossy = True
                await do(f"loss {a} {b} {rng.choice([10, 30, 60])}%")
            else:
                await do(f"{rng.choice(['hold', 'release'])} {a} {b}")
        elif roll < 0.50:  # the topology changes, or a node joins with an empty chain
            if len(NAMES) < 7 and rng.random() < 0.5:
                if await do("add-node"):
                    NAMES.append(list(lab.nodes)[-1])
                    watch(lab, rec, [NAMES[-1]])
            else:
                await do(f"topology {rng.choice(['ring', 'star', 'mesh', 'line', 'random 2'])}")
        elif roll < 0.55:  # stop or start a node
            stopped = [x for x in NAMES if x not in names]
            if stopped and (rng.random() < 0.6 or len(names) <= 2):
                await do(f"start {rng.choice(stopped)}")
            elif len(names) > 2:
                await do(f"stop {rng.choice(names)}")
        elif roll < 0.60:  # a stretch in step mode: the next faults land on frames in flight
            await do("mode step")
            for _ in range(rng.randint(1, 4)):
                choice = rng.random()
                if choice < 0.4:
                    await do(f"step {rng.randint(1, 12)}")
                elif choice < 0.6:
                    await do(f"run {rng.randint(5, 200)}ms")
                elif choice < 0.7 and names:
                    await do(f"mine {rng.choice(names)}")
                elif choice < 0.8 and lab.fabric.in_flight():
                    rec.lossy = True
                    await do(f"drop {rng.choice(lab.fabric.in_flight()).id}")
                else:
                    a, b = rng.sample(NAMES, 2)
                    await do(f"partition {a} | {','.join(x for x in NAMES if x != a)}" if rng.random() < 0.5
                             else f"cut {a} -> {b}")
            await do("mode auto")
        elif roll < 0.82 and len(names) >= 1:  # a payment
            frm = rng.choice(names)
            to = rng.choice([x for x in NAMES if x != frm])
            if await do(f"send {frm} {to} {rng.choice(['0.5', '1', '2.25', '7', '20'])}"):
                sent.append((frm, lab.txs[lab.labels["LAST_TX"].hash]))
        elif roll < 0.92 and sent:  # a double spend, submitted at another node
            payer, original = rng.choice(sent[-6:])
            where = rng.choice([x for x in names if x != payer] or names) if names else None
            if where is not None:
                to = rng.choice([x for x in NAMES if x != payer])
                twin = conflicting(lab, payer, original, to)
                rec.actions.append(f"# double spend of {original.txid_hex[:8]} at {where}")
                try:
                    lab.nodes[where].submit_tx(twin)
                    rec.double_spends += 1
                except LabError:
                    pass  # refused (it already knows the original, or the coins are gone): fine
                await lab.settle()
        elif names:
            await do(f"mine {rng.choice(names)} {rng.randint(1, 2)}")

    # The nemesis rests: everything back, everything delivered.
    await do("mode auto")
    for name in NAMES:
        if not lab.nodes[name].online:
            await do(f"start {name}")
    for a in NAMES:
        for b in NAMES:
            if a != b:
                await do(f"release {a} {b}")
                await do(f"loss {a} {b} 0%")
    await do("heal")
    await do("run until quiet")
    return s, rec


# --- the checks ------------------------------------------------------------------------------------------
def problems_after(s: Session, rec: Record) -> list[str]:
    lab = s.lab
    problems = converged_problems(lab)
    best = lab.best_tip_node().state.chain.tip.chain_work
    for n in lab.nodes.values():  # a stopped node never outgrows the online ones
        if n.state.chain.tip.chain_work > best:
            problems.append(f"{n.name} knows more work than the online nodes' tip")
    problems += lost_transactions(lab, rec.accepted)
    problems += [f"internal error: {e.splitlines()[0]}" for e in internal_errors(lab, s)]
    return problems


async def one_run(seed: int, steps: int) -> Record:
    s, rec = await nemesis(seed, steps)
    lab = s.lab
    try:
        # Quiet, healed, everyone online: every tip has the most work. Two tips of
        # equal work may remain (a tie keeps the first seen, as in Bitcoin), and so
        # may double spends no block has decided yet.
        tied = rec.lossy or len({n.state.chain.tip.hash for n in lab.online_nodes()}) > 1
        before = [p for p in problems_after(s, rec) if "mempools but not all" not in p
                  and not (tied and ("disagree on the tip" in p or "different UTXO sets" in p or "(lost)" in p
                                     or "most-work tip" in p))]
        assert not before, f"seed {seed}: " + "; ".join(before) + "\n" + "\n".join(rec.actions)
        # Every node mines one block in turn: that decides the double spends still open
        # and confirms whatever any mempool holds (a lossy link may have kept a tx or a
        # block announcement from some node). Then nothing may be lost.
        order = list(lab.nodes)
        random.Random(seed).shuffle(order)
        for name in order:
            await run_ok(s, f"mine {name}")
        after = problems_after(s, rec)
        assert not after, f"seed {seed}: " + "; ".join(after) + "\n" + "\n".join(rec.actions)
        reorgs = sum(lab.reorg_counts.values())
        print(f"nemesis seed {seed}: {len(rec.actions)} actions, height {lab.best_tip_node().state.chain.height}, "
              f"{len(rec.accepted)} txs accepted, {rec.double_spends} double spends placed, {reorgs} reorgs")
        return rec
    finally:
        await s.close()


@pytest.mark.parametrize("seed", SEEDS)
def test_nemesis(seed):
    run(one_run(seed, steps=100))


def test_the_same_seed_replays_the_same_run():
    """Determinism under faults: a nemesis run twice gives the same chain and the same narration."""
    async def twice():
        outs = []
        for _ in range(2):
            s, rec = await nemesis(7, steps=30)
            outs.append(([sentence(e) for e in s.lab.log], {n.name: n.state.chain.tip.hash for n in s.lab.nodes.values()}))
            await s.close()
        return outs

    (log1, tips1), (log2, tips2) = run(twice())
    assert tips1 == tips2
    assert log1 == log2


@pytest.mark.soak
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("seed", SOAK_SEEDS)
def test_nemesis_soak(seed):
    run(one_run(seed, steps=120), timeout=600)


# --- what the nemesis found, told as stories -----------------------------------------------------
def test_a_link_whose_handshake_was_lost_is_started_again_by_heal():
    """A link that looked connected but whose version/verack never arrived carried nothing, and
    `heal` left it alone ("no link needed reconnecting"): B never heard of A's blocks again."""
    async def story():
        async with lab_session(nodes=2, seed=5, difficulty=4, latency_ms=5) as (lab, s):
            for line in ("loss A B 100%", "disconnect A B", "connect A B", "loss A B 0%", "mine A"):
                await run_ok(s, line)
            assert "B" in lab.nodes["A"].peers and not lab.nodes["A"].peers["B"].active  # half open
            assert lab.nodes["B"].state.chain.height == 0
            await run_ok(s, "heal")
            assert lab.nodes["A"].peers["B"].active and lab.nodes["B"].peers["A"].active
            assert not converged_problems(lab)

    run(story())


def test_blocks_whose_requests_were_given_up_are_fetched_when_the_next_block_comes():
    """B learned A's headers, but every block it asked for was lost until it gave up. A's
    next block then sat on a "side branch" for ever (narrated as a fork of *equal* work)."""
    async def story():
        async with lab_session(nodes=2, seed=5, difficulty=4, latency_ms=5) as (lab, _):
            losing = True
            transmit = lab.fabric.transmit

            def lose_blocks_to_b(sender, command, frame, summary):
                link = lab.fabric.link(sender.owner.name, sender.remote)
                before = link.loss
                if losing and command == "block" and sender.remote == "B":
                    link.loss = 1.0
                try:
                    return transmit(sender, command, frame, summary)
                finally:
                    link.loss = before

            lab.fabric.transmit = lose_blocks_to_b
            await lab.stop_node("B")
            await lab.mine("A", 3)
            await lab.start_node("B")
            await lab.settle()  # headers arrive, every block is lost, B gives up asking
            b = lab.nodes["B"]
            assert b.state.chain.best_header.height == 3 and b.state.chain.height == 0
            assert not b.requested
            losing = False
            mark = len(lab.log)
            await lab.mine("A")
            await lab.settle()
            assert b.state.chain.tip.hash == lab.nodes["A"].state.chain.tip.hash
            assert not [e for e in lab.log[mark:] if e.kind == "fork"]  # no "fork of equal work" story

    run(story())


def test_a_payment_relayed_to_a_node_that_is_behind_reaches_its_mempool_once_it_catches_up():
    """C, back online, heard of A's payment before it had the blocks that make the coinbase it
    spends mature: refused as premature, and nobody would announce it again. Now C keeps it
    and accepts it when its chain catches up."""
    async def story():
        async with lab_session(nodes=3, seed=5, difficulty=4, latency_ms=5) as (lab, _):
            await lab.stop_node("C")
            await lab.mine("A", 4)
            await lab.settle()
            pay = await lab.send("A", "B", 10 * 10**8)
            await lab.settle()
            await lab.start_node("C")
            await lab.settle()
            assert lab.nodes["C"].state.chain.height == 4
            assert pay.txid in lab.nodes["C"].state.mempool
            assert all(pay.txid in n.state.mempool for n in lab.nodes.values())

    run(story())
