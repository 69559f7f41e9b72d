"""What a lesson is, once loaded: frozen values, no behaviour.

A lesson file (`lessons/NN-slug.toml`) becomes one `Lesson`: a start
`Scenario`, optional `Explain` texts tied to event kinds, and `Step`s. The
loader (`loader.py`) builds these and validates every field; nothing here
runs code or touches the lab.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LESSON_DIFFICULTY = 8  # zero bits; 256 tries a block keeps every solution fast


def default_node_names(n: int) -> tuple[str, ...]:
    """A, B, C ... as the lab names its nodes (`lab.lab.node_names`)."""
    return tuple(chr(ord("A") + i) if i < 26 else f"N{i + 1}" for i in range(n))


@dataclass(frozen=True, slots=True)
class Scenario:
    """The lab a lesson starts from (and every `reset`/`undo` rebuilds)."""

    nodes: int = 4  # how many nodes; ignored when `names` is given
    names: tuple[str, ...] = ()  # explicit node names, e.g. ("A", "B", "C", "D", "E")
    topology: str = "mesh"  # line | ring | star | mesh | "random K"
    seed: int = 1  # fixes keys, mining order, jitter: same seed, same hashes
    difficulty: int = DEFAULT_LESSON_DIFFICULTY  # leading zero bits of proof of work
    latency: str | None = None  # one-way latency of every link, e.g. "50ms"; None = lab default
    setup: tuple[str, ...] = ()  # command lines run silently once the lab is built

    @property
    def node_names(self) -> tuple[str, ...]:
        return self.names or default_node_names(self.nodes)

    @property
    def node_count(self) -> int:
        return len(self.node_names)

    @property
    def topology_kind(self) -> str:
        """`random 3` -> `random`."""
        return self.topology.split()[0]

    @property
    def topology_k(self) -> int | None:
        """`random 3` -> 3; None for the other topologies."""
        parts = self.topology.split()
        return int(parts[1]) if len(parts) > 1 else None


@dataclass(frozen=True, slots=True)
class Explain:
    """A short explanation shown the first time an event of this kind happens."""

    event: str  # an event kind the lab narrates: "reorg", "block-rejected", ...
    say: str


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """A hint tied to the lab's state: shown with `hint` while `when` holds (a predicate, `not ` allowed)."""

    when: str  # e.g. "not work A > C"
    say: str  # what went wrong and how to get back, e.g. "C's blocks came fast too ... `undo`"


@dataclass(frozen=True, slots=True)
class Step:
    """One idea: narration, something to do, and a goal checked on lab state."""

    say: str  # narration shown when the step starts
    goal: tuple[str, ...]  # predicates in `check` syntax, optionally prefixed `not `; all must hold
    hints: tuple[str, ...]  # tiered: vague first, nearly the answer last
    solution: tuple[str, ...]  # reference solution, command lines
    notice: str = ""  # what to notice once the goal is reached
    demo: tuple[str, ...] = ()  # command lines the lab runs for the learner when the step starts
    title: str = ""  # short heading, e.g. "Cut a link"
    diagnose: tuple[Diagnosis, ...] = ()  # checked in order by `hint`; the first that holds is shown first
    # What the notice states about the learner's lab, as predicates: they must hold whenever the goal is
    # reached, on every route (`lab lessons check` and the suite check them), so the notice never lies.
    facts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lesson:
    """A guided lesson, loaded from `lessons/NN-slug.toml`."""

    id: str  # the slug, e.g. "network"; `lesson network` opens it
    number: int  # NN from the file name; `lesson 1` opens it
    title: str
    summary: str  # one sentence for the `lessons` table
    concepts: tuple[str, ...]
    start: Scenario
    steps: tuple[Step, ...]
    explain: tuple[Explain, ...] = ()
    outro: str = ""  # shown when the last step's goal is reached
    source: str = ""  # where it was loaded from, for messages ("lessons/01-network.toml")
    sha256: str = ""  # SHA-256 of the file's bytes (hex): which version of the file a submission was made in

    def explanation(self, event: str) -> str | None:
        for e in self.explain:
            if e.event == event:
                return e.say
        return None
