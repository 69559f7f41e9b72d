"""The REPL's look: an Okabe-Ito palette (colour-blind safe) and the glyphs paired with it.

Colour never carries meaning alone: an unknown command is underlined and
flagged with a glyph, tip groups in the toolbar each have their own glyph.
With NO_COLOR or --plain the prompt has no colour and no attributes (no bold,
reverse or underline); with --plain the glyphs are ASCII too.
"""

from __future__ import annotations

from prompt_toolkit.output import ColorDepth
from prompt_toolkit.styles import Attrs, Style, StyleTransformation

from lab.render.style import TIP_GLYPHS, TIP_GLYPHS_ASCII, tip_glyph

__all__ = ["TIP_GLYPHS", "TIP_GLYPHS_ASCII", "PlainAttributes", "build_mono_style", "build_style", "color_depth", "glyph", "tip_glyph"]

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

# Tip groups in the toolbar: the group with the most work first. Glyph (lab/render/style.py) + colour each.
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
    """No colour and no attributes at all (NO_COLOR, --plain): meaning is carried by glyphs and words.

    prompt_toolkit's own defaults (a reversed toolbar, a bold prompt) are switched off too, by
    `PlainAttributes` below, so the prompt looks like the rest of the lab's plain output.
    """
    return Style.from_dict({"bottom-toolbar": "noreverse"})


class PlainAttributes(StyleTransformation):
    """Drops bold, underline, italic, reverse, blink and dim: NO_COLOR and --plain mean plain."""

    def transform_attrs(self, attrs: Attrs) -> Attrs:
        return attrs._replace(bold=False, underline=False, strike=False, italic=False, blink=False,
                              reverse=False, dim=False)


def color_depth(color: bool) -> ColorDepth | None:
    """None lets prompt_toolkit choose (it honours NO_COLOR itself too)."""
    return None if color else ColorDepth.DEPTH_1_BIT
