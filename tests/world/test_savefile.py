"""The save file: what goes in comes out, a failed save keeps the old file, a bad file is one line."""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from savekit import mine, nodes, relay_all, save_data

from lab.chain.block import Block
from lab.chain.crypto import sha256d
from lab.world import savefile
from lab.world.savefile import (
    APPLICATION_ID,
    FORMAT_VERSION,
    SaveData,
    SaveFileError,
    TreeEntry,
    decode,
    encode,
    load_save,
    save_lab,
)


def forked_lab_data() -> SaveData:
    """A and B mined apart, then B heard A's longer chain: B's tree has a side branch."""
    lab = nodes()
    mine(lab["A"], 6)
    mine(lab["B"], 2)
    relay_all(lab["A"], lab["B"])
    return save_data(lab, clock={"now": 1_500_000, "mode": "auto"}, rng=b"\x00\x01\xfe\xff")


def small_save() -> bytes:
    """A real save, kept small (512-byte pages) so that every byte of it can be flipped in a test."""
    lab = nodes(("A",))
    mine(lab["A"], 1)
    return encode(save_data(lab, clock={"now": 1}), created="2026-01-01T00:00:00Z", page_size=512)[0]


def one_line(e: SaveFileError) -> str:
    text = str(e)
    assert "\n" not in text and e.hint, text
    return text


# --- round trip ---------------------------------------------------------------------------


def test_a_save_loads_back_as_the_same_plain_data(tmp_path: Path) -> None:
    data = forked_lab_data()
    saved = save_lab(tmp_path / "lab.save", data)
    loaded = load_save(tmp_path / "lab.save")
    assert loaded.data == data
    assert (loaded.format, loaded.lab_version, loaded.created) == (FORMAT_VERSION, saved.lab_version, saved.created)
    assert loaded.content_sha256 == saved.content_sha256
    assert loaded.data.sections["rng"] == b"\x00\x01\xfe\xff"  # bytes stay bytes
    side = [e for e in loaded.data.trees["B"] if e.status == "side"]
    assert len(side) == 2  # B's own two blocks, now on a side branch, survive the save


def test_blocks_are_bitcoins_raw_bytes_stored_once_and_readable_with_sqlite(tmp_path: Path) -> None:
    data = forked_lab_data()
    save_lab(tmp_path / "lab.save", data)
    db = sqlite3.connect(tmp_path / "lab.save")
    try:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert db.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION
        meta = dict(db.execute("SELECT key, value FROM meta"))
        assert meta["seed"] == "1" and meta["format"] == str(FORMAT_VERSION)
        shared = db.execute("SELECT count(DISTINCT hash), count(*) FROM node_block").fetchone()
        assert shared[0] < shared[1]  # A and B share blocks; each is stored once
        for block_hash, raw in db.execute("SELECT hash, raw FROM block"):
            block = Block.deserialize(raw)
            assert block.hash == block_hash == sha256d(raw[:80])
        clock = db.execute("SELECT kind, body FROM section WHERE name = 'clock'").fetchone()
        assert clock == ("json", '{"mode":"auto","now":1500000}')
    finally:
        db.close()


def test_encode_refuses_data_it_could_not_give_back() -> None:
    good = forked_lab_data()
    with pytest.raises(ValueError, match="meta"):
        encode(SaveData(meta={"file_sha256": "x"}))
    some_hash, raw = next(iter(good.blocks.items()))
    with pytest.raises(ValueError, match="sha256d"):
        encode(SaveData(blocks={some_hash: raw[:79] + bytes([raw[79] ^ 1]) + raw[80:]}))
    with pytest.raises(ValueError, match="not among the saved blocks"):
        encode(SaveData(trees={"A": (TreeEntry(some_hash, "active"),)}))


# --- atomic save --------------------------------------------------------------------------


def write_old(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "lab.save"
    save_lab(path, SaveData(meta={"seed": "7"}))
    return path, path.read_bytes()


def leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if p.name != "lab.save")


def test_a_full_disk_part_way_through_leaves_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, before = write_old(tmp_path)
    real_write = os.write
    written = []

    def disk_fills_up(fd: int, data: bytes | memoryview) -> int:
        if written:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(fd)
        return real_write(fd, bytes(data)[:1000])  # the first kilobyte fits, then the disk is full

    monkeypatch.setattr(savefile.os, "write", disk_fills_up)
    with pytest.raises(SaveFileError) as e:
        save_lab(path, forked_lab_data())
    assert "No space left on device" in one_line(e.value) and "unchanged" in e.value.hint
    assert path.read_bytes() == before and leftovers(tmp_path) == []


def test_a_file_system_that_takes_nothing_counts_as_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, before = write_old(tmp_path)
    monkeypatch.setattr(savefile.os, "write", lambda fd, data: 0)
    with pytest.raises(SaveFileError, match="No space left"):
        save_lab(path, forked_lab_data())
    assert path.read_bytes() == before and leftovers(tmp_path) == []


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failing_fsync_or_rename_leaves_the_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    path, before = write_old(tmp_path)

    def fails(*args: object) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(savefile.os, step, fails)
    with pytest.raises(SaveFileError) as e:
        save_lab(path, forked_lab_data())
    one_line(e.value)
    assert path.read_bytes() == before and leftovers(tmp_path) == []


def test_a_crash_mid_write_or_a_section_that_raises_leaves_the_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, before = write_old(tmp_path)
    with pytest.raises(TypeError):  # a section the lab could not encode: a bug, raised as is
        save_lab(path, SaveData(sections={"wallets": {"A": object()}}))
    assert path.read_bytes() == before and leftovers(tmp_path) == []

    def interrupted(fd: int, data: bytes | memoryview) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(savefile.os, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_lab(path, forked_lab_data())
    assert path.read_bytes() == before and leftovers(tmp_path) == []


def test_saving_replaces_the_old_file_keeps_its_permissions_and_refuses_bad_places(tmp_path: Path) -> None:
    path, _ = write_old(tmp_path)
    path.chmod(0o640)
    save_lab(path, SaveData(meta={"seed": "8"}))
    assert load_save(path).data.meta == {"seed": "8"} and (path.stat().st_mode & 0o777) == 0o640
    assert leftovers(tmp_path) == []
    with pytest.raises(SaveFileError, match="could not save"):
        save_lab(tmp_path / "no-such-folder" / "lab.save", SaveData())
    (tmp_path / "a-folder").mkdir()
    with pytest.raises(SaveFileError, match="could not save"):
        save_lab(tmp_path / "a-folder", SaveData())


# --- refusing bad files ----------------------------------------------------------------------


def test_missing_folder_and_empty_files_are_one_line_each(tmp_path: Path) -> None:
    with pytest.raises(SaveFileError, match="no save file") as e:
        load_save(tmp_path / "nope.save")
    one_line(e.value)
    with pytest.raises(SaveFileError, match="is a folder"):
        load_save(tmp_path)
    (tmp_path / "empty.save").write_bytes(b"")
    with pytest.raises(SaveFileError, match="empty"):
        load_save(tmp_path / "empty.save")


def test_every_truncation_of_a_small_save_is_refused() -> None:
    raw = small_save()
    for length in range(1, len(raw)):
        with pytest.raises(SaveFileError) as e:
            decode(raw[:length])
        assert "truncated" in one_line(e.value), (length, str(e.value))


def test_every_flipped_byte_of_a_small_save_is_refused_in_one_line() -> None:
    raw = small_save()
    assert decode(raw).data.meta == {"seed": "1"}
    for pos in range(len(raw)):
        bad = bytearray(raw)
        bad[pos] ^= 0xFF
        with pytest.raises(SaveFileError) as e:
            decode(bytes(bad))
        one_line(e.value)


def test_flipped_bytes_at_sampled_positions_of_a_larger_save_are_refused(tmp_path: Path) -> None:
    lab = nodes(("A", "B", "C"))
    mine(lab["A"], 60)
    relay_all(lab["A"], lab["B"])
    path = tmp_path / "big.save"
    save_lab(path, save_data(lab, notes={"text": "x" * 20_000}))
    raw = path.read_bytes()
    assert len(raw) > 40_000
    for pos in range(7, len(raw), len(raw) // 150):
        bad = bytearray(raw)
        bad[pos] ^= 0x01  # a single bit
        path.write_bytes(bytes(bad))
        with pytest.raises(SaveFileError) as e:
            load_save(path)
        assert "damaged" in one_line(e.value) or "newer" in str(e.value) or "another program" in str(e.value)


def test_foreign_files_are_named_as_such(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("save A B C\n" * 20)
    with pytest.raises(SaveFileError, match="not an SQLite file"):
        load_save(text)
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(SaveFileError, match="another program") as e:
        load_save(other)
    one_line(e.value)
    db = sqlite3.connect(other)
    db.execute("PRAGMA application_id = 1095978055")  # another program's id
    db.close()
    with pytest.raises(SaveFileError, match="another program"):
        load_save(other)


def test_a_save_from_a_newer_format_says_to_upgrade(tmp_path: Path) -> None:
    path, _ = write_old(tmp_path)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {FORMAT_VERSION + 1}")
    db.close()
    with pytest.raises(SaveFileError, match="newer lab") as e:
        load_save(path)
    assert "pip install -U" in e.value.hint


def test_a_save_edited_with_sqlite3_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lab.save"
    save_lab(path, forked_lab_data())
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '2' WHERE key = 'seed'")
    db.commit()
    db.close()
    with pytest.raises(SaveFileError, match="damaged"):
        load_save(path)


def test_loading_changes_nothing_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "lab.save"
    save_lab(path, forked_lab_data())
    before = (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(tmp_path)))
    load_save(path)
    load_save(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(tmp_path))) == before


# --- what docs/SAVEFILE.md tells a learner ---------------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "SAVEFILE.md"


def test_a_learner_can_check_both_checksums_from_the_documentation_alone(tmp_path: Path) -> None:
    path = tmp_path / "lab.save"
    save_lab(path, forked_lab_data())
    doc = DOC.read_text()
    assert f"`{APPLICATION_ID}` = `{APPLICATION_ID:#X}`".replace("0X", "0x") in doc
    raw = path.read_bytes()
    db = sqlite3.connect(path)
    meta = dict(db.execute("SELECT key, value FROM meta"))
    tables = {
        "meta": [(k, v) for k, v in sorted(meta.items()) if not k.endswith("_sha256")],
        "section": list(db.execute("SELECT name, kind, body FROM section ORDER BY name")),
        "block": list(db.execute("SELECT hash, raw FROM block ORDER BY hash")),
        "node_block": list(db.execute("SELECT node, seq, hash, status FROM node_block ORDER BY node, seq")),
    }
    db.close()

    def value(v: str | bytes | int) -> bytes:
        b = v.encode() if isinstance(v, str) else v.to_bytes(8, "big") if isinstance(v, int) else v
        return len(b).to_bytes(8, "big") + b

    content = hashlib.sha256()
    for table, rows in tables.items():
        content.update(value(table) + b"".join(value(v) for row in rows for v in row))
    assert content.hexdigest() == meta["content_sha256"]
    assert "blockchain-lab file_sha256 stand-in " in doc
    stand_in = hashlib.sha256(b"blockchain-lab file_sha256 stand-in " + meta["content_sha256"].encode()).hexdigest()
    unfilled = raw.replace(meta["file_sha256"].encode(), stand_in.encode())
    assert hashlib.sha256(unfilled).hexdigest() == meta["file_sha256"]
