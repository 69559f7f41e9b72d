"""Narration between commands: batched, merged, capped, and silent while a command runs."""

from __future__ import annotations

import asyncio

from lab import events as ev
from lab.events import Record
from lab.render.style import Styler
from lab.repl.narrator import MAX_LINES, Narrator


def h(i: int) -> bytes:
    """A hash displayed as abc00i."""
    return bytes.fromhex(f"abc{i:03d}" + "00" * 29)[::-1]


def entry(i: int, who: str = "") -> Record:
    """A mines block i at +i ms, or `who` accepts block 1 from A at +i ms."""
    if who:
        return Record(i, i * 1000, ev.BlockAccepted(who, h(1), 1, "A"))
    return Record(i, i * 1000, ev.BlockMined("A", h(i), i, h(i - 1), 1, 50 * 10**8, 0))


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
                fn(entry(2, who))
        assert out == []  # nothing yet: the batch is still open
        await asyncio.sleep(0.4)
        return out

    out = asyncio.run(go())
    assert len(out) == 1
    assert out[0].splitlines() == ["⛏ +0.001s A mined block 1 abc001 on 0 abc000 (1 tx, reward 50)",
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
