"""save, load, back: a lab brought back continues exactly as if it had never stopped.

Stories: a learner works through a lesson, saving after every
command; each save is loaded into a fresh lab and the rest of the lesson is
played on it: every line it prints must be the uninterrupted run's, byte for
byte. A damaged, cut, foreign or newer save is one line and changes nothing.
`back` after every command of a random program returns the previous digest.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from labtest import run

from lab.cli import main
from lab.commands.session import LabConfig, Session
from lab.lessons.loader import find_lesson, load_all
from lab.world.savefile import APPLICATION_ID, FORMAT_VERSION

FAST = dict(difficulty=6, latency_ms=20)

PARTITION_STORY = [
    "mine A 4", "mine C 4", "mine D", "partition A,B | C,D", "send A B 20 as to_b", "mine B",
    "send A C 1 as left_pending", "send A D 20 via D conflicting to_b as twin", "send C D 5 as right_pay",
    "mine C 2", "check forked", "tree", "heal", "check confirmed twin", "mempool C", "log 8", "explain A", "digest",
]
DOUBLE_SPEND_STORY = [
    "mine A 4", "mode step", "send A B 10 as shop1", "send A C 10 via C conflicting shop1 as shop2", "queue",
    "step 4", "mempool B", "mempool C", "mode auto", "mine C", "check confirmed shop2", "tx shop1", "run 30s",
    "history", "digest",
]

ATTACK_STORY = [
    "mine E 4", "hashrate E 20%", "strategy E selfish", "withhold E on", "send E D 10 as pay via B",
    "send E E 10 conflicting pay as steal", "mine E", "mine A 2", "mine E 2", "status", "publish E", "tree",
    "eclipse D by E", "mine E", "mine A", "heal", "digest",
]


@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path_factory.mktemp("state")))


async def started(**cfg) -> Session:
    return await Session(LabConfig(**cfg)).start()


async def say(s: Session, line: str) -> str:
    return (await s.execute(line)).text


async def continuations(tmp: Path, first: list[str], lines: list[str], cfg: dict, sample: int | None = None) -> None:
    """Run `first` then `lines`, saving before each line; load each save into a fresh lab and compare."""
    s = await started(**cfg)
    outs = []
    try:
        for line in first:
            await say(s, line)
        for k, line in enumerate(lines):
            saved = await s.execute(f"save {tmp / f'{k}.lab'}")
            assert saved.ok, saved.text
            outs.append(await say(s, line))
    finally:
        await s.close()
    points = range(len(lines))
    if sample is not None:
        points = sorted(random.Random(len(lines)).sample(points, min(sample, len(lines))))
    for k in points:
        again = await started()  # a default lab: the save brings its own construction
        try:
            loaded = await again.execute(f"load {tmp / f'{k}.lab'}")
            assert loaded.ok, loaded.text
            for j, line in enumerate(lines[k:], k):
                assert await say(again, line) == outs[j], f"saved before line {k}, then `{line}` (line {j}) differs"
        finally:
            await again.close()


async def goes_on_the_same_after_load(path: Path, rest: list[str], outs: list[str]) -> None:
    """Load `path` into a fresh lab: `rest` prints there what it printed in the lab that saved it (`outs`)."""
    again = await started()
    try:
        assert (await again.execute(f"load {path}")).ok
        assert [await say(again, line) for line in rest] == outs
    finally:
        await again.close()


def solution_lines(key: str) -> list[str]:
    """Every step of a lesson: a hint, the reference solution, then `goal` (which says it is done)."""
    lines: list[str] = []
    for step in find_lesson(key).steps:
        lines += ["hint", *step.solution]
    return lines


def test_the_partition_story_continues_byte_for_byte_after_a_save_at_every_command(tmp_path):
    run(continuations(tmp_path, [], PARTITION_STORY, FAST))


def test_the_attack_story_continues_byte_for_byte_after_a_save_at_every_command(tmp_path):
    run(continuations(tmp_path, [], ATTACK_STORY, {**FAST, "nodes": 5}))


def test_the_double_spend_story_continues_byte_for_byte_after_a_save_at_every_command(tmp_path):
    run(continuations(tmp_path, [], DOUBLE_SPEND_STORY, FAST))


@pytest.mark.parametrize("key", ["forks", "double-spend"])
def test_a_lesson_continues_byte_for_byte_after_a_save_at_every_command(tmp_path, key):
    run(continuations(tmp_path, [f"lesson {key}"], solution_lines(key), {}))


@pytest.mark.parametrize("key", [lesson.id for lesson in load_all()])
def test_every_lesson_continues_byte_for_byte_after_a_save_at_every_command(tmp_path, key):
    run(continuations(tmp_path, [f"lesson {key}"], solution_lines(key), {}))


# -- bad files -----------------------------------------------------------------------------------
def _newer(raw: bytes) -> bytes:
    return raw[:60] + (FORMAT_VERSION + 1).to_bytes(4, "big") + raw[64:]


def test_bad_saves_are_one_line_and_leave_the_lab_exactly_as_it_was(tmp_path):
    async def story():
        s = await started(**FAST)
        try:
            await say(s, "mine A 2")
            assert (await s.execute(f"save {tmp_path / 'good.lab'}")).ok
            raw = (tmp_path / "good.lab").read_bytes()
            await say(s, "mine B; send A C 1 as p")
            before = (await say(s, "digest"), await say(s, "history"), await say(s, "tree"))
            other = sqlite3.connect(tmp_path / "other.db")
            other.execute("CREATE TABLE t (x)")
            other.commit()
            other.close()
            rng = random.Random(15)
            bad = {"missing.lab": None, "text.lab": b"mine A\n", "empty.lab": b"", "newer.lab": _newer(raw)}
            for pos in sorted(rng.sample(range(len(raw)), 40)):
                bad[f"flip{pos}.lab"] = raw[:pos] + bytes([raw[pos] ^ 0x5A]) + raw[pos + 1:]
            for cut in sorted(rng.sample(range(1, len(raw)), 20)):
                bad[f"cut{cut}.lab"] = raw[:cut]
            for name, body in bad.items():
                if body is not None:
                    (tmp_path / name).write_bytes(body)
            bad["other.db"] = b""
            words = {"missing.lab": "no save file", "text.lab": "not a lab save", "empty.lab": "empty",
                     "newer.lab": "newer lab", "other.db": "another program"}
            for name in bad:
                out = await s.execute(f"load {tmp_path / name}")
                assert not out.ok, name
                assert len(out.text.splitlines()) <= 2 and out.error and "\n" not in out.error, out.text
                assert words.get(name, "") in out.error
                if name.startswith("cut"):
                    assert "truncated" in out.error or "damaged" in out.error
                assert (await say(s, "digest"), await say(s, "history"), await say(s, "tree")) == before, name
            assert (await s.execute(f"load {tmp_path / 'good.lab'}")).ok
            assert (await say(s, "history")).count("mine") == 1
        finally:
            await s.close()

    run(story())


def test_lab_load_runs_scripts_on_a_saved_lab_and_exits_1_on_a_bad_file(tmp_path):
    runner = CliRunner()
    good, bad = tmp_path / "a.lab", tmp_path / "bad.lab"
    made = runner.invoke(main, ["--difficulty", "6", "-c", f"mine A 3 as x; save {good}"])
    assert made.exit_code == 0, made.output
    uninterrupted = runner.invoke(main, ["--difficulty", "6", "-c", "mine A 3 as x; mine B; block x"])
    loaded = runner.invoke(main, ["--load", str(good), "-c", "mine B; block x"])
    assert loaded.exit_code == 0, loaded.output
    assert loaded.output.startswith("Loaded ")
    assert uninterrupted.output.endswith(loaded.output.split("\n", 1)[1])  # mine B; block x: the same bytes
    script = tmp_path / "s.lab-script"
    script.write_text("mine B\ncheck height A >= 4\n")
    assert runner.invoke(main, ["--load", str(good), "run", str(script)]).exit_code == 0
    bad.write_bytes(good.read_bytes()[:5000])
    for args in (["--load", str(bad), "-c", "status"], ["--load", str(bad), "run", str(script)],
                 ["--load", str(tmp_path / "none.lab"), "-c", "status"]):
        res = runner.invoke(main, args)
        assert res.exit_code == 1 and len(res.output.strip().splitlines()) <= 2, res.output
    for cmd in (f"load {bad}", f"load {tmp_path / 'none.lab'}"):
        assert runner.invoke(main, ["-c", cmd]).exit_code == 1


def test_a_save_that_replays_to_another_lab_is_refused(tmp_path):
    async def story():
        s = await started(**FAST)
        try:
            await say(s, "mine A")
            path = tmp_path / "x.lab"
            assert (await s.execute(f"save {path}")).ok
            from lab.world.savefile import load_save, save_lab
            data = load_save(path).data
            data.meta["digest"] = "0" * 16
            save_lab(path, data)
            before = await say(s, "digest")
            out = await s.execute(f"load {path}")
            assert not out.ok and "replays to another lab" in (out.error or "")
            assert await say(s, "digest") == before
        finally:
            await s.close()

    run(story())


def test_a_save_is_an_sqlite_file_a_learner_can_read(tmp_path):
    async def story():
        s = await started(**FAST)
        try:
            await say(s, "mine A 2 as top; partition A | B,C,D; mine B")
            assert (await s.execute(f"save {tmp_path / 'x.lab'}")).ok
        finally:
            await s.close()

    run(story())
    db = sqlite3.connect(tmp_path / "x.lab")
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    per_node = dict(db.execute("SELECT node, count(*) FROM node_block GROUP BY node"))
    assert per_node == {"A": 3, "B": 4, "C": 4, "D": 4}  # genesis, A's two blocks; B's side adds one
    names = {r[0] for r in db.execute("SELECT name FROM section")}
    assert {"record", "clock", "nodes", "labels", "topology", "pacing", "flights"} <= names
    assert all(len(raw) > 80 for (raw,) in db.execute("SELECT raw FROM block"))


# -- back -----------------------------------------------------------------------------------------
PROGRAM = [
    "mine A", "mine B 2", "mine C", "send A B 1", "send B D 0.5 fee 0.001", "partition A,B | C,D", "heal",
    "disconnect A B", "connect A B", "latency all 80ms", "latency A B 10ms", "mode step", "step 3", "mode auto",
    "run 5s", "stop C", "start C", "hold A B", "release A B", "relay inv", "relay push", "add-node",
    "forge B overpay", "cut A -> C", "autominer on 1m", "run 3m", "autominer off", "loss A D 50", "hashrate B 60",
    "difficulty 5", "drop 1", "run until quiet", "topology ring",
]


def test_back_after_every_command_of_a_random_program_returns_the_previous_digest():
    async def story():
        rng = random.Random(1500)
        s = await started(**FAST)
        try:
            await say(s, "mine A 4; mine D 3")
            done = 0
            for _ in range(40):
                line = rng.choice(PROGRAM)
                before, count = await say(s, "digest"), len(s.recording.entries)
                out = await s.execute(line)
                if len(s.recording.entries) == count:  # failed, or changed nothing: not counted by `back`
                    continue
                after, clock = await say(s, "digest"), s.lab.sched.now
                back = await s.execute("back")
                assert back.ok, back.text
                assert await say(s, "digest") == before, f"`back` after `{line}`"
                assert len(s.recording.entries) == count
                again = await s.execute(line)
                assert again.text == out.text, f"`{line}` again after `back`"
                assert await say(s, "digest") == after and s.lab.sched.now == clock
                done += 1
            assert done >= 20
        finally:
            await s.close()

    run(story())


def test_back_in_a_lesson_takes_the_lesson_back_too():
    async def story():
        s = await started()
        try:
            await say(s, "lesson forks")
            step1 = find_lesson("forks").steps[0].solution
            for line in step1:
                await say(s, line)
            assert s.lesson is not None and s.lesson.index == 1
            out = await s.execute("back")
            assert out.ok and s.lesson.index == 0
            assert "Goal reached" in await say(s, step1[-1])
            assert s.lesson.index == 1
        finally:
            await s.close()

    run(story())


def test_a_lab_that_ran_live_is_saved_by_its_state_and_back_still_returns_to_before(tmp_path, monkeypatch):
    async def story():
        s = await started(**FAST)
        try:
            await say(s, "mine A")
            before = await say(s, "digest")
            await say(s, "mode live")
            await say(s, "mode auto")
            await say(s, "mine B")
            after = await say(s, "digest")
            out = await s.execute(f"save {tmp_path / 'x.lab'}")
            assert out.ok and "live mode" in out.text, out.text  # saved, and it says it cannot be replayed
            again = await started()
            try:
                assert (await again.execute(f"load {tmp_path / 'x.lab'}")).ok
                assert await say(again, "digest") == after
                assert "live mode" in await say(again, "history")
                # a build of the lab that cannot read that state cannot replay it either: one line, nothing changes
                from lab.world import snapshot
                monkeypatch.setattr(snapshot, "fingerprint", lambda: "0" * 64)
                await say(again, "mine C")
                now = await say(again, "digest")
                out = await again.execute(f"load {tmp_path / 'x.lab'}")
                assert not out.ok and "cannot be replayed" in (out.error or "") and "another build" in out.error
                assert len(out.text.splitlines()) <= 2 and await say(again, "digest") == now
            finally:
                await again.close()
            assert (await s.execute("back 3")).ok and await say(s, "digest") == before
        finally:
            await s.close()

    run(story())


def test_a_mine_stopped_by_ctrl_c_is_recorded_as_the_blocks_it_found_and_replays_exactly(tmp_path):
    async def story():
        s = await started(difficulty=12, latency_ms=20)
        try:
            await say(s, "mine A 4")
            a = s.lab.nodes["A"]
            task = asyncio.ensure_future(s.execute("mine A 500 as far"))
            while a.blocks_mined < 7:  # three of the 500 found: Ctrl-C (what the REPL does: cancel the task)
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            found = a.blocks_mined - 4
            assert s.recording.entries[-1].line == f"mine A {found}" and not s.recording.entries[-1].settle
            assert (await s.execute(f"save {tmp_path / 'x.lab'}")).ok
            rest = ["queue", "mine B", "tree", "digest"]
            outs = [await say(s, line) for line in rest]
        finally:
            await s.close()
        await goes_on_the_same_after_load(tmp_path / "x.lab", rest, outs)

    run(story())


def test_keeping_commands_mixed_into_random_lines_never_crash_and_back_always_replays(tmp_path):
    """The CLI fuzzer's lines, with save/load/back/history/digest mixed in (tests/robust/test_cli_fuzz.py)."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "robust"))
    from test_cli_fuzz import KEEPING_TEMPLATES, TEMPLATES, fill

    async def story():
        rng = random.Random(77)
        stats: dict[tuple[str, bool], int] = {}
        s = await started(difficulty=4, latency_ms=5)
        try:
            for n in range(300):
                template = rng.choice(KEEPING_TEMPLATES if rng.random() < 0.15 else TEMPLATES)
                if template.startswith(("mode", "autominer on", "difficulty", "quit", "exit", "seed", "lesson")):
                    continue
                line = fill(rng, template).replace("{l}", "x")
                out = await s.execute(line)
                assert not s.internal_errors, f"line {n} {line!r}\n{s.internal_errors[-1]}"
                assert out.ok or out.check_failed or (out.error and len(out.error.splitlines()) == 1), line
                stats[(line.split()[0], out.ok)] = stats.get((line.split()[0], out.ok), 0) + 1
                if line.startswith("back") and not out.ok:
                    assert "bug" not in out.text, f"line {n} {line!r}: {out.text}"
            assert stats.get(("back", True), 0) >= 3, stats
            saved = await s.execute(f"save {tmp_path / 'end.lab'}")
            if saved.ok:
                digest = await say(s, "digest")
                assert (await s.execute(f"load {tmp_path / 'end.lab'}")).ok
                assert await say(s, "digest") == digest
        finally:
            await s.close()

    run(story())


def test_a_long_mine_stopped_early_is_recorded_as_the_blocks_it_found(tmp_path):
    async def story():
        s = await started(difficulty=12, latency_ms=20)
        try:
            await say(s, "mine A 4")
            a = s.lab.nodes["A"]
            task = asyncio.ensure_future(s.execute("mine A 500 as far"))
            while a.blocks_mined < 7:  # Ctrl-C at the prompt asks a long mine to stop after its block
                await asyncio.sleep(0)
            assert s.request_stop()
            out = await task
            assert out.ok and "Interrupted" in out.text
            found = a.blocks_mined - 4
            assert s.recording.entries[-1].line == f"mine A {found} as far"
            assert (await s.execute(f"save {tmp_path / 'x.lab'}")).ok
            rest = ["block far", "mine B", "tree", "digest"]
            outs = [await say(s, line) for line in rest]
        finally:
            await s.close()
        await goes_on_the_same_after_load(tmp_path / "x.lab", rest, outs)

    run(story())


def test_a_long_run_stopped_early_is_recorded_as_the_time_it_ran_and_replays_exactly(tmp_path):
    async def story():
        s = await started(difficulty=6, latency_ms=20)
        try:
            await say(s, "autominer on 1s")
            began = s.lab.sched.now
            task = asyncio.ensure_future(s.execute("run 2h"))
            while s.lab.sched.now < began + 5 * 60 * 1_000_000:  # Ctrl-C five virtual minutes in
                await asyncio.sleep(0)
            assert s.request_stop()
            assert not s.request_stop()  # a second Ctrl-C before it stopped: the front end cancels at once
            out = await task
            assert out.ok and "Interrupted" in out.text
            entry = s.recording.entries[-1]
            assert entry.line.startswith("run ") and entry.line != "run 2h" and entry.time_us == began
            assert (await s.execute(f"save {tmp_path / 'x.lab'}")).ok
            rest = ["tree", "autominer off", "mine B", "digest"]
            outs = [await say(s, line) for line in rest]
        finally:
            await s.close()
        await goes_on_the_same_after_load(tmp_path / "x.lab", rest, outs)

    run(story())
