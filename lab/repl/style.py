"""The REPL's look: an Okabe-Ito palette (colour-blind safe) and the glyphs paired with it.

Colour never carries meaning alone: an unknown command is underlined and
flagged with a glyph, tip groups in the toolbar each have their own glyph.
With NO_COLOR the prompt renders at 1-bit colour depth (bold, underline and
reverse survive); with --plain the glyphs are ASCII too.
"""

from __future__ import annotations

from prompt_toolkit.output import ColorDepth
from prompt_toolkit.styles import Style

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common
# form of colour blindness. No red-against-green pair is used anywhere.
ORANGE = "#e69f00"
SKY = "#56b4e9"
GREEN = "#009e73"  # bluish green
YELLOW = "#f0e442"
BLUE = "#0072b2"
VERMILLION = "#d55e00"
PURPLE = "#cc79a7"  # reddish purple
GREY = "#999999"

# Tip groups in the toolbar: the group with the most work first. Glyph + colour each.
TIP_GLYPHS = ("●", "▲", "■", "◆", "★")
TIP_GLYPHS_ASCII = ("*", "^", "#", "%", "&")
TIP_COLOURS = (SKY, ORANGE, YELLOW, PURPLE, GREEN)

# Glyphs the toolbar and prompt use, (unicode, ascii).
GLYPHS: dict[str, tuple[str, str]] = {
    "sep": ("│", "|"),
    "unknown": ("✗", "?"),
    "split": ("✂", "/"),
    "joined": ("⚭", "="),
    "flight": ("⇄", "~"),
    "lesson": ("§", "#"),
    "mining": ("⛏", "*"),
    "more": ("…", "..."),
}


def glyph(name: str, ascii_only: bool) -> str:
    uni, asc = GLYPHS[name]
    return asc if ascii_only else uni


def tip_glyph(i: int, ascii_only: bool) -> str:
    glyphs = TIP_GLYPHS_ASCII if ascii_only else TIP_GLYPHS
    return glyphs[i] if i < len(glyphs) else "?"


def build_style() -> Style:
    rules = {
        # the line being typed
        "cmd": f"bold {SKY}",
        "cmd.unknown": f"bold underline {VERMILLION}",
        "arg.node": ORANGE,
        "arg.number": YELLOW,
        "arg.word": GREEN,
        "arg.label": PURPLE,
        "arg.op": "bold",
        "arg.sep": f"bold {GREY}",
        "comment": f"italic {GREY}",
        "prompt": f"bold {SKY}",
        "prompt.lesson": f"bold {BLUE}",
        "rprompt": GREY,
        "rprompt.unknown": f"bold {VERMILLION}",
        # the bottom toolbar (reverse keeps it visible at 1-bit colour depth)
        "bottom-toolbar": "noreverse bg:#262626 #d0d0d0",
        "tb.mode": "bold",
        "tb.sep": GREY,
        "tb.split": f"bold {VERMILLION}",
        "tb.joined": GREEN,
        "tb.flight": YELLOW,
        "tb.lesson": f"bold {SKY}",
        "tb.off": f"italic {GREY}",
        "auto-suggestion": GREY,
    }
    for i, colour in enumerate(TIP_COLOURS):
        rules[f"tb.tip{i}"] = f"bold {colour}"
    return Style.from_dict(rules)


def build_mono_style() -> Style:
    """No colour at all (NO_COLOR, --plain): meaning is carried by attributes and glyphs."""
    return Style.from_dict({
        "cmd": "bold",
        "cmd.unknown": "bold underline",
        "comment": "italic",
        "bottom-toolbar": "reverse",
        "tb.mode": "bold",
        "tb.split": "bold",
        "tb.tip0": "bold",
    })


def color_depth(color: bool) -> ColorDepth | None:
    """None lets prompt_toolkit choose (it honours NO_COLOR itself too)."""
    return None if color else ColorDepth.DEPTH_1_BIT
