"""Where the REPL keeps its command history: the user's state directory.

`$LAB_STATE_DIR` overrides the platform's directory (tests and classrooms use
it); the lesson progress file lives in the same place. If the directory
cannot be written, history lasts for this session only.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from prompt_toolkit.history import FileHistory, History, InMemoryHistory

APP_NAME = "blockchain-lab"
HISTORY_FILE = "history"


def state_dir() -> Path:
    override = os.environ.get("LAB_STATE_DIR")
    return Path(override) if override else Path(platformdirs.user_state_dir(APP_NAME))


def open_history() -> tuple[History, str | None]:
    """The history, and a warning to show if it could not be a file."""
    folder = state_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / HISTORY_FILE
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as e:
        return InMemoryHistory(), f"history is not saved: cannot write {folder} ({e.strerror})"
    return FileHistory(str(path)), None
