"""Lesson files load, and a malformed one names its file, field and fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import CommandError, LessonError
from lab.lessons.loader import find_lesson, lessons_dir, load_all, load_lesson, parse_lesson

GOOD = """
id = "tx"
title = "Transactions"
summary = "Pay someone."

[[steps]]
say = "Mine."
goal = ["height A >= 1"]
hints = ["mine"]
solution = ["mine A"]
"""


def write(tmp_path: Path, text: str, name: str = "03-tx.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str, name: str = "03-tx.toml") -> str:
    path = write(tmp_path, text, name)
    with pytest.raises(LessonError) as info:
        load_lesson(path, f"lessons/{name}")
    return str(info.value)


# -- the shipped lessons ------------------------------------------------------------------


def test_the_lessons_load_in_order():
    lessons = load_all()
    numbers = [lesson.number for lesson in lessons]
    assert numbers[:12] == list(range(1, 13)) and numbers == sorted(set(numbers))  # later ones may follow
    assert len(lessons) >= 15, "issue 13: fifteen or more lessons"
    assert [lesson.id for lesson in lessons][:12] == [
        "network", "pow", "transactions", "propagation", "validation", "forks",
        "partition", "sync", "latency", "topology", "resilience", "double-spend",
    ], "the first twelve keep their numbers"
    assert len({lesson.id for lesson in lessons}) == len(lessons)
    for lesson in lessons:
        assert lesson.source == f"lessons/{lesson.number:02d}-{lesson.id}.toml"
        assert lesson.title and lesson.summary and lesson.concepts and lesson.outro
        assert lesson.start.difficulty <= 12, "keep lessons fast"
        for step in lesson.steps:
            assert (
                step.title
                and step.say
                and step.goal
                and step.hints
                and step.solution
                and step.notice
            )


def test_lessons_come_from_the_checkout_when_not_installed():
    folder = lessons_dir()
    assert any(p.name == "01-network.toml" for p in folder.iterdir())


@pytest.mark.parametrize("key", ["network", "1", "01", 1, " NETWORK "])
def test_find_lesson_by_slug_or_number(key):
    assert find_lesson(key).id == "network"


def test_find_lesson_suggests_a_near_slug():
    with pytest.raises(CommandError) as info:
        find_lesson("netwrk")
    assert "no lesson 'netwrk'" in str(info.value)
    assert "`lesson network`" in info.value.hint


def test_a_good_file_loads_with_defaults(tmp_path):
    lesson = load_lesson(write(tmp_path, GOOD))
    assert (lesson.id, lesson.number) == ("tx", 3)
    assert lesson.start.node_names == ("A", "B", "C", "D")
    assert (lesson.start.topology, lesson.start.seed, lesson.start.difficulty) == ("mesh", 1, 8)
    assert lesson.steps[0].demo == () and lesson.steps[0].notice == ""


def test_start_fields_are_read(tmp_path):
    text = GOOD.replace(
        "[[steps]]",
        '[start]\nnames = ["a", "b", "c"]\ntopology = "random  2"\nseed = 7\ndifficulty = 10\n'
        'latency = "50ms"\nsetup = ["mine A 4; mine B"]\n\n[[steps]]',
    )
    start = load_lesson(write(tmp_path, text)).start
    assert start.node_names == ("A", "B", "C")
    assert (start.topology, start.topology_kind, start.topology_k) == ("random 2", "random", 2)
    assert (start.seed, start.difficulty, start.latency) == (7, 10, "50ms")
    assert start.setup == ("mine A 4; mine B",)


def test_loading_runs_no_code(tmp_path):
    text = GOOD.replace('say = "Mine."', "say = \"__import__('os').system('echo pwned')\"")
    assert "__import__" in load_lesson(write(tmp_path, text)).steps[0].say
    text = GOOD.replace('goal = ["height A >= 1"]', "goal = [\"__import__('os')\"]")
    assert "unknown predicate" in error_for(tmp_path, text)


# -- malformed files ----------------------------------------------------------------------


def test_the_issue_example_message(tmp_path):
    text = GOOD.replace('goal = ["height A >= 1"]', 'goal = ["heigth A >= 1"]')
    assert error_for(tmp_path, text) == (
        "lessons/03-tx.toml: steps[0].goal[0]: unknown predicate 'heigth' (did you mean 'height'?)"
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('title = "Transactions"', 'title = "Transactions', "not valid TOML"),
        ('id = "tx"', 'id = "txs"', "id: 'txs' must match the file name's slug 'tx'"),
        (
            'summary = "Pay someone."',
            'sumary = "Pay someone."',
            "unknown field 'sumary' (did you mean 'summary'?)",
        ),
        ('title = "Transactions"\n', "", "title: missing"),
        ('title = "Transactions"', "title = 3", "title: must be a string, not a number"),
        ('title = "Transactions"', 'title = "  "', "title: must not be empty"),
        (
            'hints = ["mine"]',
            'hint = ["mine"]',
            "steps[0]: unknown field 'hint' (did you mean 'hints'?)",
        ),
        ('hints = ["mine"]', "hints = []", "steps[0].hints: must not be empty"),
        (
            'goal = ["height A >= 1"]',
            'goal = "height A >= 1"',
            "steps[0].goal: must be a list of strings, not a string",
        ),
        (
            'goal = ["height A >= 1"]',
            'goal = ["height A 1"]',
            "steps[0].goal[0]: 'height A 1': height takes 3 arguments, got 2",
        ),
        (
            'goal = ["height A >= 1"]',
            'goal = ["height A => 1"]',
            "steps[0].goal[0]: 'height A => 1': height '=>' is not a comparison",
        ),
        ('goal = ["height A >= 1"]', 'goal = ["not"]', "steps[0].goal[0]: empty predicate"),
        (
            'goal = ["height A >= 1"]',
            'goal = ["confirmed pay1 at B"]',
            "takes NAME or NAME on NODE",
        ),
        (
            'goal = ["height A >= 1"]',
            'goal = ["same-tip; forked"]',
            "steps[0].goal[0]: a goal holds one predicate",
        ),
        (
            'goal = ["height A >= 1"]',
            'goal = ["height A >= 1", 3]',
            "steps[0].goal[1]: must be a string, not a number",
        ),
        (
            'solution = ["mine A"]',
            'solution = ["mien A"]',
            "steps[0].solution[0]: unknown command 'mien' (did you mean 'mine'?)",
        ),
        (
            'solution = ["mine A"]',
            'solution = ["mine A; hint"]',
            "steps[0].solution[0]: 'hint' cannot be used inside a lesson file",
        ),
        (
            'solution = ["mine A"]',
            'solution = ["reset"]',
            "'reset' cannot be used inside a lesson file",
        ),
        (
            'solution = ["mine A"]',
            'solution = ["# just a comment"]',
            "steps[0].solution[0]: holds no command",
        ),
        (
            'say = "Mine."',
            'say = "Mine."\ndemo = 5',
            "steps[0].demo: must be a list of strings, not a number",
        ),
    ],
)
def test_malformed_fields_name_file_field_and_fault(tmp_path, old, new, expected):
    assert old in GOOD
    message = error_for(tmp_path, GOOD.replace(old, new))
    assert message.startswith("lessons/03-tx.toml: ")
    assert expected in message


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ('topology = "circle"', "start.topology: unknown topology 'circle'"),
        ('topology = "random"', "start.topology: random needs a peer count"),
        ('topology = "ring 3"', "start.topology: 'ring' takes no number"),
        ("difficulty = 99", "start.difficulty: must be between 1 and 32, not 99"),
        ("difficulty = true", "start.difficulty: must be a whole number, not true/false"),
        ('latency = "fast"', "start.latency: 'fast' is not a duration"),
        ('names = ["A", "a"]', "start.names: node names must differ"),
        ('names = ["1x"]', "start.names[0]: '1x' is not a node name"),
        ('names = ["A", "B"]\nnodes = 3', "start.nodes: says 3 nodes but names lists 2"),
        ("nodes = 0", "start.nodes: must be between 1 and 64, not 0"),
        (
            'setup = ["mine A", "sned A B 1"]',
            "start.setup[1]: unknown command 'sned' (did you mean 'send'?)",
        ),
        ("seeds = 3", "start: unknown field 'seeds' (did you mean 'seed'?)"),
    ],
)
def test_malformed_start(tmp_path, start, expected):
    message = error_for(tmp_path, GOOD.replace("[[steps]]", f"[start]\n{start}\n\n[[steps]]"))
    assert message.startswith("lessons/03-tx.toml: ")
    assert expected in message


def test_malformed_explain(tmp_path):
    explain = '[[explain]]\nevent = "reorgs"\nsay = "x"\n\n[[steps]]'
    message = error_for(tmp_path, GOOD.replace("[[steps]]", explain, 1))
    assert "explain[0].event: unknown event kind 'reorgs' (did you mean 'reorg'?)" in message
    twice = '[[explain]]\nevent = "reorg"\nsay = "x"\n\n[[explain]]\nevent = "reorg"\nsay = "y"\n\n[[steps]]'
    assert "explain[1].event: a second explanation for 'reorg'" in error_for(
        tmp_path, GOOD.replace("[[steps]]", twice, 1)
    )


def test_a_lesson_needs_steps(tmp_path):
    text = GOOD[: GOOD.index("[[steps]]")]
    assert "steps: missing" in error_for(tmp_path, text)
    assert "steps[0]: must be a table" in error_for(tmp_path, text + "steps = [1]\n")


@pytest.mark.parametrize("name", ["3-tx.toml", "03_tx.toml", "03-Tx.toml", "03-tx.txt"])
def test_the_file_name_is_checked(name):
    with pytest.raises(LessonError, match="NN-slug.toml"):
        parse_lesson(GOOD, name, f"lessons/{name}")


def test_an_unreadable_file(tmp_path):
    with pytest.raises(LessonError, match="cannot read"):
        load_lesson(tmp_path / "03-tx.toml")


def test_load_all_collects_errors_or_raises(tmp_path):
    write(tmp_path, GOOD)
    write(tmp_path, GOOD.replace('id = "tx"', 'id = "pow"'), "02-pow.toml")
    write(tmp_path, GOOD.replace("title", "titel"), "01-bad.toml")
    write(tmp_path, GOOD.replace('id = "tx"', 'id = "again"'), "03-again.toml")
    with pytest.raises(LessonError, match="01-bad.toml"):
        load_all(tmp_path)
    errors: list[LessonError] = []
    lessons = load_all(tmp_path, errors=errors)
    assert [lesson.id for lesson in lessons] == ["pow", "again"]
    assert len(errors) == 2
    assert "lessons/01-bad.toml: unknown field 'titel'" in str(errors[0])
    assert "lesson number 03 is also used by lessons/03-again.toml" in str(errors[1])
