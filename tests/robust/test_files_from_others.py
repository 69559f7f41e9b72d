"""Files that come from someone else name other files: none of them reads or writes the reader's files.

A learner's submission is replayed by `lab grade` on the instructor's machine, a lesson file is run on the
learner's: a `save ~/.bashrc` or `experiment ... csv FILE` in either must not write over anyone's file.
And the lab's own `load` and `save` take only regular files: a pipe is not waited on forever, a device or a
folder is not replaced by a save.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from labtest import run

from lab.commands.grading_cli import replay_async
from lab.errors import LessonError
from lab.lessons.loader import find_lesson, load_lesson
from lab.world.savefile import SaveData, SaveFileError, load_save, save_lab

GOOD = """
id = "tx"
title = "Transactions"
summary = "Pay someone."

[start]
setup = [{setup}]

[[steps]]
say = "Mine."
goal = ["height A >= 1"]
hints = ["mine"]
solution = [{solution}]
"""


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path / "state"))


def test_a_graded_submission_writes_no_file_and_grades_as_without_those_commands(tmp_path: Path) -> None:
    victims = [tmp_path / name for name in ("bashrc", "notes.csv", "lesson.toml", "x.lab")]
    for v in victims:
        v.write_text("precious\n")
    lesson = find_lesson("network")
    typed = ["mine A", f"save {victims[0]}", f"mine B; experiment stale runs 1 blocks 2 csv {victims[1]}; mine C",
             f"lessons new {victims[2]}", f"load {victims[3]}"]
    plain = ["mine A", "mine B; mine C"]
    hostile = run(replay_async(lesson, 1, typed))
    assert [v.read_text() for v in victims] == ["precious\n"] * len(victims)
    assert hostile == run(replay_async(lesson, 1, plain))  # same steps reached, same digest


@pytest.mark.parametrize("line", ["save x.lab", "load x.lab", "experiment stale csv rows.csv"])  # (`lessons` is refused as it was)
@pytest.mark.parametrize("field", ["setup", "solution"])
def test_a_lesson_file_may_not_name_a_file(tmp_path: Path, line: str, field: str) -> None:
    fields = {"setup": '"mine A"', "solution": '"mine A"'}
    fields[field] = f'"mine A", "{line}"'
    path = tmp_path / "03-tx.toml"
    path.write_text(GOOD.format(**fields), encoding="utf-8")
    with pytest.raises(LessonError) as info:
        load_lesson(path)
    assert f"'{line}' reads or writes a file: a lesson file may not" in str(info.value)


def test_a_lesson_file_may_run_an_experiment_that_writes_no_file(tmp_path: Path) -> None:
    path = tmp_path / "03-tx.toml"
    path.write_text(GOOD.format(setup='"mine A"', solution='"experiment stale latency 1s blocks 10", "mine A"'))
    assert load_lesson(path).steps[0].solution[0] == "experiment stale latency 1s blocks 10"


def _in_time(fn, *args):
    """fn(*args) in a thread; what it returned or raised, or a failure if it is still blocked after 30 s."""
    got: list = []

    def call() -> None:
        try:
            got.append(fn(*args))
        except Exception as e:  # noqa: BLE001 - handed to the test
            got.append(e)

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(30)
    if t.is_alive():
        pytest.fail(f"{fn.__name__} is still blocked on {args[0]}")
    return got[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_loading_a_pipe_is_one_line_not_a_wait(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.lab"
    os.mkfifo(pipe)
    e = _in_time(load_save, pipe)
    assert isinstance(e, SaveFileError) and "is not a save file: not a regular file" in e.message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_saving_over_a_pipe_or_a_folder_is_one_line_and_leaves_it(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.lab"
    os.mkfifo(pipe)
    for target in (pipe, tmp_path):
        e = _in_time(save_lab, target, SaveData(meta={"seed": "1"}))
        assert isinstance(e, SaveFileError) and "it is a folder, a device or a pipe, not a file" in e.message
    assert pipe.is_fifo() and tmp_path.is_dir()
    assert [p.name for p in tmp_path.iterdir()] == ["pipe.lab"]  # no temporary file left behind


def test_a_device_is_not_a_save(tmp_path: Path) -> None:
    if not Path(os.devnull).exists() or Path(os.devnull).is_file():
        pytest.skip("no device file here")
    e = _in_time(load_save, os.devnull)
    assert isinstance(e, SaveFileError) and "not a regular file" in e.message


# -- a lesson file handed in beside a submission ---------------------------------------------------
EASY_NETWORK = """
id = "network"
title = "The network"
summary = "An easier lesson 1, written by the learner."

[start]
names = ["A", "B", "C", "D", "E"]
topology = "ring"
seed = 1
difficulty = 8

[[steps]]
say = "Mine."
goal = ["height A >= 1"]
hints = ["mine"]
solution = ["mine A"]
"""


def _handed_in(folder: Path, lesson_file: Path) -> None:
    """A learner plays `lesson_file` and hands in the submission with the lesson file beside it."""
    from lab.lessons.loader import file_sha256
    from lab.lessons.submission import Submission, TypedCommand, write_submission

    lesson = load_lesson(lesson_file)
    reached, digest = run(replay_async(lesson, 1, ["mine A"]))
    write_submission(folder / "ada.json", Submission(lesson.id, 1, (TypedCommand(0, "mine A"),), tuple(reached), digest,
                                                     lesson_sha256=file_sha256(lesson_file.read_bytes()),
                                                     lesson_path=f"./{lesson_file.name}"))


def test_a_learners_own_version_of_an_installed_lesson_is_graded_but_said(tmp_path: Path) -> None:
    from lab.commands.grading_cli import Replayer
    from lab.lessons.grading import grade

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "01-network.toml").write_text(EASY_NETWORK)
    _handed_in(subs, subs / "01-network.toml")
    replayer = Replayer()
    [row] = grade([subs], replayer.replay, replayer.reference_commands, replayer.installed())
    assert (row.lesson, row.steps_verified, row.steps_claimed) == ("network", 1, 1)
    assert row.problems == (f"not the installed lesson `network`: played and graded in {subs / '01-network.toml'}",)


def test_a_lesson_file_among_the_submissions_is_not_taken_over_the_one_given(tmp_path: Path) -> None:
    from lab.commands.grading_cli import Replayer
    from lab.lessons.grading import grade

    mine, subs = tmp_path / "mine", tmp_path / "subs"
    mine.mkdir()
    subs.mkdir()
    real = EASY_NETWORK.replace('"network"', '"my-net"').replace('goal = ["height A >= 1"]', 'goal = ["height A >= 3"]')
    (mine / "90-my-net.toml").write_text(real)
    (subs / "90-my-net.toml").write_text(real.replace("height A >= 3", "height A >= 1"))  # the learner's easier copy
    _handed_in(subs, subs / "90-my-net.toml")
    replayer = Replayer()
    [row] = grade([mine / "90-my-net.toml", subs], replayer.replay, replayer.reference_commands, replayer.installed())
    [problem] = row.problems  # (cut to 200 characters in the table)
    assert problem.startswith(f"graded with {subs / '90-my-net.toml'}, not the lesson file given (")


async def _saved_by_record(s, tmp_path: Path, edit) -> Path:
    """`mine A 2`, `save`, then the save edited by `edit` and kept without its snapshot: loaded by replay."""
    assert (await s.execute("mine A 2")).ok
    path = tmp_path / "x.lab"
    assert (await s.execute(f"save {path}")).ok
    data = load_save(path).data
    data.sections.pop("snapshot", None)  # the record alone: it is replayed
    edit(data)
    save_lab(path, data)
    return path


@pytest.mark.parametrize("change", [{"difficulty": 0}, {"difficulty": 300}, {"latency_ms": -50.0}, {"jitter": -1.0}])
def test_a_save_built_with_values_no_lab_has_is_one_line_and_the_lab_stays(tmp_path: Path, change: dict) -> None:
    from lab.commands.session import LabConfig, Session

    async def story() -> None:
        s = await Session(LabConfig(difficulty=6)).start()
        try:
            path = await _saved_by_record(s, tmp_path, lambda data: data.sections["record"]["config"].update(change))
            assert (await s.execute("mine B")).ok
            digest = (await s.execute("digest")).text
            out = await s.execute(f"load {path}")
            assert not out.ok and len(out.text.splitlines()) == 2  # the line and what to type instead
            assert "the lab's construction is not readable" in out.text and not s.internal_errors
            assert (await s.execute("digest")).text == digest
        finally:
            await s.close()

    run(story())


@pytest.mark.parametrize("line", ["save {victim}", "experiment stale runs 1 blocks 2 csv {victim}", "load {victim}",
                                  "lessons new {victim}", "seed 5"])
def test_a_save_whose_record_holds_a_command_the_lab_never_records_is_refused_before_it_runs(
        tmp_path: Path, line: str) -> None:
    from lab.commands.session import LabConfig, Session

    victim = tmp_path / "bashrc"
    victim.write_text("precious\n")

    async def story() -> None:
        s = await Session(LabConfig(difficulty=6)).start()
        try:
            path = await _saved_by_record(s, tmp_path, lambda data: data.sections["record"]["entries"].append(
                {"line": line.format(victim=victim), "time_us": int(data.meta["clock_us"]), "by": "you"}))
            out = await s.execute(f"load {path}")
            assert not out.ok and "is not a command the lab records" in out.text, out.text
        finally:
            await s.close()

    run(story())
    assert victim.read_text() == "precious\n"


def test_a_saved_lessons_route_replayed_by_undo_writes_no_file_but_your_own_save_in_a_lesson_does(
        tmp_path: Path) -> None:
    from lab.commands.session import LabConfig, Session

    victim = tmp_path / "bashrc"
    victim.write_text("precious\n")
    path = tmp_path / "x.lab"

    async def story() -> None:
        s = await Session(LabConfig()).start()
        try:
            for line in ("lesson network", "next", f"save {path}"):
                assert (await s.execute(line)).ok
        finally:
            await s.close()
        assert path.is_file()  # typed in a lesson, `save` saves
        data = load_save(path).data
        state = data.sections["lesson"]
        state["route"][0] = [f"save {victim}"]  # what the lesson engine replays for step 1 on `undo`
        state["history"][state["index"]] = [["mine A", True]]
        save_lab(path, data)
        s = await Session(LabConfig()).start()
        try:
            assert (await s.execute(f"load {path}")).ok
            out = await s.execute("undo")
            assert out.ok and "Undid `mine A`" in out.text, out.text
        finally:
            await s.close()

    run(story())
    assert victim.read_text() == "precious\n"
