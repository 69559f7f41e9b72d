"""The one event log: every typed event (lab/events.py) with its sequence number and virtual time.

Append-only while a lab lives. Listeners (the REPL's narrator, the bench) are
told of each record as it is appended. Queries over one kind of event read
`of(Type)`, an index kept as records arrive, so a count never scans the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from lab.events import Record
from lab.sched import Scheduler

_new_record = tuple.__new__  # a Record without the Python-level __new__ namedtuple adds: one per event


class EventLog(Sequence[Record]):
    def __init__(self, sched: Scheduler) -> None:
        self._sched = sched  # its `now`: virtual microseconds
        self._records: list[Record] = []
        self._by_type: dict[type, list[Record]] = {}
        self.listeners: list[Callable[[Record], None]] = []
        self.generation = 0  # counts `clear`s, so read models know to start again

    def append(self, event: Any) -> Record:
        rec: Record = _new_record(Record, (len(self._records), self._sched.now, event))
        self._records.append(rec)
        t = type(event)
        bucket = self._by_type.get(t)
        if bucket is None:
            bucket = self._by_type[t] = []
        bucket.append(rec)
        for fn in self.listeners:
            fn(rec)
        return rec

    def of(self, *types: type) -> list[Record]:
        """The records of these event types, in log order."""
        if len(types) == 1:
            return self._by_type.get(types[0], [])
        out = [r for t in types for r in self._by_type.get(t, [])]
        out.sort(key=lambda r: r.seq)
        return out

    def clear(self) -> None:
        self._records.clear()
        self._by_type.clear()
        self.generation += 1

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)

    def __reversed__(self) -> Iterator[Record]:
        return reversed(self._records)

    @overload
    def __getitem__(self, i: int) -> Record: ...
    @overload
    def __getitem__(self, i: slice) -> list[Record]: ...
    def __getitem__(self, i: int | slice) -> Record | list[Record]:
        return self._records[i]
