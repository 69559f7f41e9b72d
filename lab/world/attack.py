"""The attacker's seat: withholding blocks, publishing them, selfish mining, eclipses.

Bitcoin Core has none of this; an attacker runs modified software. Here a
node that withholds stays a full node: it validates and stores every public
block, while its miner extends its own private chain (its last withheld
block, or its best tip when it holds none) and puts the transactions its own
wallet made, kept private, into it. Its relay keeps withheld blocks from
every peer (lab/net/relay.py: `withheld`) until `publish`.

`strategy NODE selfish` plays Eyal & Sirer's algorithm: the decisions are
lab/chain/strategies.py's; this module shows them the race (a View counted
from the fork point between the node's own branch and the best public
chain), carries out the action, and logs each move as a typed event.

Eclipses live in lab/world/topology.py; the filter they set is here
(`feed_only`): the victim hears only the eclipsers' own blocks and txs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from lab.attack_events import (
    BlocksPublished,
    BlockWithheld,
    StrategyMove,
    StrategySet,
    TxWithheld,
    WithholdSet,
)
from lab.chain.chainstate import BlockIndex, last_common_ancestor
from lab.chain.miner import COINBASE_RESERVE, BlockTemplate, make_template
from lab.chain.strategies import SELFISH, Adopt, Decision, Publish, View
from lab.chain.tx import OutPoint, Tx
from lab.chain.utxo import Coin
from lab.errors import CommandError, ValidationError
from lab.params import MAX_BLOCK_SIZE

if TYPE_CHECKING:
    from lab.chain.chainstate import ChainState
    from lab.net.node import Node

@dataclass
class Play:
    """How one node plays, and the race it is in."""

    mode: str = "honest"  # honest | withhold (by hand: `withhold on`) | selfish (the strategy publishes)
    branch: BlockIndex | None = None  # the tip of its own branch while it races (None: no race)
    public: BlockIndex | None = None  # the best chain others have seen (its own published blocks included)
    private_txs: dict[bytes, Tx] = field(default_factory=dict)  # its own txs, kept for its private chain


class UtxoView:
    """The coins as they stand after block `parent`, which need not be on the active chain.

    The active UTXO set, with the active blocks above the fork undone (from
    their undo data) and the blocks from the fork up to `parent` applied: an
    overlay, the set itself is not touched (realname: CCoinsViewCache).
    """

    def __init__(self, chain: ChainState, parent: BlockIndex) -> None:
        self.base = chain.utxo
        self.added: dict[OutPoint, Coin] = {}
        self.removed: set[OutPoint] = set()
        if parent is chain.tip:
            return
        fork = last_common_ancestor(chain.tip, parent)
        for gone in reversed(chain.active[fork.height + 1:]):
            block = chain.blocks[gone.hash]
            undo = chain.undo[gone.hash]
            for i in range(len(block.txs) - 1, -1, -1):
                tx = block.txs[i]
                for n in range(len(tx.outputs)):
                    self._remove(OutPoint(tx.txid, n))
                if i:
                    for txin, coin in zip(tx.inputs, undo[i - 1], strict=True):
                        self._add(txin.prevout, coin)
        path: list[BlockIndex] = []
        step: BlockIndex | None = parent
        while step is not None and step is not fork:
            path.append(step)
            step = step.parent
        for b in reversed(path):
            for tx in chain.blocks[b.hash].txs:
                self.apply(tx, b.height)

    def _add(self, op: OutPoint, coin: Coin) -> None:
        self.added[op] = coin
        self.removed.discard(op)

    def _remove(self, op: OutPoint) -> None:
        self.added.pop(op, None)
        self.removed.add(op)

    def get(self, op: OutPoint) -> Coin | None:
        coin = self.added.get(op)
        if coin is not None or op in self.removed:
            return coin
        return self.base.get(op)

    def apply(self, tx: Tx, height: int) -> None:
        if not tx.is_coinbase():
            for txin in tx.inputs:
                self._remove(txin.prevout)
        for n, out in enumerate(tx.outputs):
            self._add(OutPoint(tx.txid, n), Coin(out, height, tx.is_coinbase()))

    def fee(self, tx: Tx, height: int, maturity: int) -> int | None:
        """What `tx` leaves as fee if every input is unspent and mature here at `height`, else None."""
        total = 0
        for txin in tx.inputs:
            coin = self.get(txin.prevout)
            if coin is None or (coin.coinbase and height - coin.height < maturity):
                return None
            total += coin.out.value
        fee = total - tx.total_out()
        return fee if fee >= 0 else None


class Attack:
    def __init__(self, nodes: dict[str, Node], find: Callable[[str], Node], emit: Callable[[Any], object]) -> None:
        self.nodes = nodes
        self.find = find
        self.emit = emit
        self.plays: dict[str, Play] = {}

    def play(self, name: str) -> Play:
        p = self.plays.get(name)
        if p is None:
            p = self.plays[name] = Play()
        return p

    def withholds(self, name: str) -> bool:
        p = self.plays.get(name)
        return p is not None and p.mode != "honest"

    # -- the commands ----------------------------------------------------------------------
    def set_withhold(self, name: str, on: bool) -> None:
        node = self.find(name)
        p = self.play(node.name)
        if on:
            if p.mode == "withhold":
                raise CommandError(f"{node.name} already withholds", f"`publish {node.name}` announces what it holds")
            self._start(node, p, "withhold")
            self.emit(WithholdSet(node.name, True, len(node.relay.withheld)))
        else:
            if p.mode == "honest":
                raise CommandError(f"{node.name} does not withhold", f"type `withhold {node.name} on` to start")
            self._stop(node, p)
            self.emit(WithholdSet(node.name, False, 0))

    def set_strategy(self, name: str, strategy: str) -> None:
        node = self.find(name)
        if strategy not in ("honest", "selfish"):
            raise CommandError(f"unknown strategy '{strategy}'", f"type: strategy {node.name} honest | selfish")
        p = self.play(node.name)
        if strategy == "selfish":
            if p.mode != "selfish":
                self._start(node, p, "selfish")
        elif p.mode != "honest":
            self._stop(node, p)
        self.emit(StrategySet(node.name, strategy))

    def publish(self, name: str, count: int | None = None) -> list[bytes]:
        node = self.find(name)
        held = list(node.relay.withheld)
        if not held:
            raise CommandError(f"{node.name} withholds no blocks",
                               f"type `withhold {node.name} on`, then `mine {node.name}`, first")
        return self._publish(node, self.play(node.name), held if count is None else held[:count], narrate=True)

    # -- starting, stopping, publishing ---------------------------------------------------
    def _start(self, node: Node, p: Play, mode: str) -> None:
        if p.mode == "honest":
            p.branch = None
            p.public = node.state.chain.tip
        p.mode = mode
        node.intake.on_heard = partial(self.heard, node)  # not a lambda: a saved lab keeps it

    def _stop(self, node: Node, p: Play) -> None:
        """Back to honest: publish what it holds, hand its private txs to its mempool (relayed)."""
        held = list(node.relay.withheld)
        if held:
            self._publish(node, p, held, narrate=True)
        p.mode, p.branch = "honest", None
        node.intake.on_heard = None
        for txid, tx in list(p.private_txs.items()):
            del p.private_txs[txid]
            if txid in node.state.chain.tx_index or txid in node.state.mempool:
                continue
            try:
                node.submit_tx(tx)
            except ValidationError:
                pass  # refused (spent by now, say): the node has said why

    def _publish(self, node: Node, p: Play, hashes: list[bytes], narrate: bool) -> list[bytes]:
        if not hashes:
            return []
        index = node.state.chain.index
        node.publish(hashes)
        last = index[hashes[-1]]
        if p.public is None or last.chain_work > p.public.chain_work:
            p.public = last
        if narrate:
            self.emit(BlocksPublished(node.name, tuple(hashes), index[hashes[0]].height, len(node.relay.withheld)))
        return hashes

    # -- private transactions -------------------------------------------------------------
    def keeps_tx(self, entry: str, wallet: str) -> bool:
        """A tx made by `wallet` and handed to node `entry` stays private: entry withholds and made it."""
        return entry == wallet and self.withholds(entry)

    def private_spent(self, name: str) -> frozenset[OutPoint]:
        p = self.plays.get(name)
        return frozenset(i.prevout for tx in p.private_txs.values() for i in tx.inputs) if p else frozenset()

    def keep_tx(self, node: Node, tx: Tx) -> None:
        self.play(node.name).private_txs[tx.txid] = tx
        node.intake.own.add(tx.txid)
        self.emit(TxWithheld(node.name, tx.txid))

    # -- mining ---------------------------------------------------------------------------------
    def parent(self, node: Node) -> BlockIndex:
        """Where its miner builds: its last withheld block, or its best tip when it holds none."""
        held = node.relay.withheld
        if held:
            return node.state.chain.index[next(reversed(held))]
        return node.state.chain.tip

    def template(self, node: Node) -> tuple[BlockIndex, BlockTemplate]:
        """A block on the private chain: its private txs that are valid there, then (on the
        active tip) mempool txs that do not conflict with them."""
        state = node.state
        chain = state.chain
        parent = self.parent(node)
        height = parent.height + 1
        view = UtxoView(chain, parent)
        maturity = chain.consensus.coinbase_maturity
        chosen: list[Tx] = []
        fees = 0
        spent: set[OutPoint] = set()
        for tx in self.play(node.name).private_txs.values():
            fee = view.fee(tx, height, maturity)
            if fee is None:
                continue  # already in the chain, or its coins are gone there
            chosen.append(tx)
            fees += fee
            spent.update(i.prevout for i in tx.inputs)
            view.apply(tx, height)
        if parent is chain.tip:
            size = sum(t.size for t in chosen)
            skipped: set[bytes] = set()
            for tx in state.mempool.select(MAX_BLOCK_SIZE - COINBASE_RESERVE - size):
                if any(i.prevout in spent or i.prevout.txid in skipped for i in tx.inputs):
                    skipped.add(tx.txid)  # conflicts with a private tx (a double spend), or spends one that does
                    continue
                chosen.append(tx)
                fees += state.mempool.entries[tx.txid].fee
        return parent, make_template(chain, parent, state.key.pkh, tuple(chosen), fees)

    def mined(self, node: Node, block_hash: bytes) -> None:
        """Its miner found a block, already stored and withheld: log it, let the strategy move."""
        p = self.play(node.name)
        idx = node.state.chain.index.get(block_hash)
        if idx is None or idx.failed:
            node.relay.withheld.pop(block_hash, None)
            return
        p.branch = idx
        self.emit(BlockWithheld(node.name, block_hash, idx.height, len(node.relay.withheld)))
        if p.mode == "selfish":
            self._apply(node, p, SELFISH.on_mined(self._view(node, p)))

    def heard(self, node: Node, block_hash: bytes) -> None:
        """A peer's block was stored: the public chain may have grown; a selfish node answers."""
        p = self.plays.get(node.name)
        if p is None or p.mode == "honest":
            return
        idx = node.state.chain.index.get(block_hash)
        if idx is None or not idx.available or idx.failed:
            return
        if p.public is None or idx.chain_work > p.public.chain_work:
            p.public = idx
        if p.mode == "selfish" and p.branch is not None:
            self._apply(node, p, SELFISH.on_heard(self._view(node, p)))

    def _view(self, node: Node, p: Play) -> View:
        branch = p.branch or node.state.chain.tip
        public = p.public or node.state.chain.tip
        fork = last_common_ancestor(branch, public)
        return View(branch.height - fork.height, public.height - fork.height, len(node.relay.withheld))

    def _apply(self, node: Node, p: Play, decision: Decision) -> None:
        action, move = decision.action, decision.move
        abandoned = 0
        if isinstance(action, Publish):
            self._publish(node, p, list(node.relay.withheld)[:action.count], narrate=False)
        elif isinstance(action, Adopt):
            abandoned = len(node.relay.withheld)
            node.relay.withheld.clear()  # they stay in its block tree, a stale branch nobody saw
            p.branch = None
        self.emit(StrategyMove(node.name, move.strategy, move.event, move.rule, move.private, move.public,
                               move.published, abandoned))
        if p.branch is not None and not node.relay.withheld and p.public is not None:
            if last_common_ancestor(p.branch, p.public) is p.branch:
                p.branch = None  # its branch is part of the public chain: the race is over
