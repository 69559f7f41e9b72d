"""Earlier labs `back` can return to: the labs that `reset`, `seed`, `lesson`, `load` ... replaced.

A command that replaces the lab (anything that calls Session.rebuild or
saving.put_in_place: `seed N`, `reset`, `lesson ID`, `load FILE`, and inside a
lesson `next`, `undo`, `reset`, `reset lesson`) starts a new record
(lab/world/record.py). The record of the lab it replaced is kept here as an
*era*: that record (its construction and every command that changed it), the
lesson as it stood, `show_time`, the replacing command's line and virtual
time, and the proof-of-work answers its lab found (Mining.known), so that a
replay of the record in full rebuilds that lab quickly and exactly.

`back` (lab/commands/rewind.py) counts the replacing command as one command
that changed the lab: it walks the current record's typed commands, then the
replacing command, then the previous era's typed commands, and so on. The
stack holds the last ERAS_KEPT eras; older ones are dropped silently (each is
a few hundred bytes of command lines plus its proof-of-work answers). The lab
a session began with is not kept while no command changed it: `lab lesson 1`
or `load` on a fresh lab leaves nothing to return to, as the lab was started
that way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lab.params import ERAS_KEPT
from lab.world.record import Recording

if TYPE_CHECKING:
    from lab.lessons.session import LessonSession

__all__ = ["ERAS_KEPT", "Era", "Stop", "stops"]


@dataclass(frozen=True, slots=True)
class Era:
    """A lab as it was just before a command replaced it."""

    recording: Recording  # its record: replayed in full, it is that lab again
    line: str  # the command that replaced it (`reset`, `seed 7`, `load x.lab`, `next` ...)
    time_us: int  # the lab's virtual time when that command began
    show_time: bool  # whether narration carried virtual times then
    lesson: LessonSession | None  # the lesson then (the same object may live on, changed)
    lesson_state: Any  # ... and its state then (lab/lessons/state.py), None without a lesson
    known: dict[bytes, int]  # that lab's proof-of-work answers (Mining.known): its replay needs no search


@dataclass(frozen=True, slots=True)
class Stop:
    """One place `back N` can return to: the state before the N-th last command that changed the lab."""

    depth: int  # 0: the current record; k: the k-th era from the top of the stack
    cut: int  # the record's first `cut` entries are replayed (its length: all of them)
    line: str  # the command undone last (the oldest of the N)
    time_us: int  # when it began
    by_era: bool  # that command replaced a lab (the stop is an era's lab in full)

    def exact(self, rec: Recording) -> bool:
        return rec.exact_upto is None or self.cut <= rec.exact_upto


def stops(current: Recording, eras: list[Era]) -> list[tuple[Stop, Recording]]:
    """Every place `back` can return to, nearest first (`back N` is the N-th), with its record."""
    out: list[tuple[Stop, Recording]] = []

    def typed_in(rec: Recording, depth: int) -> None:
        for i in reversed(rec.typed()):
            e = rec.entries[i]
            out.append((Stop(depth, i, e.line, e.time_us, False), rec))

    typed_in(current, 0)
    for depth, era in enumerate(reversed(eras), 1):
        rec = era.recording
        out.append((Stop(depth, len(rec.entries), era.line, era.time_us, True), rec))
        typed_in(rec, depth)
    return out
