"""A Session runs command lines against a Lab and renders what happened.

It is the one path every front end takes: the REPL, `lab run FILE`,
`lab -c`, lessons and tests call `execute(line)` and get an Outcome with the
rendered text, whether it succeeded, and the kinds of events that happened.
Errors become one line plus what to type instead; the lab keeps running.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lab.commands.parse import split_line, tokenize
from lab.commands.registry import lookup
from lab.errors import CommandError, LabError
from lab.lab import Lab
from lab.params import (
    DEFAULT_DIFFICULTY,
    DEFAULT_JITTER,
    DEFAULT_LATENCY_MS,
    DEFAULT_NODES,
    DEFAULT_SEED,
)
from lab.render.narration import summarize
from lab.render.style import Styler


def clip_quotes(text: str, keep: int = 32) -> str:
    """Shorten a word an error quotes back ('...'): a pasted 2,000-character word stays one line."""
    long_word = re.compile(r"'([^'\s]{" + str(keep + 8) + r",})'")
    return long_word.sub(lambda m: f"'{m.group(1)[:keep]}…'", text)


@dataclass
class LabConfig:
    nodes: int | list[str] = DEFAULT_NODES
    topology: str = "mesh"
    k: int = 3
    seed: int = DEFAULT_SEED
    difficulty: int = DEFAULT_DIFFICULTY
    latency_ms: float = DEFAULT_LATENCY_MS
    jitter: float = DEFAULT_JITTER
    host: str = "127.0.0.1"  # where nodes listen; another address only when asked (--host)


@dataclass
class Result:
    """What a handler returns: lines to show, and how it went."""

    lines: list[str] = field(default_factory=list)
    ok: bool = True
    check_failed: bool = False
    quit: bool = False


@dataclass
class Outcome:
    text: str
    ok: bool = True
    events: list[str] = field(default_factory=list)  # kinds of narrated events
    check_failed: bool = False
    quit: bool = False
    error: str | None = None


class Session:
    def __init__(self, config: LabConfig | None = None, styler: Styler | None = None) -> None:
        from lab.commands import builtin, lessons  # noqa: F401  (registers every command)
        self.config = config or LabConfig()
        self.styler = styler or Styler()
        self.lab: Lab | None = None
        self.history: list[str] = []  # commands run since the lab was (re)built
        self.lesson: Any = None  # the active LessonSession, if any
        self.show_time = False
        self.internal_errors: list[str] = []  # tracebacks of bugs caught at the prompt

    async def start(self) -> Session:
        self.lab = await Lab.create(self.config.nodes, self.config.topology, self.config.k, self.config.seed,
                                    self.config.difficulty, self.config.latency_ms, self.config.jitter,
                                    self.config.host)
        self.history = []
        return self

    async def close(self) -> None:
        if self.lab is not None:
            await self.lab.close()

    async def rebuild(self, config: LabConfig | None = None) -> None:
        """A fresh lab (same or new config); the old one is closed."""
        if config is not None:
            self.config = config
        old = self.lab
        if old is not None:
            await old.close()
        await self.start()

    # -- executing ---------------------------------------------------------------------
    async def execute(self, line: str, record: bool = True, hook: bool = True) -> Outcome:
        """Run every command on the line; stop at the first error.

        Inside a lesson (and `hook` true) the lesson sees the line first (its own
        commands) and checks its goal after the learner's commands ran.
        """
        if hook and self.lesson is not None:
            try:
                reply = await self.lesson.dispatch(line)
            except CommandError as e:
                return Outcome(self.styler.line("error", e.message) + (f"\n  {e.hint}" if e.hint else ""), ok=False,
                               error=e.message)
            if reply is not None:
                return Outcome(reply.text)
        out = await self._execute(line, record)
        if hook and self.lesson is not None and not out.quit:
            from lab.commands.lessons import lesson_events
            from lab.lessons.runner import CommandOutcome
            reply = await self.lesson.after_command(line, CommandOutcome(out.text, out.ok, tuple(lesson_events(out.events))))
            if reply.text:
                out.text = "\n".join(x for x in (out.text, self.styler.paint("lesson", reply.text)) if x)
        return out

    async def _execute(self, line: str, record: bool) -> Outcome:
        texts: list[str] = []
        events: list[str] = []
        ok, check_failed, quit_ = True, False, False
        error = None
        for cmd in split_line(line):
            out = await self.run_command(cmd, record=record)
            if out.text:
                texts.append(out.text)
            events += out.events
            check_failed |= out.check_failed
            if out.quit:
                quit_ = True
                break
            if not out.ok:
                ok, error = False, out.error
                if not out.check_failed:
                    break
        return Outcome("\n".join(texts), ok, events, check_failed, quit_, error)

    async def run_command(self, text: str, record: bool = True) -> Outcome:
        assert self.lab is not None
        lab = self.lab
        tokens = tokenize(text)
        if not tokens:
            return Outcome("")
        mark = len(lab.log)
        lab.delivered.clear()
        try:
            cmd = lookup(tokens[0])
            result: Result = await cmd.handler(self, tokens[1:])
            lab = self.lab  # a handler may have rebuilt the lab
            if cmd.settles and result.ok:
                await lab.settle()
            if record and cmd.category in ("lab", "network") and result.ok:
                self.history.append(text)
        except CommandError as e:
            message = clip_quotes(e.message)
            line = self.styler.line("error", message)
            if e.hint:
                line += "\n  " + self.styler.paint("hint", clip_quotes(e.hint))
            return Outcome(line, ok=False, error=message)
        except LabError as e:  # any other deliberate error: still one line
            message = clip_quotes(str(e))
            return Outcome(self.styler.line("error", message), ok=False, error=message)
        except Exception as e:  # a bug of ours: say so in one line, keep the lab running
            import traceback
            self.internal_errors.append(traceback.format_exc())
            msg = f"internal error in '{tokens[0]}': {type(e).__name__}: {e}"
            return Outcome(self.styler.line("error", msg) + "\n  " + self.styler.paint(
                "hint", "this is a bug in the lab; your lab is unchanged, please report it"), ok=False, error=msg)
        entries = lab.log[mark:] if lab is self.lab and mark <= len(lab.log) else list(self.lab.log)
        lines = list(result.lines)
        lines += summarize(entries, self.styler, with_time=self.show_time or lab.mode != "auto")
        return Outcome("\n".join(lines), ok=result.ok, events=[e.kind for e in entries],
                       check_failed=result.check_failed, quit=result.quit,
                       error=None if result.ok else (result.lines[0] if result.lines else "failed"))
