"""Tables through tabulate, with number parsing off (a hash like "00e5" stays "00e5")."""

from __future__ import annotations

from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], ascii_only: bool = False) -> str:
    if not rows:
        return "(none)"
    from tabulate import tabulate  # imported on first use: ~14 ms (wcwidth) off every `lab` start
    fmt = "simple" if ascii_only else "simple"
    return tabulate([[("" if c is None else str(c)) for c in r] for r in rows], headers=list(headers),
                    tablefmt=fmt, disable_numparse=True)


def hexdump(data: bytes, width: int = 16, limit: int = 512) -> list[str]:
    out = []
    shown = data[:limit]
    for off in range(0, len(shown), width):
        chunk = shown[off:off + width]
        hexpart = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        out.append(f"{off:08x}  {hexpart:<{width * 3}} {text}")
    if len(data) > limit:
        out.append(f"... {len(data) - limit} more bytes")
    return out
