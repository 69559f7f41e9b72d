"""One run of an experiment on a fresh lab: real nodes, driven through the command language.

Each `measure_*` opens a fresh lab from the run's seed (through `open_lab`,
which the command layer passes in: this package does not import the
commands), types command lines into it as a learner would (`latency ...`,
`hashrate E 40`, `strategy E selfish`, `autominer on 10m`, `run 20h`), and
reads what happened from the lab's queries and typed events (`BlockMined`,
the best chain), never from the narration. Proof of work is real at the
lowest difficulty: outcomes depend on virtual time and the seed only, so a
low difficulty changes the speed, not the numbers.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from lab import events as ev
from lab.errors import LabError
from lab.experiments.spec import Point, format_duration
from lab.experiments.stats import batch_shares
from lab.experiments.sweep import Outcome
from lab.sched import SECOND
from lab.world.lab import Lab


class Runner(Protocol):
    """A session on a lab: what `open_lab` returns (lab/commands/session.Session)."""

    lab: Lab | None

    async def execute(self, line: str, record: bool = True, hook: bool = True) -> object: ...

    async def close(self) -> None: ...


OpenLab = Callable[[list[str], int], Awaitable[Runner]]  # (node names, seed) -> a session on a fresh lab
Stop = Callable[[], bool]  # true once the learner asked the experiment to stop (Ctrl-C)


class Stopped(Exception):
    """The learner stopped the experiment: the run under way is left unfinished."""

# -- the labs the experiments build -------------------------------------------------------------
HUB = "R"  # the stale experiment's relay node: it mines nothing and links every miner (a star)
STALE_NODES = [HUB, *(chr(ord("A") + i) for i in range(10))]  # ten equal miners, as in Andresen's simulator
POOL = "E"  # the selfish pool, and the double-spending attacker
SELFISH_INTERVAL = "10m"  # long against every latency, as Eyal & Sirer assume (blocks travel at once)
FAST, SLOW = "100ms", "1s"  # link latencies that decide who hears whose block first in a tie
MERCHANT = "A"  # the double spend's victim; it mines honestly too
DS_NODES = ["A", "B", "C", POOL]
HEAD_START = 1  # the attacker's secret blocks before he pays (theory.double_spend_race)
GIVE_UP = 10  # the attacker gives up this many blocks behind: a stated depth, as the theory column assumes
PAYMENT = 10  # coins the attacker pays the merchant


@dataclass(frozen=True, slots=True)
class SelfishNet:
    """How a selfish run's network gives γ: which honest miners hear the pool's block first."""

    honest: tuple[str, ...]  # the honest miners, equal hashrate
    near: bool  # True: pool <-> honest links are fast and honest <-> honest slow (they hear the pool first)

    @property
    def gamma(self) -> float:
        """The share of honest hashrate on the pool's block in a tie: all but the finder when near."""
        return (len(self.honest) - 1) / len(self.honest) if self.near else 0.0


SELFISH_NETS = {0.0: SelfishNet(("A", "B", "C", "D"), near=False),  # honest blocks always heard first
                0.5: SelfishNet(("A", "B"), near=True),  # the other honest miner hears the pool first
                1.0: SelfishNet(("A", "B", "C", "D"), near=True)}  # every honest miner but the finder


def selfish_net(gamma: float) -> SelfishNet:
    return SELFISH_NETS[min(SELFISH_NETS, key=lambda g: abs(g - gamma))]


async def _typed(s: Runner, line: str) -> None:
    """Type one command line; a command that fails ends the run with its message."""
    out = await s.execute(line, record=False, hook=False)
    if not getattr(out, "ok", False):
        raise LabError(f"the experiment's command `{line}` failed: {getattr(out, 'error', None) or 'no reason given'}")


async def _holds(s: Runner, predicate: str) -> bool:
    """`check PREDICATE`: whether it holds (a check that fails is an answer, not an error)."""
    out = await s.execute(f"check {predicate}", record=False, hook=False)
    return bool(getattr(out, "ok", False))


async def _close(s: Runner) -> None:
    """Close a run's lab; a cancellation arriving meanwhile does not leave its sockets open."""
    await asyncio.shield(s.close())


def _lab(s: Runner) -> Lab:
    if s.lab is None:
        raise LabError("the experiment's lab is not running")
    return s.lab


def _mined(lab: Lab) -> list[ev.BlockMined]:
    return lab.queries.mined_events


CHUNK = 200  # blocks' worth of virtual time a `run` covers at most: Ctrl-C is looked at between them


async def _mine_for(s: Runner, blocks: int, interval_us: int, stop: Stop) -> None:
    """Let virtual time pass until the auto-miners have found `blocks` blocks (a little more at most)."""
    lab = _lab(s)
    while (count := len(_mined(lab))) < blocks:
        if stop():
            raise Stopped
        await _typed(s, f"run {format_duration(min(blocks - count, CHUNK) * interval_us)}")


def _percent(share: float) -> str:
    return f"{share * 100:.4f}".rstrip("0").rstrip(".")


# -- stale: 1 − e^(−τ/T) ----------------------------------------------------------------------
async def measure_stale(open_lab: OpenLab, point: Point, seed: int, blocks: int, stop: Stop) -> Outcome:
    """Ten equal miners around a relay node, each miner-to-miner path taking the latency (two hops
    of half of it each): one push a hop instead of a mesh's ninety. Stale = mined blocks off the
    final best chain."""
    latency, interval = int(point["latency"]), int(point["interval"])
    s = await open_lab(STALE_NODES, seed)
    try:
        for line in ("topology star", f"hashrate {HUB} 0", f"latency all {format_duration(latency // 2)}",
                     f"autominer on {format_duration(interval)}"):
            await _typed(s, line)
        await _mine_for(s, blocks, interval, stop)
        await _typed(s, "autominer off")
        await _typed(s, "run until quiet")
        lab = _lab(s)
        best = lab.best_tip_node().state.chain
        mined = _mined(lab)
        stale = sum(1 for b in mined if not best.on_active(b.block))
        tau = _mean_travel(lab, [b for b in mined if best.on_active(b.block)])

        return Outcome(stale, len(mined), tau=tau)
    finally:
        await _close(s)


def _mean_travel(lab: Lab, blocks: list[ev.BlockMined]) -> float | None:
    """τ: the mean time, in virtual seconds, from a block's mining to its arrival at each other miner."""
    times = []
    for b in blocks:
        mined_at = lab.queries.mined_at[b.block][1]
        arrivals = lab.queries.arrivals(b.block)
        times += [at - mined_at for node, at in arrivals.items() if node not in (b.node, HUB)]
    return math.fsum(times) / len(times) / SECOND if times else None


# -- selfish: Eyal & Sirer's R(α, γ) ------------------------------------------------------------
def selfish_script(alpha: float, gamma: float) -> tuple[list[str], list[str]]:
    """The nodes and the command lines that set up one selfish run."""
    net = selfish_net(gamma)
    honest = ",".join(net.honest)
    inner, outer = (SLOW, FAST) if net.near else (FAST, SLOW)
    lines = [f"hashrate {POOL} {_percent(alpha)}", f"latency all {inner}", f"latency {POOL} | {honest} {outer}",
             f"strategy {POOL} selfish", f"autominer on {SELFISH_INTERVAL}"]
    return [*net.honest, POOL], lines


async def measure_selfish(open_lab: OpenLab, point: Point, seed: int, blocks: int, stop: Stop) -> Outcome:
    """The pool plays `strategy selfish`; its share of the best chain once it has published the rest."""
    nodes, lines = selfish_script(point["alpha"], point["gamma"])
    s = await open_lab(nodes, seed)
    try:
        for line in lines:
            await _typed(s, line)
        lab = _lab(s)
        await _mine_for(s, blocks, lab.block_interval, stop)
        await _typed(s, "autominer off")
        if await _holds(s, f"withheld {POOL} > 0"):
            await _typed(s, f"publish {POOL}")
        await _typed(s, "run until quiet")
        flags = []
        idx = lab.best_tip_node().state.chain.tip
        while idx.parent is not None:
            flags.append(_mined_by(lab, idx.hash, POOL))
            idx = idx.parent
        flags.reverse()
        return Outcome(sum(flags), len(flags), batches=batch_shares(flags))
    finally:
        await _close(s)


# -- double spend: the race after z confirmations -------------------------------------------------
async def measure_double_spend(open_lab: OpenLab, point: Point, seed: int, blocks: int,
                               stop: Stop) -> Outcome:
    """One attempt: 1 when the merchant's payment ends up reversed, else 0.

    The attacker E mines a secret block holding a payment to himself, pays the
    merchant A the same coins, and mines on his secret chain. Who finds each next
    block is drawn from the run's seed with the attacker's share q (the auto-miner's
    race, one block at a time, so the attacker can act between blocks). Once A has
    seen z confirmations and E's chain is longer, E publishes; he gives up GIVE_UP
    blocks behind, or after `blocks` blocks.
    """
    q, z = point["q"], int(point["z"])
    rng = random.Random(f"double-spend|{seed}")
    s = await open_lab(DS_NODES, seed)
    try:
        for line in (f"mine {POOL} 4", f"withhold {POOL} on", f"send {POOL} {POOL} {PAYMENT} as twin",
                     f"mine {POOL}", f"send {POOL} {MERCHANT} {PAYMENT} via {MERCHANT} conflicting twin as pay"):
            await _typed(s, line)
        lab = _lab(s)
        merchant = lab.node(MERCHANT).state.chain
        pay = lab.resolve("pay", "tx").hash
        honest = [n for n in DS_NODES if n != POOL]
        for _ in range(blocks):
            if stop():
                raise Stopped
            finder = POOL if rng.random() < q else honest[rng.randrange(len(honest))]
            await _typed(s, f"mine {finder}")
            private = _private_height(lab)  # the attacker's secret chain, whatever his node's active chain is
            if merchant.confirmations(pay) >= z and private > merchant.height:
                await _typed(s, f"publish {POOL}")
                break
            if merchant.height - private >= GIVE_UP:
                break
        return Outcome(int(merchant.tx_block(pay) is None), 1)
    finally:
        await _close(s)


def _private_height(lab: Lab) -> int:
    """The height of the attacker's newest block: while he withholds, his miner extends his own chain."""
    chain = lab.node(POOL).state.chain
    return max((idx.height for h, idx in chain.index.items() if idx.have_data and _mined_by(lab, h, POOL)),
               default=0)


def _mined_by(lab: Lab, h: bytes, name: str) -> bool:
    """Whether `name` mined block `h`: its BlockMined event, else its coinbase paying `name`'s wallet."""
    mined = lab.queries.mined_at.get(h)
    if mined is not None:
        return mined[0] == name
    node = lab.node(name)
    block = lab.blocks.get(h) or node.state.chain.blocks.get(h)
    return block is not None and block.txs[0].outputs[0].pubkey_hash == node.state.wallet.pkh


MEASURES: dict[str, Callable[[OpenLab, Point, int, int, Stop], Awaitable[Outcome]]] = {
    "stale": measure_stale, "selfish": measure_selfish, "double-spend": measure_double_spend}
