"""The attacker's commands and predicates: contract syntax, clear refusals, typed events, replay."""

from __future__ import annotations

import asyncio

from labtest import lab_session

from lab.attack_events import (
    BlocksPublished,
    Eclipsed,
    EclipseEnded,
    StrategySet,
    TxWithheld,
    WithholdSet,
)


def play(lines: list[str], nodes: int = 4, seed: int = 3):
    async def go():
        async with lab_session(nodes=nodes, difficulty=8, seed=seed) as (_, s):
            outs = [await s.execute(line) for line in lines]
            return outs, list(s.need_lab().log)

    return asyncio.run(go())


def test_bad_input_gets_one_clear_line_and_what_to_type():
    outs, _ = play(["withhold Z on", "withhold A maybe", "publish A", "publish A x", "strategy A greedy",
                    "eclipse A A", "eclipse A by", "eclipse A by A", "withhold A off", "check share A > 2",
                    "check withheld A >= x", "check reversed nothing"])
    for out in outs:
        assert not out.ok or out.check_failed, out.text
        assert out.text.strip(), "a refusal says something"
        assert "Traceback" not in out.text
    assert "there is no node 'Z'" in outs[0].text
    assert "withholds no blocks" in outs[2].text and "withhold A on" in outs[2].text
    assert "cannot eclipse itself" in outs[7].text


def test_each_move_is_a_typed_event():
    _, log = play(["withhold A on", "send A B 1", "mine A 4", "send A B 1 as priv", "publish A 2",
                   "withhold A off", "strategy B selfish", "strategy B honest", "eclipse C by A,B", "heal"])
    kinds = [type(r.event) for r in log]
    for t in (WithholdSet, TxWithheld, BlocksPublished, StrategySet, Eclipsed, EclipseEnded):
        assert t in kinds, t
    published = [r.event for r in log if type(r.event) is BlocksPublished]
    assert [len(e.blocks) for e in published] == [2, 2]  # two by hand, the rest when withholding ends


def test_a_private_payment_stays_private_until_withholding_ends():
    outs, log = play(["mine A 4", "withhold A on", "send A B 5 as priv", "check not mempool A contains priv",
                      "check not mempool B contains priv", "mine A", "check not confirmed priv on B",
                      "withhold A off", "check confirmed priv on B", "check same-tip"])
    assert all(o.ok and not o.check_failed for o in outs), "\n".join(o.text for o in outs)


def test_eclipse_refuses_other_links_until_heal():
    outs, _ = play(["eclipse D by A", "check peers D == 1", "connect D B", "heal", "check peers D == 3"])
    assert outs[1].ok and not outs[1].check_failed
    assert not outs[2].ok and "eclipsed by A" in outs[2].text and "heal" in outs[2].text
    assert not outs[4].check_failed


def test_same_seed_same_script_same_bytes():
    script = ["hashrate D 40", "strategy D selfish", "autominer on 1m", "run 2h", "autominer off",
              "run until quiet", "check share D > 0.1", "tree"]
    first, _ = play(script, seed=5)
    again, _ = play(script, seed=5)
    assert [o.text for o in first] == [o.text for o in again]


def test_a_private_chain_behind_the_public_one_still_takes_private_payments():
    # A's private block 5; the public chain overtakes it; a payment A makes now goes into
    # A's next private block, checked against the coins as they stand on A's own branch.
    outs, log = play(["mine A 4", "withhold A on", "mine A", "mine B 2", "check height A == 6",
                      "send A C 5 as late", "mine A 2", "check withheld A == 3", "publish A",
                      "check confirmed late on C", "check same-tip"])
    assert all(o.ok and not o.check_failed for o in outs), "\n".join(o.text for o in outs)
