"""The bottom toolbar: the lab at a glance, formatted from a cache.

prompt_toolkit calls the toolbar on every redraw (each key press), so the
callable only returns fragments computed earlier; `refresh(session)` rebuilds
them after each command and when narrated events arrive. Nodes are grouped
by tip, the group with the most work first; each group has its own glyph
and colour, so nodes on different tips look different with or without colour:

    auto │ +1.250s │ ● 5 3f9a2c A B D  ▲ 4 77ab12 C │ ✂ A,B | C,D │ ⇄ 3 in flight │ § lesson 7 · step 2/4
"""

from __future__ import annotations

from typing import Any

from prompt_toolkit.application import get_app_or_none
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.utils import get_cwidth

from lab.chain.crypto import short_hex
from lab.commands import reads
from lab.repl.style import glyph, tip_glyph
from lab.sched import SECOND

MAX_NAMES = 6  # names shown per tip group before "+N"
MAX_GROUPS = 4  # tip groups shown before "+N tips"


def fmt_clock(us: int) -> str:
    """Virtual time, short: +1.250s, +12m05s, +2h03m."""
    s = us / SECOND
    if s < 60:
        return f"+{s:.3f}s"
    if s < 3600:
        return f"+{int(s // 60)}m{int(s % 60):02d}s"
    return f"+{int(s // 3600)}h{int(s % 3600 // 60):02d}m"


def tip_groups(lab: Any) -> list[tuple[int, str, list[str], list[str]]]:
    """(height, short hash, online names, stopped names) per distinct tip, most work first (the lab's query)."""
    return [(tip.height, short_hex(tip.hash), on, off) for tip, on, off in reads.tips(lab)]


def lesson_status(lesson: Any) -> str | None:
    if lesson is None:
        return None
    for attr in ("status_line", "status"):
        fn = getattr(lesson, attr, None)
        if callable(fn):
            try:
                return str(fn())
            except Exception:  # noqa: BLE001 - the toolbar never breaks the prompt
                return None
    return None


class Toolbar:
    """Holds the formatted toolbar; `__call__` is what PromptSession's bottom_toolbar calls.

    The cache holds segments (mode, clock, tips, network, frames, lesson);
    the call only lays them out for the terminal's width, moving segments
    that do not fit to a second line instead of cutting them off.
    """

    def __init__(self, ascii_only: bool = False) -> None:
        self.ascii_only = ascii_only
        self.segments: list[StyleAndTextTuples] = []
        self.key: tuple = ()  # cheap fingerprint of the state the segments show

    def __call__(self) -> StyleAndTextTuples:
        app = get_app_or_none()
        width = app.output.get_size().columns if app is not None else 10_000
        return self.layout(width)

    def layout(self, width: int) -> StyleAndTextTuples:
        sep = ("class:tb.sep", f" {glyph('sep', self.ascii_only)} ")
        out: StyleAndTextTuples = []
        used = 0
        for seg in self.segments:
            n = sum(get_cwidth(part[1]) for part in seg)
            if not out:
                out.append(("", " "))
                used = 1
            elif used + len(sep[1]) + n >= width:  # does not fit: on the next line
                out.append(("", "\n "))
                used = 1
            else:
                out.append(sep)
                used += len(sep[1])
            out += seg
            used += n
        return out

    @property
    def text(self) -> str:
        return "".join(part[1] for part in self.layout(10_000))

    @staticmethod
    def fingerprint(session: Any) -> tuple:
        """O(1) summary of the state: when it changes, the toolbar needs a refresh."""
        lab = getattr(session, "lab", None)
        if lab is None:
            return ()
        st = reads.settings(lab)
        return (id(lab), st.now, reads.log(lab).next_seq, reads.frames_in_flight(lab), st.mode,
                len(reads.nodes(lab)), len(reads.partitions(lab)), reads.connection_count(lab), id(session.lesson))

    def refresh(self, session: Any) -> bool:
        """Rebuild from the session's lab; True if anything changed."""
        try:
            segments = self.build(session)
        except Exception:  # noqa: BLE001 - a half-built lab (during `seed`) must not break the prompt
            return False
        self.key = self.fingerprint(session)
        if segments == self.segments:
            return False
        self.segments = segments
        return True

    def build(self, session: Any) -> list[StyleAndTextTuples]:
        lab = session.lab
        a = self.ascii_only
        st = reads.settings(lab)
        mode: StyleAndTextTuples = [("class:tb.mode", st.mode + (f" x{st.speed:g}" if st.mode == "live" else ""))]
        if st.autominer:
            mode.append(("class:tb.mode", f" {glyph('mining', a)}"))
        segments: list[StyleAndTextTuples] = [mode, [("", fmt_clock(st.now))]]
        tips: StyleAndTextTuples = []
        groups = tip_groups(lab)
        for i, (height, h, on, off) in enumerate(groups[:MAX_GROUPS]):
            if i:
                tips.append(("", "  "))
            tips.append((f"class:tb.tip{min(i, 4)}", f"{tip_glyph(i, a)} {height} {h}"))
            names = on[:MAX_NAMES]
            more = len(on) - len(names)
            if names:
                tips.append(("", " " + " ".join(names) + (f" +{more}" if more else "")))
            if off:
                shown = off[:MAX_NAMES]
                tips.append(("class:tb.off", " " + " ".join(f"({n} off)" for n in shown)
                             + (f" +{len(off) - len(shown)} off" if len(off) > len(shown) else "")))
        if len(groups) > MAX_GROUPS:
            tips.append(("", f"  +{len(groups) - MAX_GROUPS} tips"))
        segments.append(tips)
        parts = reads.groups(lab)
        if len(parts) > 1:  # the actual peer graph, whatever split it (disconnect, partition, stop)
            text = " | ".join(",".join(g) for g in parts)
            segments.append([("class:tb.split", f"{glyph('split', a)} split {text}")])
        elif reads.one_way_cuts(lab):
            cuts = ", ".join(f"{x}->{y}" for x, y in reads.one_way_cuts(lab))
            segments.append([("class:tb.split", f"{glyph('split', a)} cut {cuts}")])
        else:
            segments.append([("class:tb.joined", f"{glyph('joined', a)} connected")])
        segments.append([("class:tb.flight", f"{glyph('flight', a)} {reads.frames_in_flight(lab)} in flight")])
        status = lesson_status(getattr(session, "lesson", None))
        if status:
            segments.append([("class:tb.lesson", f"{glyph('lesson', a)} {status}")])
        return segments
