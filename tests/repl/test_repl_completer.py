"""Tab completion comes from the registry and the live lab: commands, node names, sub-words."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from labtest import run_ok
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from repl_helpers import new_session

from lab.repl.completer import LabCompleter, usage_hints


def fake_session(nodes=("A", "B", "C", "D"), labels=("pay1", "LAST_TX")):
    node = SimpleNamespace(online=True, state=SimpleNamespace(chain=SimpleNamespace(tip=SimpleNamespace(height=0))))
    lab = SimpleNamespace(nodes={n: node for n in nodes}, labels={k: None for k in labels})
    return SimpleNamespace(lab=lab, lesson=None)


def complete(text: str, session=None) -> list[str]:
    c = LabCompleter(lambda: session or fake_session())
    return [x.text for x in c.get_completions(Document(text), CompleteEvent(completion_requested=True))]


def test_the_first_word_completes_to_commands():
    assert complete("mi") == ["mine"]
    assert {"mine", "mempool", "mode", "send", "partition"} <= set(complete(""))
    assert "exit" in complete("ex")  # aliases too


def test_node_arguments_complete_to_the_live_node_names():
    assert complete("mine ") == ["A", "B", "C", "D"]
    assert complete("send A ") == ["A", "B", "C", "D"]
    assert complete("mine b") == ["B"]  # case-insensitive, completed to the node's name
    assert complete("mine ", fake_session(nodes=("ALICE", "BOB"))) == ["ALICE", "BOB"]
    assert complete("mine al", fake_session(nodes=("ALICE", "BOB"))) == ["ALICE"]


def test_sub_words_come_from_the_registry_hints():
    assert complete("mode ") == ["auto", "step", "live"]
    assert complete("mode s") == ["step"]
    assert complete("topology r") == ["ring", "random"]
    assert complete("autominer o") == ["on", "off"]
    assert "mine" in complete("help m")


def test_options_after_the_positional_arguments():
    assert complete("mine A ") == ["as"]
    assert complete("mine A as ") == []  # a new name: nothing to offer
    assert complete("send A B 5 ") == ["as", "fee"]
    assert complete("block 3 on ") == ["A", "B", "C", "D"]


def test_groups_and_arrows_complete_node_after_node():
    assert complete("partition A,") == ["A,B", "A,C", "A,D"]
    assert complete("partition A,B | C") == ["C"]
    assert complete("cut A -> ") == ["A", "B", "C", "D"]


def test_check_completes_predicates_then_their_arguments():
    preds = complete("check ")
    assert "same-tip" in preds and "height" in preds and "not" in preds
    assert complete("check not fo") == ["forked"]
    assert complete("check height ") == ["A", "B", "C", "D"]
    assert complete("check height A ") == ["==", "!=", ">=", "<=", ">", "<"]
    assert complete("check mempool A ") == ["contains", "size"]
    assert complete("check mempool A contains ") == ["LAST_TX", "pay1"]
    assert complete("check tip A ") == ["=="]
    assert complete("check confirmed pay1 ") == ["on"]


def test_usage_hints_pick_the_alternative_that_fits():
    usage = "mempool NODE contains NAME | mempool NODE size OP N"
    assert usage_hints(usage, []) == ["node"]
    assert usage_hints(usage, ["A", "size"]) == ["op"]
    assert usage_hints(usage, ["A", "contains"]) == ["label"]


def test_forge_rules_complete():
    assert "double-spend" in complete("forge A ")
    assert complete("forge A bad-s") == ["bad-signature"]


def test_no_completion_inside_a_comment_or_after_an_unknown_command():
    assert complete("mine A # ") == []
    assert complete("frobnicate ") == []


def test_the_command_after_a_semicolon_completes_afresh():
    assert complete("mine A; mo") == ["mode"]
    assert complete("mine A; mine ") == ["A", "B", "C", "D"]


def test_labels_and_added_nodes_of_a_real_lab():
    async def go():
        async with new_session() as (_, s):
            await run_ok(s, "mine A as fork_a; add-node ALICE")
            return complete("block ", s), complete("mine al", s)

    labels, nodes = asyncio.run(go())
    assert "fork_a" in labels and "LAST_BLOCK" in labels
    assert nodes == ["ALICE"]


def test_lesson_ids_complete_after_lesson():
    async def go():
        async with new_session() as (_, s):  # a Session registers the lesson commands too
            return complete("lesson ", s), complete("lesson po", s)

    every, some = asyncio.run(go())
    assert "network" in every and "pow" in every
    assert some == ["pow"]
