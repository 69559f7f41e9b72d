"""The published formulas the experiments are measured against.

- Stale (orphan) rate: a block found while a competitor's block is still
  travelling is stale. With blocks found as a Poisson process of mean interval
  T and propagation time τ, the chance that another block is found during τ is
  1 − e^(−τ/T).
- Selfish mining: Eyal & Sirer, "Majority is not Enough: Bitcoin Mining is
  Vulnerable" (2013, arXiv 1311.0243), eq. (8): the pool's share of the main
  chain R(α, γ) and the profitability threshold (1 − γ)/(3 − 2γ).
- Double spend: Nakamoto, "Bitcoin: A Peer-to-Peer Electronic Cash System"
  (2008), §11: the chance that an attacker with share q ever catches up from
  z blocks behind once the merchant has seen z confirmations.

Pure functions of floats; no I/O.
"""

from __future__ import annotations

import math


def stale_rate(tau: float, interval: float) -> float:
    """1 − e^(−τ/T): the share of blocks that end up stale.

    τ (`tau`) is the propagation time, T (`interval`) the mean block interval,
    both in the same unit. Assumes every miner learns every block after exactly
    τ and the miners together find blocks as a Poisson process of rate 1/T.
    """
    if tau < 0 or interval <= 0:
        raise ValueError("tau must be >= 0 and interval > 0")
    return -math.expm1(-tau / interval)


def selfish_revenue(alpha: float, gamma: float) -> float:
    """Eyal & Sirer's R(α, γ): the selfish pool's share of the blocks on the main chain.

    α (`alpha`): the pool's share of the hashrate, 0 ≤ α ≤ ½.
    γ (`gamma`): the share of honest hashrate that mines on the pool's block
    when the pool publishes it to tie a race (0 ≤ γ ≤ 1).

        R = [α(1−α)²(4α + γ(1−2α)) − α³] / [1 − α(1 + (2−α)α)]
    """
    if not 0 <= alpha <= 0.5:
        raise ValueError("alpha must be between 0 and 0.5")
    if not 0 <= gamma <= 1:
        raise ValueError("gamma must be between 0 and 1")
    a, g = alpha, gamma
    numerator = a * (1 - a) ** 2 * (4 * a + g * (1 - 2 * a)) - a**3
    denominator = 1 - a * (1 + (2 - a) * a)
    return numerator / denominator


def selfish_threshold(gamma: float) -> float:
    """The smallest pool share at which selfish mining pays: (1 − γ)/(3 − 2γ).

    1/3 at γ = 0, 1/4 at γ = ½, 0 at γ = 1.
    """
    if not 0 <= gamma <= 1:
        raise ValueError("gamma must be between 0 and 1")
    return (1 - gamma) / (3 - 2 * gamma)


def double_spend_probability(q: float, z: int) -> float:
    """Nakamoto §11: the chance an attacker with share q catches up from z blocks behind.

    The honest chain finds a block with probability p = 1 − q. While the
    merchant waits for z confirmations the attacker's progress is Poisson with
    mean λ = z·q/p; from k blocks he still has to catch up z − k, which he does
    with probability (q/p)^(z−k) (gambler's ruin):

        P = 1 − Σ_{k=0..z} (λ^k e^(−λ) / k!) (1 − (q/p)^(z−k))

    Follows the whitepaper's C function `AttackerSuccessProbability`.
    """
    if not 0 <= q <= 1:
        raise ValueError("q must be between 0 and 1")
    if z < 0:
        raise ValueError("z must be >= 0")
    p = 1.0 - q
    if q >= p:
        return 1.0  # a majority always catches up eventually
    lam = z * (q / p)
    total = 1.0
    poisson = math.exp(-lam)  # λ^k e^(−λ) / k!, built up one k at a time
    for k in range(z + 1):
        if k:
            poisson *= lam / k
        total -= poisson * (1 - (q / p) ** (z - k))
    return max(total, 0.0)  # the sum may overshoot by a rounding error for tiny P


def double_spend_race(q: float, z: int, head_start: int = 1, give_up: int | None = None) -> float:
    """The exact chance that a double spend succeeds, as the lab's nodes play it.

    The attacker mines `head_start` blocks of his own chain in secret (holding
    the conflicting payment) before he pays the merchant, who waits for z
    confirmations; then the attacker publishes as soon as his chain is strictly
    longer (nodes keep the first-seen tip on a tie). He gives up when he is
    `give_up` blocks behind (None: never). Each block is his with probability q.

    With head_start=1 and no give-up this is Rosenfeld's exact formula
    ("Analysis of Hashrate-Based Double Spending", 2012):
    1 − Σ_{m=0..z} C(m+z−1, m)(p^z q^m − p^m q^z); Nakamoto's §11 number is its
    Poisson approximation (q = 0.1, z = 1: 0.2 exactly against 0.2046).
    """
    if not 0 <= q <= 1:
        raise ValueError("q must be between 0 and 1")
    if z < 0 or head_start < 0 or (give_up is not None and give_up < 1):
        raise ValueError("z and head_start must be >= 0, give_up >= 1")
    p = 1.0 - q
    if q == 0:
        return 1.0 if head_start > z else 0.0
    lost = -give_up if give_up is not None else None
    success = 0.0
    # While the merchant waits: the honest chain has h blocks, the attacker leads by d.
    # Once d > z - h the attacker is longer whatever the rest of the wait brings.
    level: dict[int, float] = {head_start: 1.0}
    for h in range(z):
        below: dict[int, float] = {}
        for d, prob in level.items():
            if lost is not None and d <= lost:
                continue
            need = (z - h + 1) - d  # attacker blocks in a row that settle it
            if need <= 0:
                success += prob
                continue
            success += prob * q**need
            for j in range(need):  # j attacker blocks, then the next honest one
                nxt = d + j - 1
                below[nxt] = below.get(nxt, 0.0) + prob * q**j * p
        level = below
    for d, prob in level.items():  # the merchant has delivered: a gambler's ruin race to a lead of 1
        if d >= 1:
            success += prob
        elif lost is not None and d <= lost:
            continue
        elif lost is None:
            success += prob * (1.0 if q >= p else (q / p) ** (1 - d))
        elif q == p:
            success += prob * (d - lost) / (1 - lost)
        else:
            r = p / q
            success += prob * (1 - r ** (d - lost)) / (1 - r ** (1 - lost))
    return min(success, 1.0)


def confirmations_needed(q: float, below: float = 0.001) -> int:
    """The least z with P(q, z) < `below`: the whitepaper's second table (P < 0.1 %)."""
    if not 0 <= q < 0.5:
        raise ValueError("q must be between 0 and 0.5 (a majority always wins)")
    z = 0
    while double_spend_probability(q, z) >= below:
        z += 1
    return z
