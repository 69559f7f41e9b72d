"""Fixtures for the lesson tests; the fake lab lives in lessonfakes.py."""

from __future__ import annotations

import pytest
from lessonfakes import DEMO_LESSON, FakeRunner

from lab.lessons.loader import parse_lesson
from lab.lessons.model import Lesson


@pytest.fixture
def demo_lesson() -> Lesson:
    return parse_lesson(DEMO_LESSON, "99-demo.toml", "lessons/99-demo.toml")


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the real user state directory."""
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path_factory.mktemp("state")))
