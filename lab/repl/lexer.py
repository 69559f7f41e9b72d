"""Colour the line as it is typed: command words, node names, numbers, comments.

An unknown command word is underlined before Enter (the prompt's right side
adds a glyph and "did you mean", see app.py), so it reads without colour too.
The lexer only reads the language spec (lab/language) and the live node
names; it never runs a command.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.lexers import Lexer

from lab.language import KEYWORDS, LANGUAGE, OPS
from lab.language import split_with_offsets as split_commands

_WORD = re.compile(r"\S+")
_NUMBER = re.compile(r"\d+(\.\d+)?(us|µs|ms|s|m|min|h|%|x)?", re.IGNORECASE)


__all__ = ["LabLexer", "first_word", "is_command", "is_prefix", "split_commands", "style_line", "unknown_commands"]

is_command = LANGUAGE.is_command
is_prefix = LANGUAGE.is_prefix  # `word` could still become a command as the learner types on


def first_word(line: str) -> str | None:
    """The command word of the command the cursor is in (the last one on the line)."""
    parts = split_commands(line)
    m = _WORD.search(parts[-1][1]) if parts else None
    return m.group(0) if m else None


def unknown_commands(line: str) -> list[str]:
    """Command words on the line that no command answers to."""
    bad = []
    for _, part in split_commands(line):
        m = _WORD.search(part)
        if m and not is_command(m.group(0)):
            bad.append(m.group(0))
    return bad


def style_line(line: str, node_names: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(style, text) fragments covering `line` exactly, character for character."""
    nodes = {n.upper() for n in node_names}
    frags: list[tuple[str, str]] = []
    comment_at = line.find("#")
    code = line if comment_at < 0 else line[:comment_at]
    pos = 0
    for offset, part in split_commands(code):
        if offset > 0:  # the `;` before this part
            frags.append(("class:arg.sep", ";"))
            pos = offset
        first = True
        for m in _WORD.finditer(part):
            start, end = offset + m.start(), offset + m.end()
            if start > pos:
                frags.append(("", line[pos:start]))
            word = m.group(0)
            typing = first and end == len(line) and is_prefix(word)  # not finished yet: don't flag it
            frags.append(("class:cmd.partial" if typing and not is_command(word) else _word_style(word, first, nodes),
                          word))
            first = False
            pos = end
        if offset + len(part) > pos:
            frags.append(("", line[pos:offset + len(part)]))
            pos = offset + len(part)
    if comment_at >= 0:
        frags.append(("class:comment", line[comment_at:]))
    return frags


def _word_style(word: str, first: bool, nodes: set[str]) -> str:
    if first:
        return "class:cmd" if is_command(word) else "class:cmd.unknown"
    if word in OPS or word in ("->", "|"):
        return "class:arg.op"
    names = [w for w in word.split(",") if w]
    if names and all(n.upper() in nodes for n in names):
        return "class:arg.node"
    if _NUMBER.fullmatch(word):
        return "class:arg.number"
    if word.lower() in KEYWORDS:
        return "class:arg.op"
    return ""


class LabLexer(Lexer):
    """prompt_toolkit lexer over `style_line`; node names are read live."""

    def __init__(self, node_names: Callable[[], Iterable[str]] = lambda: ()) -> None:
        self.node_names = node_names

    def lex_document(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
        nodes = list(self.node_names())
        lines: list[StyleAndTextTuples] = [list(style_line(text, nodes)) for text in document.lines]

        def get_line(i: int) -> StyleAndTextTuples:
            return lines[i] if i < len(lines) else []

        return get_line
