"""What the learner sees around the line: the lexer's styles and the bottom toolbar."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st
from labtest import run_ok
from repl_helpers import new_session

from lab.repl.lexer import style_line, unknown_commands
from lab.repl.toolbar import Toolbar, fmt_clock

NODES = ("A", "B", "C", "D")


def styles(line: str) -> dict[str, str]:
    return {text: style for style, text in style_line(line, NODES) if text.strip()}


# -- lexer ---------------------------------------------------------------------------------------
def test_known_commands_nodes_numbers_and_comments_are_styled():
    s = styles("mine a 3 # three blocks")
    assert s["mine"] == "class:cmd"
    assert s["a"] == "class:arg.node"
    assert s["3"] == "class:arg.number"
    assert s["# three blocks"] == "class:comment"


def test_an_unknown_command_is_flagged_before_enter():
    assert styles("mnie A")["mnie"] == "class:cmd.unknown"
    assert styles("mine A; frob")["frob"] == "class:cmd.unknown"  # finished words are judged
    assert styles("mi")["mi"] == "class:cmd.partial"  # still being typed: not flagged yet
    assert unknown_commands("mine A; frob x; tree") == ["frob"]


def test_groups_and_operators():
    s = styles("partition A,B | C,D")
    assert s["A,B"] == s["C,D"] == "class:arg.node"
    assert s["|"] == "class:arg.op"
    assert styles("check height A >= 2")[">="] == "class:arg.op"


@given(st.text(alphabet="mine AB;#,|->= 0123xyz\t", max_size=40))
def test_the_fragments_cover_the_line_exactly(line):
    assert "".join(text for _, text in style_line(line, NODES)) == line


# -- toolbar ------------------------------------------------------------------------------------------
def test_fmt_clock():
    assert fmt_clock(1_250_000) == "+1.250s"
    assert fmt_clock(725_000_000) == "+12m05s"
    assert fmt_clock(7_380_000_000) == "+2h03m"


def test_the_toolbar_shows_a_fork_as_two_tip_groups():
    """A and B mine apart from C and D: the toolbar shows two tips, each with its own glyph."""
    async def go():
        async with new_session() as (_, s):
            await run_ok(s, "partition A,B | C,D; mine A 2; mine C")
            fancy, plain = Toolbar(), Toolbar(ascii_only=True)
            fancy.refresh(s)
            plain.refresh(s)
            a, c = (s.lab.nodes[n].state.chain.tip.hash for n in "AC")
            await run_ok(s, "mode step; mine D")  # the block waits in flight
            flight = Toolbar()
            flight.refresh(s)
            return fancy.text, plain.text, a, c, flight.text

    fancy, plain, a, c, flight = asyncio.run(go())
    from lab.chain.crypto import short_hex

    assert f"● 2 {short_hex(a)} A B" in fancy  # most work first
    assert f"▲ 1 {short_hex(c)} C D" in fancy
    assert "✂ split A,B | C,D" in fancy
    assert fancy.lstrip().startswith("auto")
    assert "0 in flight" in fancy
    assert plain.isascii()
    assert f"* 2 {short_hex(a)} A B" in plain and f"^ 1 {short_hex(c)} C D" in plain
    assert "/ split A,B | C,D" in plain
    assert flight.lstrip().startswith("step") and "1 in flight" in flight


def test_the_toolbar_marks_stopped_nodes_and_a_lesson_step():
    class Lesson:
        def status_line(self):
            return "lesson 7 · step 2/4"

    async def go():
        async with new_session() as (_, s):
            await run_ok(s, "stop D")
            s.lesson = Lesson()
            t = Toolbar()
            t.refresh(s)
            return t.text

    text = asyncio.run(go())
    assert "A B C (D off)" in text
    assert "⚭ connected" in text
    assert text.rstrip().endswith("§ lesson 7 · step 2/4")


def test_the_toolbar_lays_out_cached_segments_and_wraps_instead_of_cutting():
    t = Toolbar(ascii_only=True)
    t.segments = [[("", "auto")], [("", "+1.000s")], [("", "* 3 abcdef A B C D")], [("", "~ 2 in flight")]]
    assert t() == t.layout(10_000)  # outside an app: one line, nothing computed from a lab
    assert t.text == " auto | +1.000s | * 3 abcdef A B C D | ~ 2 in flight"
    narrow = "".join(x for _, x in t.layout(40))
    assert narrow == " auto | +1.000s | * 3 abcdef A B C D\n ~ 2 in flight"
    assert all(len(line) < 40 for line in narrow.splitlines())
