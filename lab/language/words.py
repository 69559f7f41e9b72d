"""Words of the command language: splitting a line, tokenising a command, "did you mean".

One command per line (a pasted block runs line by line); `#` starts a comment; `;`
separates commands on a line.
Every reader of command text (the session, the lesson loader, the REPL's
lexer and completer) splits and tokenises here, so they cannot disagree.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

OPS = ("==", "!=", ">=", "<=", ">", "<")  # comparisons a predicate may use
TOPOLOGIES = ("line", "ring", "star", "mesh", "random")  # `random` takes K, the peers per node
TOPOLOGY_CHOICES = "line, ring, star, mesh, random K"
# Option words that take the next word as their value, and what that value is ("node": a node name;
# None: a new word such as a label or an amount). `send` also takes `via NODE` and `conflicting NAME`.
OPTIONS: dict[str, str | None] = {"as": None, "fee": None, "on": "node"}
# Words with a fixed meaning inside a command (the lexer shows them like operators).
KEYWORDS = ("as", "fee", "on", "until", "quiet", "not", "contains", "size", "all", "->", "|")
# Placeholders of usage lines and the completion hint each stands for.
NODE_PLACEHOLDERS = frozenset({"NODE", "NODES", "NODE2", "A", "B", "C", "D", "FROM", "TO"})
LABEL_PLACEHOLDERS = frozenset({"NAME", "ID"})


def split_with_offsets(line: str) -> list[tuple[int, str]]:
    """(offset, text) of each command, comment removed, split at `;` (empty parts kept).

    Text with several lines (a paste) is one command per line: each line loses its own comment.
    """
    out, base = [], 0
    for row in line.splitlines(keepends=True) or [""]:
        code = row.rstrip("\r\n").split("#", 1)[0]
        start = base
        for part in code.split(";"):
            out.append((start, part))
            start += len(part) + 1
        base += len(row)
    return out


def split_line(line: str) -> list[str]:
    """The commands on one line: `mine A 2; send A B 1  # pay` -> ["mine A 2", "send A B 1"]."""
    return [part.strip() for _, part in split_with_offsets(line) if part.strip()]


def command_word(command: str) -> str:
    """The command's first word, lower case ("" for an empty command)."""
    words = command.split()
    return words[0].lower() if words else ""


def tokenize(command: str) -> list[str]:
    """Words, with `|`, `->` and `,` groups kept readable: `partition A,B | C,D`."""
    spaced = command.replace("->", " \x00 ").replace("|", " | ")
    for op in (">=", "<=", "==", "!="):
        spaced = spaced.replace(op, f" {op} ")
    spaced = re.sub(r"(?<![<>=!])([<>])(?![=])", r" \1 ", spaced)
    spaced = re.sub(r"\s*,\s*", ",", spaced)
    return [("->" if t == "\x00" else t) for t in spaced.split()]


def split_negation(predicate: str) -> tuple[bool, str]:
    """`not same-tip A B` -> (True, "same-tip A B")."""
    words = predicate.split()
    if words and words[0].lower() == "not":
        return True, " ".join(words[1:])
    return False, " ".join(words)


def closest(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The one choice that looks most like `word` (a typo), or None: the lab's only "did you mean"."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """" (did you mean 'x'?)" for a lesson author's typo, or ""."""
    close = closest(word, sorted(choices))
    return f" (did you mean '{close}'?)" if close else ""
