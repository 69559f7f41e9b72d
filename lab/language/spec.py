"""The shape of a command's declaration, and looking a command word up.

Every command is declared once (lab/language/commands.py) with everything
the rest of the lab needs to know about it without running it: usage, help,
aliases, completion hints, whether it changes the lab. `help`, Tab
completion, the lexer's colouring, the lesson loader and the lesson's
command count all read these declarations; lab/commands binds a handler to
each name.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.errors import CommandError
from lab.language.words import closest


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    usage: str  # e.g. "mine NODE [N] [as NAME]"; placeholders in capitals
    summary: str  # one line for the help table
    aliases: tuple[str, ...] = ()
    help: str = ""  # longer text for `help CMD`
    category: str = "lab"  # the help section: lab, view, network, pace, lesson, meta
    # (fewest, most) words after the command once its options (`as NAME`, `fee F`, `on NODE` ...) are
    # taken; most None: extra words are ignored. None: not a word count (groups, arrows, a predicate).
    arity: tuple[int, int | None] | None = (0, None)
    args: tuple[str, ...] = ()  # completion hint per position: "node", "label", "lesson", "word:a|b|c", "rule", ...
    settles: bool = True  # in auto mode, run the network until quiet afterwards
    examples: tuple[str, ...] = ()
    read_only: bool = False  # changes nothing: not counted as a lesson command, never replayed
    lesson_word: bool = False  # handled by the lesson session (objective, hint, ...): never counted
    in_lesson_files: bool = True  # a lesson file's setup, demo or solution may run it

    @property
    def recorded(self) -> bool:
        """Whether it changes the lab and goes into its record (lab/world/record.py): a saved record that
        holds any other command (`save FILE`, `experiment ... csv FILE`, `load`, `seed`) was made by hand."""
        return self.category != "meta" and not self.read_only and not self.lesson_word


class Language:
    """Commands by name and alias; built once from the declarations."""

    def __init__(self, specs: tuple[CommandSpec, ...]) -> None:
        self.commands: dict[str, CommandSpec] = {s.name: s for s in specs}
        self.aliases: dict[str, str] = {a: s.name for s in specs for a in s.aliases}

    def find(self, word: str) -> CommandSpec | None:
        """The command a word names (case-insensitive, aliases too), or None."""
        w = word.lower()
        return self.commands.get(self.aliases.get(w, w))

    def lookup(self, word: str) -> CommandSpec:
        """The command a word names; a CommandError with "did you mean" otherwise."""
        spec = self.find(word)
        if spec is None:
            close = self.suggest(word)
            hint = f"did you mean `{close}`? " if close else ""
            raise CommandError(f"unknown command '{word}'", f"{hint}type `help` for the list")
        return spec

    def suggest(self, word: str) -> str | None:
        """The command a mistyped word most likely meant (an alias counts as its command)."""
        close = closest(word.lower(), list(self.commands) + list(self.aliases))
        return self.aliases.get(close, close) if close else None

    def is_command(self, word: str) -> bool:
        return self.find(word) is not None

    def is_prefix(self, word: str) -> bool:
        """`word` could still become a command as the learner types on."""
        w = word.lower()
        return any(name.startswith(w) for name in self.commands) or any(a.startswith(w) for a in self.aliases)

    def counts(self, word: str) -> bool:
        """Whether a command word acts on the lab (lesson counts): views and lesson commands don't."""
        return word not in self.read_only_words and word not in self.lesson_words

    @property
    def read_only_words(self) -> frozenset[str]:
        return frozenset(w for s in self.commands.values() if s.read_only for w in (s.name, *s.aliases))

    @property
    def lesson_words(self) -> frozenset[str]:
        return frozenset(s.name for s in self.commands.values() if s.lesson_word)

    @property
    def lesson_file_words(self) -> frozenset[str]:
        """Commands a lesson file may run."""
        return frozenset(s.name for s in self.commands.values() if s.in_lesson_files and not s.lesson_word)

    @property
    def forbidden_in_lesson_files(self) -> frozenset[str]:
        """Commands that would throw a lesson's lab away (quit, seed, reset)."""
        return frozenset(w for s in self.commands.values() if not s.in_lesson_files and s.category != "lesson"
                         for w in (s.name, *s.aliases))


def usage_error(spec: CommandSpec, problem: str) -> CommandError:
    return CommandError(problem, f"usage: {spec.usage}")


def fits(spec: CommandSpec, words: list[str]) -> bool:
    """Whether this many words fit the command's declared arity."""
    if spec.arity is None:
        return True
    lo, hi = spec.arity
    return lo <= len(words) and (hi is None or len(words) <= hi)


def check_arity(spec: CommandSpec, words: list[str]) -> None:
    """A usage error unless the words fit the declared arity: "'mine' needs 1 argument"."""
    if spec.arity is None:
        return
    lo, hi = spec.arity
    name = spec.name
    if len(words) < lo:
        raise usage_error(spec, f"'{name}' needs {lo} argument{'s' if lo != 1 else ''}")
    if hi is not None and len(words) > hi:
        raise usage_error(spec, f"'{name}' takes at most {hi} argument{'s' if hi != 1 else ''}, got {len(words)}")
