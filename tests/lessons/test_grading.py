"""`lab grade`: only what the replay reaches counts; every problem with a file is named on its row.

The replay is a fake lesson runner here: `reach N` reaches step N of lesson
"demo" (3 steps, reference solution 4 commands), and the digest is a hash of
the seed and the commands, so a replay ends where the learner ended exactly
when the commands are the same.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from lab.errors import LessonError
from lab.lessons.grading import (
    GradeError,
    collect,
    grade,
    grade_csv,
    grade_file,
    grade_table,
    write_grade_csv,
)
from lab.lessons.submission import (
    Submission,
    SubmissionRecorder,
    TypedCommand,
    content_hash,
    write_submission,
)


def fake_replay(lesson: str, seed: int, commands: Sequence[str]) -> tuple[list[int], str]:
    if lesson != "demo":
        raise LessonError(f"no lesson '{lesson}'")
    return fake_run(seed, commands)


def fake_run(seed: int, commands: Sequence[str]) -> tuple[list[int], str]:
    steps = sorted({int(c.split()[1]) for c in commands if c.startswith("reach ")} & {1, 2, 3})
    return steps, hashlib.sha256(f"{seed}|{'|'.join(commands)}".encode()).hexdigest()[:16]


def reference(lesson: str) -> int | None:
    if lesson != "demo":
        raise LessonError(f"no lesson '{lesson}'")
    return 4


def learner_works(path: Path, commands: Sequence[str], lesson: str = "demo", seed: int = 1) -> None:
    """What `lab lesson demo --submit PATH` does as the learner types."""
    rec = SubmissionRecorder(path, lesson, seed)
    for n, line in enumerate(commands):
        steps, digest = fake_run(seed, commands[: n + 1])
        rec.record(line, n * 1_000_000, tuple(steps), digest)


def rewrite(path: Path, honest_hash: bool, **changes: object) -> None:
    fields = json.loads(path.read_text())
    fields.update(changes)
    if honest_hash:
        fields["sha256"] = content_hash(fields)  # a cheater who read the docs
    path.write_text(json.dumps(fields))


def test_honest_work_is_verified_in_full(tmp_path: Path) -> None:
    learner_works(tmp_path / "ada.json", ["reach 1", "mine A", "reach 2", "reach 3", "status"])
    [row] = grade([tmp_path], fake_replay, reference)
    assert (row.learner, row.lesson, row.steps_claimed, row.steps_verified) == ("ada", "demo", 3, 3)
    assert (row.commands, row.reference_commands, row.digest_match, row.problems) == (5, 4, True, ())


def test_claiming_a_step_by_editing_shows_as_not_verified_even_with_a_recomputed_hash(tmp_path: Path) -> None:
    path = tmp_path / "bob.json"
    learner_works(path, ["reach 1", "mine A"])
    rewrite(path, honest_hash=True, steps_reached=[1, 2, 3])
    row = grade_file(path, fake_replay, reference)
    assert (row.steps_claimed, row.steps_verified, row.digest_match) == (3, 1, True)
    assert row.problems == ("claims steps 2, 3, not reached on replay",)
    rewrite(path, honest_hash=False, steps_reached=[1, 2])
    assert grade_file(path, fake_replay, reference).problems == (
        "edited: its checksum does not match what the lab wrote",
        "claims step 2, not reached on replay",
    )


def test_a_changed_digest_and_another_lab_version_are_named(tmp_path: Path) -> None:
    path = tmp_path / "cy.json"
    learner_works(path, ["reach 1"])
    rewrite(path, honest_hash=True, digest="0" * 16, lab_version="0.0.9")
    row = grade_file(path, fake_replay, reference)
    assert not row.digest_match and row.steps_verified == 1
    assert row.problems[0].startswith("recorded with lab 0.0.9, replayed with")
    assert row.problems[1].startswith("final digest 0000000000000000, replay ends on ")


def test_unknown_lessons_crashing_replays_and_non_submissions_get_a_row_and_grading_goes_on(tmp_path: Path) -> None:
    learner_works(tmp_path / "dee.json", ["reach 1"], lesson="no-such-lesson")
    learner_works(tmp_path / "eve.json", ["reach 1"])
    (tmp_path / "notes.json").write_text('{"todo": "grade"}')

    def fragile(lesson: str, seed: int, commands: Sequence[str]) -> tuple[list[int], str]:
        if seed == 13:
            raise RuntimeError("a bug the file found")
        return fake_replay(lesson, seed, commands)

    learner_works(tmp_path / "fay.json", ["reach 1"], seed=13)
    rows = {r.learner: r for r in grade([tmp_path], fragile, reference)}
    assert rows["dee"].reference_commands is None and rows["dee"].problems == ("replay failed: no lesson 'no-such-lesson'",)
    assert rows["eve"].problems == () and rows["eve"].steps_verified == 1
    assert rows["fay"].problems == ("replay failed: RuntimeError: a bug the file found",)
    assert rows["notes"].lesson == "?" and "not a lab submission" in rows["notes"].problems[0]


def test_collect_takes_files_as_given_and_json_under_folders_once_each(tmp_path: Path) -> None:
    (tmp_path / "class" / "group2").mkdir(parents=True)
    for name in ("class/b.json", "class/group2/a.json", "class/readme.txt", "loose.sub"):
        learner_works(tmp_path / name, ["reach 1"])
    found = collect([tmp_path / "class", tmp_path / "loose.sub", tmp_path / "class" / "b.json"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["class/b.json", "class/group2/a.json", "loose.sub"]
    with pytest.raises(GradeError, match="no file or folder") as e:
        collect([tmp_path / "missing"])
    assert "\n" not in str(e.value) and e.value.hint
    assert grade([tmp_path / "class" / "group2" / ".."], fake_replay, reference)[0].learner == "a"


def test_thirty_submissions_are_each_replayed_once_and_graded_in_name_order(tmp_path: Path) -> None:
    """The replays are the cost; reading and comparing add none (how long grading takes is not asserted here)."""
    commands = ["reach 1", "reach 2", "mine A", "reach 3", "status"]
    steps, digest = fake_run(1, commands)
    typed = tuple(TypedCommand(n * 1_000_000, line) for n, line in enumerate(commands))
    for i in reversed(range(30)):
        write_submission(tmp_path / f"learner{i:02}.json", Submission("demo", 1, typed, tuple(steps), digest))
    replays: list[tuple[str, int, tuple[str, ...]]] = []

    def counting_replay(lesson: str, seed: int, lines: Sequence[str]) -> tuple[list[int], str]:
        replays.append((lesson, seed, tuple(lines)))
        return fake_replay(lesson, seed, lines)

    rows = grade([tmp_path], counting_replay, reference)
    assert [r.learner for r in rows] == [f"learner{i:02}" for i in range(30)]
    assert all(r.steps_verified == 3 and r.digest_match and not r.problems for r in rows)
    assert replays == [("demo", 1, tuple(commands))] * 30


def test_the_table_and_the_csv_show_every_row_and_are_safe_for_a_learners_text(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    learner_works(path, ["reach 1"])
    rewrite(path, honest_hash=True, learner="=HYPERLINK(\"http://evil\")\x1b[2J")
    learner_works(tmp_path / "00e5.json", ["reach 1", "reach 2"])
    rows = grade([tmp_path], fake_replay, reference)
    table = grade_table(rows)
    assert "\x1b" not in table and "00e5 " in table and "2 of 2" in table and "2 (4 ref)" in table
    parsed = list(csv.reader(io.StringIO(grade_csv(rows))))
    assert parsed[0][:8] == [
        "learner", "lesson", "steps_claimed", "steps_verified", "commands", "reference_commands", "digest_match", "problems"
    ]
    assert parsed[1][:8] == ["00e5", "demo", "2", "2", "2", "4", "yes", ""]
    assert parsed[2][0].startswith("'=HYPERLINK") and "\x1b" not in parsed[2][0]
    write_grade_csv(tmp_path / "grades.csv", rows)
    assert (tmp_path / "grades.csv").read_bytes() == grade_csv(rows).encode()
    with pytest.raises(GradeError, match="could not write"):
        write_grade_csv(tmp_path / "missing" / "grades.csv", rows)
