"""Lesson authoring: `lessons new FILE`, `lab lessons check FILE...`, `lab lesson FILE.toml` from anywhere."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from labtest import lab_session, run, run_ok

from lab.commands import predicates
from lab.lessons.loader import load_lesson


def lab(*args: str, stdin: str = "", cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args], input=stdin, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_lessons_new_from_the_shell_then_the_author_picks_goals_and_check_accepts_it(tmp_path: Path) -> None:
    p = lab("--difficulty", "6", "-c", "mine A 2; partition A,B | C,D; mine C", "lessons", "new", "90-my-fork.toml",
            cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    path = tmp_path / "90-my-fork.toml"
    data = tomllib.loads(path.read_text())
    assert data["id"] == "my-fork" and data["start"]["difficulty"] == 6 and data["start"]["names"] == list("ABCD")
    step = data["steps"][0]
    assert step["solution"] == ["mine A 2", "partition A,B | C,D", "mine C"]
    assert {"height C >= 3", "height A >= 2", "forked"} <= set(step["goal"])
    # as written, every suggestion holds at the end: the file checks
    assert lab("lessons", "check", str(path), cwd=tmp_path).returncode == 0
    # the author keeps two goals; the lesson still checks, from another folder, beside an installed lesson
    text = re.sub(r"goal = \[.*?\]", 'goal = ["height C >= 3", "forked"]', path.read_text(), flags=re.S)
    path.write_text(text)
    p = lab("lessons", "check", str(path), "network", cwd=tmp_path.parent)
    assert p.returncode == 0, p.stdout
    assert "lesson 90 my-fork: ok" in p.stdout and "2 of 2 lessons ok" in p.stdout


def test_lessons_new_from_a_script_on_stdin_and_the_lesson_opened_from_its_file(tmp_path: Path) -> None:
    p = lab("--difficulty", "6", "lessons", "new", "91-pay.toml", stdin="mine A 4\nsend A B 5 as pay\n", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    lesson = load_lesson(tmp_path / "91-pay.toml")
    assert "mempool A size == 1" in lesson.steps[0].goal
    route = "\n".join(lesson.steps[0].solution) + "\n"
    p = lab("lesson", str(tmp_path / "91-pay.toml"), stdin=route, cwd=tmp_path.parent)
    assert p.returncode == 0, p.stdout
    assert "Every goal of lesson 91 (pay) was reached." in p.stdout


def test_lessons_new_at_the_prompt_suggests_predicates_that_hold() -> None:
    async def story() -> None:
        async with lab_session(nodes=3, difficulty=6) as (lab_, s):
            out = await s.execute("lessons new 92-nothing.toml")
            assert not out.ok and "no commands typed" in out.text
            out = await s.execute("lessons new my-lesson.toml")
            assert not out.ok and "NN-slug.toml" in out.text
            await run_ok(s, "mine A 2")
            await run_ok(s, "disconnect A B")
            from lab.commands.authoring import skeleton
            data = tomllib.loads(skeleton(s, "92-x.toml"))
            for goal in data["steps"][0]["goal"]:
                assert predicates.evaluate(s.need_lab(), goal).ok, goal
            assert data["steps"][0]["solution"] == ["mine A 2", "disconnect A B"]

    run(story())


def test_lessons_new_never_overwrites_and_check_reports_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "93-taken.toml").write_text("id = 'taken'\n")
    p = lab("-c", "mine A", "lessons", "new", str(tmp_path / "93-taken.toml"), cwd=tmp_path)
    assert p.returncode == 1 and "already exists" in p.stdout
    assert (tmp_path / "93-taken.toml").read_text() == "id = 'taken'\n"
    p = lab("lessons", "check", str(tmp_path / "93-taken.toml"), cwd=tmp_path)
    assert p.returncode == 1 and p.stdout.startswith("error:") and "Traceback" not in p.stderr
    p = lab("lesson", str(tmp_path / "94-missing.toml"), cwd=tmp_path)
    assert p.returncode == 2 and "no lesson file" in p.stdout


def test_a_node_added_by_the_solution_is_not_in_start_and_a_saved_lab_is_the_start(tmp_path: Path) -> None:
    p = lab("--difficulty", "6", "-c", "mine A; add-node E; connect E A; mine E", "lessons", "new", "95-grow.toml",
            cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert tomllib.loads((tmp_path / "95-grow.toml").read_text())["start"]["names"] == list("ABCD")
    assert lab("lessons", "check", "95-grow.toml", cwd=tmp_path).returncode == 0
    # `lab --load SAVE lessons new FILE`: the saved lab's commands lead up to the new ones
    assert lab("--difficulty", "6", "-c", "mine A 2; save fork.lab", cwd=tmp_path).returncode == 0
    p = lab("--load", "fork.lab", "-c", "mine B", "lessons", "new", "96-more.toml", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    data = tomllib.loads((tmp_path / "96-more.toml").read_text())
    assert data["steps"][0]["solution"] == ["mine A 2", "mine B"] and "height A >= 3" in data["steps"][0]["goal"]
    assert lab("lessons", "check", "96-more.toml", cwd=tmp_path).returncode == 0
