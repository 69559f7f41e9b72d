"""Small word helpers every sentence template shares: plurals, so no line says "1 transactions"."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 transaction', '2 transactions' (`many` for irregular plurals)."""
    return f"{n} {word if n == 1 else many or word + 's'}"
