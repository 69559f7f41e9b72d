"""`save FILE` and `load FILE` complete the saves (*.lab) in the current folder."""

from __future__ import annotations

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from lab.repl.completer import LabCompleter


def test_load_completes_the_saves_in_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "forks.lab").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    monkeypatch.chdir(tmp_path)
    completer = LabCompleter(lambda: None)
    words = [c.text for c in completer.get_completions(Document("load f"), CompleteEvent())]
    assert words == ["forks.lab"]
