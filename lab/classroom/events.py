"""The class network's typed events (issue 16), beside the lab's own in lab/events.py.

Rendered in lab/render/events.py like every other event; nothing here holds English.
"""

from __future__ import annotations

from typing import ClassVar

from lab.events import _Event, event


@event
class ClassOpened(_Event):
    """This lab joined a class network (as its host, or as a student): it runs live from here on."""

    kind: ClassVar[str] = "class-open"
    node: str  # this lab's participant
    host: str  # the host's address, HOST:PORT
    is_host: bool


@event
class ClassAdmitted(_Event):
    """A peer passed class admission (the code's challenge and response) on a live link."""

    kind: ClassVar[str] = "class-admitted"
    node: str
    peer: str  # HOST:PORT of the link
    name: str  # the participant's name


@event
class ClassRefused(_Event):
    """A peer was refused a class link: no code, a wrong code, a name taken, the other group of a split."""

    kind: ClassVar[str] = "class-refused"
    node: str
    peer: str
    reason: str


@event
class ClassControlApplied(_Event):
    """A host command took effect here (on a student: a host-signed classctl, verified)."""

    kind: ClassVar[str] = "class-control"
    node: str
    action: str  # "split" | "heal" | "latency" | "autominer"
    detail: str  # the control as written, e.g. "alice,bob | carol"
    companions: tuple[str, ...]  # after a split: the others in this participant's group
    by_host: bool  # True on the host itself


@event
class ClassControlRefused(_Event):
    """A classctl that is not the host's, or was acted on before: refused, its sender dropped."""

    kind: ClassVar[str] = "class-control-refused"
    node: str
    peer: str
    reason: str  # the verdict: not signed by the host, forged, replayed


@event
class ClassLeft(_Event):
    """This lab left the class (or lost its host); it goes on alone."""

    kind: ClassVar[str] = "class-left"
    node: str
    reason: str

