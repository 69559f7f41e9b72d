"""`back [N]`: return to the state before your last N commands that changed the lab.

The lab is deterministic, so the state before a command is rebuilt by
replaying the record (lab/world/record.py) without it, into a new lab that
replaces the current one only once complete (lab/commands/saving.py). A
command that replaced the lab (`reset`, `seed`, `lesson`, `load`, a lesson's
`next` ...) counts as one command too: `back` across it replays the record of
the lab it replaced, kept on the session's stack of earlier labs
(lab/commands/eras.py), in full or up to the command `back` stops before. The
lab `back` returns to is current again, its record continues, and the later
labs are forgotten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.commands.builtin import need
from lab.commands.eras import Era, Stop, stops
from lab.commands.parse import parse_int
from lab.commands.saving import Diverged, _lesson_for, put_in_place, replay
from lab.errors import CommandError
from lab.render.narration import fmt_time
from lab.render.output import Output, output
from lab.render.words import plural
from lab.world.record import Recording

if TYPE_CHECKING:
    from lab.commands.session import Session
    from lab.lessons.session import LessonSession


def _era_lesson(era: Era) -> LessonSession | None:
    """The era's lesson, put back in the state it had then."""
    if era.lesson is not None and era.lesson_state is not None:
        from lab.lessons.state import restore_lesson_state
        restore_lesson_state(era.lesson, era.lesson_state)
    return era.lesson


async def lesson_step_back(s: Session, lesson: LessonSession) -> str | None:
    """Lesson `undo` with nothing typed in this step yet (or the lesson finished): take back the learner's
    line that reached the step before's (the last step's) goal, as `back` does (its commands' record entries keep the lesson's state before them),
    and put the lesson in that state. The line taken back, or None when the lab's last change was not
    that line (a `next`, `reset` or `load` since, a skipped step) or cannot be replayed exactly."""
    if s.lesson is not lesson or (lesson.index == 0 and not lesson.finished):
        return None
    line: list[tuple[Stop, Recording]] = []  # the line's commands, last first: one record entry each
    for stop, rec in stops(s.recording, []):
        if line and rec.entries[stop.cut].lesson != rec.entries[line[0][0].cut].lesson:
            break
        line.append((stop, rec))
    if not line:
        return None
    stop, rec = line[-1]
    state = rec.entries[stop.cut].lesson
    step = lesson.index if lesson.finished else lesson.index - 1  # the step that line completed
    if (not isinstance(state, dict) or state.get("id") != lesson.lesson.id or state.get("finished")
            or state.get("index") != step or not stop.exact(rec)):
        return None
    try:
        new = await replay(s, rec.prefix(stop.cut), s.need_lab().mining.known)
    except Diverged as e:  # a bug: the record of a lab that ran must replay
        raise CommandError(f"the lab could not be rebuilt: {e}", "this is a bug in the lab; your lab is unchanged") from None
    new.recording.since = rec.since
    from lab.lessons.state import restore_lesson_state
    restore_lesson_state(lesson, state)
    await put_in_place(s, new, lesson)
    return "; ".join(rec.entries[st.cut].line for st, _ in reversed(line))


async def cmd_back(s: Session, args: list[str]) -> Output:
    need(args, "back")
    s.refuse_in_class()
    n = parse_int(args[0], "commands", 1, 1_000_000) if args else 1
    eras = list(s.eras)
    places = stops(s.recording, eras)
    if not places:
        raise CommandError("no command of yours has changed this lab since it started",
                           "`history` lists what it was built from")
    if n > len(places):
        if not eras:
            raise CommandError(f"only {plural(len(places), 'command')} of yours changed this lab since it started",
                               f"`back {len(places)}` returns to its start")
        raise CommandError(f"only {plural(len(places), 'command')} of yours can be taken back "
                           f"(this lab and {plural(len(eras), 'earlier lab')} kept)",
                           f"`back {len(places)}` returns to the oldest lab's start")
    stop, rec = places[n - 1]
    if not stop.exact(rec):
        later = [k for k in range(n, len(places)) if places[k][0].exact(places[k][1])]
        hint = f"`back {later[0] + 1}` returns to before it" if later else "`reset` starts the lab afresh"
        raise CommandError(f"cannot go back to there exactly: {rec.why_not}", hint)
    era = eras[len(eras) - stop.depth] if stop.depth else None
    first = rec.entries[stop.cut] if not stop.by_era else None
    lesson_state = first.lesson if first is not None else None
    lesson = _lesson_for(s, lesson_state) if lesson_state is not None else None  # checked before any replay
    known = s.need_lab().mining.known
    if era is not None:
        known = {**era.known, **known}
    try:
        new = await replay(s, rec.prefix(stop.cut) if first is not None else rec, known)
    except Diverged as e:  # a bug: the record of a lab that ran must replay
        raise CommandError(f"the lab could not be rebuilt: {e}", "this is a bug in the lab; your lab is unchanged") from None
    new.recording.since = rec.since
    if lesson_state is None:
        lesson = s.lesson if era is None else _era_lesson(era)
    if era is not None:
        new.show_time = era.show_time
        for _ in range(stop.depth):  # the era returned to is current again; later labs are forgotten
            s.eras.pop()
    await put_in_place(s, new, lesson)
    more = f" and {plural(n - 1, 'later command')}" if n > 1 else ""
    kept = len(new.recording.entries)
    return output(f"Back to before `{stop.line}`{more} (at {fmt_time(stop.time_us)}): the lab was rebuilt "
                  f"from its start and {plural(kept, 'earlier command')} replayed.")
