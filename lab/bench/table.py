"""The table of figures: what each one reports, how runs are summarised, how the table reads."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Sample = dict[str, float]  # one run: the figure's value under "value", extras under their own keys


@dataclass
class Part:
    """One reported quantity of a figure (the figure itself, or an extra like peak memory)."""

    key: str  # "value" or the extra's key in a Sample
    unit: str
    target: float | None = None
    better: str = ""  # "<=" or ">=" (or "" when only reported)
    label: str = ""  # table label for an extra

    def meets(self, x: float) -> bool | None:
        if self.target is None:
            return None
        return x <= self.target if self.better == "<=" else x >= self.target


@dataclass
class Figure:
    name: str
    what: str
    measure: Callable[[bool, int], list[Sample]]
    runs: int  # full runs (quick: 1)
    parts: list[Part] = field(default_factory=list)


def summarize(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def run_figure(fig: Figure, quick: bool, runs: int) -> dict[str, Any]:
    """The figure's JSON entry: median/min/max/unit (+ target and pass), extras nested by key."""
    samples = fig.measure(quick, runs)
    entry: dict[str, Any] = {}
    for part in fig.parts:
        values = [s[part.key] for s in samples]
        d: dict[str, Any] = {**summarize(values), "unit": part.unit}
        d["target"] = f"{part.better} {part.target:g} {part.unit}" if part.target is not None else None
        d["pass"] = None if quick else part.meets(d["median"])  # None: no verdict (quick, or only reported)
        d["runs"] = len(values)
        if part.key == "value":
            entry.update(d)
            entry["what"] = fig.what
        else:
            entry[part.key] = d
    return entry


def _fmt(x: float) -> str:
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def render_table(results: dict[str, Any], quick: bool, figures: list[Figure]) -> str:
    """The text table: one row per figure and one per extra, the machine on top."""
    m = results["machine"]
    head = (f"lab bench on {m['cores']} core{'s' if m['cores'] != 1 else ''}, {m['implementation']} {m['python']}, "
            f"ecdsa {m['ecdsa']} ({m['ecdsa_backend']}), {m['platform']}"
            + (f", load {m['load']:g} at start" if m.get("load") is not None else "")
            + ("  [--quick: small sizes, one run; timings not comparable to the targets]" if quick else ""))
    rows = [("figure", "median", "min", "max", "unit", "target", "", "what")]
    for fig in figures:
        e = results.get(fig.name)
        if e is None:
            continue
        if "error" in e:
            rows.append((fig.name, "-", "-", "-", "", "", "ERROR", e["error"]))
            continue
        for part in fig.parts:
            d = e if part.key == "value" else e[part.key]
            unit = "µs" if d["unit"] == "us" else d["unit"]
            target = f"{part.better} {part.target:g}" if part.target is not None else "reported"
            mark = {True: "pass", False: "MISS", None: "-" if quick or part.target is None else ""}[d.get("pass")]
            name = fig.name if part.key == "value" else "  " + fig.name
            what = fig.what if part.key == "value" else part.label
            rows.append((name, _fmt(d["median"]), _fmt(d["min"]), _fmt(d["max"]), unit, target, mark, what))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {1, 2, 3}
    lines = [head, ""]
    for i, r in enumerate(rows):
        cells = [c.rjust(w) if j in right and i else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    runs = sorted({e["runs"] for k, e in results.items() if k != "machine" and isinstance(e, dict) and "runs" in e})
    lines.append("")
    lines.append(f"median of {'/'.join(str(r) for r in runs)} runs per figure; targets are for a 2-core machine")
    return "\n".join(lines)
