"""Progress is kept in the state directory and survives restarts, even bad files."""

from __future__ import annotations

import json
from pathlib import Path

from lab.lessons.progress import FILE_NAME, Progress, state_dir


def test_lab_state_dir_overrides_the_platform_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path / "state"))
    assert state_dir() == tmp_path / "state"
    assert Progress.load().path == tmp_path / "state" / FILE_NAME


def test_progress_survives_a_restart(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path / "nested" / "state"))
    first = Progress.load()
    first.step_reached("network", 0, commands=2, hints=1, solution_seen=False)
    first.step_skipped("network", 1)
    first.solution_seen("network", 1)
    first.set_current("network", 2)
    first.step_reached("pow", 0, commands=1, hints=0, solution_seen=True)
    first.finish("pow")

    again = Progress.load()  # a new process would do exactly this
    network = again.record("network")
    assert network.current == 2 and not network.finished
    assert (
        network.steps[0].reached and network.steps[0].commands == 2 and network.steps[0].hints == 1
    )
    assert (
        network.steps[1].skipped and network.steps[1].solution_seen and not network.steps[1].reached
    )
    assert network.commands == 2 and network.reached_count() == 1
    assert again.resume_step("network", 4) == 2
    assert again.was_done("network", 0) and not again.was_done("network", 1)
    assert again.record("pow").finished and again.resume_step("pow", 3) == 0
    assert again.summary("network", 4) == "step 3 of 4"
    assert again.summary("pow", 3) == "done"
    assert again.summary("forks", 3) == ""
    assert again.problem == ""


def test_the_file_is_readable_json_with_steps_from_1(tmp_path):
    path = tmp_path / FILE_NAME
    progress = Progress(path)
    progress.step_reached("network", 0, commands=3, hints=2, solution_seen=False)
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert data["lessons"]["network"]["steps"]["1"]["commands"] == 3
    assert not list(tmp_path.glob("*.tmp")), "written atomically via a temporary file"


def test_a_corrupt_file_means_a_fresh_start_not_a_crash(tmp_path):
    path = tmp_path / FILE_NAME
    path.write_text("{ this is not json")
    progress = Progress.load(path)
    assert progress.lessons == {}
    assert "starting fresh" in progress.problem
    assert (tmp_path / (FILE_NAME + ".corrupt")).exists(), (
        "the bad file is kept aside, not destroyed"
    )
    progress.set_current("network", 1)
    assert Progress.load(path).resume_step("network", 4) == 1


def test_malformed_records_are_dropped_one_by_one(tmp_path):
    path = tmp_path / FILE_NAME
    data = {
        "version": 1,
        "lessons": {
            "network": {
                "current": 2,
                "steps": {"1": {"reached": True, "commands": "many"}, "x": {}, "0": {}},
            },
            "pow": "garbage",
            "forks": {"current": -4, "finished": "yes"},
        },
    }
    path.write_text(json.dumps(data))
    progress = Progress.load(path)
    assert set(progress.lessons) == {"network", "forks"}
    assert (
        progress.record("network").steps[0].reached
        and progress.record("network").steps[0].commands == 0
    )
    assert list(progress.record("network").steps) == [0]
    assert progress.record("forks").current == 0 and not progress.record("forks").finished
    for text in ("[]", '{"lessons": 3}', "null"):
        path.write_text(text)
        assert Progress.load(path).lessons == {}


def test_a_resume_point_beyond_the_lesson_restarts_it(tmp_path):
    progress = Progress(tmp_path / FILE_NAME)
    progress.set_current("network", 9)
    assert progress.resume_step("network", 4) == 0


def test_an_unwritable_state_dir_is_reported_not_raised(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a directory should be")
    progress = Progress(blocker / "state" / FILE_NAME)
    progress.set_current("network", 1)
    assert "could not save" in progress.problem
    assert progress.resume_step("network", 4) == 1, "still kept in memory"


def test_in_memory_progress_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    progress = Progress(None)
    progress.finish("network")
    assert progress.record("network").finished
    assert list(Path(tmp_path).iterdir()) == []


def test_the_lessons_table_shows_progress(tmp_path):
    from lab.lessons import catalog, load_all

    progress = Progress(tmp_path / FILE_NAME)
    progress.set_current("pow", 1)
    progress.finish("network")
    rows = catalog(load_all(), progress)
    assert [r["#"] for r in rows][:12] == [str(n) for n in range(1, 13)]
    assert [r["#"] for r in rows] == [str(lesson.number) for lesson in load_all()]
    assert rows[0]["lesson"] == "network" and rows[0]["progress"] == "done"
    assert rows[1]["progress"] == "step 2 of 3" and rows[2]["progress"] == ""
