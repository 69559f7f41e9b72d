"""The save file: a whole lab in one SQLite database (docs/SAVEFILE.md).

SQLite because it is in Python's standard library, keeps everything in one
file, and a curious learner can open a save with the `sqlite3` tool and read
it with SQL. This module is only the container: it stores what the lab hands
it and gives back exactly that, as plain data. Which sections a lab writes,
and how it rebuilds itself from them, is the lab's business.

    meta(key, value)                     format, lab version, seed, ... and two checksums
    section(name, kind, body)            opaque sections: kind "json" (readable text) or "bytes"
    block(hash, raw)                     every block once, as Bitcoin's raw bytes (blk*.dat)
    node_block(node, seq, hash, status)  each node's block tree, in the order it learned them

The database carries `PRAGMA application_id` (so a save is told apart from
any other SQLite file) and `PRAGMA user_version` (the format version).

Two checksums in `meta` make any damage visible:
- `content_sha256` covers every value in every table (everything but itself
  and `file_sha256`), in a fixed order.
- `file_sha256` covers every byte of the file. It cannot hash itself, so the
  file is hashed with a stand-in in its place (a hash of the content
  checksum: it occurs nowhere else) and the stand-in is then replaced by the
  result. Loading swaps it back and hashes again. A byte changed anywhere,
  even in space SQLite does not use, is caught.

Saving builds the database in memory, then writes it to a temporary file in
the same folder, flushes it to disk (fsync) and renames it over the old file
(`os.replace`, atomic): a crash or a full disk leaves the old save as it was.
Loading reads the file once and never writes: it refuses a missing,
truncated, damaged, foreign or newer file with one `SaveFileError` line.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from lab import __version__
from lab.chain.crypto import sha256d
from lab.errors import CommandError

FORMAT_VERSION = 1  # PRAGMA user_version; raise it when the layout changes, and document it
APPLICATION_ID = 0x424C4142  # PRAGMA application_id: the bytes "BLAB" at file offset 68
SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database
HEADER_BYTES = 100  # SQLite's database header
HEADER_BYTES_BLOCK = 80  # a Bitcoin block header; a block's hash is sha256d of these
RESERVED_META = ("format", "lab_version", "created", "content_sha256", "file_sha256")

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE section (name TEXT PRIMARY KEY, kind TEXT NOT NULL, body BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE block (hash BLOB PRIMARY KEY, raw BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE node_block (
    node TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, status TEXT NOT NULL,
    PRIMARY KEY (node, seq)
) WITHOUT ROWID;
"""
TABLES = ("block", "meta", "node_block", "section")
_INT_PREFIX = (8).to_bytes(8, "big")  # in the content hash, the length prefix of an integer value

Json = Any  # a value json.dumps accepts: dict, list, str, int, float, bool, None


class SaveFileError(CommandError):
    """A save file cannot be written or read; the lab and the old file are unchanged."""


class TreeEntry(NamedTuple):
    """One block a node knows, in the order it learned of it (realname: a CBlockIndex entry)."""

    hash: bytes  # 32 bytes, internal byte order (as in the raw bytes)
    status: str  # the lab's word for it, e.g. "valid", "header", "invalid bad-txns-..."


@dataclass(frozen=True)
class SaveData:
    """What a save holds, as plain data: what the lab writes and what `load_save` returns."""

    meta: dict[str, str] = field(default_factory=dict)  # e.g. seed, lesson; not the RESERVED_META keys
    # bytes stay bytes; the rest goes through JSON and comes back as JSON gives it (lists, str keys)
    sections: dict[str, Json | bytes] = field(default_factory=dict)
    blocks: dict[bytes, bytes] = field(default_factory=dict)  # block hash -> raw block (or its 80-byte header)
    trees: dict[str, tuple[TreeEntry, ...]] = field(default_factory=dict)  # node name -> its block tree


@dataclass(frozen=True)
class SavedLab:
    """A loaded save: the container's own facts, and the data."""

    format: int  # the file's format version
    lab_version: str  # the lab that wrote it
    created: str  # when, ISO 8601 UTC (wall clock, for people; nothing replays it)
    content_sha256: str  # sha256 over every value stored (docs/SAVEFILE.md says in which order)
    data: SaveData


# --- saving -------------------------------------------------------------------------------


def save_lab(path: str | os.PathLike[str], data: SaveData, *, created: str | None = None) -> SavedLab:
    """Write `data` to `path` atomically; the old file survives any failure."""
    p = Path(path)
    if p.exists() and not p.is_file():
        raise SaveFileError(f"could not save to '{p}': it is a folder, a device or a pipe, not a file",
                            "`save` to a file name, e.g. `save my.lab`")
    raw, info = encode(data, created=created)
    try:
        atomic_write(p, raw)
    except OSError as e:
        raise SaveFileError(
            f"could not save to '{p}': {e.strerror or e}",
            "the old file is unchanged; free some space or `save` to another file",
        ) from None
    return info


def encode(data: SaveData, *, created: str | None = None, page_size: int = 4096) -> tuple[bytes, SavedLab]:
    """The bytes of a save file holding `data` (no file is touched); SQLite pages of `page_size` bytes."""
    _check(data)
    meta = {**data.meta, "format": str(FORMAT_VERSION), "lab_version": __version__}
    meta["created"] = created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sections = {name: _section_body(value) for name, value in data.sections.items()}
    content = _content_hash(meta, sections, data.blocks, data.trees)
    stand_in = _stand_in(content)
    db = sqlite3.connect(":memory:")
    try:
        db.execute(f"PRAGMA page_size = {int(page_size)}")
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("content_sha256", content), ("file_sha256", stand_in)])
        db.executemany("INSERT INTO section VALUES (?, ?, ?)", [(n, k, b) for n, (k, b) in sorted(sections.items())])
        db.executemany("INSERT INTO block VALUES (?, ?)", sorted(data.blocks.items()))
        db.executemany(
            "INSERT INTO node_block VALUES (?, ?, ?, ?)",
            [(node, seq, e.hash, e.status) for node, tree in sorted(data.trees.items()) for seq, e in enumerate(tree)],
        )
        db.commit()
        raw = db.serialize()
    finally:
        db.close()
    if raw.count(stand_in.encode()) != 1:  # cannot happen: the stand-in is a fresh hash
        raise SaveFileError("could not save: the file checksum has no unique place", "save again")
    file_hash = hashlib.sha256(raw).hexdigest()
    raw = raw.replace(stand_in.encode(), file_hash.encode())
    info = SavedLab(FORMAT_VERSION, __version__, meta["created"], content, data)
    return raw, info


def atomic_write(path: Path, raw: bytes) -> None:
    """Write a temp file beside `path`, fsync it, rename it over `path`: all or nothing.

    Only a regular file is replaced: renaming over a device (`/dev/null`, as root), a pipe or a
    folder would put a file in its place, so that raises OSError instead and nothing is written.
    """
    if path.exists() and not path.is_file():
        raise OSError(errno.EINVAL, "it is not a regular file (a folder, a device or a pipe)")
    directory = path.parent
    mode = path.stat().st_mode & 0o777 if path.is_file() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        try:
            if hasattr(os, "fchmod"):  # POSIX; on Windows the new file keeps the default mode
                os.fchmod(fd, mode)
            _write_all(fd, raw)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(directory)


def _write_all(fd: int, raw: bytes) -> None:
    view = memoryview(raw)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # a file system that takes nothing and reports no error: treat it as full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); best effort where folders cannot be opened."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _check(data: SaveData) -> None:
    """Refuse data the container cannot store faithfully: a bug in the caller, not the learner."""
    for key, value in data.meta.items():
        if key in RESERVED_META or not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"meta {key!r}: keys are str and not one of {RESERVED_META}, values str")
    for block_hash, raw in data.blocks.items():
        if sha256d(raw[:HEADER_BYTES_BLOCK]) != block_hash:
            raise ValueError(f"block {block_hash.hex()}: the hash is not sha256d of its first 80 bytes")
    for node, tree in data.trees.items():
        for e in tree:
            if e.hash not in data.blocks:
                raise ValueError(f"node {node!r}: block {e.hash.hex()} is not among the saved blocks")


def _section_body(value: Json | bytes) -> tuple[str, str | bytes]:
    if isinstance(value, bytes | bytearray | memoryview):
        return "bytes", bytes(value)
    return "json", json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _content_hash(
    meta: Mapping[str, str],
    sections: Mapping[str, tuple[str, str | bytes]],
    blocks: Mapping[bytes, bytes],
    trees: Mapping[str, Sequence[TreeEntry]],
) -> str:
    """sha256 over every stored value, each length-prefixed, tables and rows in a fixed order.

    A value is its 8-byte big-endian length then its bytes (text as UTF-8,
    an integer as 8 bytes big-endian); each table starts with its name.
    """
    h = hashlib.sha256(_lp(b"meta"))
    h.update(b"".join(_lp(key.encode()) + _lp(meta[key].encode()) for key in sorted(meta)))
    h.update(_lp(b"section"))
    for name in sorted(sections):
        kind, body = sections[name]
        h.update(_lp(name.encode()) + _lp(kind.encode()) + _lp(body.encode() if isinstance(body, str) else body))
    h.update(_lp(b"block"))
    for block_hash in sorted(blocks):
        h.update(_lp(block_hash) + _lp(blocks[block_hash]))
    h.update(_lp(b"node_block"))
    statuses: dict[str, bytes] = {}  # a handful of distinct words: encode each once
    for node in sorted(trees):
        prefix = _lp(node.encode()) + _INT_PREFIX
        h.update(
            b"".join(
                prefix
                + seq.to_bytes(8, "big")
                + _lp(e.hash)
                + (statuses.get(e.status) or statuses.setdefault(e.status, _lp(e.status.encode())))
                for seq, e in enumerate(trees[node])
            )
        )
    return h.hexdigest()


def _lp(value: bytes) -> bytes:
    return len(value).to_bytes(8, "big") + value


def _stand_in(content_hash: str) -> str:
    """What `file_sha256` holds while the file is hashed: 64 hex digits found nowhere else."""
    return hashlib.sha256(b"blockchain-lab file_sha256 stand-in " + content_hash.encode()).hexdigest()


# --- loading ------------------------------------------------------------------------------


def load_save(path: str | os.PathLike[str]) -> SavedLab:
    """Read a save. Raises SaveFileError (one line, what to do instead); never writes."""
    p = Path(path)
    try:
        # Without blocking: opening a pipe with no writer would wait for one forever
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError
            if not stat.S_ISREG(info.st_mode):
                raise SaveFileError(f"'{p}' is not a save file: not a regular file (a device or a pipe)",
                                    "give a file that `save FILE` made")
            size = info.st_size
            head = f.read(HEADER_BYTES)
            _check_header(head, size, str(p))  # a film or a disk image is refused unread
            raw = head + f.read()
    except FileNotFoundError:
        raise SaveFileError(f"no save file '{p}'", "check the name; `save FILE` makes one") from None
    except IsADirectoryError:
        raise SaveFileError(f"'{p}' is a folder, not a save file", "give the file inside it") from None
    except OSError as e:
        raise SaveFileError(f"cannot read '{p}': {e.strerror or e}", "check the file's permissions") from None
    return decode(raw, str(p))


def decode(raw: bytes, name: str = "the save") -> SavedLab:
    """Check and read the bytes of a save file (see load_save)."""
    _check_header(raw[:HEADER_BYTES], len(raw), name)
    db = sqlite3.connect(":memory:")
    try:
        db.deserialize(raw)
        return _read(db, raw, name)
    except SaveFileError:
        raise
    except (sqlite3.Error, ValueError, TypeError, KeyError, AttributeError, OverflowError) as e:
        raise _damaged(name, f"SQLite cannot read it ({e})") from None
    finally:
        db.close()


def _damaged(name: str, why: str) -> SaveFileError:
    return SaveFileError(f"'{name}' is damaged: {why}", "load an older save, or `save` again from a running lab")


def _check_header(head: bytes, size: int, name: str) -> None:
    """Tell truncated, foreign and newer files apart by the 100-byte SQLite header and the size."""
    truncated = "load an older save, or `save` again from a running lab"
    if not size:
        raise SaveFileError(f"'{name}' is empty: the save did not finish", truncated)
    if head[:16] != SQLITE_MAGIC[: len(head)]:
        if head[68:72] == APPLICATION_ID.to_bytes(4, "big"):
            raise _damaged(name, "its first bytes are not SQLite's")
        raise SaveFileError(f"'{name}' is not a lab save (not an SQLite file)", "`save FILE` makes one")
    if len(head) < HEADER_BYTES:
        raise SaveFileError(f"'{name}' is truncated: {size} bytes, cut inside the header", truncated)
    app_id = int.from_bytes(head[68:72], "big")
    if app_id != APPLICATION_ID:
        raise SaveFileError(
            f"'{name}' is an SQLite file from another program (application_id {app_id:#x}), not a lab save",
            "`save FILE` makes one",
        )
    version = int.from_bytes(head[60:64], "big")
    if version > FORMAT_VERSION:
        raise SaveFileError(
            f"'{name}' was saved by a newer lab (format {version}; this lab {__version__} reads up to {FORMAT_VERSION})",
            "upgrade with `pip install -U blockchain-lab`",
        )
    if version < 1:
        raise _damaged(name, f"format version {version}")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        raise _damaged(name, f"page size {page_size} in its header")
    expected = int.from_bytes(head[28:32], "big") * page_size
    if size < expected:
        raise SaveFileError(f"'{name}' is truncated: {size} of {expected} bytes", truncated)
    if size != expected:
        raise _damaged(name, f"{size} bytes where its header says {expected}")


def _read(db: sqlite3.Connection, raw: bytes, name: str) -> SavedLab:
    meta = dict(db.execute("SELECT key, value FROM meta"))
    for key in RESERVED_META:
        if not isinstance(meta.get(key), str):
            raise _damaged(name, f"meta has no {key}")
    content, file_hash = meta.pop("content_sha256"), meta.pop("file_sha256")
    if len(file_hash) != 64 or raw.count(file_hash.encode()) != 1:
        raise _damaged(name, "its file checksum is missing")
    if hashlib.sha256(raw.replace(file_hash.encode(), _stand_in(content).encode())).hexdigest() != file_hash:
        raise _damaged(name, "its bytes do not match its checksum")
    # From here the bytes are the ones `encode` wrote; what follows guards against a hand-made file.
    tables = sorted(r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'"))
    if tables != list(TABLES) or meta["format"] != str(FORMAT_VERSION):
        raise _damaged(name, f"unexpected tables {tables} for format {meta['format']}")
    sections: dict[str, tuple[str, str | bytes]] = {}
    for sname, kind, body in db.execute("SELECT name, kind, body FROM section"):
        if (kind, type(body)) not in (("json", str), ("bytes", bytes)):
            raise _damaged(name, f"section {sname!r} has kind {kind!r} and a {type(body).__name__} body")
        sections[sname] = (kind, body)
    blocks = dict(db.execute("SELECT hash, raw FROM block"))
    trees: dict[str, list[TreeEntry]] = {}
    for node, _seq, block_hash, status in db.execute("SELECT * FROM node_block ORDER BY node, seq"):
        trees.setdefault(node, []).append(TreeEntry(block_hash, status))
    if _content_hash(meta, sections, blocks, trees) != content:
        raise _damaged(name, "its contents do not match their checksum")
    for block_hash, block_raw in blocks.items():
        if sha256d(block_raw[:HEADER_BYTES_BLOCK]) != block_hash:
            raise _damaged(name, f"block {block_hash[::-1].hex()} does not hash to its name")
    data = SaveData(
        meta={k: v for k, v in meta.items() if k not in RESERVED_META},
        sections={n: body if kind == "bytes" else json.loads(body) for n, (kind, body) in sections.items()},
        blocks=blocks,
        trees={node: tuple(tree) for node, tree in trees.items()},
    )
    return SavedLab(int(meta["format"]), meta["lab_version"], meta["created"], content, data)
