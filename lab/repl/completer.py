"""Tab completion generated from the language spec (lab/language) and the live lab.

The first word completes to command names (and aliases). After it, each
position follows the command's completion hint: "node" (the lab's node
names right now), "label" (names given with `as`), "lesson" (lesson ids),
"rule" (forge rules), "command", "predicate" (after `check`, then the
predicate's own arguments from its usage line) or "word:a|b|c".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from lab.chain.node_state import FORGE_RULES
from lab.commands import reads
from lab.language import (
    LABEL_PLACEHOLDERS,
    LANGUAGE,
    NODE_PLACEHOLDERS,
    OPS,
    OPTIONS,
    PREDICATES,
    CommandSpec,
)
from lab.language import split_with_offsets as split_commands

# Words after which the next word is a value of that kind, not a positional argument.
OPTION_HINTS = OPTIONS


def forge_rules() -> tuple[str, ...]:
    return tuple(FORGE_RULES)


def predicate_usages() -> dict[str, str]:
    return {name: p.usage for name, p in PREDICATES.items()}


_lesson_ids: list[tuple[str, str]] | None = None


def lesson_ids() -> list[tuple[str, str]]:
    """(id, "N. title") of every lesson; loaded once, empty if the lesson engine is missing."""
    global _lesson_ids
    if _lesson_ids is None:
        try:
            from lab.lessons.loader import load_all
            _lesson_ids = [(lesson.id, f"{lesson.number}. {lesson.title}") for lesson in load_all(errors=[])]
        except Exception:  # noqa: BLE001 - a broken lesson file must not break Tab
            _lesson_ids = []
    return _lesson_ids


def find_command(word: str) -> CommandSpec | None:
    return LANGUAGE.find(word)


def _placeholder_hint(word: str) -> str | None:
    """A hint for one word of a usage line such as `height NODE OP N`."""
    if word in NODE_PLACEHOLDERS:
        return "node"
    if word in LABEL_PLACEHOLDERS:
        return "label"
    if word == "OP":
        return "op"
    if word in OPS or word.islower() and word.replace("-", "").isalpha():
        return f"word:{word}"
    return None


def usage_hints(usage: str, after: list[str]) -> list[str]:
    """Hints for the word after `after`, from a usage line such as `mempool NODE contains NAME | ...`.

    Every alternative (`a ... | b ...`) whose literal words agree with `after`
    contributes; options (`[on NODE]`) are left out, they complete by keyword.
    """
    found: list[str] = []
    for alt in usage.split(" | "):
        words, skip = [], False
        for w in (w.strip("[]") for w in alt.split()[1:]):
            if skip:
                skip = False
            elif w in OPTION_HINTS:
                skip = True
            else:
                words.append(w)
        hints = [_placeholder_hint(w) for w in words]
        fits = all(h is None or not h.startswith("word:") or a.lower() in h[5:].split("|")
                   for h, a in zip(hints, after, strict=False))
        if fits and len(after) < len(hints):
            h = hints[len(after)]
            if h is not None and h not in found:
                found.append(h)
    return found


class LabCompleter(Completer):
    """Completions for the line being typed; reads the live lab through `get_session`."""

    def __init__(self, get_session: Callable[[], Any]) -> None:
        self.get_session = get_session

    # -- sources of words ----------------------------------------------------------------
    def node_names(self) -> list[str]:
        s = self.get_session()
        lab = getattr(s, "lab", None)
        return list(lab.nodes) if lab is not None else []

    def labels(self) -> list[str]:
        s = self.get_session()
        lab = getattr(s, "lab", None)
        return sorted(lab.labels) if lab is not None else []

    def words_for(self, hint: str | None) -> list[tuple[str, str]]:
        """(word, meta) pairs for one completion hint."""
        if hint is None:
            return []
        if hint == "node":
            s = self.get_session()
            nodes = s.lab.nodes if getattr(s, "lab", None) is not None else {}
            return [(name, _node_meta(node)) for name, node in nodes.items()]
        if hint == "label":
            return [(name, "label") for name in self.labels()]
        if hint == "lesson":
            return lesson_ids()
        if hint == "rule":
            return [(r, "forge rule") for r in forge_rules()]
        if hint == "command":
            return [(c.name, c.summary) for c in LANGUAGE.commands.values()]
        if hint == "predicate":
            return [("not", "negate a predicate")] + [(n, u) for n, u in predicate_usages().items()]
        if hint == "op":
            return [(op, "") for op in OPS]
        if hint.startswith("word:"):
            return [(w, "") for w in hint[5:].split("|") if w]
        if hint == "file":  # `save FILE`, `load FILE`: the saves in the current folder
            try:
                return [(p.name, "save") for p in sorted(Path.cwd().glob("*.lab"))[:50]]
            except OSError:
                return []
        return []

    # -- deciding what to offer ----------------------------------------------------------------
    def hints_at(self, cmd: CommandSpec, before: list[str]) -> list[str]:
        """The hints for the word after `before` (the words typed after the command word)."""
        used = {w.lower() for w in before}
        if before and before[-1].lower() in OPTION_HINTS:
            hint = OPTION_HINTS[before[-1].lower()]
            return [hint] if hint else []
        words = _positional(before)
        if cmd.name == "check":
            if words and words[0].lower() == "not":
                words = words[1:]
            if not words:
                return ["predicate"]
            usage = predicate_usages().get(words[0].lower())
            if usage is None:
                return []
            hints = usage_hints(usage, words[1:])
            if not hints and "NODES" in usage:
                hints = ["node"]
            if not hints and "[on NODE]" in usage and "on" not in used:
                hints = ["option:on"]
            return hints
        pos = len(words)
        if pos < len(cmd.args):
            return [cmd.args[pos]]
        if cmd.args and cmd.args[-1] == "node" and any(s in cmd.usage for s in (" | ", "->", ",")):
            return ["node"]  # partition A,B | C,D and cut A -> B take node names all along
        opts = [o for o in OPTION_HINTS if f"[{o} " in cmd.usage and o not in used]
        return ["option:" + "|".join(opts)] if opts else []

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor
        if "#" in text:
            return
        current = split_commands(text)[-1][1]
        words = current.split()
        partial = "" if not words or current[-1:].isspace() else words[-1]
        before = words if not partial else words[:-1]
        if not before:
            yield from self._commands(partial)
            return
        cmd = find_command(before[0])
        if cmd is None:
            return
        seen: set[str] = set()
        for hint in self.hints_at(cmd, before[1:]):
            if hint.startswith("option:"):
                choices = [(o, "option") for o in hint[7:].split("|")]
            else:
                choices = self.words_for(hint)
            prefix, stem = "", partial
            if hint == "node" and "," in partial:  # partition A,B | C,D: a name not yet in the group
                head, stem = partial.rsplit(",", 1)
                prefix = head + ","
                seen.update(n.upper() for n in head.split(","))
            for word, meta in choices:
                shown = word.upper() if hint == "node" else word
                if shown.lower().startswith(stem.lower()) and shown not in seen:
                    seen.add(shown)
                    yield Completion(prefix + shown, start_position=-len(partial), display=shown,
                                     display_meta=meta)

    def _commands(self, partial: str) -> Iterable[Completion]:
        p = partial.lower()
        for name, cmd in LANGUAGE.commands.items():
            if name.startswith(p):
                yield Completion(name, start_position=-len(partial), display_meta=cmd.summary)
        for alias, name in LANGUAGE.aliases.items():
            if alias.startswith(p) and alias.isalpha():
                yield Completion(alias, start_position=-len(partial), display_meta=f"= {name}")


def _positional(words: list[str]) -> list[str]:
    """Words that count as positional arguments: options with their values and `|`, `->` left out."""
    out, skip = [], False
    for w in words:
        if skip:
            skip = False
            continue
        if w.lower() in OPTION_HINTS:
            skip = True
            continue
        if w in ("|", "->"):
            continue
        out.append(w)
    return out


def _node_meta(node: Any) -> str:
    try:
        tip = reads.tip(node)
        return f"height {tip.height}" + ("" if node.online else ", stopped")
    except AttributeError:
        return "node"
