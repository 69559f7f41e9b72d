"""Issue 16, two gaps: a classmate is paid at the key its own node really uses (named in the roster, not
derived from a shared seed and its name), and a command that would replace the lab refuses while a class is open."""

from __future__ import annotations

import time
from types import SimpleNamespace

from classproc import WAIT, Laptop
from labtest import lab_session, run, run_ok

from lab.chain.crypto import PrivateKey
from lab.classroom.front import give_own_key
from lab.params import DEFAULT_SEED

IN_CLASS = "you are in a class: `class leave` first"


def balance_row(lap: Laptop, name: str) -> dict[str, int]:
    """`balance NAME` on that laptop, as numbers: spendable, maturing, incoming, outgoing, total."""
    out = lap.run(f"balance {name}", "Each node sees its own wallet")
    row = next(line for line in out if line.split()[:1] == [name])
    cells = row.split()[1:6]
    return dict(zip(("spendable", "maturing", "incoming", "outgoing", "total"),
                    (round(float(c) * 10_000) for c in cells), strict=True))


def until_balance(lap: Laptop, name: str, column: str, value: int) -> None:
    """Ask `balance NAME` until its column shows `value` (each answer waited for, not slept on)."""
    deadline = time.monotonic() + WAIT
    while (row := balance_row(lap, name))[column] != value:
        assert time.monotonic() < deadline, f"{name}'s {column} never became {value}: {row}"
        with lap.cond:  # let the class move on: any new line or a tenth of a second
            lap.cond.wait(0.1)


def test_a_student_pays_a_classmate_by_name_at_the_key_its_node_really_uses():
    host, addr, code = Laptop.host()
    laps = [host]
    try:
        alice = Laptop.join(addr, code, "alice")
        laps.append(alice)
        bob = Laptop.join(addr, code, "bob")
        laps.append(bob)
        host.until(lambda r: r["online"] == 3)
        alice.until(lambda r: "BOB" in r["rows"])  # the host's board, with BOB's report, reached ALICE
        alice.run("mine ALICE 4", "mined block")  # the first coinbase matures (3 blocks)
        assert balance_row(bob, "BOB")["incoming"] == 0
        alice.run("send ALICE BOB 3", "transaction")
        # BOB's own wallet, with its own random key, sees the payment arrive
        until_balance(bob, "BOB", "incoming", 3 * 10_000)
        alice.run("mine ALICE", "mined block")
        until_balance(bob, "BOB", "spendable", 3 * 10_000)
        # and BOB, the only one holding that key, spends them
        bob.run("send BOB TEACHER 1", "transaction")
        # a command that would replace the lab refuses, and the class goes on
        assert IN_CLASS in "\n".join(bob.run("reset", IN_CLASS))
        assert bob.roster()["online"] == 3
    finally:
        for lap in laps:
            lap.close()


def test_a_participants_key_is_not_derived_from_the_seed_and_its_name():
    async def story() -> None:
        async with lab_session(nodes=["BOB"], difficulty=6) as (lab, s):
            state = lab.node("BOB").state
            give_own_key(state)
            first = state.wallet.pkh
            assert state.key.pkh == first
            assert first not in {PrivateKey.derive(seed, "BOB").pkh for seed in (lab.seed, DEFAULT_SEED)}
            await run_ok(s, "mine BOB")  # the node mines to its own key
            assert state.wallet.coins()[0].out.script_pubkey.endswith(first + b"\x88\xac")
            give_own_key(state)
            assert state.wallet.pkh != first  # every join draws another

    run(story())


def test_commands_that_replace_the_lab_refuse_while_a_class_is_open(tmp_path):
    async def story() -> None:
        async with lab_session(nodes=2, difficulty=6) as (lab, s):
            await run_ok(s, f"mine A; save {tmp_path / 'a.lab'}")
            room = SimpleNamespace(left=False)
            lab.classroom = room
            for line in ("seed 5", "reset", "lesson 1", "back", f"load {tmp_path / 'a.lab'}"):
                out = await s.execute(line)
                assert not out.ok and out.text.splitlines()[0].endswith(IN_CLASS), (line, out.text)
                assert s.lab is lab and s.lesson is None and lab.classroom is room
            room.left = True  # after `class leave` the lab is the learner's own again
            await run_ok(s, "reset")
            assert s.lab is not lab

    run(story())
