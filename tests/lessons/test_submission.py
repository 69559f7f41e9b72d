"""The submission file: kept after every command, read back exactly, edits visible, bad files one line."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from lab import __version__
from lab.lessons.submission import (
    Submission,
    SubmissionError,
    SubmissionRecorder,
    TypedCommand,
    content_hash,
    from_text,
    read_submission,
    to_text,
    write_submission,
)
from lab.world import savefile

SUB = Submission(
    lesson="forks",
    seed=7,
    commands=(TypedCommand(0, "mine A"), TypedCommand(1_250_000, 'pay A B 1 --label "café"')),
    steps_reached=(1, 2),
    digest="00e5a1b2c3d4e5f6",
    learner="ada",
)


def one_line(e: SubmissionError) -> str:
    assert "\n" not in str(e) and e.hint, str(e)
    return str(e)


def test_the_file_reads_back_exactly_and_shows_one_command_a_line() -> None:
    text = to_text(SUB)
    read = from_text(text)
    assert read.submission == SUB and not read.edited
    assert '  {"time_us": 1250000, "line": "pay A B 1 --label \\"café\\""}' in text.splitlines()
    fields = json.loads(text)
    assert (fields["format"], fields["version"], fields["lab_version"]) == ("blockchain-lab-submission", 1, __version__)
    assert from_text(to_text(Submission("forks", 1))).submission.commands == ()


def test_the_recorder_writes_a_complete_file_after_every_command(tmp_path: Path) -> None:
    path = tmp_path / "ada.json"
    rec = SubmissionRecorder(path, "forks", 7, learner="ada")
    assert read_submission(path).submission == Submission("forks", 7, learner="ada")
    rec.record("mine A", 0, (), "aa" * 8)
    rec.record("mine B", 600_000_000, (1,), "bb" * 8)
    rec.record("undo", 600_000_000, (), "cc" * 8)  # a step once reached stays reached
    on_disk = read_submission(path)
    assert not on_disk.edited
    assert [c.line for c in on_disk.submission.commands] == ["mine A", "mine B", "undo"]
    assert on_disk.submission.commands[1].time_us == 600_000_000
    assert on_disk.submission.steps_reached == (1,) and on_disk.submission.digest == "cc" * 8
    assert sorted(os.listdir(tmp_path)) == ["ada.json"]  # no temporary files left behind


def test_a_failed_write_keeps_the_last_complete_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ada.json"
    rec = SubmissionRecorder(path, "forks", 7)
    rec.record("mine A", 0, (1,), "aa" * 8)
    before = path.read_bytes()

    def disk_full(fd: int, data: bytes | memoryview) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(savefile.os, "write", disk_full)
    with pytest.raises(SubmissionError) as e:
        rec.record("mine B", 1, (1, 2), "bb" * 8)
    assert "No space left" in one_line(e.value)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["ada.json"]
    with pytest.raises(SubmissionError, match="could not write"):
        SubmissionRecorder(tmp_path / "missing-folder" / "x.json", "forks", 7)


def test_editing_the_content_shows_reformatting_does_not() -> None:
    fields = json.loads(to_text(SUB))
    fields["steps_reached"] = [1, 2, 3]
    assert from_text(json.dumps(fields)).edited
    fields = json.loads(to_text(SUB))
    fields["note"] = "I did it all"
    assert from_text(json.dumps(fields)).edited
    assert not from_text(json.dumps(json.loads(to_text(SUB)), indent=4)).edited  # same content, other spacing


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("mine A\nmine B\n", "not JSON"),
        ("[1, 2]", "format"),
        ('{"format": "something-else"}', "format"),
        ('{"format": "blockchain-lab-submission", "version": 1}', "missing"),
        (to_text(SUB).replace('"seed": 7', '"seed": "7"'), "wrong shape"),
        (to_text(SUB).replace('"seed": 7', '"seed": true'), "wrong shape"),
        (to_text(SUB).replace('"time_us": 0', '"time": 0'), "wrong shape"),
        (to_text(SUB).replace('"version": 1', '"version": 2'), "pip install -U"),
    ],
)
def test_files_that_are_not_submissions_this_lab_reads_are_one_line(text: str, says: str) -> None:
    with pytest.raises(SubmissionError) as e:
        from_text(text, "ada.json")
    assert says in one_line(e.value) + e.value.hint


def test_unreadable_files_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match="no submission file"):
        read_submission(tmp_path / "nope.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SubmissionError, match="not UTF-8"):
        read_submission(tmp_path / "bin.json")
    with pytest.raises(SubmissionError, match="cannot read"):
        read_submission(tmp_path)
    write_submission(tmp_path / "ok.json", SUB)
    assert read_submission(tmp_path / "ok.json").submission == SUB


def test_a_lesson_files_hash_and_path_are_kept_and_covered_by_the_checksum() -> None:
    own = Submission("my-fork", 1, lesson_sha256="ab" * 32, lesson_path="./90-my-fork.toml")
    text = to_text(own)
    assert from_text(text).submission == own and not from_text(text).edited
    assert "lesson_sha256" not in to_text(SUB)  # an installed lesson's file is written as before
    fields = json.loads(text)
    fields["lesson_sha256"] = "cd" * 32  # pointing the grader at another lesson file shows as an edit
    assert from_text(json.dumps(fields)).edited
    fields = json.loads(to_text(SUB))
    fields["comment"] = "a field this lab does not know"
    fields["sha256"] = content_hash(fields)  # a later lab's optional field, in the checksum: not an edit
    assert from_text(json.dumps(fields)).submission == SUB and not from_text(json.dumps(fields)).edited
