"""An experiment's report as text: the command that ran, the table, the chart, what the theory used.

Every sentence is built from the report's data (rows, the measured τ, the γ
the network gave), so it says what this run found. Pure: report in, lines out.
"""

from __future__ import annotations

from lab.experiments.labs import GIVE_UP, HEAD_START, SELFISH_NETS
from lab.experiments.results import number
from lab.experiments.run import Report
from lab.experiments.theory import double_spend_probability
from lab.render.chart import chart, rows_table
from lab.render.style import Styler


def report_lines(report: Report, styler: Styler, *, terminal_width: int | None = None) -> list[str]:
    """The whole report. `terminal_width` set: a plotext chart that wide; None: the plain chart."""
    spec = report.spec
    rows = report.rows
    lines = [styler.bold(spec.command())]
    if not rows:
        lines.append("Stopped before the first row was finished: nothing measured." if report.stopped
                     else "Nothing measured.")
        return lines
    lines += rows_table(rows, ascii_only=styler.ascii_only).splitlines()
    lines.append("")
    if terminal_width is not None and not styler.ascii_only:
        lines += chart(rows, width=max(40, min(terminal_width - 1, 100)), height=18, color=styler.color).splitlines()
    else:
        lines += chart(rows, plain=True).splitlines()
    lines += theory_notes(report)
    if report.stopped:
        lines.append(f"Stopped (Ctrl-C) after {len(rows)} of {report.points} rows; the rows above are finished.")
    return lines


def theory_notes(report: Report) -> list[str]:
    """What the theory column assumed, in this run's numbers."""
    rows = report.rows
    kind = report.spec.experiment
    if kind == "stale":
        taus = ", ".join(f"{r.value} -> {tau:.3f}s" if tau is not None else f"{r.value} -> none"
                         for r, tau in zip(rows, report.taus, strict=False))
        return [f"theory: 1 - e^(-tau/T) with tau the propagation time measured (latency -> tau): {taus}"]
    if kind == "selfish":
        out = []
        for asked, net in sorted(SELFISH_NETS.items()):
            if any(r.param.endswith(f"gamma={_short(asked)})") for r in rows) and net.near:
                out.append(f"gamma {_short(asked)}: every honest miner but the finder of a block hears the pool's "
                           f"block first ({len(net.honest)} honest miners), so the network gives "
                           f"gamma = {net.gamma:g}; the theory column uses it")
        return ["theory: Eyal & Sirer's R(alpha, gamma)", *out]
    groups: dict[str, list[str]] = {}
    for r in rows:
        groups.setdefault(r.param.split("(", 1)[-1].rstrip(")"), []).append(
            f"z={r.value} {number(double_spend_probability(_q(r.param), int(r.value)))}")
    nakamoto = "; ".join(f"{q}: {', '.join(items)}" for q, items in groups.items())
    return [f"theory: the exact race the nodes play (Rosenfeld 2012): the attacker mines {HEAD_START} secret "
            f"block before paying, publishes once his chain is longer, gives up {GIVE_UP} blocks behind",
            f"Nakamoto's section 11 (Poisson) for comparison: {nakamoto}"]


def _short(x: float) -> str:
    return f"{x:g}"


def _q(param: str) -> float:
    """'z (q=0.1)' -> 0.1."""
    text = param.split("q=", 1)[1].rstrip(")")
    if "/" in text:
        a, b = text.split("/")
        return int(a) / int(b)
    return float(text)
