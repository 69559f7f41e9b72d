"""The command registry: name, aliases, usage, help and completion hints in one place.

Commands register with the @command decorator (as litecli's special commands
do); `help`, Tab completion and "did you mean" are generated from here.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from lab.errors import CommandError


@dataclass
class Command:
    name: str
    usage: str  # e.g. "mine NODE [N] [as NAME]"
    summary: str  # one line for the help table
    handler: Callable[..., Awaitable[Any]]
    aliases: tuple[str, ...] = ()
    help: str = ""  # longer text for `help CMD`
    category: str = "lab"
    args: tuple[str, ...] = ()  # completion hints per position: "node", "label", "lesson", "word:a|b|c", "rule"
    settles: bool = True  # in auto mode, run the network until quiet afterwards
    examples: tuple[str, ...] = field(default_factory=tuple)


REGISTRY: dict[str, Command] = {}
ALIASES: dict[str, str] = {}


def command(name: str, usage: str, summary: str, *, aliases: tuple[str, ...] = (), help: str = "",
            category: str = "lab", args: tuple[str, ...] = (), settles: bool = True,
            examples: tuple[str, ...] = ()) -> Callable:
    def deco(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        REGISTRY[name] = Command(name, usage, summary, fn, aliases, help, category, args, settles, examples)
        for a in aliases:
            ALIASES[a] = name
        return fn

    return deco


def lookup(word: str) -> Command:
    w = word.lower()
    name = ALIASES.get(w, w)
    cmd = REGISTRY.get(name)
    if cmd is None:
        close = difflib.get_close_matches(w, list(REGISTRY) + list(ALIASES), n=1, cutoff=0.6)
        hint = f"did you mean `{ALIASES.get(close[0], close[0])}`? " if close else ""
        raise CommandError(f"unknown command '{word}'", f"{hint}type `help` for the list")
    return cmd


def usage_error(cmd: Command, problem: str) -> CommandError:
    return CommandError(problem, f"usage: {cmd.usage}")
