"""Mining: `mine` and `forge` now, and the auto-miners as virtual time passes.

Real proof of work, searched in slices so the prompt and the sockets keep
breathing. The node that finds a block says so itself (`Node.mined`). An
auto-miner finds its next block after an exponential wait whose mean is the
network's block interval divided by the node's share of the hashrate
(realname: the Poisson process of mining), drawn from a generator seeded
from the lab seed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from lab.chain.block import Block
from lab.chain.miner import Miner
from lab.errors import CommandError
from lab.events import BlockForged
from lab.net import messages as m
from lab.net.node import Node
from lab.params import TARGET_BLOCK_INTERVAL
from lab.render.progress import clock
from lab.sched import SECOND, Event, Scheduler
from lab.world.ledger import Ledger

QUICK_TRIES = 1 << 22  # expected tries below which a command is never estimated (well under a second)
LONG_SECONDS = 10.0  # expected wall seconds from which a command says its estimate
PROGRESS_EVERY = 5.0  # wall seconds between progress lines of a long search

if TYPE_CHECKING:
    from lab.world.attack import Attack

MINE_SLICE = 2_000  # nonces per slice: ~1.5 ms, then the event loop gets a turn (a task it wakes waits two slices)


class Mining:
    def __init__(self, sched: Scheduler, nodes: dict[str, Node], find: Callable[[str], Node],
                 ledger: Ledger, emit: Callable[[Any], object], seed: int) -> None:
        self.sched = sched
        self.nodes = nodes
        self.find = find
        self.ledger = ledger
        self.emit = emit
        self.autominer = False
        self.block_interval = TARGET_BLOCK_INTERVAL * SECOND  # virtual µs between blocks, network-wide
        self.hashrate: dict[str, float] = {}  # share of the network's hashrate
        self._events: dict[str, Event] = {}
        # header before the nonce (76 bytes) -> the nonce a search from 0 found first: a pure function of
        # those bytes, so a lab rebuilt by replay (`back`, `load`) takes the answer instead of searching again
        self.known: dict[bytes, int] = {}
        self._rng = random.Random(f"miner|{seed}")
        # Long work (issue 12): a script's wall-clock deadline (time.monotonic; None at the prompt,
        # where Ctrl-C stops it) and where an estimate and progress are said (stderr in scripts).
        self.deadline: float | None = None
        self.limit_seconds: float | None = None  # the limit the deadline came from, for the message
        self.report: Callable[[str], None] | None = None
        self._rate: float | None = None  # hashes a second on this machine, measured once when needed
        self.attack: Attack | None = None  # who withholds: their miners extend a private chain

    def _parent(self, node: Node) -> Any:
        """The block this node's miner builds on: its tip, or for a withholding node its private chain."""
        attack = self.attack
        if attack is not None and attack.withholds(node.name):
            return attack.parent(node)
        return node.state.chain.tip

    def add(self, name: str) -> None:
        self.hashrate.setdefault(name, 1.0)

    async def mine(self, name: str, count: int = 1, label: str | None = None,
                   on_block: Callable[[int], bool] | None = None) -> list[Block]:
        """Mine `count` blocks on NODE. `on_block(done)` is told after each block; when it returns
        False the work stops there (Ctrl-C): the blocks found so far stay found."""
        node = self.find(name)
        if not node.online:
            raise CommandError(f"{node.name} is stopped", f"type `start {node.name}` first")
        blocks: list[Block] = []
        for _ in range(count):
            blocks.append(await self.mine_one(node))
            if on_block is not None:
                if not on_block(len(blocks)):
                    break
                await asyncio.sleep(0)  # a turn for the prompt: Ctrl-C and the progress line
        if blocks:
            self.ledger.label(label, "block", blocks[-1].hash)
        return blocks

    async def mine_one(self, node: Node) -> Block:
        state = node.state
        started = last_said = time.monotonic()
        attack = self.attack
        while True:
            if attack is not None and attack.withholds(node.name):
                tip, template = attack.template(node)
            else:
                tip, template = state.chain.tip, state.block_template()
            miner = Miner(template)
            nonce = self.known.get(miner.header_prefix())
            block = miner.try_nonce(nonce) if nonce is not None else None
            while block is None and self._parent(node) is tip:
                block = miner.search(MINE_SLICE)
                if block is None:
                    await asyncio.sleep(0)  # let the prompt and the sockets breathe
                    now = time.monotonic()
                    if self.deadline is not None and now > self.deadline:
                        raise CommandError(f"stopped mining on {node.name}: the script's time limit of "
                                           f"{self.limit_seconds:g} s ran out",
                                           "lower the difficulty, or give the script more: --max-seconds N")
                    if self.report is not None and now - last_said >= PROGRESS_EVERY:
                        last_said = now
                        self.report(f"... {node.name} mining: {miner.hashes_done:,} tries so far, about "
                                    f"{2 ** state.consensus.difficulty_at(tip.height + 1):,} expected for a block "
                                    f"({clock(now - started)})")
            if block is not None and self._parent(node) is tip:
                break
        self.known[block.header.serialize()[:76]] = block.header.nonce
        if attack is not None and attack.withholds(node.name):
            node.relay.withheld[block.hash] = None  # before the node stores it: it must not relay it
            node.mined(block)
            attack.mined(node, block.hash)
        else:
            node.mined(block)
        return block

    # -- how long mining takes, for long commands -------------------------------------------
    def hash_rate(self) -> float:
        """Hashes a second this machine searches (measured once, ~20 ms)."""
        if self._rate is None:
            node = next(iter(self.nodes.values()))
            miner = Miner(node.state.block_template())
            t0 = time.perf_counter()
            miner.search(4 * MINE_SLICE)
            self._rate = 4 * MINE_SLICE / max(1e-6, time.perf_counter() - t0)
        return self._rate

    def expected_seconds(self, blocks: float) -> float:
        """Wall seconds `blocks` blocks take on average at the next block's difficulty (0 when quick)."""
        nodes = list(self.nodes.values())
        if not nodes or blocks <= 0:
            return 0.0
        height = max(n.state.chain.tip.height for n in nodes) + 1
        tries = 2 ** nodes[0].state.consensus.difficulty_at(height) * blocks
        if tries < QUICK_TRIES:
            return 0.0  # not worth measuring: well under a second
        return tries / self.hash_rate()

    def check_time(self, what: str, blocks: float) -> None:
        """Long work says its estimate; in a script it is refused when it cannot finish within the limit."""
        seconds = self.expected_seconds(blocks)
        if seconds < LONG_SECONDS:
            return
        estimate = f"{what} takes about {clock(seconds)} on this machine ({blocks:,.0f} block" \
                   f"{'s' if blocks != 1 else ''} at ~{self.hash_rate():,.0f} tries a second)"
        if self.deadline is not None and time.monotonic() + seconds > self.deadline:
            raise CommandError(f"{estimate}: over the script's time limit of {self.limit_seconds:g} s",
                               "lower the difficulty (e.g. difficulty 16), or give the script more: --max-seconds N")
        if self.report is not None:
            self.report(f"{estimate}; Ctrl-C stops it")

    async def forge(self, name: str, rule: str, label: str | None = None) -> Block:
        node = self.find(name)
        block = node.state.forge_block(rule)
        self.ledger.blocks[block.hash] = block
        self.ledger.label(label, "block", block.hash)
        self.emit(BlockForged(node.name, block.hash, rule))
        for peer in node.active_peers():
            peer.send(m.MsgBlock(block))
        return block

    # -- auto-miners ---------------------------------------------------------------------
    def set_autominer(self, on: bool) -> None:
        self.autominer = on
        for ev in self._events.values():
            self.sched.cancel(ev)
        self._events.clear()
        if on:
            for node in self.nodes.values():
                self.schedule(node)

    def set_hashrate(self, name: str, share: float) -> None:
        """Give NODE this share (0..1) of the network's hashrate; the others keep their
        proportions among themselves and share the rest."""
        node = self.find(name)
        others = [n for n in self.hashrate if n != node.name]
        rest = sum(self.hashrate[n] for n in others)
        for n in others:
            self.hashrate[n] = (1 - share) * (self.hashrate[n] / rest if rest > 0 else 1 / len(others))
        self.hashrate[node.name] = share
        if self.autominer:
            self.set_autominer(True)

    def schedule(self, node: Node) -> None:
        """Its next block, if the auto-miners run."""
        if not self.autominer:
            return
        total = sum(self.hashrate.get(n.name, 0) for n in self.nodes.values() if n.online)
        share = self.hashrate.get(node.name, 0)
        if not node.online or share <= 0 or total <= 0:
            return
        mean = self.block_interval * total / share
        delay = int(self._rng.expovariate(1.0) * mean)

        self._events[node.name] = self.sched.after(delay, partial(self._fire, node), kind="mine")

    async def _fire(self, node: Node) -> None:
        """An auto-miner found its block (a method, not a closure: a saved lab keeps its queue)."""
        self._events.pop(node.name, None)
        if self.autominer and node.online:
            await self.mine_one(node)
            self.schedule(node)

    def stop(self, name: str) -> None:
        """A node stopped: its auto-miner pauses."""
        ev = self._events.pop(name, None)
        if ev is not None:
            self.sched.cancel(ev)
