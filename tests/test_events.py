"""Typed events: one log, counts and facts as queries over it, narration rendered from it."""

from __future__ import annotations

import asyncio

from labtest import lab_session

from lab import events as ev
from lab.render.events import sentence
from lab.render.narration import Merged, merge


def test_counts_and_facts_are_queries_over_typed_events():
    async def story():
        async with lab_session(nodes=4, topology="line", seed=3, difficulty=6) as (lab, _):
            mark = len(lab.log)
            await lab.mine("A")
            await lab.settle()
            block = lab.nodes["A"].state.chain.tip.hash
            records = lab.log[mark:]
            mined = [r.event for r in records if isinstance(r.event, ev.BlockMined)]
            assert [(e.node, e.block, e.height) for e in mined] == [("A", block, 1)]
            # who first told whom, and when: along the line A-B-C-D
            stored = {r.event.node: (r.event.peer, r.time) for r in lab.log.of(ev.BlockStored) if r.event.block == block}
            assert {n: p for n, (p, _) in stored.items()} == {"A": None, "B": "A", "C": "B", "D": "C"}
            assert stored["A"][1] < stored["B"][1] < stored["C"][1] < stored["D"][1]
            assert lab.propagation_time(block) == stored["D"][1] - stored["A"][1]
            # one line per block, each node's own arrival time kept in the data
            merged = [x for x in merge(records) if isinstance(x, Merged)]
            assert len(merged) == 1 and merged[0].arrivals == [(n, stored[n][1]) for n in "BCD"]
            assert sentence(mined[0]).startswith("A mined block 1 ")
            assert all(sentence(r) is None for r in records if isinstance(r.event, ev.BlockStored))

            await lab.partition([["A", "B"], ["C", "D"]])
            await lab.mine("B")
            await lab.mine("C", 2)
            await lab.heal()
            await lab.settle()
            reorgs = lab.log.of(ev.Reorg)
            assert lab.reorg_counts == {n: sum(1 for r in reorgs if r.event.node == n) for n in lab.nodes}
            assert lab.reorg_counts["A"] == lab.reorg_counts["B"] == 1
            assert all(len(r.event.adopted) == 2 and len(r.event.dropped) == 1 for r in reorgs)

    asyncio.run(story())


def test_every_event_class_has_a_sentence_template_and_a_kind():
    """Adding an event (docs/ARCHITECTURE.md) means a template too: narration must never meet an unknown type."""
    from lab import attack_events as av
    from lab.render.events import _TEMPLATES

    classes = [c for mod in (ev, av) for c in vars(mod).values()
               if isinstance(c, type) and issubclass(c, ev._Event) and c is not ev._Event and c.__module__ == mod.__name__]
    assert len(classes) > 30
    assert [c.__name__ for c in classes if c not in _TEMPLATES] == []
    assert all(isinstance(c.kind, str) and c.kind for c in classes)  # shared on purpose: rejected headers are "block-rejected"


def test_an_event_is_a_frozen_value_that_survives_copy_and_pickle():
    """Events are values: built by position or name, equal by fields, immutable, and a copied or
    pickled log (a saved or snapshot lab) holds equal events."""
    import copy
    import dataclasses
    import pickle

    import pytest

    mined = ev.BlockMined("A", b"\x01" * 32, 7, b"\x02" * 32, n_tx=3, reward=50, fees=0)
    assert mined == ev.BlockMined(node="A", block=b"\x01" * 32, height=7, parent=b"\x02" * 32, n_tx=3, reward=50, fees=0)
    assert mined != ev.BlockMined("B", b"\x01" * 32, 7, b"\x02" * 32, 3, 50, 0) and mined != "A"
    assert repr(ev.StillBusy(2)) == "StillBusy(mined=2, node=None)"  # a default, in field order
    assert ev.Record(0, 0, mined).data["height"] == 7
    for twin in (copy.copy(mined), copy.deepcopy(mined), pickle.loads(pickle.dumps(mined))):
        assert twin == mined and hash(twin) == hash(mined) and type(twin) is ev.BlockMined
    with pytest.raises(dataclasses.FrozenInstanceError):
        mined.height = 8  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del mined.node  # type: ignore[misc]
    with pytest.raises(TypeError):
        ev.BlockMined("A")  # type: ignore[call-arg]
