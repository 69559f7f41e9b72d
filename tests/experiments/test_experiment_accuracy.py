"""The experiments against the papers, on real labs (issue 14, "Accuracy").

- stale: at τ/T ≈ 0.1 the formula 1 − e^(−τ/T) lies in the measured interval;
- selfish (soak): at α = 0.4, γ = 0, 2,000 blocks the pool's share is 0.484 ± 0.04;
- double spend (soak): the exact race and Nakamoto's §11 number lie in every row's interval.
"""

from __future__ import annotations

import csv
import math

import pytest
from labtest import run

from lab.commands.session import Session
from lab.experiments.results import Row
from lab.experiments.theory import double_spend_probability, selfish_revenue, stale_rate


async def _rows(line: str, path) -> list[Row]:
    s = await Session().start()
    try:
        out = await s.execute(f"{line} csv {path}")
        assert out.ok, out.text
    finally:
        await s.close()
    with open(path, newline="") as f:
        raw = list(csv.DictReader(f))
    return [Row(r["experiment"], r["param"], r["value"], float(r["measured"]), float(r["low"]), float(r["high"]),
                float(r["theory"]), int(r["runs"]), int(r["blocks"])) for r in raw]


def test_stale_rate_at_a_tenth_of_the_interval_holds_the_formula(tmp_path) -> None:
    rows = run(_rows("experiment stale latency 6s interval 60s blocks 500", tmp_path / "s.csv"))
    (row,) = rows
    assert row.theory is not None
    tau = -60 * math.log1p(-row.theory)  # the τ the theory column used
    assert 0.08 <= tau / 60 <= 0.12
    assert row.theory == pytest.approx(stale_rate(tau, 60))
    assert row.low <= row.theory <= row.high, row


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_selfish_pool_of_forty_percent_earns_eyal_and_sirers_share(tmp_path) -> None:
    rows = run(_rows("experiment selfish alpha 0.4 gamma 0 blocks 2000", tmp_path / "m.csv"))
    (row,) = rows
    assert row.theory == pytest.approx(selfish_revenue(0.4, 0))
    assert abs(row.measured - 0.484) <= 0.04, row


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_double_spend_rates_hold_the_theory_in_their_intervals(tmp_path) -> None:
    rows = run(_rows("experiment double-spend q 0.1,0.3 z 1,2,5 runs 200", tmp_path / "d.csv"))
    assert len(rows) == 6
    for row in rows:
        q = 0.1 if "q=0.1" in row.param else 0.3
        assert row.low <= row.theory <= row.high, row
        assert row.low <= double_spend_probability(q, int(row.value)) <= row.high, row
