"""`lab lesson ID --submit FILE` and `lab grade` on the real lab: a submission proves itself by replay."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lab import __version__
from lab.commands.grading_cli import Replayer
from lab.lessons.grading import grade, grade_csv
from lab.lessons.loader import find_lesson
from lab.lessons.submission import read_submission, write_submission

LESSON = find_lesson("network")
ROUTE = [line for step in LESSON.steps for line in step.solution]


def lab(*args: str, stdin: str = "", cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args], input=stdin, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A learner works through lesson 1 with piped stdin, with a typo and a view on the way."""
    folder = tmp_path_factory.mktemp("class")
    lines = [ROUTE[0], "nodes", "mien A", *ROUTE[1:]]
    p = lab("lesson", "network", "--submit", "ada.json", stdin="\n".join(lines) + "\n", cwd=folder)
    assert p.returncode == 0, p.stdout + p.stderr
    return folder / "ada.json"


def test_the_file_holds_what_the_learner_typed_and_reached(honest: Path) -> None:
    read = read_submission(honest)
    s = read.submission
    assert not read.edited
    assert s.lesson == "network" and s.seed == LESSON.start.seed and s.lab_version == __version__
    assert [c.line for c in s.commands] == [ROUTE[0], "nodes", "mien A", *ROUTE[1:]]
    times = [c.time_us for c in s.commands]
    assert times == sorted(times)
    assert s.steps_reached == tuple(range(1, len(LESSON.steps) + 1))
    assert len(s.digest) == 16


def test_lab_grade_verifies_an_honest_submission(honest: Path) -> None:
    p = lab("grade", str(honest.parent), "--csv", "marks.csv", cwd=honest.parent)
    assert p.returncode == 0, p.stdout + p.stderr
    row = next(line for line in p.stdout.splitlines() if line.startswith("ada"))
    n = len(LESSON.steps)
    assert f"{n} of {n}" in row and "match" in row
    assert f"{len(ROUTE) + 2} ({len(ROUTE)} ref)" in row
    rows = list(csv.DictReader(io.StringIO((honest.parent / "marks.csv").read_text())))
    assert rows[0]["learner"] == "ada" and rows[0]["steps_verified"] == str(n) and rows[0]["digest_match"] == "yes"


def _claim_all(src: Path, dst: Path, *, fix_hash: bool) -> None:
    """A learner who stopped after step 1 edits the file to claim every step."""
    s = read_submission(src).submission
    s = dataclasses.replace(s, commands=s.commands[:1], steps_reached=tuple(range(1, len(LESSON.steps) + 1)))
    if fix_hash:
        write_submission(dst, s)  # the checksum recomputed: only the replay can tell
    else:
        fields = json.loads(src.read_text())
        fields["steps_reached"] = list(s.steps_reached)
        fields["commands"] = fields["commands"][:1]
        dst.write_text(json.dumps(fields))


def test_grading_believes_only_the_replay(honest: Path, tmp_path: Path) -> None:
    (tmp_path / "ada.json").write_bytes(honest.read_bytes())
    _claim_all(honest, tmp_path / "eve.json", fix_hash=False)
    _claim_all(honest, tmp_path / "mallory.json", fix_hash=True)
    old = json.loads(honest.read_text())
    old["lab_version"] = "0.0.1"
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "broken.json").write_text(honest.read_text()[:100])
    replayer = Replayer()
    rows = {r.learner: r for r in grade([tmp_path], replayer.replay, replayer.reference_commands)}
    n = len(LESSON.steps)
    assert rows["ada"].steps_verified == n and rows["ada"].digest_match and not rows["ada"].problems
    for cheat in ("eve", "mallory"):
        r = rows[cheat]
        assert r.steps_claimed == n and r.steps_verified == 1
        assert any("not reached on replay" in p for p in r.problems)
    assert any(p.startswith("edited") for p in rows["eve"].problems)
    assert not any(p.startswith("edited") for p in rows["mallory"].problems)
    assert any("recorded with lab 0.0.1" in p for p in rows["old"].problems)
    assert rows["old"].steps_verified == n  # another version is reported, and still replayed
    assert rows["broken"].lesson == "?" and "not a lab submission" in rows["broken"].problems[0]
    table = list(csv.DictReader(io.StringIO(grade_csv(list(rows.values())))))
    assert {t["learner"] for t in table} == set(rows)


def test_a_submission_of_an_unknown_lesson_is_reported(honest: Path, tmp_path: Path) -> None:
    s = dataclasses.replace(read_submission(honest).submission, lesson="no-such-lesson")
    write_submission(tmp_path / "x.json", s)
    p = lab("grade", str(tmp_path / "x.json"), cwd=tmp_path)
    assert p.returncode == 1
    assert "replay failed: no lesson 'no-such-lesson'" in p.stdout


def test_submit_to_a_path_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    p = lab("lesson", "network", "--submit", str(tmp_path / "no" / "such" / "dir" / "x.json"), stdin="mine B\n",
            cwd=tmp_path)
    assert p.returncode == 2
    assert p.stdout.startswith("error: could not write the submission") and "Traceback" not in p.stderr


def test_grade_of_nothing_says_what_to_give(tmp_path: Path) -> None:
    p = lab("grade", str(tmp_path / "missing"), cwd=tmp_path)
    assert p.returncode == 2 and "no file or folder" in p.stdout


def test_a_submission_kept_at_the_prompt_replays_to_the_same_digest(tmp_path: Path) -> None:
    """The REPL path of --submit: lines typed at the prompt (a hint and a typo on the way)."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from lab.commands.grading_cli import prompt_recorder
    from lab.commands.session import Session
    from lab.repl.app import Shell

    async def story() -> None:
        s = Session()
        await s.start()
        try:
            assert (await s.execute("lesson network")).ok
            with create_pipe_input() as inp:
                shell = Shell(s, input=inp, output=DummyOutput(), echo=lambda _text: None)
                shell.after_line = prompt_recorder(str(tmp_path / "grace.json"), s)
                inp.send_text("\n".join([ROUTE[0], "hint", "mien B", *ROUTE[1:3]]) + "\n\x04")
                assert await shell.run() == 0
        finally:
            await s.close()

    asyncio.run(story())
    s = read_submission(tmp_path / "grace.json").submission
    assert [c.line for c in s.commands] == [ROUTE[0], "hint", "mien B", *ROUTE[1:3]]
    replayer = Replayer()
    [row] = grade([tmp_path], replayer.replay, replayer.reference_commands)
    assert row.steps_claimed == row.steps_verified == 2 and row.digest_match and not row.problems
