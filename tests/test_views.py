"""The views a learner reads: frames in flight, one frame decoded, the fork tree, explain, diff."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from labtest import lab_session, run, run_ok

from lab.chain.crypto import hash_hex
from lab.commands.session import Session
from lab.lab import Lab


def _session(**cfg) -> AbstractAsyncContextManager[tuple[Lab, Session]]:
    return lab_session(**{"difficulty": 6, **cfg})


def test_step_mode_queue_msg_and_drop():
    async def go():
        async with _session(nodes=3, topology="line") as (_, s):
            await run_ok(s, "relay inv")
            await run_ok(s, "mode step")
            await run_ok(s, "mine A")
            queue = (await s.execute("queue")).text
            assert "A -> B" in queue and "inv" in queue
            fid = next(f.id for f in s.lab.fabric.in_flight())
            shown = (await s.execute(f"msg {fid}")).text
            assert "magic fabfb5da" in shown and "command 'inv'" in shown
            assert "00000000  fa bf b5 da" in shown  # the real bytes, as a hex dump
            assert "block:" in shown
            await run_ok(s, f"drop {fid}")
            assert s.lab.nodes["B"].state.chain.tip.height == 0
            assert "Nothing in flight" in (await s.execute("queue")).text
            out = await s.execute("drop 999")
            assert not out.ok and "queue" in out.text  # one line, plus what to type instead

    run(go())


def test_tree_marks_tips_the_most_work_chain_and_stale_blocks():
    async def go():
        async with _session() as (_, s):
            for line in ("mine A 2", "partition A,B | C,D", "mine A", "mine C 2", "heal"):
                await run_ok(s, line)
            tree = (await s.execute("tree")).text
            stale = s.lab.stale_blocks()
            assert len(stale) == 1
            stale_line = next(x for x in tree.splitlines() if hash_hex(stale[0]).lstrip("0")[:6] in x)
            assert "(stale)" in stale_line and "├─" in stale_line
            best = s.lab.nodes["A"].state.chain.tip
            best_line = next(x for x in tree.splitlines() if hash_hex(best.hash).lstrip("0")[:6] in x)
            assert "A B C D" in best_line and "most work" in best_line

    run(go())


def test_explain_and_diff_say_why_in_words():
    async def go():
        async with _session() as (_, s):
            for line in ("mine A", "partition A,B | C,D", "mine A", "mine C 2"):
                await run_ok(s, line)
            explain = (await s.execute("explain A")).text
            assert "more work" in explain and "partition A,B" in explain
            diff = (await s.execute("diff A C")).text
            assert "common ancestor: 1" in diff
            assert "only on A: 2" in diff and "only on C: 2" in diff

    run(go())


def test_bad_input_gets_one_line_and_a_suggestion_and_nothing_is_lost():
    async def go():
        async with _session() as (_, s):
            await run_ok(s, "mine A 4")
            for bad, hint in [("mnie A", "did you mean `mine`"), ("mine Q", "nodes are A, B, C, D"),
                              ("send A B lots", "amounts are coins"), ("latency A B fast", "durations look like"),
                              ("check heigth A > 1", "did you mean `height`"), ("send A B 1000", "spendable")]:
                out = await s.execute(bad)
                assert not out.ok and hint in out.text, (bad, out.text)
                assert len(out.text.splitlines()) <= 2
            assert s.lab.nodes["A"].state.chain.tip.height == 4
            assert s.internal_errors == []

    run(go())
