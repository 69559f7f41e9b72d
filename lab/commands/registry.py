"""Handlers bound to the declared commands: one table, built without import side effects.

The language (lab/language/commands.py) declares every command once; this
module binds each name to its handler. `bind()` checks that every declared
command has exactly one handler. Adding a command = one declaration there +
one handler here.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from lab.commands import (
    attack,
    builtin,
    classroom,
    details,
    experiment,
    lessons,
    network,
    rewind,
    saving,
    views,
)
from lab.language import LANGUAGE, CommandSpec
from lab.render.output import Output

if TYPE_CHECKING:
    from lab.commands.session import Session

Handler = Callable[["Session", list[str]], Awaitable[Output]]

HANDLERS: dict[str, Handler] = {
    # the lab
    "help": builtin.cmd_help, "quit": builtin.cmd_quit, "seed": builtin.cmd_seed, "reset": builtin.cmd_reset,
    # mining and payments
    "mine": builtin.cmd_mine, "send": builtin.cmd_send, "forge": builtin.cmd_forge,
    "autominer": builtin.cmd_autominer, "hashrate": builtin.cmd_hashrate, "difficulty": builtin.cmd_difficulty,
    # the attacker's seat
    "withhold": attack.cmd_withhold, "publish": attack.cmd_publish, "strategy": attack.cmd_strategy,
    "eclipse": attack.cmd_eclipse,
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
    "experiment": experiment.cmd_experiment,
    # looking around
    "nodes": views.cmd_nodes, "status": views.cmd_status, "balance": views.cmd_balance,
    "mempool": views.cmd_mempool, "chain": views.cmd_chain, "tree": views.cmd_tree, "block": views.cmd_block,
    "tx": views.cmd_tx, "peers": views.cmd_peers, "diff": views.cmd_diff, "explain": details.cmd_explain,
    "trace": details.cmd_trace,
    "log": details.cmd_log, "queue": details.cmd_queue, "msg": details.cmd_msg,
    # the class network (issue 16)
    "class": classroom.cmd_class,
    # keeping a lab
    "save": saving.cmd_save, "load": saving.cmd_load, "back": rewind.cmd_back, "history": saving.cmd_history,
    "digest": saving.cmd_digest,
    # lessons
    "lessons": lessons.cmd_lessons, "lesson": lessons.cmd_lesson,
    **{name: functools.partial(lessons.in_lesson, name=name) for name in
       ("objective", "goal", "hint", "solution", "next", "undo")},
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
