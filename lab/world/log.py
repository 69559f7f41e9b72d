"""The one event log: every typed event (lab/events.py) with its sequence number and virtual time.

Listeners (the REPL's narrator, the bench) are told of each record as it is
appended. Queries over one kind of event read `of(Type)`, an index kept as
records arrive, so a count never scans the log.

Bounded: it holds at least the last `limit` records (params.MAX_LOG_RECORDS)
and drops the oldest in chunks of a quarter of that, so an outsider cycling
through addresses cannot grow it without end. A record's `seq` never changes:
`next_seq` and `since(seq)` mark "what came after this point". Read models that
must outlive the records (counts, who mined what) are told before a trim
(`before_trim`) so they catch up first. `pinned`: records from this seq on are
kept whatever the bound (the running command's narration).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from lab import params
from lab.events import Record
from lab.sched import Scheduler

_new_record = tuple.__new__  # a Record without the Python-level __new__ namedtuple adds: one per event


def _seq(r: Record) -> int:
    return r.seq


class EventLog(Sequence[Record]):
    def __init__(self, sched: Scheduler, limit: int | None = None) -> None:
        self._sched = sched  # its `now`: virtual microseconds
        self._records: list[Record] = []
        self._by_type: dict[type, list[Record]] = {}
        self._base = 0  # seq of the first record held: how many were dropped
        self.limit = max(1, limit if limit is not None else params.MAX_LOG_RECORDS)
        self.pinned: int | None = None
        self.listeners: list[Callable[[Record], None]] = []
        self.before_trim: list[Callable[[], None]] = []
        self.generation = 0  # counts `clear`s, so read models know to start again

    def append(self, event: Any) -> Record:
        records = self._records
        rec: Record = _new_record(Record, (self._base + len(records), self._sched.now, event))
        records.append(rec)
        t = type(event)
        bucket = self._by_type.get(t)
        if bucket is None:
            bucket = self._by_type[t] = []
        bucket.append(rec)
        if len(records) > self.limit + self.chunk:
            self._trim()
        for fn in self.listeners:
            fn(rec)
        return rec

    @property
    def chunk(self) -> int:
        return max(1, self.limit // 4)

    def _trim(self) -> None:
        """Drop the oldest records down to `limit` (never past `pinned`): one chunk at a time."""
        target = self._base + len(self._records) - self.limit
        if self.pinned is not None:
            target = min(target, self.pinned)
        if target - self._base < self.chunk:
            return
        for fn in self.before_trim:
            fn()
        del self._records[:target - self._base]
        for bucket in self._by_type.values():
            del bucket[:bisect_left(bucket, target, key=_seq)]
        self._base = target

    @property
    def next_seq(self) -> int:
        """The seq the next record will get: every record ever appended (since the last `clear`)."""
        return self._base + len(self._records)

    @property
    def dropped(self) -> int:
        """How many of the oldest records were dropped to keep the log bounded."""
        return self._base

    def since(self, seq: int) -> list[Record]:
        """The records from `seq` on that are still held."""
        return self._records[max(0, seq - self._base):]

    def of(self, *types: type) -> list[Record]:
        """The records of these event types still held, in log order."""
        if len(types) == 1:
            return self._by_type.get(types[0], [])
        out = [r for t in types for r in self._by_type.get(t, [])]
        out.sort(key=_seq)
        return out

    def clear(self) -> None:
        self._records.clear()
        self._by_type.clear()
        self._base = 0
        self.pinned = None
        self.generation += 1

    def __len__(self) -> int:
        """How many records are held (`next_seq` counts every one)."""
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


def since_seq(records: list[Record], seq: int) -> list[Record]:
    """The part of an `of(...)` list from `seq` on."""
    return records[bisect_left(records, seq, key=_seq):]
