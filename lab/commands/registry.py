"""Handlers bound to the declared commands: one table, built without import side effects.

The language (lab/language/commands.py) declares every command once; this
module binds each name to its handler. `bind()` checks that every declared
command has exactly one handler. Adding a command = one declaration there +
one handler here.

The handlers of commands a lab may never see (experiments, the class network,
saving, lessons, the attacker's seat, the detail views) are imported when such
a command first runs (`OnFirstUse`), not when the lab starts: `lab -c status`
does not load SQLite, TOML, the experiment runner or the class protocol.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from lab.commands import builtin, network, views
from lab.language import LANGUAGE, CommandSpec
from lab.render.output import Output

if TYPE_CHECKING:
    from lab.commands.session import Session

Handler = Callable[["Session", list[str]], Awaitable[Output]]


class OnFirstUse:
    """A handler whose module is imported the first time its command runs (realname: none; start-up time)."""

    __slots__ = ("_find", "_handler", "name")

    def __init__(self, find: Callable[[str], Handler], name: str) -> None:
        self._find = find  # imports the module, returns the handler of command `name`
        self._handler: Handler | None = None
        self.name = name

    def __call__(self, session: Session, args: list[str]) -> Awaitable[Output]:
        if self._handler is None:
            self._handler = self._find(self.name)
        return self._handler(session, args)


def _attack(name: str) -> Handler:
    from lab.commands import attack
    return {"withhold": attack.cmd_withhold, "publish": attack.cmd_publish, "strategy": attack.cmd_strategy,
            "eclipse": attack.cmd_eclipse}[name]


def _details(name: str) -> Handler:
    from lab.commands import details
    return {"explain": details.cmd_explain, "trace": details.cmd_trace, "log": details.cmd_log,
            "queue": details.cmd_queue, "msg": details.cmd_msg}[name]


def _experiment(name: str) -> Handler:
    from lab.commands import experiment
    return experiment.cmd_experiment


def _classroom(name: str) -> Handler:
    from lab.commands import classroom
    return classroom.cmd_class


def _saving(name: str) -> Handler:
    from lab.commands import rewind, saving
    return {"save": saving.cmd_save, "load": saving.cmd_load, "back": rewind.cmd_back,
            "history": saving.cmd_history, "digest": saving.cmd_digest}[name]


def _lessons(name: str) -> Handler:
    from lab.commands import lessons
    if name in ("lessons", "lesson"):
        return lessons.cmd_lessons if name == "lessons" else lessons.cmd_lesson
    return functools.partial(lessons.in_lesson, name=name)


def _later(find: Callable[[str], Handler], *names: str) -> dict[str, Handler]:
    return {name: OnFirstUse(find, name) for name in names}


HANDLERS: dict[str, Handler] = {
    # the lab
    "help": builtin.cmd_help, "quit": builtin.cmd_quit, "seed": builtin.cmd_seed, "reset": builtin.cmd_reset,
    # mining and payments
    "mine": builtin.cmd_mine, "send": builtin.cmd_send, "forge": builtin.cmd_forge,
    "autominer": builtin.cmd_autominer, "hashrate": builtin.cmd_hashrate, "difficulty": builtin.cmd_difficulty,
    # the attacker's seat
    **_later(_attack, "withhold", "publish", "strategy", "eclipse"),
    # the network
    "relay": network.cmd_relay, "connect": network.cmd_connect, "disconnect": network.cmd_disconnect,
    "partition": network.cmd_partition, "heal": network.cmd_heal, "cut": network.cmd_cut,
    "latency": network.cmd_latency, "loss": network.cmd_loss, "topology": network.cmd_topology,
    "hold": network.cmd_hold, "release": network.cmd_release, "drop": network.cmd_drop,
    "add-node": network.cmd_add_node, "stop": network.cmd_stop, "start": network.cmd_start,
    # pacing and checks
    "mode": builtin.cmd_mode, "step": builtin.cmd_step, "run": builtin.cmd_run, "speed": builtin.cmd_speed,
    "check": builtin.cmd_check,
    # experiments
    **_later(_experiment, "experiment"),
    # looking around
    "nodes": views.cmd_nodes, "status": views.cmd_status, "balance": views.cmd_balance,
    "mempool": views.cmd_mempool, "chain": views.cmd_chain, "tree": views.cmd_tree, "block": views.cmd_block,
    "tx": views.cmd_tx, "peers": views.cmd_peers, "diff": views.cmd_diff,
    **_later(_details, "explain", "trace", "log", "queue", "msg"),
    # the class network (issue 16)
    **_later(_classroom, "class"),
    # keeping a lab
    **_later(_saving, "save", "load", "back", "history", "digest"),
    # lessons
    **_later(_lessons, "lessons", "lesson", "objective", "goal", "hint", "solution", "next", "undo"),
}


class Bound:
    """A declared command with its handler."""

    __slots__ = ("handler", "spec")

    def __init__(self, spec: CommandSpec, handler: Handler) -> None:
        self.spec = spec
        self.handler = handler


def bind() -> dict[str, Bound]:
    """Every declared command with its handler; a missing or extra handler is a bug caught here."""
    missing = set(LANGUAGE.commands) - set(HANDLERS)
    extra = set(HANDLERS) - set(LANGUAGE.commands)
    if missing or extra:
        raise RuntimeError(f"commands without a handler: {sorted(missing)}; handlers without a command: {sorted(extra)}")
    return {name: Bound(spec, HANDLERS[name]) for name, spec in LANGUAGE.commands.items()}


# The declarations by name and alias, for readers that used the old registry.
REGISTRY: dict[str, CommandSpec] = LANGUAGE.commands
ALIASES: dict[str, str] = LANGUAGE.aliases
