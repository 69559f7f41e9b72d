"""A running lab frozen into bytes and thawed again: how `load` brings back a big lab quickly.

Replaying a lab's record (lab/commands/saving.py) rebuilds it exactly but
costs what the commands cost the first time: seconds for 10,000 blocks. A
snapshot is the lab's own objects as they stand between two commands (block
trees, chain states, mempools, wallets, peers' protocol state, frames in
flight, the scheduler's queue, every random generator, the event log),
written with Python's `pickle` and read back in a fraction of that time.
Only the parts that belong to the operating system are left out: listening
sockets and the TCP connections of lab links. Thawing opens new ones (new
ports; nothing the lab prints depends on a port) and gives each link's two
ends their old protocol state.

Safety and versions:
- A snapshot is only ever read by the lab code that wrote it: it carries a
  fingerprint of the lab's source files, and any other build of the lab
  replays the record instead (slower, same lab).
- And only on the installation that wrote it: it carries an HMAC-SHA256
  under a random key kept in the lab's state folder. A save from anyone
  else (a classmate, an instructor's scenario, a file made by hand) is
  brought back by replaying its record, which runs only lab commands.
- Even so the unpickler builds only the classes of the lab's state, a few
  standard containers and `random.Random`, and looks a method up only on
  such an object whose class defines it.
- A lab is frozen only when it is quiet enough to be: not in a class, no
  outsider connected, every frame written on a lab link already read by its
  receiver. Otherwise `freeze` returns None and the save holds the record alone.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import hashlib
import hmac
import io
import os
import pickle
import secrets
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from lab.chain.blockindex import BlockIndex
from lab.errors import LabError
from lab.world.snapcodec import Reader, link, writer

if TYPE_CHECKING:
    from lab.world.lab import Lab

MAGIC = b"blockchain-lab snapshot 1\n"
QUIET_WAIT = 2.0  # wall seconds to wait for lab links' bytes to be read before giving up on a snapshot


TAG_HEX = 64  # HMAC-SHA256, in hex, on the line after the fingerprint
MAX_INFLATE = 64  # a real snapshot inflates ~3x: more than this is not one
KEY_FILE = "snapshot.key"  # in the lab's state folder, beside lesson progress


def _key(create: bool) -> bytes | None:
    """This installation's secret (32 random bytes, readable by its user only), made on first use."""
    from lab.lessons.progress import state_dir

    path = state_dir() / KEY_FILE
    try:
        key = path.read_bytes()
        return key if len(key) == 32 else None
    except FileNotFoundError:
        if not create:
            return None
    except OSError:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made at the same moment by another lab
        return _key(create=False)
    except OSError:
        return None
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
    return _key(create=False)


def _tag(body: bytes | memoryview, create: bool = False) -> str | None:
    """HMAC-SHA256 of a snapshot's body under this installation's key (with the build's fingerprint).

    Only a snapshot this installation wrote is unpickled: the lab's own methods are a large
    surface (an endless proof-of-work search is one call away), so a save made elsewhere,
    or by hand, is brought back by replaying its record, never by thawing it.
    """
    key = _key(create)
    if key is None:
        return None
    return hmac.new(key, fingerprint().encode() + b"\n" + bytes(body), hashlib.sha256).hexdigest()


class SnapshotError(Exception):
    """A snapshot that cannot be thawed here (another build, damaged): the caller replays instead."""


# -- the build it belongs to -----------------------------------------------------------------
@functools.cache
def fingerprint() -> str:
    """SHA-256 of every source file of the `lab` package (path and bytes), in path order."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    files = sorted(root.rglob("*.py"))
    if not files:  # installed without its sources: no way to tell builds apart, so no snapshots
        return ""
    for path in files:
        rel = path.relative_to(root).as_posix()
        h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


async def _links_read(lab: Lab) -> bool:
    """Wait until every frame written on a lab link has been read off its socket (they are in this process)
    and no event is half run (live mode: the clock's pump may be in the middle of one)."""
    deadline = time.monotonic() + QUIET_WAIT
    while True:
        behind = lab.sched.running is not None
        for node in lab.nodes.values():
            for peer in node.peers.values():
                conn = peer.conn
                twin = conn.twin
                if not conn.lab_link or conn.closed or twin is None:
                    continue
                if conn.received < twin.sent or conn.frames.partial:
                    behind = True
        if not behind:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.001)


def _freezable(lab: Lab) -> bool:
    if lab.classroom is not None or lab.closed:
        return False
    for node in lab.nodes.values():
        for peer in node.peers.values():
            if not peer.closed and (not peer.lab_link or peer.conn.twin is None or peer.conn._waiters):
                return False
    return True


async def freeze(lab: Lab) -> bytes | None:
    """The lab as bytes, or None when it cannot be frozen now (see the module docstring)."""
    if not fingerprint() or not _freezable(lab) or not await _links_read(lab) or not _freezable(lab):
        return None
    # From here on nothing awaits: the lab is written as it stands, and the caller reads its
    # digest and trees before it awaits anything (live mode moves on whenever it gets a turn).
    mining, log = lab.mining, lab.log
    kept = (list(log.listeners), mining.deadline, mining.limit_seconds, mining.report, log.pinned)
    log.listeners.clear()  # the REPL's narrator, a class's front: they follow whichever lab is current
    mining.deadline = mining.limit_seconds = mining.report = None  # the running script's, not the lab's
    log.pinned = None  # held for the `save` command's own narration, as every command holds it
    try:
        # Every block-tree node first, lowest first: each one's parent is then already written,
        # so pickling never recurses down a chain 10,000 blocks long.
        # Their children are written as one empty list (each node's children are the nodes whose
        # parent it is: `_link` rebuilds them), so the pickler never follows a chain down either, and
        # a block-tree node is written by pickle's own C code.
        entries = [idx for node in lab.nodes.values()
                   for idx in sorted(node.state.chain.index.values(), key=lambda i: i.height)]
        children = [idx.children for idx in entries]
        none: list[BlockIndex] = []
        buf = io.BytesIO()
        collecting = gc.isenabled()
        gc.disable()  # writing makes no cyclic garbage; a full collection midway would only rescan the lab
        try:
            for idx in entries:
                idx.children = none
            writer(buf).dump((entries, lab, time.monotonic()))
        finally:
            for idx, kids in zip(entries, children, strict=True):
                idx.children = kids
            if collecting:
                gc.enable()
        # zlib at its fastest level: a third of the size (less to checksum, write and read) for ~0.1 s a 10,000-block lab
        body = zlib.compress(buf.getbuffer(), 1)
        tag = _tag(body, create=True)
        if tag is None:  # no key can be kept here (a read-only state folder): the save holds the record alone
            return None
        return MAGIC + fingerprint().encode() + b"\n" + tag.encode() + b"\n" + body
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError, ValueError):
        return None
    finally:
        log.listeners[:] = kept[0]
        mining.deadline, mining.limit_seconds, mining.report, log.pinned = kept[1:]


def _rebase_discouragement(lab: Lab, shift: float) -> None:
    """Outsider hosts are discouraged until a time of the wall clock's monotonic count, which starts
    anew with each boot: the time left when the lab was saved is the time left now."""
    for node in lab.nodes.values():
        d = node.discouraged
        if d.clock is time.monotonic:
            for host in d.hosts:
                d.hosts[host] += shift


async def thaw(blob: bytes, host: str) -> Lab:
    """A running lab from `freeze`'s bytes: new sockets, old state. SnapshotError if it is not ours."""
    from lab.world.lab import Lab

    head = MAGIC + fingerprint().encode() + b"\n"
    if not fingerprint():
        raise SnapshotError("this lab was installed without its sources")
    if not blob.startswith(MAGIC):
        raise SnapshotError("not a lab snapshot")
    if not blob.startswith(head):
        raise SnapshotError("made by another build of the lab")
    tag, body = bytes(blob[len(head):len(head) + TAG_HEX]), memoryview(blob)[len(head) + TAG_HEX + 1:]
    mine = _tag(body, create=False)
    if mine is None or not hmac.compare_digest(tag, mine.encode()):
        raise SnapshotError("not written by this installation of the lab")
    try:
        unzip = zlib.decompressobj()
        raw = unzip.decompress(body, MAX_INFLATE * len(body) + (1 << 20))
        if unzip.unconsumed_tail or not unzip.eof:
            raise SnapshotError("damaged")
    except zlib.error:
        raise SnapshotError("damaged") from None
    reader = Reader(io.BytesIO(raw))
    collecting = gc.isenabled()
    gc.disable()  # a million objects arrive at once, none of them garbage: the collector would only rescan them
    try:
        entries, lab, then = reader.load()
        link(entries)
        if not isinstance(lab, Lab) or not isinstance(then, float):
            raise SnapshotError("holds no lab")
        _rebase_discouragement(lab, time.monotonic() - then)
    except SnapshotError:
        raise
    except Exception as e:  # a damaged or hostile blob: whatever pickle raises, nothing runs
        raise SnapshotError(f"unreadable ({type(e).__name__})") from None
    finally:
        if collecting:
            gc.enable()
    try:
        await lab.reopen(host)
    except (OSError, LabError) as e:  # out of ports or file descriptors: one line, and the replay is tried
        await lab.close()
        raise SnapshotError(f"its sockets could not be opened ({e})") from None
    return lab
