"""Narration between commands: batched, merged, capped, and silent while a command runs."""

from __future__ import annotations

import asyncio

from lab.lab import LogEntry
from lab.render.style import Styler
from lab.repl.narrator import MAX_LINES, Narrator


def entry(i: int, kind: str = "mined", text: str | None = None) -> LogEntry:
    return LogEntry(i, i * 1000, kind, text or f"A mined block {i} abc{i:03d} on {i - 1}", "A")


class FakeLab:
    def __init__(self) -> None:
        self.listeners: list = []


def test_events_in_one_batch_print_once_and_merge():
    async def go():
        out: list[str] = []
        n = Narrator(Styler(), out.append)
        lab = FakeLab()
        n.follow(lab)
        for fn in lab.listeners:
            fn(entry(1))
            for who in "BCD":
                fn(entry(2, "block-accepted", f"{who} accepted block 1 abc001 from A: new tip"))
        assert out == []  # nothing yet: the batch is still open
        await asyncio.sleep(0.4)
        return out

    out = asyncio.run(go())
    assert len(out) == 1
    assert out[0].splitlines() == ["⛏ +0.001s A mined block 1 abc001 on 0",
                                   "✓ +0.002s B, C and D accepted block 1 abc001: new tip"]


def test_a_burst_is_cut_short_with_a_pointer_to_log():
    out: list[str] = []
    n = Narrator(Styler(ascii_only=True), out.append)
    n.pending = [entry(i) for i in range(1, 41)]
    n.flush()
    lines = out[0].splitlines()
    assert len(lines) == MAX_LINES
    assert lines[-1] == f"... and {40 - MAX_LINES + 1} more (`log 40` shows them all)"


def test_silent_while_a_command_runs_and_detached_from_a_replaced_lab():
    out: list[str] = []
    n = Narrator(Styler(), out.append)
    old, new = FakeLab(), FakeLab()
    n.follow(old)
    n.busy = True
    n(entry(1))  # the command's own output will carry it
    n.busy = False
    n.flush()
    n.follow(new)  # `seed` replaced the lab
    assert out == [] and old.listeners == [] and new.listeners == [n]
