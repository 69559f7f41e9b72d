"""Stories of the attacker's seat, each played through the command language on real nodes.

A hand-played selfish race; a 51 % double spend reversed after z
confirmations; an eclipse double spend by an attacker with under 30 % of the
hashrate. After each, `heal` (and the attacker back to honest) leaves every
honest node on the most-work chain with identical UTXO sets, and no honest
payment is lost.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from labtest import lab_session, run_ok

from lab.attack_events import BlocksPublished, BlockWithheld, StrategyMove
from lab.commands.session import Session
from lab.events import TxAccepted

sys.path.insert(0, str(Path(__file__).parent.parent / "robust"))  # the invariants' helpers
from robustkit import converged_problems, internal_errors, lost_transactions  # noqa: E402


async def ok(s: Session, line: str) -> str:
    return (await run_ok(s, line)).text


async def fails(s: Session, line: str) -> str:
    out = await s.execute(line)
    assert out.check_failed or not out.ok, f"{line!r} held:\n{out.text}"
    return out.text


def honest_payments(s: Session) -> set[bytes]:
    """Every transaction an honest node accepted into its mempool (the attacker's own left out)."""
    lab = s.need_lab()
    return {r.event.tx for r in lab.log.of(TxAccepted)}


async def converged(s: Session, attackers: tuple[str, ...], payments: set[bytes]) -> None:
    lab = s.need_lab()
    for a in attackers:
        if lab.attack.withholds(a):
            await ok(s, f"withhold {a} off")
    await ok(s, "heal")
    await ok(s, "run until quiet")
    await ok(s, "check same-tip")
    assert converged_problems(lab) == []
    assert lost_transactions(lab, payments) == []
    assert internal_errors(lab, s) == []


def story(nodes: int, body) -> None:
    async def go() -> None:
        async with lab_session(nodes=nodes, difficulty=8, seed=7) as (_, s):
            await body(s)

    asyncio.run(go())


def test_a_hand_played_selfish_race_ends_in_a_tie_the_network_settles():
    async def body(s: Session) -> None:
        lab = s.need_lab()
        await ok(s, "mine A")
        await ok(s, "withhold E on")
        await ok(s, "mine E")  # E is one block ahead, in private
        await ok(s, "check withheld E == 1")
        await ok(s, "check same-tip A,B,C,D")  # nobody else has seen it
        assert lab.node("A").state.chain.height == 1 and lab.node("E").state.chain.height == 2
        await ok(s, "mine A")  # the public chain catches up: E publishes to race
        await ok(s, "publish E")
        await ok(s, "check withheld E == 0")
        await ok(s, "check forked")  # a tie: some nodes on A's block, E on its own
        await ok(s, "mine E")  # E finds the next block first...
        text = await ok(s, "publish E")  # ...and wins the race: its branch is longer
        assert "reorganised" in text
        await ok(s, "check same-tip")
        await ok(s, "check share E >= 0.5")
        published = lab.log.of(BlocksPublished)
        assert [len(r.event.blocks) for r in published] == [1, 1]
        await converged(s, ("E",), honest_payments(s))

    story(5, body)


def test_selfish_strategy_moves_are_eyal_and_sirers():
    async def body(s: Session) -> None:
        lab = s.need_lab()
        await ok(s, "strategy E selfish")
        await ok(s, "mine E")
        await ok(s, "mine E")  # lead 2, all private
        await ok(s, "check withheld E == 2")
        await ok(s, "mine A")  # lead falls to 1: E publishes all and wins
        moves = [r.event.rule for r in lab.log.of(StrategyMove)]
        assert moves == ["withhold", "withhold", "override"], moves
        await ok(s, "check withheld E == 0")
        await ok(s, "check same-tip")
        await ok(s, "check share E > 0.6")
        assert len(lab.log.of(BlockWithheld)) == 2
        await converged(s, ("E",), honest_payments(s))

    story(5, body)


def test_a_51_percent_double_spend_is_reversed_after_z_confirmations():
    async def body(s: Session) -> None:
        await ok(s, "mine E 4")  # the attacker has mature coins
        await ok(s, "withhold E on")
        await ok(s, "send E D 10 as pay via B")  # the merchant D is paid in public
        await ok(s, "send E E 10 conflicting pay as steal")  # the same coins, kept private
        await ok(s, "mine E")  # E's private chain starts before pay confirms
        z = 3
        await ok(s, f"mine A {z}")
        await ok(s, "check confirmed pay on D")  # the merchant sees z confirmations and ships
        await ok(s, f"mine E {z + 1}")  # with most of the hashrate, E outpaces the network
        await ok(s, f"check withheld E == {z + 2}")
        await fails(s, "check reversed pay on D")
        await ok(s, "publish E")
        await ok(s, "check reversed pay on D")
        await ok(s, "check confirmed steal")
        await ok(s, "check reversed pay")
        payments = honest_payments(s) - {s.need_lab().resolve("pay").hash}
        await converged(s, ("E",), payments)

    story(5, body)


def test_an_eclipse_double_spend_with_under_30_percent_of_the_hashrate():
    async def body(s: Session) -> None:
        lab = s.need_lab()
        await ok(s, "mine E 4")  # the attacker has mature coins
        await ok(s, "hashrate D 0%")  # the victim is a merchant, not a miner
        await ok(s, "hashrate E 20%")
        await ok(s, "eclipse D by E")
        await ok(s, "check peers D == 1")
        await fails(s, "connect D A")  # nobody else may connect to the victim
        await ok(s, "withhold E on")
        await ok(s, "send E D 10 as pay")  # kept private, for E's own chain
        await ok(s, "mine E")  # E's first block, on the victim's tip, holds it
        await ok(s, "send E C 10 conflicting pay as steal via A")  # the same coins, to everyone else
        await ok(s, "check mempool A contains steal")
        await fails(s, "check mempool D contains steal")  # E relays D only its own
        await ok(s, "autominer on 1m")
        e, a = lab.node("E"), lab.node("A")

        def private_height() -> int:
            return e.state.chain.index[next(reversed(e.relay.withheld))].height

        for _ in range(60):  # E finds a fifth of the blocks: until it holds three, the others ahead
            if len(e.relay.withheld) >= 3 and a.state.chain.height > private_height():
                break
            await ok(s, "run 2m")
        await ok(s, "autominer off")
        await ok(s, "run until quiet")
        shares = lab.hashrate
        assert shares["E"] / sum(shares.values()) < 0.3
        await ok(s, "check withheld E >= 3")
        await ok(s, "publish E")  # the public chain is longer and ignores E's; D knows no other
        await ok(s, "check confirmed pay on D")
        await ok(s, "check confirmed steal on A")
        await converged(s, ("E",), honest_payments(s) - {lab.resolve("pay").hash})
        await ok(s, "check reversed pay on D")

    story(5, body)
