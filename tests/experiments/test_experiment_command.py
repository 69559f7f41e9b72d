"""`experiment` typed at a lab's prompt: fresh real labs, a table, a chart, a CSV, the same bytes twice.

The stale experiment runs here end to end on small sizes; the long accuracy
runs are in test_experiment_accuracy.py (soak).
"""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from labtest import run

from lab.commands.session import Session
from lab.experiments.results import HEADER

SMALL = "experiment stale latency 1s,10s blocks 120 seed 7"


async def _typed(line: str, session: Session | None = None) -> tuple[str, bool, Session]:
    s = session or await Session().start()
    out = await s.execute(line)
    return out.text, out.ok, s


def _in_fresh_lab(line: str) -> tuple[str, bool]:
    async def go() -> tuple[str, bool]:
        text, ok, s = await _typed(line)
        await s.close()
        return text, ok
    return run(go())


def test_stale_prints_a_row_per_latency_with_interval_theory_runs_and_blocks(tmp_path: Path) -> None:
    path = tmp_path / "stale.csv"
    text, ok = _in_fresh_lab(f"{SMALL} csv {path}")
    assert ok, text
    assert text.splitlines()[0] == "experiment stale latency 1s,10s interval 60s runs 1 blocks 120 seed 7 csv " + str(path)
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == HEADER
    assert [r[2] for r in rows[1:]] == ["1s", "10s"]
    for r in rows[1:]:
        measured, low, high, theory = (float(x) for x in r[3:7])
        assert 0 <= low <= measured <= high <= 1 and 0 < theory < 1
        assert (r[0], r[7], r[8]) == ("stale", "1", "120")
    # ten miners, 10 s of latency against 60 s blocks: forks happen, and more than at 1 s
    assert float(rows[2][3]) > float(rows[1][3])
    assert "stale blocks vs latency" in text and "with tau the propagation time measured" in text


def test_the_same_command_and_seed_print_the_same_table_and_csv(tmp_path: Path) -> None:
    outs = []
    for name in ("a.csv", "b.csv"):
        text, ok = _in_fresh_lab(f"{SMALL} csv {tmp_path / name}")
        assert ok, text
        outs.append(text.replace(str(tmp_path / name), "FILE"))
    assert outs[0] == outs[1]
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    other, _ = _in_fresh_lab(SMALL.replace("seed 7", "seed 8"))
    assert other.splitlines()[3:5] != outs[0].splitlines()[3:5]  # another seed, other runs


def test_the_learners_own_lab_is_left_as_it_was() -> None:
    async def go() -> tuple[int, int, str]:
        s = await Session().start()
        await s.execute("mine A 2")
        before = s.need_lab().nodes["A"].state.chain.height
        text, ok, _ = await _typed("experiment stale latency 2s blocks 40", s)
        assert ok, text
        after = s.need_lab().nodes["A"].state.chain.height
        nodes = len(s.need_lab().nodes)
        await s.close()
        return before, after, str(nodes)
    before, after, nodes = run(go())
    assert before == after == 2 and nodes == "4"


def test_progress_goes_to_the_sessions_hook_run_by_run() -> None:
    seen: list[tuple[str, int, int]] = []

    async def go() -> None:
        s = await Session().start()
        s.on_progress = lambda what, done, total: seen.append((what, done, total))
        out = await s.execute("experiment stale latency 1s,2s,3s blocks 20")
        assert out.ok, out.text
        await s.close()
    run(go())
    assert seen == [("stale", 0, 3), ("stale latency=1s (interval=60s)", 1, 3),
                    ("stale latency=2s (interval=60s)", 2, 3), ("stale latency=3s (interval=60s)", 3, 3)]


def test_ctrl_c_stops_after_the_run_under_way_and_keeps_the_finished_rows(tmp_path: Path) -> None:
    path = tmp_path / "part.csv"

    async def go() -> str:
        s = await Session().start()

        def stop_after_two(what: str, done: int, total: int) -> None:
            if done == 2:
                assert s.request_stop()  # what the REPL does on Ctrl-C during long work

        s.on_progress = stop_after_two
        out = await s.execute(f"experiment stale latency 1s,2s,3s,4s blocks 20 csv {path}")
        await s.close()
        return out.text
    text = run(go())
    assert "Stopped (Ctrl-C) after 2 of 4 rows" in text
    with path.open(newline="") as f:
        assert [r[2] for r in list(csv.reader(f))[1:]] == ["1s", "2s"]


@pytest.mark.parametrize(("line", "message"), [
    ("experiment", "experiment needs to know what to measure"),
    ("experiment stael", "there is no experiment 'stael'"),
    ("experiment stale latncy 1s", "'latncy' is not a setting of experiment stale"),
    ("experiment stale latency 1s csv /no/such/folder/x.csv", "cannot write the rows to /no/such/folder/x.csv"),
])
def test_bad_input_is_one_line_and_what_to_type(line: str, message: str) -> None:
    text, ok = _in_fresh_lab(line)
    assert not ok
    first, *rest = text.splitlines()
    assert message in first and len(rest) == 1


def test_help_shows_the_contract_syntax() -> None:
    text, ok = _in_fresh_lab("help experiment")
    assert ok
    assert text.splitlines()[0] == ("experiment stale|selfish|double-spend [PARAM VALUES]... [runs R] [blocks N] "
                                    "[seed S] [csv FILE]")


def test_a_cancellation_goes_on_up() -> None:
    async def go() -> bool:
        s = await Session().start()
        task: asyncio.Task | None = None

        def cancel_once_running(what: str, done: int, total: int) -> None:
            if done == 1 and task is not None:
                task.cancel()  # a timeout, or the lab closing: the experiment does not swallow it

        s.on_progress = cancel_once_running
        task = asyncio.ensure_future(s.execute("experiment stale latency 1s,2s blocks 20"))
        try:
            await task
            return False
        except asyncio.CancelledError:
            return True
        finally:
            await s.close()
    assert run(go())
