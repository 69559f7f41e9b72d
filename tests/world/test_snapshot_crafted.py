"""A save whose frozen state holds the lab's own objects wired wrong (signed here: a save from anyone
else is replayed, never thawed), as a bug in the lab or in its state could make one. `load` must then say one line or replay the
record, and keep no half-checked lab behind (its sockets, the collector's frozen generation).
"""

from __future__ import annotations

import gc
import io
import os
import zlib
from pathlib import Path

import pytest
from labtest import run
from test_persist import FAST, say, started

from lab.world import snapcodec, snapshot
from lab.world.savefile import load_save, save_lab


@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path_factory.mktemp("state")))


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def _recraft(path: Path, change) -> None:
    """Read the save's objects with the lab's own code, change them, write them back signed with this
    installation's key (a save from anyone else is never thawed: this is the lab's own state gone wrong)."""
    data = load_save(path).data
    head = snapshot.MAGIC + snapshot.fingerprint().encode() + b"\n"
    body = data.sections["snapshot"][len(head) + snapshot.TAG_HEX + 1:]
    entries, lab, then = snapcodec.Reader(io.BytesIO(zlib.decompress(body))).load()
    snapcodec.link(entries)
    change(lab)
    buf = io.BytesIO()
    snapcodec.writer(buf).dump((entries, lab, then))
    body = zlib.compress(buf.getvalue())
    data.sections["snapshot"] = head + snapshot._tag(body).encode() + b"\n" + body
    save_lab(path, data)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc")
def test_a_thawed_lab_the_checks_cannot_read_is_closed_and_the_record_replayed(tmp_path: Path) -> None:
    async def story() -> None:
        s = await started(**FAST)
        try:
            await say(s, "mine A 2")
            path = tmp_path / "x.lab"
            assert (await s.execute(f"save {path}")).ok
            digest = await say(s, "digest")
        finally:
            await s.close()

        def unreadable(lab) -> None:
            lab.nodes["B"].state.mempool.entries = 5  # the digest cannot list B's mempool

        _recraft(path, unreadable)
        s = await started()
        try:
            frozen_before = gc.get_freeze_count()
            opened = _open_files()
            for _ in range(3):
                out = await s.execute(f"load {path}")
                assert out.ok and "replayed" in out.text, out.text
            assert await say(s, "digest") == digest
            assert _open_files() == opened  # the thawed labs' sockets were closed
            assert gc.get_freeze_count() <= frozen_before
            assert not s.internal_errors
        finally:
            await s.close()

    run(story())
