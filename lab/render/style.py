"""Glyphs and colours for narration: every colour is paired with a glyph, the
palette is Okabe-Ito (colour-blind safe; never red against green alone), and
`NO_COLOR` / `--plain` turn colour off and glyphs to ASCII.
"""

from __future__ import annotations

import os

# kind: (unicode glyph, ascii glyph, 256-colour code)
STYLES: dict[str, tuple[str, str, int]] = {
    "mined": ("⛏", "*", 214),  # orange
    "forged": ("☠", "!", 175),  # reddish purple
    "block-accepted": ("✓", "+", 74),  # sky blue
    "tx-accepted": ("✓", "+", 74),
    "fork": ("⑂", "Y", 227),  # yellow
    "reorg": ("↺", "@", 166),  # vermillion
    "block-rejected": ("✗", "x", 175),
    "tx-rejected": ("✗", "x", 175),
    "peer-punished": ("⚑", "!", 175),
    "tx-returned": ("↩", "<", 36),  # bluish green
    "tx-evicted": ("⌫", "-", 166),
    "partition": ("✂", "/", 166),
    "cut": ("✂", "/", 166),
    "heal": ("⚭", "=", 36),
    "link-up": ("⚭", "=", 36),
    "link-down": ("✂", "/", 166),
    "peer-connected": ("⚭", "=", 36),
    "peer-disconnected": ("✂", "/", 166),
    "node-stopped": ("■", "#", 166),
    "node-started": ("▶", ">", 36),
    "node-added": ("▶", ">", 36),
    "withhold": ("◐", "%", 175),
    "withheld": ("◐", "%", 175),
    "tx-withheld": ("◐", "%", 175),
    "published": ("◑", "^", 214),
    "strategy": ("♟", "&", 175),
    "move": ("♟", "&", 175),
    "eclipse": ("◍", "o", 175),
    "eclipse-ended": ("⚭", "=", 36),
    "frame": ("→", ">", 25),  # blue
    "ok": ("✓", "ok", 36),
    "fail": ("✗", "FAIL", 166),
    "error": ("✗", "error:", 166),
    "hint": ("›", ">", 74),
    "lesson": ("§", "#", 25),
}
DEFAULT = ("·", "-", 250)

# Tip groups (the toolbar, `status`): the group with the most work first, one glyph each.
TIP_GLYPHS = ("●", "▲", "■", "◆", "★")
TIP_GLYPHS_ASCII = ("*", "^", "#", "%", "&")


def tip_glyph(i: int, ascii_only: bool) -> str:
    glyphs = TIP_GLYPHS_ASCII if ascii_only else TIP_GLYPHS
    return glyphs[i] if i < len(glyphs) else "?"


def color_wanted(stream_isatty: bool, plain: bool = False) -> bool:
    return stream_isatty and not plain and not os.environ.get("NO_COLOR")  # no-color.org: non-empty


class Styler:
    def __init__(self, color: bool = False, ascii_only: bool = False) -> None:
        self.color = color
        self.ascii_only = ascii_only

    def glyph(self, kind: str) -> str:
        uni, asc, _ = STYLES.get(kind, DEFAULT)
        return asc if self.ascii_only else uni

    def paint(self, kind: str, text: str) -> str:
        if not self.color:
            return text
        code = STYLES.get(kind, DEFAULT)[2]
        return f"\x1b[38;5;{code}m{text}\x1b[0m"

    def line(self, kind: str, text: str) -> str:
        return self.paint(kind, f"{self.glyph(kind)} {text}")

    def bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.color else text

    def dim(self, text: str) -> str:
        return f"\x1b[2m{text}\x1b[0m" if self.color else text
