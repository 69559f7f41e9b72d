"""An experiment's rows as a table and as a chart of measured points against theory.

`chart()` draws through plotext (a well-kept terminal plotting library) when
the output is a terminal, and `plain_chart()` draws a few lines of ASCII when
it is not, or with `--plain` / `NO_COLOR`. Both are pure: rows in, text out,
the same text for the same rows and size whatever the terminal is.

    measured points  ●  with their 95 % interval as a vertical bar │
    theory           a line through the formula's value at each point
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lab.experiments.results import Row, number

TITLES = {  # experiment -> (chart title, what the y axis measures)
    "stale": ("stale blocks vs latency", "stale rate"),
    "selfish": ("the selfish pool's share of the best chain", "share"),
    "double-spend": ("double spends that succeed vs confirmations", "success rate"),
}
MARKERS = ("●", "■", "▲", "◆", "○", "□")  # one per series (e.g. q=0.1, q=0.3), in order
ASCII_MARKERS = ("o", "x", "+", "*", "#", "%")
TABLE_HEADERS = ("param", "value", "measured", "95 % interval", "theory", "runs", "blocks")


def rows_table(rows: Sequence[Row], ascii_only: bool = False) -> str:
    """The rows as a table: parameter, measured with its interval, theory, runs, blocks."""
    from tabulate import tabulate  # type: ignore[import-untyped, unused-ignore]  # on first use

    dash = "-" if ascii_only else "–"
    body = [[r.param, r.value, number(r.measured),
             f"{number(r.low)} .. {number(r.high)}" if r.low is not None and r.high is not None else dash,
             dash if r.theory is None else number(r.theory), str(r.runs), str(r.blocks)] for r in rows]
    if not body:
        return "(no rows)"
    return str(tabulate(body, headers=list(TABLE_HEADERS), tablefmt="simple", disable_numparse=True))


def chart(rows: Sequence[Row], *, width: int = 72, height: int = 20, plain: bool = False,
          color: bool = False) -> str:
    """Measured points (with interval bars) against the theory line; `plain` gives ASCII lines."""
    if plain or not rows:
        return plain_chart(rows, width=width)
    import plotext  # type: ignore[import-untyped]  # ~0.5 s to import: only when a chart is drawn

    series = _series(rows)
    title, measure = TITLES.get(rows[0].experiment, (rows[0].experiment, "measured"))
    plotext.terminal.limit(False, False)  # the size asked for, not the terminal's: same text anywhere
    fig = plotext.figure
    fig.clear()
    fig.plot_size(max(width, 30), max(height, 10))
    fig.theme("simple" if color else "colorless")
    fig.legend(False)
    for (_, group), marker in zip(series, MARKERS, strict=False):
        xs = [r.x for r in group]
        with_theory = [r for r in group if r.theory is not None]
        if with_theory:
            line = fig.signal([r.x for r in with_theory], [r.theory for r in with_theory])
            line.lines()
            fig.draw(line)
        for r in group:
            if r.low is not None and r.high is not None and r.high > r.low:
                fig.draw(fig.segment([r.x, r.x], [r.low, r.high], marker="│"))
        fig.draw(fig.signal(xs, [r.measured for r in group], marker=marker))
    highest = max(max(r.measured, r.high or 0.0, r.theory or 0.0) for r in rows)
    fig.ruler("y").lim(0, highest * 1.05 if highest > 0 else 1.0)  # rates and shares start at 0
    ticks = sorted({(r.x, r.value) for r in rows})
    if len(ticks) <= 12:  # the values asked for, as typed, rather than round numbers between them
        fig.ruler("x").ticks([x for x, _ in ticks], [text for _, text in ticks])
    fig.title(f"{title} ({measure})")
    fig.label(_x_name(rows[0]), axis="x")
    drawn = str(fig.build().string(colorless=not color)).rstrip("\n")
    return "\n".join([*(line.rstrip() for line in drawn.split("\n")), _key(series, MARKERS, "│", "line")])


def plain_chart(rows: Sequence[Row], *, width: int = 72) -> str:
    """ASCII: one line per row on a common scale from 0, `o` measured, `[--]` interval, `|` theory."""
    if not rows:
        return "(no rows yet)"
    title, _ = TITLES.get(rows[0].experiment, (rows[0].experiment, "measured"))
    series = _series(rows)
    top = _nice_top(max(max(r.measured, r.high or 0.0, r.theory or 0.0) for r in rows))
    label_w = max(len(r.value) for r in rows)
    cells = max(20, width - label_w - 26)
    out = [title]
    for (name, group), marker in zip(series, ASCII_MARKERS, strict=False):
        out.append(f"{name}:")
        scale = f"{'0':<{cells // 2}}{_short(top / 2):<{cells - cells // 2}}{_short(top)}"
        out.append(f"{'':>{label_w}}  {scale}")
        for r in group:
            bar = [" "] * (cells + 1)
            if r.low is not None and r.high is not None:
                lo, hi = _cell(r.low, top, cells), _cell(r.high, top, cells)
                for i in range(lo, hi + 1):
                    bar[i] = "-"
                bar[lo], bar[hi] = "[", "]"
            if r.theory is not None:
                bar[_cell(r.theory, top, cells)] = "|"
            at = _cell(r.measured, top, cells)
            bar[at] = "*" if bar[at] == "|" else marker
            theory = "" if r.theory is None else f" vs {number(r.theory)}"
            out.append(f"{r.value:>{label_w}}  {''.join(bar)}  {number(r.measured)}{theory}")
    out.append(_key(series, ASCII_MARKERS, "[--]", "|", measured_on_theory="*"))
    return "\n".join(out)


# --- helpers -----------------------------------------------------------------------------


def _series(rows: Sequence[Row]) -> list[tuple[str, list[Row]]]:
    """Rows grouped by their `param` label, in first-seen order."""
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.param, []).append(r)
    return list(groups.items())


def _x_name(row: Row) -> str:
    name = row.param.split(" (", 1)[0]
    return f"{name} (s)" if row.value[-1:].isalpha() else name  # durations are drawn in seconds


def _key(series: list[tuple[str, list[Row]]], markers: Sequence[str], interval: str, theory: str,
         measured_on_theory: str = "") -> str:
    names = "  ".join(f"{m} {name}" for (name, _), m in zip(series, markers, strict=False))
    extra = f", {measured_on_theory} measured on theory" if measured_on_theory else ""
    return f"{names}: measured; {interval} 95 % interval; {theory} theory{extra}"


def _nice_top(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above x (1.0 for nothing measured)."""
    if x <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(x))
    for step in (1, 2, 2.5, 5, 10):
        if step * scale >= x:
            return step * scale
    return 10 * scale


def _cell(x: float, top: float, cells: int) -> int:
    return max(0, min(cells, round(x / top * cells)))


def _short(x: float) -> str:
    return f"{x:.6g}"
