"""Issue 13 findings 6 and 7 at the prompt: a pasted block, long work with progress and Ctrl-C."""

from __future__ import annotations

from labtest import run

from lab.chain.crypto import short_hex
from lab.commands.session import LabConfig, Session


async def _session(**cfg) -> Session:
    return await Session(LabConfig(**{"difficulty": 6, **cfg})).start()


def test_a_bracketed_paste_runs_one_command_per_line():
    import asyncio

    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from lab.repl.app import Shell

    async def go():
        s = await _session()
        out: list[str] = []
        try:
            await s.execute("mine A 3")
            with create_pipe_input() as inp:
                shell = Shell(s, input=inp, output=DummyOutput(), echo=out.append)
                # what a terminal sends for a pasted block, then Enter, then Ctrl-D
                inp.send_text("\x1b[200~mine B\nsend A B 5 as p5\nnodes\x1b[201~\r\x04")
                code = await asyncio.wait_for(shell.run(), 30)
            return code, "\n".join(out), s.lab.nodes["B"].state.chain.tip.height, "p5" in s.lab.labels
        finally:
            await s.close()

    code, text, b_height, labelled = run(go())
    assert code == 0 and "takes at most" not in text
    assert b_height == 4 and labelled
    assert "lab> send A B 5 as p5" in text and "mempool" in text  # the third line ran too


def test_long_mining_shows_progress_and_ctrl_c_leaves_the_lab_settled(monkeypatch):
    import asyncio
    import os
    import signal

    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput
    from repl_helpers import wait_until

    from lab import events as ev
    from lab.repl import app

    monkeypatch.setattr(app, "PROGRESS_AFTER", 0.0)

    async def go():
        s = await _session()
        out: list[str] = []
        try:
            with create_pipe_input() as inp:
                shell = app.Shell(s, input=inp, output=DummyOutput(), echo=out.append, plain=True)
                task = asyncio.ensure_future(shell.run())
                inp.send_text("mine A 1000\n")
                await wait_until(lambda: any("mining on A" in o for o in out), "a progress line")
                os.kill(os.getpid(), signal.SIGINT)
                await wait_until(lambda: any("Interrupted" in o for o in out), "the interruption reported")
                inp.send_text("\x04")
                await asyncio.wait_for(task, 30)
            text = "\n".join(out)
            mined = [r.event.block for r in s.lab.log.of(ev.BlockMined)]
            return text, mined, len(s.lab.fabric.flights), {n.state.chain.tip.hash for n in s.lab.nodes.values()}
        finally:
            await s.close()

    text, mined, in_flight, tips = run(go())
    assert "1000" in text and "(Ctrl-C stops)" in text  # progress with count and total
    assert 0 < len(mined) < 1000
    assert f"Interrupted: A mined {len(mined)} of 1000 blocks" in text
    assert in_flight == 0 and len(tips) == 1  # settled: nothing stranded in flight, every node on A's tip
    narrated = [x for x in text.splitlines() if "A mined block" in x]
    for h in mined:  # every block mined before Ctrl-C is narrated
        assert any(short_hex(h) in x for x in narrated)


def test_a_long_run_shows_progress_and_ctrl_c_stops_it_settled_saying_what_ran(monkeypatch):
    """`autominer on 1s; run 2h` was silent and Ctrl-C threw the command away: now it shows how much
    virtual time has run, and Ctrl-C stops it at the next instant, settles the network and says so."""
    import asyncio
    import os
    import re
    import signal

    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput
    from repl_helpers import wait_until

    from lab import events as ev
    from lab.commands.parse import parse_duration
    from lab.repl import app

    monkeypatch.setattr(app, "PROGRESS_AFTER", 0.0)

    submitted: list[str] = []

    async def go():
        s = await _session()
        out: list[str] = []
        try:
            with create_pipe_input() as inp:
                shell = app.Shell(s, input=inp, output=DummyOutput(), echo=out.append, plain=True)
                shell.after_line = submitted.append  # what `--submit` records
                task = asyncio.ensure_future(shell.run())
                inp.send_text("autominer on 1s\n")
                await wait_until(lambda: s.lab.autominer, "the auto-miners on")
                began = s.lab.sched.now
                inp.send_text("run 2h\n")
                await wait_until(lambda: any(int(n) >= 720 for o in out if "run 2h" in o
                                             for n in re.findall(r"(\d+)/7200", o)), "a tenth of the run", 30)
                os.kill(os.getpid(), signal.SIGINT)
                await wait_until(lambda: any("Interrupted" in o for o in out), "the interruption reported", 30)
                inp.send_text("\x04")
                await asyncio.wait_for(task, 30)
            text = "\n".join(out)
            mined = [r.event.block for r in s.lab.log.of(ev.BlockMined)]
            entry = s.recording.entries[-1]
            return (text, mined, len(s.lab.fabric.flights), s.lab.sched.now - began,
                    parse_duration(entry.line.split()[1]), entry.line)
        finally:
            await s.close()

    text, mined, in_flight, elapsed, recorded, line = run(go())
    assert "(Ctrl-C stops)" in text and "virtual seconds" in text  # progress: virtual seconds of the 7200
    assert "Interrupted: " in text and "of the 2h ran" in text and " 0/0 " not in text
    assert 0 < recorded < 2 * 3600 * 1_000_000 and recorded <= elapsed  # stopped early; the network settled after
    assert in_flight == 0  # settled: nothing stranded in flight
    assert line != "run 2h"  # recorded as the time it ran
    assert submitted == ["autominer on 1s", line]  # and so is a submission's line: a grader replays what ran
    narrated = [x for x in text.splitlines() if "mined block" in x]
    for h in mined:  # every block mined before Ctrl-C is narrated
        assert any(short_hex(h) in x for x in narrated)


def test_a_scripts_progress_line_is_wiped_when_ctrl_c_stops_the_work(monkeypatch):
    """On a terminal a script draws progress on stderr; stopped early, the line goes before the output."""
    import asyncio
    import io

    from lab.repl import progress

    monkeypatch.setattr(progress, "SHOW_AFTER", 0.0)
    stream = io.StringIO()

    async def go():
        s = await _session()
        try:
            s.on_progress = progress.ProgressPrinter(stream, ascii_only=True)
            await s.execute("autominer on 1s")
            task = asyncio.ensure_future(s.execute("run 2h"))
            while "/7200" not in stream.getvalue():
                await asyncio.sleep(0.01)
            assert s.request_stop()
            return (await task).text
        finally:
            await s.close()

    text = run(go())
    assert "Interrupted" in text
    last = stream.getvalue().rsplit("\r", 2)
    assert last[-1] == "" and last[-2].strip() == ""  # the last thing written blanks the line
