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
import collections
import copyreg
import dataclasses
import functools
import gc
import hashlib
import hmac
import io
import itertools
import operator
import os
import pickle
import random
import secrets
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab.chain.blockindex import BlockIndex
from lab.errors import LabError
from lab.event_class import _Event
from lab.events import Record
from lab.world.log import EventLog

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


# -- what is not pickled -----------------------------------------------------------------------
def _none(obj: object) -> tuple[Any, tuple[()]]:
    return (_nothing, ())


def _nothing() -> None:
    return None


def _os_types() -> list[type]:
    """Objects of the event loop and the operating system: pickled as None, made anew on thaw."""
    import asyncio.base_events
    import asyncio.selector_events
    found: list[type] = [asyncio.base_events.Server,
                         asyncio.selector_events._SelectorSocketTransport,  # type: ignore[attr-defined]
                         asyncio.Future, asyncio.Task, asyncio.TimerHandle, asyncio.Handle]
    try:
        import asyncio.sslproto
        found.append(asyncio.sslproto._SSLProtocolTransport)
    except (ImportError, AttributeError):  # pragma: no cover - every CPython 3.11+ has it
        pass
    return found


def _log_state(log: EventLog) -> tuple[Any, ...]:
    """The event log in columns: each event type's field values as tuples, and which type each record is.

    80,000 records written one by one cost more than the rest of a 4-node, 10,000-block lab;
    as columns, made by C-level getters, they are a few lists of plain values.
    """
    records = log._records
    types: dict[type, int] = {}
    groups: list[list[Any]] = []
    kinds = []
    for r in records:
        event = r[2]
        k = types.get(type(event))
        if k is None:
            k = types[type(event)] = len(groups)
            groups.append([])
        groups[k].append(event)
        kinds.append(k)
    columns: list[tuple[type, int, list[Any]]] = []
    for cls, events in zip(types, groups, strict=True):
        slots: tuple[str, ...] = getattr(cls, "__slots__", ())
        if not slots:
            columns.append((cls, len(events), []))
            continue
        get = operator.attrgetter(*slots)
        values = list(map(get, events)) if len(slots) > 1 else [(v,) for v in map(get, events)]
        columns.append((cls, len(events), values))
    state = {k: v for k, v in vars(log).items() if k not in ("_records", "_by_type")}
    packed = (state, [r[1] for r in records], bytes(kinds) if len(types) < 256 else kinds, columns)
    # made empty first and filled by a setter: the log is in the pickle's memo before its state is
    # written, so whatever in that state leads back to the log (read models' hooks) refers to it
    return (_new_log, (), packed, None, None, _fill_log)


def _new_log() -> EventLog:
    return EventLog.__new__(EventLog)


_SETTERS: dict[type, tuple[Any, ...]] = {}


def _rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    """A frozen dataclass back from its field values (its own __setstate__ is ~3x slower).

    Sets the slots through their descriptors, as the dataclass's own __init__ does with
    object.__setattr__; raises TypeError for anything but a dataclass with these fields.
    """
    setters = _SETTERS.get(cls)
    if setters is None:
        setters = _SETTERS[cls] = tuple(getattr(cls, f.name).__set__ for f in dataclasses.fields(cls))
    obj: Any = object.__new__(cls)
    for put, value in zip(setters, values, strict=True):
        put(obj, value)
    return obj


def _same(obj: Any) -> Any:
    return obj


def _fast_reducer(cls: type, shared: dict[Any, Any] | None = None, key: Any = None) -> Any:
    """Pickle `cls` as its field values; with `shared`, equal values (same `key`) are written once.

    Two nodes that hold the same block hold two equal, immutable objects: the thawed lab
    shares one, which halves what a save of a synchronised network writes and reads.
    """
    names = tuple(f.name for f in dataclasses.fields(cls))
    get = operator.attrgetter(*names)
    one = len(names) == 1

    def reduce(obj: Any) -> Any:
        if shared is not None:
            first = shared.setdefault(key(obj), obj)
            if first is not obj:
                return (_same, (first,))
        return (_rebuild, (cls, (get(obj),) if one else get(obj)))

    return reduce


def _frozen_classes() -> list[type]:
    """Every frozen, slotted dataclass of the lab's loaded modules (transactions, headers, coins...)."""
    found = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("lab.") or module is None:
            continue
        for cls in vars(module).values():
            if (isinstance(cls, type) and cls.__module__ == name and dataclasses.is_dataclass(cls)
                    and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
                    and "__slots__" in vars(cls) and "__reduce__" not in vars(cls) and dataclasses.fields(cls)):
                found.append(cls)
    return found


def _writer(buf: io.BytesIO) -> pickle.Pickler:
    from lab.chain.block import Block, BlockHeader
    from lab.chain.tx import OutPoint, Tx, TxOut
    from lab.chain.utxo import Coin

    table = copyreg.dispatch_table.copy()
    for t in _os_types():
        table[t] = _none
    table[EventLog] = _log_state
    # Equal keys are equal bytes: a header by its hash, a transaction by its txid (no witness here),
    # a block by its hash and its txids (a mutated block, CVE-2012-2459, shares its header's hash)
    # Coins and their parts are equal values in every node's UTXO set: shared by value.
    sharing: dict[type, Callable[[Any], Any]] = {
        Block: lambda b: (b.hash, tuple(t.txid for t in b.txs)), BlockHeader: lambda h: h.hash,
        Tx: lambda t: t.txid, OutPoint: operator.attrgetter("txid", "index"),
        TxOut: operator.attrgetter("value", "script_pubkey"),
        Coin: operator.attrgetter("height", "coinbase", "out.value", "out.script_pubkey")}
    for cls in _frozen_classes():
        key = sharing.get(cls)
        table[cls] = _fast_reducer(cls, {} if key is not None else None, key)
    writer = pickle.Pickler(buf, protocol=5)
    writer.dispatch_table = table
    return writer


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
            _writer(buf).dump((entries, lab))
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


# -- reading -------------------------------------------------------------------------------------------
def _fill_log(log: EventLog, packed: Any) -> None:
    """An EventLog from `_log_state`'s columns: each event built by its own __init__, the index by type anew."""
    state, times, kinds, columns = packed
    if type(log) is not EventLog or not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise pickle.UnpicklingError("not an event log")
    vars(log).update(state)
    made = []
    for cls, count, values in columns:
        if not (isinstance(cls, type) and issubclass(cls, _Event)):
            raise pickle.UnpicklingError("not an event type")
        made.append(iter(list(itertools.starmap(cls, values)) if cls.__slots__ else [cls() for _ in range(count)]))
    base = log._base
    new = tuple.__new__
    records: list[Record] = [new(Record, (base + i, t, next(made[k])))
                             for i, (t, k) in enumerate(zip(times, kinds, strict=True))]
    by_type: dict[type, list[Record]] = {}
    for r in records:
        by_type.setdefault(type(r[2]), []).append(r)
    log._records, log._by_type = records, by_type


_STD: dict[tuple[str, str], Any] = {
    ("collections", "deque"): collections.deque,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("collections", "defaultdict"): collections.defaultdict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "complex"): complex,
    ("builtins", "slice"): slice,
    ("random", "Random"): random.Random,
    ("functools", "partial"): functools.partial,
    ("copyreg", "_reconstructor"): copyreg._reconstructor,  # type: ignore[attr-defined]
    ("builtins", "object"): object,
    ("time", "monotonic"): time.monotonic,
}


# Where the classes of a lab's state live. Nothing in them reads or writes files, so the classes a
# snapshot may build, and the methods it may look up on them, cannot touch the learner's disk.
_STATE_MODULES = ("lab.chain.", "lab.net.", "lab.world.", "lab.events", "lab.attack_events", "lab.sched",
                  "lab.classroom.events")
_NOT_STATE = ("lab.world.snapshot", "lab.world.savefile", "lab.world.persist")  # the keeping, not the kept


def _safe_getattr(obj: object, name: str) -> Any:
    """A bound method of a lab object (what pickle stores for `self.on_timer` and the like), nothing else."""
    cls = type(obj)
    if not cls.__module__.startswith(_STATE_MODULES) or name.startswith("__") or not callable(getattr(cls, name, None)):
        raise pickle.UnpicklingError(f"not a method of a lab object: {cls.__name__}.{name}")
    return getattr(obj, name)


class _Reader(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("lab.world.snapshot", "_new_log"):
            return _new_log
        if (module, name) == ("lab.world.snapshot", "_fill_log"):
            return _fill_log
        if (module, name) == ("lab.world.snapshot", "_nothing"):
            return _nothing
        if (module, name) == ("lab.world.snapshot", "_rebuild"):
            return _rebuild
        if (module, name) == ("lab.world.snapshot", "_same"):
            return _same
        if (module, name) == ("builtins", "getattr"):
            return _safe_getattr
        if module == "lab.net.connection" and name in ("LAB", "LIVE"):
            return super().find_class(module, name)
        std = _STD.get((module, name))
        if std is not None:
            return std
        if module.startswith(_STATE_MODULES) and module not in _NOT_STATE and "." not in name:
            found = super().find_class(module, name)
            if isinstance(found, type) and found.__module__ == module:
                return found
        raise pickle.UnpicklingError(f"a snapshot may not hold {module}.{name}")



def _link(entries: list[BlockIndex]) -> None:
    """Every block-tree node's children again: written empty (see `freeze`), rebuilt from the parents in
    the order the headers arrived, which is the order `ChainState.accept_header` appended them in."""
    if not isinstance(entries, list) or not all(type(idx) is BlockIndex for idx in entries):
        raise pickle.UnpicklingError("not a block tree")
    for idx in entries:
        idx.children = []
    for idx in sorted(entries, key=operator.attrgetter("header_seq")):
        if idx.parent is not None:
            idx.parent.children.append(idx)


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
    reader = _Reader(io.BytesIO(raw))
    collecting = gc.isenabled()
    gc.disable()  # a million objects arrive at once, none of them garbage: the collector would only rescan them
    try:
        entries, lab = reader.load()
        _link(entries)
        if not isinstance(lab, Lab):
            raise SnapshotError("holds no lab")
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
