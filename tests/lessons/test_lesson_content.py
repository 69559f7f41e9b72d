"""Static checks of the shipped lessons, no lab needed.

The replay of every reference solution against the real lab is the
integration suite's job; here we catch what a careful reader would: a goal
naming a label no command creates, a node the scenario doesn't have, a
hint ladder that gives the answer first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab.lessons import language
from lab.lessons.loader import load_all
from lab.lessons.model import Lesson

LESSONS = load_all()
IDS = [lesson.id for lesson in LESSONS]
BUILTIN_LABELS = {"LAST_TX", "LAST_BLOCK"}


def created_labels(lines) -> set[str]:
    """Labels made by `... as NAME` in these command lines."""
    out = set()
    for line in lines:
        for command in language.split_commands(line):
            words = command.split()
            for i, word in enumerate(words[:-1]):
                if word.lower() == "as":
                    out.add(words[i + 1])
    return out


def added_nodes(lines) -> set[str]:
    out = set()
    for line in lines:
        for command in language.split_commands(line):
            words = command.split()
            if words[0] == "add-node" and len(words) > 1:
                out.add(words[1].upper())
    return out


def referenced(predicate: str) -> tuple[list[str], list[str]]:
    """(node names, labels) a predicate refers to."""
    _, inner = language.split_negation(predicate)
    words = inner.split()
    name, args = words[0], words[1:]
    nodes: list[str] = []
    labels: list[str] = []
    if name in ("height", "reorgs", "peers", "balance", "online"):
        nodes.append(args[0])
    elif name == "tip":
        nodes += [args[0], args[2]]
    elif name == "connected":
        nodes += args
    elif name == "same-tip":
        nodes += [n for a in args for n in a.split(",") if n]
    elif name == "mempool":
        nodes.append(args[0])
        if args[1] == "contains":
            labels.append(args[2])
    elif name in ("confirmed", "rejected"):
        labels.append(args[0])
        if len(args) == 3:
            nodes.append(args[2])
    elif name == "propagation":
        labels.append(args[0])
    return nodes, labels


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_goals_name_existing_nodes_and_labels(lesson: Lesson):
    nodes = set(lesson.start.node_names)
    labels = set(BUILTIN_LABELS) | created_labels(lesson.start.setup)
    for k, step in enumerate(lesson.steps):
        lines = (*step.demo, *step.solution)
        labels |= created_labels(lines)
        nodes |= added_nodes(lines)
        for predicate in step.goal:
            goal_nodes, goal_labels = referenced(predicate)
            for node in goal_nodes:
                assert node.upper() in nodes, (
                    f"{lesson.source} step {k + 1}: {predicate!r} names unknown node {node}"
                )
            for label in goal_labels:
                assert label in labels, (
                    f"{lesson.source} step {k + 1}: {predicate!r} uses label {label} no command made"
                )


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_commands_name_existing_nodes(lesson: Lesson):
    nodes = set(lesson.start.node_names)
    takes_nodes = {
        "mine",
        "stop",
        "start",
        "peers",
        "explain",
        "chain",
        "hashrate",
        "forge",
        "balance",
        "mempool",
    }
    for step in lesson.steps:
        nodes |= added_nodes((*step.demo, *step.solution))
        for line in (*lesson.start.setup, *step.demo, *step.solution):
            for command in language.split_commands(line):
                words = command.split()
                if words[0] in takes_nodes and len(words) > 1:
                    assert words[1].upper() in nodes, f"{lesson.source}: {command!r}"
                if words[0] in ("partition", "latency") and "|" in command:
                    groups = re.split(r"\s*\|\s*", command.split(None, 1)[1])
                    names = {n for g in groups for n in g.split()[0].split(",")}
                    assert names <= nodes, f"{lesson.source}: {command!r}"


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_the_last_hint_is_the_most_concrete(lesson: Lesson):
    """Hints climb from a nudge to the answer: the last one names a command of the solution."""
    for k, step in enumerate(lesson.steps):
        first_words = {
            language.command_word(c)
            for line in step.solution
            for c in language.split_commands(line)
        }
        assert any(f"`{word}" in step.hints[-1] for word in first_words), (
            f"{lesson.source} step {k + 1}"
        )
        if len(step.hints) > 1:
            assert "Type `" not in step.hints[0], (
                f"{lesson.source} step {k + 1}: the first hint gives it away"
            )


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_steps_teach_one_idea_in_few_words(lesson: Lesson):
    for k, step in enumerate(lesson.steps):
        assert len(step.say.split()) <= 120, f"{lesson.source} step {k + 1}: narration too long"
        assert len(step.solution) <= 6, f"{lesson.source} step {k + 1}: too much to do in one step"
    texts = [
        lesson.outro,
        *(e.say for e in lesson.explain),
        *(t for s in lesson.steps for t in (s.say, s.notice)),
    ]
    for text in texts:
        for line in text.splitlines():
            assert len(line) <= 76, f"{lesson.source}: wrap text at 76 characters: {line!r}"


ROUTES = sorted((Path(__file__).parent / "routes").glob("*.txt"))


def test_there_are_second_routes_for_at_least_three_lessons():
    assert len(ROUTES) >= 3


@pytest.mark.parametrize("route", ROUTES, ids=[r.stem for r in ROUTES])
def test_second_routes_use_known_commands(route: Path):
    """Learner routes (replayed on the real lab by the integration suite) name a lesson and known commands."""
    assert route.stem in {f"{lesson.number:02d}-{lesson.id}" for lesson in LESSONS}
    for line in route.read_text().splitlines():
        for command in language.split_commands(line):
            word = language.command_word(command)
            assert word in language.LAB_COMMANDS | language.LESSON_COMMANDS, (
                f"{route.name}: {command!r}"
            )
