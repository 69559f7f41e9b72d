"""Amounts: coins as a learner types them <-> integer base units.

Bitcoin never stores a fractional coin: every value is an integer count of
base units (satoshis), 100,000,000 to the coin (realname: CAmount, COIN).
The lab does the same; only the command line and the narration speak coins.
"""

from __future__ import annotations

import re

from lab.params import COIN, MAX_MONEY

_DECIMALS = 8  # base units per coin is 10^8
_AMOUNT = re.compile(r"^(\d*)(?:\.(\d*))?$")


def parse_amount(text: str) -> int:
    """'12.5' -> 1_250_000_000 base units. ValueError with a plain message otherwise."""
    s = text.strip().replace("_", "")
    if s.startswith("-"):
        raise ValueError(f"amount '{text}' is negative; amounts are 0 or more coins")
    m = _AMOUNT.match(s)
    if not s or m is None or (not m.group(1) and not m.group(2)):
        raise ValueError(f"'{text}' is not an amount")
    whole, frac = m.group(1) or "0", m.group(2) or ""
    if len(frac) > _DECIMALS:
        raise ValueError(f"amount '{text}' has more than {_DECIMALS} decimals; the smallest unit is 0.00000001")
    units = int(whole) * COIN + int(frac.ljust(_DECIMALS, "0"))
    if units > MAX_MONEY:
        raise ValueError(f"amount '{text}' is more than the 21,000,000 coins that can ever exist")
    return units


def format_amount(units: int) -> str:
    """1_250_000_000 -> '12.5'; no trailing zeros, no exponent; '-' for negatives."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), COIN)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}." + f"{frac:0{_DECIMALS}d}".rstrip("0")
