"""95 % intervals for what the experiments measure, and the per-run seeds.

- A proportion (stale blocks out of all blocks, successful double spends out
  of all attempts): Wilson's score interval, which stays inside [0, 1] and
  behaves at 0 and n successes, unlike the textbook p ± 1.96·√(p(1−p)/n).
- A mean over runs (the selfish pool's share in each run): Student's t
  interval, mean ± t(0.975, n−1)·s/√n. One run has no interval.
- Seeds: every run starts a fresh lab from a seed derived from the command's
  `seed` and the run's place in the sweep through SHA-256, so the same command
  gives the same runs on every machine and Python version (Python's `hash()`
  is salted per process; `random` is not meant as a key derivation).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile

# Student's t, 97.5th percentile, for 1..30 degrees of freedom (any statistics table).
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)

SEED_LIMIT = 2**32  # derived seeds are in [0, 2**32), the range `lab --seed` takes


@dataclass(frozen=True, slots=True)
class Estimate:
    """A measured value and its 95 % interval; `low`/`high` are None when there is none."""

    value: float  # the point estimate
    low: float | None  # lower end of the 95 % interval
    high: float | None  # upper end of the 95 % interval

    def contains(self, x: float) -> bool:
        return self.low is not None and self.high is not None and self.low <= x <= self.high


def t975(df: int) -> float:
    """Student's t 97.5th percentile for `df` degrees of freedom (df ≥ 1)."""
    if df < 1:
        raise ValueError("degrees of freedom must be >= 1")
    if df <= len(_T975):
        return _T975[df - 1]
    # Cornish-Fisher expansion around the normal quantile; error < 1e-4 beyond 30
    z = Z95
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def wilson(successes: int, n: int) -> Estimate:
    """The share successes/n with Wilson's 95 % score interval."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError("need 0 <= successes <= n and n > 0")
    p = successes / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # at 0 or n successes the interval touches the edge exactly (rounding would miss it)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Estimate(p, low, high)


def mean_interval(values: list[float] | tuple[float, ...]) -> Estimate:
    """The mean of per-run values with Student's t 95 % interval (none for a single run)."""
    n = len(values)
    if n == 0:
        raise ValueError("need at least one value")
    mean = math.fsum(values) / n
    if n == 1:
        return Estimate(mean, None, None)
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    half = t975(n - 1) * math.sqrt(variance / n)
    return Estimate(mean, mean - half, mean + half)


def derive_seed(seed: int, *parts: object) -> int:
    """A seed in [0, 2**32) fixed by `seed` and the parts (experiment, parameter, value, run ...)."""
    text = "|".join(["experiment", str(seed), *(str(p) for p in parts)])
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % SEED_LIMIT


def run_seeds(seed: int, experiment: str, param: str, value: str, runs: int) -> tuple[int, ...]:
    """The seeds of the `runs` fresh labs behind one row of an experiment's table."""
    return tuple(derive_seed(seed, experiment, param, value, run) for run in range(runs))


def batch_shares(flags: list[bool] | tuple[bool, ...], batches: int = 10) -> tuple[float, ...]:
    """The share of True in each of `batches` consecutive stretches of `flags` (batch means).

    Blocks on one chain are not independent — a selfish pool wins in streaks — so
    a single run's interval comes from the spread between long stretches of its
    chain rather than from treating every block as a coin toss.
    """
    n = len(flags)
    if batches < 2 or n < batches:
        return ()
    cuts = [i * n // batches for i in range(batches + 1)]
    return tuple(sum(flags[a:b]) / (b - a) for a, b in itertools.pairwise(cuts))
