"""The `digest` value: same state, same line; any change to a tip, a coin or a mempool, another line."""

from __future__ import annotations

import random
import re

import pytest
from savekit import mine, nodes, relay_all

from lab.world.digest import (
    NodeSnapshot,
    digest_of,
    lab_digest,
    node_digest,
    script_pubkey,
    snapshot,
)

TIP = bytes(range(32))
TXID = [bytes([i]) * 32 for i in range(1, 6)]
P2PKH = bytes.fromhex("76a914") + b"\x11" * 20 + bytes.fromhex("88ac")
UTXOS = [((TXID[0], 0), 5_000, P2PKH), ((TXID[0], 1), 7_000, P2PKH), ((TXID[1], 0), 9_000, P2PKH)]


def node(name: str = "A", tip: bytes = TIP, utxos: list | None = None, mempool: list | None = None) -> NodeSnapshot:
    return NodeSnapshot(name, tip, UTXOS if utxos is None else utxos, [TXID[3], TXID[4]] if mempool is None else mempool)


def test_one_short_hex_line_that_ignores_the_order_sets_are_given_in() -> None:
    line = lab_digest([node("A"), node("B")])
    assert re.fullmatch(r"[0-9a-f]{16}", line)
    rng = random.Random(3)
    for _ in range(5):
        utxos, mempool = UTXOS[:], [TXID[3], TXID[4]]
        rng.shuffle(utxos)
        rng.shuffle(mempool)
        assert lab_digest([node("B", utxos=utxos, mempool=mempool), node("A", utxos=utxos[::-1])]) == line


@pytest.mark.parametrize(
    "changed",
    [
        node(tip=bytes(31) + b"\x01"),  # another tip
        node(utxos=UTXOS[:2]),  # a coin spent
        node(utxos=[*UTXOS, ((TXID[2], 3), 1, P2PKH)]),  # a coin made
        node(utxos=[((TXID[0], 0), 5_001, P2PKH), *UTXOS[1:]]),  # one base unit more
        node(utxos=[((TXID[0], 0), 5_000, P2PKH[:-1] + b"\xac\xac"), *UTXOS[1:]]),  # another lock
        node(utxos=[((TXID[0], 2), 5_000, P2PKH), *UTXOS[1:]]),  # another output index
        node(mempool=[TXID[3]]),  # a tx left the mempool
        node(mempool=[]),
        node(name="Z"),  # the same state on another node
    ],
)
def test_any_change_to_tip_coins_mempool_or_name_gives_another_digest(changed: NodeSnapshot) -> None:
    assert lab_digest([changed, node("B")]) != lab_digest([node("A"), node("B")])


def test_coins_moving_between_nodes_show_even_when_totals_match() -> None:
    both = lab_digest([node("A", utxos=UTXOS[:1]), node("B", utxos=UTXOS[1:])])
    assert lab_digest([node("A", utxos=UTXOS[1:]), node("B", utxos=UTXOS[:1])]) != both
    assert len(node_digest(node())) == 32


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        lab_digest([node("A"), node("A")])
    with pytest.raises(ValueError, match="tip must be 32 bytes"):
        lab_digest([node(tip=b"\x00" * 31)])
    with pytest.raises(ValueError, match="mempool txid"):
        lab_digest([node(mempool=[b"short"])])


# --- on real nodes ---------------------------------------------------------------------------


def test_real_nodes_mining_relaying_and_paying_each_change_the_digest() -> None:
    lab = nodes()
    a, b = lab["A"], lab["B"]
    seen = [digest_of(lab.values())]
    mine(a, 4)  # A's coinbase matures
    seen.append(digest_of(lab.values()))
    relay_all(a, b)
    seen.append(digest_of(lab.values()))
    tx = a.wallet.pay(b.key.pkh, 1_000_000)
    a.accept_tx(tx)
    seen.append(digest_of(lab.values()))
    b.accept_tx(tx)
    seen.append(digest_of(lab.values()))
    assert len(set(seen)) == len(seen)
    assert digest_of(lab.values()) == digest_of(lab.values())  # reading changes nothing
    assert digest_of([b, a]) == seen[-1]  # node order does not matter


def test_the_same_story_twice_gives_the_same_digest() -> None:
    """The digest covers tips, coins and mempools (the issue's contract), not side branches:
    B's own block, orphaned by A's longer chain, leaves B where a B that never mined would be."""

    def story(b_mines_first: int, a_mines: int = 3) -> str:
        lab = nodes()
        mine(lab["B"], b_mines_first)
        mine(lab["A"], a_mines)
        relay_all(lab["A"], lab["B"])
        relay_all(lab["B"], lab["A"])
        return digest_of(lab.values())

    assert story(1) == story(1)
    assert story(1) == story(0)  # the losing branch is not in any tip, coin or mempool
    assert story(4) != story(0)  # B's branch wins: every node's tip and coins differ


def test_a_snapshot_reads_tip_coins_as_p2pkh_scripts_and_mempool() -> None:
    lab = nodes()
    a = lab["A"]
    mine(a, 4)
    tx = a.wallet.pay(lab["B"].key.pkh, 1_000_000)
    a.accept_tx(tx)
    snap = snapshot(a)
    assert snap.name == "A" and snap.tip == a.chain.tip.hash and list(snap.mempool) == [tx.txid]
    scripts = {script for _, _, script in snap.utxos}
    assert bytes.fromhex("76a914") + a.key.pkh + bytes.fromhex("88ac") in scripts  # A's coinbases
    assert all(script_pubkey(c.out) in scripts for _, c in a.chain.utxo.items())
    assert sum(value for _, value, _ in snap.utxos) == a.chain.utxo.total_value()
