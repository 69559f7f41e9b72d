"""The shape every lab event has: a frozen, slotted value class (lab/events.py declares them).

`@event` makes what `dataclass(frozen=True, slots=True, repr=False, eq=False)`
would, in one step; `_Event` gives every event one repr, equality, hash, and
pickling through `__init__` (a saved lab holds its whole log). Kept apart from the
declarations so that file stays a list of events.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any, dataclass_transform


class _Event:
    """Value semantics shared by every event: one repr, eq and hash instead of thirty generated ones.

    (A lab starts faster: generating them per class cost more than the rest of this module.)
    """

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, k) for k in self.__slots__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in zip(self.__slots__, self._values(), strict=True))})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), *self._values()))

    # frozen, as a frozen dataclass: fields are set once, by __init__
    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        # A saved lab holds its whole log: rebuilding through __init__ reads back ~4x faster
        # than a frozen dataclass's own __setstate__ (lab/world/snapshot.py); copy uses it too
        return (type(self), self._values())


@dataclass_transform(frozen_default=True)
def event(cls: type) -> Any:
    """A frozen, slotted value class of an event (the decorator every class below uses).

    What `dataclass(frozen=True, slots=True, repr=False, eq=False)` makes, built
    directly: the fields are the annotated names that are not ClassVars, in order,
    with their defaults; `__init__` takes them positionally or by name. Built at
    import for every event class, the dataclass machinery was the largest single
    cost of the lab's start-up.
    """
    if any(getattr(base, "__slots__", ()) for base in cls.__bases__):
        raise TypeError(f"{cls.__name__}: an event class extends _Event directly (its fields would be lost)")
    annotations: dict[str, str] = cls.__dict__.get("__annotations__", {})
    fields = tuple(k for k, a in annotations.items() if not str(a).startswith(("ClassVar", "typing.ClassVar")))
    defaults = {f: cls.__dict__[f] for f in fields if f in cls.__dict__}
    namespace = {k: v for k, v in cls.__dict__.items() if k not in fields and k not in ("__dict__", "__weakref__")}
    params = ", ".join(f"{f}=_default_{f}" if f in defaults else f for f in fields)
    body = "".join(f"    _set(self, {f!r}, {f})\n" for f in fields) or "    pass\n"
    scope: dict[str, Any] = {"_set": object.__setattr__, **{f"_default_{f}": v for f, v in defaults.items()}}
    exec(f"def __init__(self, {params}):\n{body}", scope)  # noqa: S102 - one generated __init__, as dataclass does
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = {**{f: annotations[f] for f in fields}, "return": None}
    namespace.update(__slots__=fields, __init__=init, __match_args__=fields)
    return type(cls)(cls.__name__, cls.__bases__, namespace)
