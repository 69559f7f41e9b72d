"""A lab saved inside an author's own lesson file comes back in that lesson, from any folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from labtest import run
from test_persist import say, solution_lines, started

from lab.lessons.loader import lessons_dir


@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path_factory.mktemp("state")))


def _own_lesson(folder: Path) -> Path:
    """An instructor's lesson file: the forks lesson under another name, kept outside the lab."""
    text = next(p for p in lessons_dir().iterdir() if p.name.endswith("-forks.toml")).read_text()
    path = folder / "91-my-forks.toml"
    path.write_text(text.replace('id = "forks"', 'id = "my-forks"', 1))
    return path


def test_a_save_made_in_a_lesson_file_loads_back_into_that_lesson_from_another_folder(tmp_path, monkeypatch):
    lesson = _own_lesson(tmp_path)
    lines = solution_lines("forks")

    async def story():
        s = await started()
        try:
            await say(s, f"lesson {lesson}")
            await say(s, lines[0])
            await say(s, lines[1])
            assert (await s.execute(f"save {tmp_path / 'x.lab'}")).ok
            after = [await say(s, line) for line in ("objective", *lines[2:5], "goal")]
        finally:
            await s.close()
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)  # the learner opens the save from another folder
        again = await started()
        try:
            out = await again.execute(f"load {tmp_path / 'x.lab'}")
            assert out.ok, out.text
            assert [await say(again, line) for line in ("objective", *lines[2:5], "goal")] == after
        finally:
            await again.close()

    run(story())


def test_a_save_whose_lesson_file_is_gone_is_one_line_and_the_lab_stays(tmp_path):
    lesson = _own_lesson(tmp_path)

    async def story():
        s = await started()
        try:
            await say(s, f"lesson {lesson}")
            assert (await s.execute(f"save {tmp_path / 'x.lab'}")).ok
            await say(s, "reset lesson")
            await say(s, "mine A")
            before = await say(s, "digest")
            os.remove(lesson)
            out = await s.execute(f"load {tmp_path / 'x.lab'}")
            assert not out.ok and "whose file is not here" in out.text and len(out.text.splitlines()) <= 2, out.text
            assert await say(s, "digest") == before
        finally:
            await s.close()

    run(story())
