"""`load` from the lab's frozen state: the same lab as a replay, in a fraction of the time.

A save holds the lab's objects (lab/world/snapshot.py) beside its record.
`load` thaws them when the save was made by this very build of the lab and
replays the record otherwise. Either way the loaded lab goes on exactly as
the saved one would have; a snapshot that is damaged, hostile or from
another build is never trusted: the record is replayed instead.
"""

from __future__ import annotations

import pickle
import zlib
from pathlib import Path

import pytest
from labtest import run
from test_persist import FAST, continuations, say, started

from lab.world import snapshot
from lab.world.savefile import load_save, save_lab

# Frames in flight, held and lost; auto-miners; a node stopped, started and added;
# links cut, dropped and opened again; relay by announcement.
NETWORK_STORY = [
    "autominer on 30s", "run 2m", "hold A B", "mine A", "loss C D 50", "latency A C 300ms", "run 1m",
    "queue", "stop D", "mine B 2", "start D", "release A B", "add-node E", "run 2m", "autominer off",
    "cut A -> B", "mine A", "disconnect B C", "connect B C", "relay inv", "mode step", "mine C", "queue",
    "step 3", "queue", "mode auto", "send A E 5 as pay", "tree", "mempool E", "log 12", "digest",
]


@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path_factory.mktemp("state")))


def test_the_network_story_continues_byte_for_byte_from_the_frozen_state(tmp_path):
    run(continuations(tmp_path, [], NETWORK_STORY, FAST))


def test_another_build_replays_the_record_and_still_continues_byte_for_byte(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "fingerprint", lambda: "0" * 64)  # as if the lab's code had changed
    run(continuations(tmp_path, [], NETWORK_STORY, FAST, sample=6))


async def _saved(tmp_path: Path) -> tuple[Path, str]:
    s = await started(**FAST)
    try:
        for line in ("mine A 3", "send A B 7 as pay", "hold B C", "mine B"):
            await say(s, line)
        path = tmp_path / "x.lab"
        assert (await s.execute(f"save {path}")).ok
        return path, await say(s, "digest")
    finally:
        await s.close()


def test_a_load_says_it_loaded_the_state_and_brings_back_the_same_lab(tmp_path):
    async def story():
        path, digest = await _saved(tmp_path)
        assert isinstance(load_save(path).data.sections.get("snapshot"), bytes)
        s = await started()
        try:
            out = await s.execute(f"load {path}")
            assert out.ok and "state loaded" in out.text, out.text
            assert await say(s, "digest") == digest
            assert "mine A 3" in await say(s, "history")
        finally:
            await s.close()

    run(story())


class _Boom:
    """What a hostile save would hold: unpickling it runs a command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os
        return (os.system, (f"touch {self.marker}",))


def _signed(body: bytes) -> bytes:
    """A snapshot as this installation writes one (its key signs it), around any body."""
    tag = snapshot._tag(body)
    assert tag is not None
    return snapshot.MAGIC + snapshot.fingerprint().encode() + b"\n" + tag.encode() + b"\n" + body


@pytest.mark.parametrize("blob", ["hostile-signed", "unsigned", "other-installation", "damaged", "foreign",
                                  "inflates-too-much"])
def test_a_snapshot_that_is_not_this_builds_own_is_never_trusted_the_record_is_replayed(tmp_path, blob):
    async def story():
        path, digest = await _saved(tmp_path)
        data = load_save(path).data
        real = data.sections["snapshot"]
        head = snapshot.MAGIC + snapshot.fingerprint().encode() + b"\n"
        marker = tmp_path / "ran"
        hostile = zlib.compress(pickle.dumps(_Boom(marker)))
        data.sections["snapshot"] = {
            # even signed with this installation's key, the unpickler builds none of it
            "hostile-signed": _signed(hostile),
            "unsigned": head + b"0" * 64 + b"\n" + hostile,
            # a save from another machine (another key) is replayed, never thawed
            "other-installation": head + snapshot.hmac.new(b"k" * 32, real, "sha256").hexdigest().encode()
            + real[len(head) + 64:],
            "damaged": real[:-1000],
            "foreign": snapshot.MAGIC + b"f" * 64 + b"\n" + real[len(head):],
            "inflates-too-much": _signed(zlib.compress(bytes(100 << 20))),
        }[blob]
        save_lab(path, data)  # a well-formed save (checksums and all) with that snapshot in it
        s = await started()
        try:
            out = await s.execute(f"load {path}")
            assert out.ok and "replayed" in out.text, out.text
            assert await say(s, "digest") == digest
            assert not marker.exists()
        finally:
            await s.close()

    run(story())


async def _every_save_is_frozen(tmp: Path, first: list[str], lines: list[str], cfg: dict) -> None:
    """A save after every line holds the lab's state (nothing in it that cannot be frozen or thawed)."""
    s = await started(**cfg)
    try:
        for line in first:
            await say(s, line)
        for k, line in enumerate(lines):
            path = tmp / f"{k}.lab"
            assert (await s.execute(f"save {path}")).ok
            blob = load_save(path).data.sections.get("snapshot")
            assert isinstance(blob, bytes), f"no state saved before `{line}`"
            lab = await snapshot.thaw(blob, "127.0.0.1")  # and it thaws (every class in it may be built)
            await lab.close()
            await say(s, line)
    finally:
        await s.close()


def test_every_save_of_the_stories_holds_the_frozen_state(tmp_path):
    from test_persist import ATTACK_STORY, DOUBLE_SPEND_STORY, PARTITION_STORY

    for i, (story, cfg) in enumerate([(NETWORK_STORY, FAST), (ATTACK_STORY, {**FAST, "nodes": 5}),
                                      (DOUBLE_SPEND_STORY, FAST), (PARTITION_STORY, FAST)]):
        (tmp_path / str(i)).mkdir()
        run(_every_save_is_frozen(tmp_path / str(i), [], story, cfg))


def test_every_save_of_every_lesson_holds_the_frozen_state(tmp_path):
    from test_persist import solution_lines

    from lab.lessons.loader import load_all

    for lesson in load_all():
        (tmp_path / lesson.id).mkdir()
        run(_every_save_is_frozen(tmp_path / lesson.id, [f"lesson {lesson.id}"], solution_lines(lesson.id), {}))


def test_a_lab_with_an_outsider_connected_is_saved_by_its_record_and_loads_by_replay(tmp_path):
    import asyncio

    async def story():
        s = await started(**FAST)
        try:
            await say(s, "mine A 2")
            node = s.need_lab().nodes["A"]
            _reader, writer = await asyncio.open_connection("127.0.0.1", node.port)  # a peer outside the lab
            for _ in range(100):
                if any(not p.lab_link for p in node.peers.values()):
                    break
                await asyncio.sleep(0.01)
            path = tmp_path / "x.lab"
            assert (await s.execute(f"save {path}")).ok
            assert load_save(path).data.sections.get("snapshot") is None
            digest = await say(s, "digest")
            writer.close()
            again = await started()
            try:
                out = await again.execute(f"load {path}")
                assert out.ok and "replayed" in out.text, out.text
                assert await say(again, "digest") == digest
            finally:
                await again.close()
        finally:
            await s.close()

    run(story())


def test_a_thawed_lab_has_the_same_event_log_and_its_read_models_read_that_log(tmp_path):
    async def story():
        s = await started(**FAST)
        try:
            for line in ("mine A 2", "partition A,B | C,D", "mine C", "heal", "send A B 3", "mine B"):
                await say(s, line)
            lab = s.need_lab()
            thawed = await snapshot.thaw(await snapshot.freeze(lab), "127.0.0.1")
            try:
                assert [tuple(r) for r in thawed.log] == [tuple(r) for r in lab.log]
                assert thawed.log.next_seq == lab.log.next_seq
                for kind in {type(r.event) for r in lab.log}:
                    assert [tuple(r) for r in thawed.log.of(kind)] == [tuple(r) for r in lab.log.of(kind)]
                assert thawed.queries.log is thawed.log
            finally:
                await thawed.close()
        finally:
            await s.close()

    run(story())
