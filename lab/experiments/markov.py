"""A network-free cross-check: Eyal & Sirer's model of selfish mining, driven by a real strategy.

Blocks are found one at a time: by the pool with probability α, else by the
honest miners. When the pool has published a branch as long as the public one
(a tie), a share γ of the honest hashrate mines on the pool's block — in the
paper, γ is how the network breaks ties; here it is a coin. The strategy from
`lab.chain.strategies` decides every move, so this checks the decision logic
against R(α, γ) without nodes or sockets. The real experiment mines on real lab
nodes, where γ comes from who hears whose block first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from lab.chain.strategies import SELFISH, Adopt, Publish, Strategy, View


@dataclass(frozen=True, slots=True)
class Tally:
    """Blocks that ended up on the main chain, and blocks that were orphaned."""

    pool: int  # the pool's blocks on the main chain
    honest: int  # the honest miners' blocks on the main chain
    pool_orphaned: int  # the pool's blocks thrown away
    honest_orphaned: int  # the honest miners' blocks thrown away
    moves: dict[str, int]  # how often each rule fired

    @property
    def share(self) -> float:
        """The pool's share of the main chain: what R(α, γ) predicts."""
        settled = self.pool + self.honest
        return self.pool / settled if settled else 0.0


def simulate_selfish(alpha: float, gamma: float, blocks: int, seed: int,
                     strategy: Strategy = SELFISH) -> Tally:
    """Mine `blocks` blocks; the pool plays `strategy`. Only settled blocks are counted."""
    rng = random.Random(seed)
    pool = honest = pool_lost = honest_lost = 0
    private = 0  # the pool's blocks since the fork point (all its own)
    public: list[bool] = []  # the public chain since the fork point: True where the pool mined it
    published = 0  # of the pool's private blocks, how many are announced
    moves: dict[str, int] = {}
    for _ in range(blocks):
        if rng.random() < alpha:
            private += 1
            decision = strategy.on_mined(View(private, len(public), private - published))
        else:
            if 0 < published == len(public) and rng.random() < gamma:
                # a tie, and this honest miner built on the pool's published blocks: they are
                # on the main chain for good, and the fork point moves past them
                pool += published
                private -= published
                published = 0
                public = [False]
            else:
                public.append(False)
            decision = strategy.on_heard(View(private, len(public), private - published))
        moves[decision.move.rule] = moves.get(decision.move.rule, 0) + 1
        action = decision.action
        if isinstance(action, Publish):
            published = min(private, published + action.count)
            if published > len(public):  # longer than the public chain: everyone switches to it
                pool += published
                honest_lost += len(public)
                private -= published
                published = 0
                public = []
        elif isinstance(action, Adopt):
            pool_lost += private
            pool += sum(public)
            honest += len(public) - sum(public)
            private = published = 0
            public = []
        # KeepMining: nothing changes
    return Tally(pool, honest, pool_lost, honest_lost, moves)
