"""An instructor's own lesson file, end to end: written by `lab lessons new`, played by learners with
`lab lesson ./FILE --submit`, graded by `lab grade` wherever the lesson file is (or is not).

The story: the instructor builds a fork in a lab and writes it down as 90-my-fork.toml; the class gets a
copy. Ada plays it through (with a view on the way), Bob stops after the first command. The instructor
collects the two submissions in a folder and grades them: with the lesson in that folder, given on the
command line, found where the learners had it, after editing the lesson, and without the lesson at all.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab.lessons.loader import load_lesson
from lab.lessons.submission import read_submission

LESSON = "90-my-fork.toml"
NOT_FOUND = "lesson `my-fork` not found: give its .toml to lab grade (the learner had ./90-my-fork.toml)"
DIFFERS = "lesson file differs from the learner's"


def lab(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "LAB_STATE_DIR": str(cwd / ".state")}  # never the user's own lesson progress
    return subprocess.run([sys.executable, "-m", "lab", *args], input=stdin, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The instructor writes the lesson; ada and bob play it in their folder; their files go to subs/."""
    root = tmp_path_factory.mktemp("room")
    instructor, learners, subs = root / "instructor", root / "learners", root / "subs"
    for folder in (instructor, learners, subs):
        folder.mkdir()
    p = lab("--difficulty", "6", "-c", "mine A 2; partition A,B | C,D; mine C", "lessons", "new", LESSON,
            cwd=instructor)
    assert p.returncode == 0, p.stdout + p.stderr
    shutil.copy(instructor / LESSON, learners / LESSON)
    route = [line for step in load_lesson(instructor / LESSON).steps for line in step.solution]
    p = lab("lesson", f"./{LESSON}", "--submit", "ada.json", stdin="\n".join([route[0], "nodes", *route[1:]]) + "\n",
            cwd=learners)
    assert p.returncode == 0, p.stdout + p.stderr
    p = lab("lesson", f"./{LESSON}", "--submit", "bob.json", stdin=route[0] + "\n", cwd=learners)
    assert p.returncode == 1, p.stdout + p.stderr  # the goal is not reached yet
    for name in ("ada.json", "bob.json"):
        shutil.copy(learners / name, subs / name)
    return root


def rows(p: subprocess.CompletedProcess) -> dict[str, str]:
    return {line.split()[0]: line for line in p.stdout.splitlines()[2:] if line.split()[0] in ("ada", "bob")}


def test_a_submission_of_a_lesson_file_names_that_file(room: Path) -> None:
    s = read_submission(room / "subs" / "ada.json").submission
    assert s.lesson == "my-fork" and s.steps_reached == (1,)
    assert s.lesson_sha256 == hashlib.sha256((room / "instructor" / LESSON).read_bytes()).hexdigest()
    assert s.lesson_path == f"./{LESSON}"
    assert not read_submission(room / "subs" / "ada.json").edited


def test_graded_from_a_folder_that_holds_the_lesson_too(room: Path, tmp_path: Path) -> None:
    for f in (room / "subs").iterdir():
        shutil.copy(f, tmp_path / f.name)
    shutil.copy(room / "instructor" / LESSON, tmp_path / LESSON)
    p = lab("grade", str(tmp_path), "--csv", "marks.csv", cwd=room)
    assert p.returncode == 0, p.stdout  # bob stopped early: nothing is wrong with his file
    graded = rows(p)
    assert "1 of 1" in graded["ada"] and "match" in graded["ada"] and graded["ada"].endswith("-")
    assert "0 of 0" in graded["bob"] and "match" in graded["bob"] and graded["bob"].endswith("-")
    table = {r["learner"]: r for r in csv.DictReader(io.StringIO((room / "marks.csv").read_text()))}
    assert table["ada"]["lesson"] == "my-fork" and table["ada"]["steps_verified"] == "1"
    assert table["ada"]["reference_commands"] == "3" and table["ada"]["digest_match"] == "yes"
    assert table["ada"]["problems"] == "" and table["bob"]["steps_verified"] == "0"


def test_graded_with_the_lesson_given_on_the_command_line(room: Path) -> None:
    p = lab("grade", f"instructor/{LESSON}", "subs", cwd=room)
    assert p.returncode == 0, p.stdout
    assert "1 of 1" in rows(p)["ada"] and "no lesson" not in p.stdout


def test_graded_where_the_learner_had_the_lesson(room: Path) -> None:
    p = lab("grade", "ada.json", cwd=room / "learners")
    assert p.returncode == 0, p.stdout
    assert "1 of 1" in rows(p)["ada"] and "match" in rows(p)["ada"]


def test_an_edited_lesson_is_graded_and_says_so(room: Path, tmp_path: Path) -> None:
    edited = tmp_path / LESSON
    edited.write_text((room / "instructor" / LESSON).read_text().replace("TODO: the lesson's title", "My fork"))
    p = lab("grade", str(edited), str(room / "subs" / "ada.json"), "--csv", "marks.csv", cwd=tmp_path)
    assert p.returncode == 1, p.stdout
    assert "1 of 1" in rows(p)["ada"] and DIFFERS in rows(p)["ada"]
    [row] = csv.DictReader(io.StringIO((tmp_path / "marks.csv").read_text()))
    assert row["steps_verified"] == "1" and row["problems"].startswith(DIFFERS)


def test_a_lesson_that_is_nowhere_is_one_row_that_says_what_to_give(room: Path, tmp_path: Path) -> None:
    p = lab("grade", str(room / "subs"), "--csv", "marks.csv", cwd=tmp_path)
    assert p.returncode == 1, p.stdout
    assert NOT_FOUND in rows(p)["ada"] and "0 of 1" in rows(p)["ada"]
    table = {r["learner"]: r for r in csv.DictReader(io.StringIO((tmp_path / "marks.csv").read_text()))}
    assert table["ada"]["problems"] == NOT_FOUND and table["ada"]["reference_commands"] == ""
    assert table["ada"]["digest_match"] == "no" and table["bob"]["problems"] == NOT_FOUND


def test_a_toml_given_to_grade_that_is_no_lesson_is_one_line(room: Path, tmp_path: Path) -> None:
    (tmp_path / "my.toml").write_text("x = 1\n")
    p = lab("grade", "my.toml", str(room / "subs"), cwd=tmp_path)
    assert p.returncode == 2 and p.stdout.startswith("error: 'my.toml' is not a lesson file")
    assert "Traceback" not in p.stderr


def test_a_submission_kept_at_the_prompt_names_the_lesson_file(room: Path, tmp_path: Path) -> None:
    """The REPL path of `lab lesson ./FILE --submit`: the prompt's recorder keeps the file's hash too."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from lab.commands.grading_cli import prompt_recorder
    from lab.commands.session import Session
    from lab.repl.app import Shell

    lesson = room / "instructor" / LESSON

    async def story() -> None:
        s = Session()
        await s.start()
        try:
            assert (await s.execute(f"lesson {lesson}")).ok
            with create_pipe_input() as inp:
                shell = Shell(s, input=inp, output=DummyOutput(), echo=lambda _text: None)
                shell.after_line = prompt_recorder(str(tmp_path / "cy.json"), s, str(lesson))
                inp.send_text("mine A\n\x04")
                assert await shell.run() == 0
        finally:
            await s.close()

    asyncio.run(story())
    fields = json.loads((tmp_path / "cy.json").read_text())
    assert fields["lesson_path"] == str(lesson)
    assert fields["lesson_sha256"] == hashlib.sha256(lesson.read_bytes()).hexdigest()


def test_a_crafted_recorded_path_is_looked_at_safely(room: Path, tmp_path: Path) -> None:
    """A lesson path pointing anywhere (another user's home, a device, a long name) finds nothing, quietly."""
    from lab.commands.grading_cli import Replayer
    from lab.lessons.grading import grade
    from lab.lessons.submission import write_submission

    s = read_submission(room / "subs" / "ada.json").submission
    for i, where in enumerate(("~nosuchuser0/90-my-fork.toml", "/dev/null/90-my-fork.toml", "x" * 5000 + ".toml",
                               "\x1b[31m/90-my-fork.toml")):
        write_submission(tmp_path / f"l{i}.json", dataclasses.replace(s, lesson_path=where, learner=f"l{i}"))
    replayer = Replayer()
    graded = grade([tmp_path], replayer.replay, replayer.reference_commands, replayer.installed())
    assert len(graded) == 4 and all(r.problems[0].startswith("lesson `my-fork` not found") for r in graded)
    assert all(r.steps_verified == 0 and "\x1b" not in r.problems[0] for r in graded)
