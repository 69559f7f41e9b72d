"""`experiment stale|selfish|double-spend ...`: measure the lab against the papers on fresh labs.

The outer lab is left as it is: every run opens a fresh lab of its own (a
Session without narration), types the experiment's command lines into it and
closes it. Progress goes to the session's progress hook (the REPL's bar);
Ctrl-C stops between runs and keeps the finished rows.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

from lab.commands.config import LabConfig
from lab.errors import CommandError
from lab.experiments.labs import Runner
from lab.experiments.results import write_csv
from lab.experiments.run import run_experiment
from lab.experiments.spec import Point, parse_experiment
from lab.params import MIN_DIFFICULTY
from lab.render.experiment import report_lines
from lab.render.output import Output

if TYPE_CHECKING:
    from lab.commands.session import Session


async def cmd_experiment(s: Session, args: list[str]) -> Output:
    spec = parse_experiment(args)
    if spec.csv is not None:
        _check_writable(spec.csv)
    new_session = type(s)  # the Session class, without importing it (it imports this module's registry)

    async def open_lab(nodes: list[str], seed: int) -> Runner:
        inner = new_session(LabConfig(nodes=nodes, topology="mesh", seed=seed, difficulty=MIN_DIFFICULTY),
                            narrate=False)
        return await inner.start()

    first = spec.params[0].name
    total = len(spec.points()) * spec.runs

    def on_run(done: int, _total: int, point: Point) -> None:
        fixed = point.param.partition(" ")[2]  # "(q=0.1)": the other parameters of this row
        s.report_progress(f"{spec.experiment} {first}={point.value}" + (f" {fixed}" if fixed else ""), done, total)

    with s.interruptible():  # Ctrl-C: stop after the run under way, keep the rows finished
        s.report_progress(spec.experiment, 0, total)
        report = await run_experiment(spec, open_lab, on_run, lambda: s.stop_requested)
    width = shutil.get_terminal_size((80, 24)).columns if s.styler.color else None
    lines = report_lines(report, s.styler, terminal_width=width)
    if spec.csv is not None and report.rows:
        write_csv(spec.csv, report.rows)
        lines.append(f"Wrote {len(report.rows)} row{'s' if len(report.rows) != 1 else ''} to {spec.csv}.")
    return Output(tuple(lines))


def _check_writable(path: str) -> None:
    """Refuse a CSV file that cannot be written before minutes of measuring, not after."""
    target = os.path.abspath(os.path.expanduser(path))
    folder = os.path.dirname(target)
    if os.path.isdir(target) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise CommandError(f"cannot write the rows to {path}",
                           "give a file in a folder you can write to, e.g. csv results.csv")
