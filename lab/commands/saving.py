"""`save FILE`, `load FILE`, `back [N]`, `history`, `digest`: a lab kept, brought back, rewound.

The lab is deterministic, so a lab is brought back exactly by building a new
one the way the old one was built and replaying the commands that changed it
(its record, lab/world/record.py), narration off. `load` and `back` do that
into a NEW lab and only when it is complete, and for `load` when its digest,
every node's block tree and the clock match what the save holds, put it in
place of the current one: a failed load leaves the lab exactly as it was.
`save` writes the record together with the lab's state as a learner can
read it (lab/world/persist.py) into one SQLite file (lab/world/savefile.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lab.commands.builtin import need
from lab.commands.config import LabConfig
from lab.errors import CommandError, LabError
from lab.render.narration import fmt_time
from lab.render.output import Output, Piece, output
from lab.render.words import plural
from lab.world.persist import lab_digest, state_sections, trees_of
from lab.world.record import BY_LESSON, Recording
from lab.world.savefile import SaveData, SaveFileError, load_save, save_lab
from lab.world.snapshot import SnapshotError, freeze, thaw

if TYPE_CHECKING:
    from lab.commands.session import Session
    from lab.lessons.session import LessonSession


class Diverged(LabError):
    """Replaying a record did not give the lab it describes."""


def _path(text: str) -> str:
    return os.path.expanduser(text)


# -- rebuilding ------------------------------------------------------------------------------
async def replay(s: Session, rec: Recording, known: dict[bytes, int] | None = None) -> Session:
    """A new Session whose lab was built from `rec` and its commands replayed (nothing printed).

    `known`: proof-of-work answers (Mining.known) the replay may take instead of searching
    again; a wrong one only costs a search. The current lab is not touched. Raises Diverged when a command fails or starts at
    another virtual time than recorded; the half-built lab is closed.
    """
    s.refuse_in_class()
    try:
        cfg = LabConfig.from_json(rec.config, host=s.config.host)
    except (KeyError, TypeError, ValueError) as e:
        raise Diverged(f"the lab's construction is not readable ({e})") from None
    new = type(s)(cfg, s.styler)
    try:
        await new.start()
        if known:
            new.need_lab().mining.known.update(known)
        for i, entry in enumerate(rec.entries):
            now = new.need_lab().sched.now
            if now != entry.time_us:
                raise Diverged(f"command {i + 1} (`{entry.line}`) started at {fmt_time(now)} on replay, "
                               f"{fmt_time(entry.time_us)} in the record")
            out = await new.run_command(entry.line, quiet=True, settle=entry.settle)
            if not out.ok:
                raise Diverged(f"command {i + 1} (`{entry.line}`) failed on replay: {out.error}")
    except BaseException:
        await new.close()
        raise
    new.recording = rec.copy()
    new.show_time = s.show_time
    return new


def _lesson_for(s: Session, state: Any) -> LessonSession | None:
    """A LessonSession on `s` in the given state (None: no lesson). CommandError if it cannot be."""
    if state is None:
        return None
    from lab.commands.lesson_runner import SessionRunner
    from lab.lessons.progress import Progress
    from lab.lessons.session import PLAIN_GLYPHS, LessonSession
    from lab.lessons.state import restore_lesson_state, saved_lesson

    if not isinstance(state, dict):
        raise CommandError("the lesson's state is not readable", "`lesson ID` starts a lesson afresh")
    lesson = saved_lesson(state)
    now = s.lesson  # the lesson going on keeps where its progress goes and how it draws (a script: plain)
    ls = LessonSession(lesson, SessionRunner(s), now.progress if now is not None else Progress.load(),
                       plain=now.glyphs is PLAIN_GLYPHS if now is not None else s.styler.ascii_only)
    try:
        restore_lesson_state(ls, state)
    except ValueError as e:
        raise CommandError(f"the lesson's state does not fit lesson {lesson.id} ({e})",
                           f"`lesson {lesson.id}` starts it afresh") from None
    return ls


async def put_in_place(s: Session, new: Session, lesson: LessonSession | None) -> None:
    """Make `new`'s lab the session's lab; the old one is closed."""
    s.refuse_in_class()
    old = s.lab
    mining = new.need_lab().mining  # a script's time limit goes on with the lab that replaces its own
    mining.deadline, mining.limit_seconds, mining.report = s.deadline, s.max_seconds, s.notice
    s.lab, s.config, s.recording, s.history = new.lab, new.config, new.recording, new.history
    s.show_time = new.show_time
    s.lesson = lesson
    s.replaced = s.swapped = True
    if old is not None:
        await old.close()


def pack_known(known: dict[bytes, int]) -> bytes:
    """The `known` section: 80-byte block headers whose nonce a search from 0 found first."""
    return b"".join(prefix + nonce.to_bytes(4, "little") for prefix, nonce in known.items())


def unpack_known(body: Any) -> dict[bytes, int]:
    if not isinstance(body, bytes) or len(body) % 80:
        return {}
    return {body[i:i + 76]: int.from_bytes(body[i + 76:i + 80], "little") for i in range(0, len(body), 80)}


# -- digest, history -----------------------------------------------------------------------------
async def cmd_digest(s: Session, args: list[str]) -> Output:
    need(args, "digest")
    return output(lab_digest(s.need_lab()))


async def cmd_history(s: Session, args: list[str]) -> Output:
    need(args, "history")
    rec, cfg = s.recording, s.config
    nodes = cfg.nodes if isinstance(cfg.nodes, int) else len(cfg.nodes)
    head = f"The lab started from seed {cfg.seed}: {plural(nodes, 'node')}, {cfg.topology}, difficulty {cfg.difficulty}."
    earlier = _earlier_labs(s)
    if not rec.entries:
        return output(head, "No command has changed it since. (Views and `check` change nothing.)", *earlier)
    width = len(str(len(rec.entries)))
    lines: list[Piece] = [head]
    for i, e in enumerate(rec.entries, 1):
        tag = "  (by the lesson)" if e.by == BY_LESSON else ""
        lines.append(f"{i:>{width}}  {fmt_time(e.time_us):>11}  {e.line}{tag}")
    if not rec.exact and rec.exact_upto is not None:
        lines.append(f"From command {rec.exact_upto + 1} on the lab cannot be replayed: {rec.why_not}.")
    if s.eras and any(e.by != BY_LESSON for e in rec.entries[:rec.since]):
        which = "Command 1" if rec.since == 1 else f"Commands 1 to {rec.since}"
        lines.append(f"{which} came with `{s.eras[-1].line}`: `back` takes {'it' if rec.since == 1 else 'them'} "
                     "back with it.")
    lines.append("`back N` undoes your last N of these.")
    return Output((*lines, *earlier))


def _earlier_labs(s: Session) -> list[Piece]:
    """The line about the labs that commands replaced and `back` can still return to (none: no line)."""
    if not s.eras:
        return []
    lines = ", ".join(f"`{era.line}`" for era in s.eras)
    them = "it" if len(s.eras) == 1 else "them"
    return [f"Before that: {plural(len(s.eras), 'earlier lab')} ({lines}); `back` steps into {them}."]


# -- save, load --------------------------------------------------------------------------------
def _back_to_exact(rec: Recording) -> str:
    """What to type to reach the last state that replays exactly."""
    typed = rec.typed()
    cut = [i for i in typed if rec.exact_upto is not None and i <= rec.exact_upto]
    if not cut:
        return "`reset` starts the lab afresh"
    return f"`back {len(typed) - typed.index(cut[-1])}` returns to before it"


async def cmd_save(s: Session, args: list[str]) -> Output:
    need(args, "save")
    lab, rec = s.need_lab(), s.recording
    if lab.classroom is not None:  # its clock and blocks are the room's: no record or state can bring it back
        raise CommandError("a lab that has been in a class cannot be saved",
                           "`reset` starts a lab of your own, which can")
    # First, and nothing awaits after it: the digest, trees and sections below describe the lab as
    # frozen (in live mode the clock moves on whenever the loop gets a turn).
    frozen = await freeze(lab)
    if frozen is None and not rec.exact:
        raise CommandError(f"this lab cannot be saved exactly: {rec.why_not} (and it cannot be frozen now)",
                           _back_to_exact(rec) + ", then `save` again")
    from lab.lessons.state import lesson_state

    blocks: dict[bytes, bytes] = {}
    trees = trees_of(lab, blocks)
    digest = lab_digest(lab)
    lesson = lesson_state(s.lesson) if s.lesson is not None else None
    meta = {"seed": str(s.config.seed), "digest": digest, "commands": str(len(rec.entries)),
            "clock_us": str(lab.sched.now)}
    if lesson is not None:
        meta.update(lesson=str(lesson["id"]), step=str(int(lesson["index"]) + 1))
    sections: dict[str, Any] = {"record": rec.to_json(), "lesson": lesson,
                                "session": {"show_time": s.show_time, "history": list(s.history)},
                                "known": pack_known(lab.mining.known), **state_sections(lab)}
    if frozen is not None:
        sections["snapshot"] = frozen
    save_lab(_path(args[0]), SaveData(meta=meta, sections=sections, blocks=blocks, trees=trees))
    commands = plural(len(rec.entries), "command")
    how = f"{commands} to replay" if rec.exact else f"{commands}, not replayable ({rec.why_not}): its state loads"
    return output(f"Saved the lab to {args[0]}: {plural(len(trees), 'node')}, {plural(len(blocks), 'block')}, "
                  f"{how}, digest {digest}.")


async def load_into(s: Session, path: str) -> str:
    """Replace the session's lab with the saved one; on any failure the lab is left as it was."""
    s.refuse_in_class()
    saved = load_save(_path(path))
    data = saved.data
    try:
        rec = Recording.from_json(data.sections["record"])
        want_digest, want_clock = data.meta["digest"], int(data.meta["clock_us"])
    except (KeyError, TypeError, ValueError) as e:
        raise SaveFileError(f"'{path}' holds no lab this version can rebuild ({e})",
                            "`save FILE` from a running lab makes one") from None
    lesson = _lesson_for(s, data.sections.get("lesson"))
    why = f"'{path}' was saved by lab {saved.lab_version}"
    settings = data.sections.get("session")
    new = await _thawed(s, rec, data.sections.get("snapshot"), settings)
    if new is not None and _differs(new.need_lab(), want_digest, want_clock, data.trees):
        await new.close()  # the state disagrees with the record it was saved with: the record decides
        new = None
    how = "state loaded"
    if new is None and not rec.exact:
        raise CommandError(f"{why}, from a lab that cannot be replayed ({rec.why_not}), and its saved state is "
                           "for another build of the lab", f"load it with lab {saved.lab_version}")
    if new is None:
        how = f"{plural(len(rec.entries), 'command')} replayed"
        try:
            new = await replay(s, rec, unpack_known(data.sections.get("known")))
        except Diverged as e:
            raise CommandError(f"{why} and does not replay here: {e}", "load it with that version of the lab") from None
        problem = _differs(new.need_lab(), want_digest, want_clock, data.trees)
        if problem:
            await new.close()
            raise CommandError(f"{why} and replays to another lab here ({problem})",
                               "load it with that version of the lab")
    new.show_time = bool(settings.get("show_time")) if isinstance(settings, dict) else False
    lab = new.need_lab()
    got = want_digest  # what the rebuilt lab was checked to have
    await put_in_place(s, new, lesson)
    cfg = s.config
    nodes = len(lab.nodes)  # as it is now: nodes added or stopped since it was built count
    where = f" In lesson {lesson.lesson.number}: {lesson.status().split(' · ')[-1]}." if lesson is not None else ""
    return (f"Loaded {path}: seed {cfg.seed}, {plural(nodes, 'node')}, virtual time {fmt_time(lab.sched.now)}; "
            f"{how}, digest {got}.{where}")


def _differs(lab: Any, want_digest: str, want_clock: int, trees: Any) -> str:
    """What in the rebuilt lab differs from what the save says it was; "" when nothing."""
    try:
        return _difference(lab, want_digest, want_clock, trees)
    except Exception as e:  # noqa: BLE001 - a thawed lab built from a hand-crafted snapshot: dropped, not a crash
        return f"its state cannot be read ({type(e).__name__})"


def _difference(lab: Any, want_digest: str, want_clock: int, trees: Any) -> str:
    got = lab_digest(lab)
    if got != want_digest:
        return f"digest {got} on replay, {want_digest} saved"
    if lab.sched.now != want_clock:
        return f"virtual time {fmt_time(lab.sched.now)} on replay, {fmt_time(want_clock)} saved"
    if trees_of(lab) != trees:
        return "a node's block tree differs on replay"
    return ""


async def _thawed(s: Session, rec: Recording, blob: Any, settings: Any) -> Session | None:
    """A new Session on the lab frozen in the save (lab/world/snapshot.py); None: replay instead."""
    if not isinstance(blob, bytes):
        return None
    try:
        cfg = LabConfig.from_json(rec.config, host=s.config.host)
        lab = await thaw(blob, s.config.host)
    except (SnapshotError, LabError, KeyError, TypeError, ValueError):
        return None
    new = type(s)(cfg, s.styler)
    new.lab = lab
    new.recording = rec.copy()
    history = settings.get("history") if isinstance(settings, dict) else None
    new.history = [str(line) for line in history] if isinstance(history, list) else [e.line for e in rec.entries]
    return new


async def load_at_start(s: Session, path: str | None, out: Callable[[str], object]) -> bool:
    """`lab --load FILE`: replace the fresh lab with the saved one; False (one line said) if it cannot be."""
    if path is None:
        return True
    from lab.render.output import render_error
    try:
        out(await load_into(s, path))
    except CommandError as e:
        out(render_error(e.message, e.hint, s.styler))
        return False
    return True


async def cmd_load(s: Session, args: list[str]) -> Output:
    need(args, "load")
    return output(await load_into(s, args[0]))
