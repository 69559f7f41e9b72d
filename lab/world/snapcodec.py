"""How a lab's objects are written and read back for a snapshot (lab/world/snapshot.py).

Writing: pickle's own C code for most objects, with a few reducers where it
matters (the event log in columns; frozen values as their fields, and equal
ones, which every node holds a copy of, once; block-tree nodes without their
children, rebuilt from the parents on reading). What belongs to the event loop
or the operating system is written as None.

Reading: an unpickler that builds only the classes of a lab's state and a few
standard containers, and looks a method up only on such an object.
"""

from __future__ import annotations

import collections
import copyreg
import dataclasses
import functools
import io
import itertools
import operator
import pickle
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from lab.chain.blockindex import BlockIndex
from lab.event_class import _Event
from lab.events import Record
from lab.world.log import EventLog


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


def writer(buf: io.BytesIO) -> pickle.Pickler:
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
_NOT_STATE = ("lab.world.snapshot", "lab.world.snapcodec", "lab.world.savefile", "lab.world.persist")  # the keeping, not the kept


def _safe_getattr(obj: object, name: str) -> Any:
    """A bound method of a lab object (what pickle stores for `self.on_timer` and the like), nothing else."""
    cls = type(obj)
    if not cls.__module__.startswith(_STATE_MODULES) or name.startswith("__") or not callable(getattr(cls, name, None)):
        raise pickle.UnpicklingError(f"not a method of a lab object: {cls.__name__}.{name}")
    return getattr(obj, name)


# The writer's own helpers, and getattr (how pickle writes a bound method) as its safe stand-in.
_OWN: dict[tuple[str, str], Any] = {
    **{(__name__, f.__name__): f for f in (_new_log, _fill_log, _nothing, _rebuild, _same)},
    ("builtins", "getattr"): _safe_getattr,
}


class Reader(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        own = _OWN.get((module, name))
        if own is not None:
            return own
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


def link(entries: list[BlockIndex]) -> None:
    """Every block-tree node's children again: written empty (see `freeze`), rebuilt from the parents in
    the order the headers arrived, which is the order `ChainState.accept_header` appended them in."""
    if not isinstance(entries, list) or not all(type(idx) is BlockIndex for idx in entries):
        raise pickle.UnpicklingError("not a block tree")
    for idx in entries:
        idx.children = []
    for idx in sorted(entries, key=operator.attrgetter("header_seq")):
        if idx.parent is not None:
            idx.parent.children.append(idx)
