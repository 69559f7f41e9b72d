"""Issue 13, findings 1-8: what the lab says matches what happened. Each test replays the original report."""

from __future__ import annotations

from labtest import run

from lab.chain.crypto import short_hex
from lab.commands.session import LabConfig, Session


async def _session(**cfg) -> Session:
    return await Session(LabConfig(**{"difficulty": 6, **cfg})).start()


def _line_with(text: str, needle: str) -> str:
    return next(x for x in text.splitlines() if needle in x)


def test_tree_shows_a_tie_as_a_tie_with_the_nodes_on_each_side():
    async def go():
        s = await _session()
        try:
            for line in ("mode step", "mine A as a1", "mine B as b1", "run until quiet"):
                assert (await s.execute(line)).ok
            tree = (await s.execute("tree")).text
            a1, b1 = (short_hex(s.lab.resolve(x).hash) for x in ("a1", "b1"))
            sides = {}
            for h in (a1, b1):
                line = _line_with(tree, h)
                assert "less work" not in line and "most work" not in line and "tie" in line
                sides[h] = {n for n, node in s.lab.nodes.items() if short_hex(node.state.chain.tip.hash) == h}
            tie = _line_with(tree, "tie:")
            for h, names in sides.items():
                assert f"{' '.join(sorted(names))} on 1 {h}" in tie
            # one more block ends the tie: the other branch has less work now
            assert (await s.execute("mine C")).ok and (await s.execute("run until quiet")).ok
            tree = (await s.execute("tree")).text
            assert "tie" not in tree and "most work" in tree
        finally:
            await s.close()

    run(go())


def test_splits_come_from_the_peer_graph_whatever_made_them():
    from lab.repl.toolbar import Toolbar

    async def go():
        s = await _session(nodes=4, topology="line")
        try:
            bar = Toolbar()
            bar.refresh(s)
            assert "⚭ connected" in bar.text
            assert "groups: A,B,C,D (all connected)" in (await s.execute("status")).text
            # lesson 1 step 3's way: a disconnect, no `partition`
            assert (await s.execute("disconnect C D")).ok
            assert "groups: A,B,C | D" in (await s.execute("status")).text
            bar.refresh(s)
            assert "split A,B,C | D" in bar.text and "connected" not in bar.text
            assert (await s.execute("connect C D")).ok
            # a stopped node in the middle of a line splits it too
            assert (await s.execute("stop B")).ok
            status = (await s.execute("status")).text
            assert "groups: C,D | A" in status and "stopped: B" in status
            bar.refresh(s)
            assert "split C,D | A" in bar.text
        finally:
            await s.close()

    run(go())


def test_merged_lines_keep_each_nodes_arrival_time_in_causal_order():
    from lab.render.narration import fmt_time

    async def go():
        s = await _session(nodes=5, topology="ring")
        try:
            for line in ("relay inv", "mode step", "mine A as b1"):
                assert (await s.execute(line)).ok
            text = (await s.execute("run until quiet")).text
            b1 = s.lab.resolve("b1").hash
            merged = _line_with(text, f"accepted block 1 {short_hex(b1)}")
            arrivals = s.lab.queries.arrivals(b1)
            assert len({t for n, t in arrivals.items() if n != "A"}) > 1  # they did not arrive at once
            for name, t in arrivals.items():
                if name != "A":
                    assert f"{name} {fmt_time(t)}" in merged
            # a reorg is told before the new tip it causes
            await s.execute("mode auto")
            for line in ("partition A,B | C,D,E", "mine A", "mine C 2", "mode step", "heal"):
                assert (await s.execute(line)).ok
            lines = (await s.execute("run until quiet")).text.splitlines()
            for name in "AB":
                reorg = next(i for i, x in enumerate(lines) if f"{name} reorganised" in x)
                tip = next(i for i, x in enumerate(lines)
                           if "new tip" in x and name in x.split(" accepted")[0].replace(",", " ").split())
                assert reorg < tip
        finally:
            await s.close()

    run(go())



def test_lesson_12_needs_a_real_double_spend_and_shows_the_way_back():
    from lab.commands.lesson_runner import SessionRunner
    from lab.lessons.loader import find_lesson
    from lab.lessons.session import LessonSession

    async def story():
        s = Session()
        try:
            runner = SessionRunner(s)
            lesson = LessonSession(find_lesson("double-spend"), runner)
            await lesson.start(step=0)

            async def learner(line: str):
                return await lesson.after_command(line, await runner.execute(line))

            await learner("partition A,B | C,D")
            await learner("send A B 30 as pay")
            assert lesson.index == 1
            # the original report: a second payment of other coins, no `conflicting pay`
            await learner("send A D 30 via C as twin")
            assert lesson.index == 1, "two payments of different coins are not a double spend"
            hint = (await lesson.hint()).text
            assert "`conflict pay twin`" in hint and "different coins" in hint
            assert "`reset` starts this step again" in hint
            await lesson.reset()
            reply = await learner("send A D 30 via C conflicting pay as twin")
            assert reply.reached and lesson.index == 2
            pay, twin = (s.lab.txs[s.lab.resolve(x).hash] for x in ("pay", "twin"))
            assert {i.prevout for i in pay.inputs} & {i.prevout for i in twin.inputs}
        finally:
            await s.close()

    run(story())


def test_the_smaller_things_a_class_notices(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from lab.cli import main
    from lab.commands.lesson_cli import lessons_listing
    from lab.render.style import Styler
    from lab.repl.app import banner

    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path))

    async def go():
        s = await _session()
        try:
            await s.execute("mine A 4")
            # plurals
            assert "1 transaction\n" in (await s.execute("block 1")).text + "\n"
            # a bad amount: one message, one example
            bad = await s.execute("send A B 1e3")
            assert not bad.ok and bad.text.count("e.g.") + bad.text.count("like") == 1
            # -5 and 0: the same rule
            neg, zero = (await s.execute("send A B -5")), (await s.execute("send A B 0"))
            assert neg.text.replace("-5", "N") == zero.text.replace("0 coins", "N coins")
            # the seed range
            assert "0..4294967295" in (await s.execute("seed 4294967296")).text
            # a label cannot shadow a block hash
            mined = await s.execute("mine A as ff60c0")
            assert not mined.ok and "hash prefix" in mined.text
            # ports only where asked
            assert "127.0.0.1" not in (await s.execute("nodes")).text
            assert "127.0.0.1:" in (await s.execute("nodes --ports")).text
            # the toolbar's glyphs are explained
            assert "● ▲ ■" in (await s.execute("help toolbar")).text
            for line in ("mode step", "mine A as x1", "mine B as y1", "run until quiet"):
                await s.execute(line)
            assert "tips (as the toolbar marks them" in (await s.execute("status")).text
            # a truncated list ends in an ellipsis
            for line in ("mode auto", "partition A,B | C,D", "mine A 7", "mine C 9", "heal"):
                assert (await s.execute(line)).ok
            stale = (await s.execute("check stale > 100")).text
            assert ", …)" in stale
            # inside a lesson: the banner tells the lesson's lab; setup is one line
            opened = (await s.execute("lesson 8")).text
            assert "Set up for you: `mine A 20`." in opened and "mined block" not in opened
            await s.execute("lesson 1")
            assert "5 nodes (ring)" in banner(s, Styler())
        finally:
            await s.close()

    run(go())
    assert "0<=x<=4294967295" in CliRunner().invoke(main, ["--help"]).output.replace("\n", " ").replace(" ", "")
    assert any("`lab lesson 1`" in line for line in lessons_listing())


def test_no_color_or_plain_prompt_has_no_bold_or_reverse():
    from prompt_toolkit.styles import Attrs

    from lab.repl.style import PlainAttributes, build_mono_style

    bold_reverse = Attrs(color=None, bgcolor=None, bold=True, underline=True, strike=False, italic=True,
                         blink=False, reverse=True, hidden=False, dim=False)
    plain = PlainAttributes().transform_attrs(bold_reverse)
    assert not (plain.bold or plain.underline or plain.italic or plain.reverse)
    toolbar = build_mono_style().get_attrs_for_style_str("class:bottom-toolbar")
    assert not toolbar.reverse and not toolbar.bold


def test_an_exact_duration_reads_back_as_the_same_microseconds():
    """An interrupted `run` is recorded as the virtual time it ran, in words `run` reads back exactly."""
    from lab.commands.parse import exact_duration, parse_duration

    for us in (0, 1, 999, 1_000, 1_500_000, 60_000_000, 7_200_000_000, 308_597_922, 3_599_999_999_999):
        assert parse_duration(exact_duration(us)) == us, us
    assert exact_duration(90_000_000) == "90s" and exact_duration(7_200_000_000) == "2h"
