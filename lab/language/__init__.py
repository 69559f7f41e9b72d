"""The command language, declared once: commands, predicates, event kinds, words.

The bottom of the lab's upper layers: it imports nothing of the lab but
lab.errors. lab/commands binds handlers to these declarations; lab/lessons
and lab/repl read them (help, completion, colouring, lesson files).
"""

from lab.language.commands import LANGUAGE, SPECS
from lab.language.events import EVENT_KINDS, lesson_events
from lab.language.outcomes import CheckOutcome, CommandOutcome
from lab.language.predicates import PREDICATES, PredicateSpec, check_predicate
from lab.language.spec import CommandSpec, Language, check_arity, fits, usage_error
from lab.language.words import (
    KEYWORDS,
    LABEL_PLACEHOLDERS,
    NODE_PLACEHOLDERS,
    OPS,
    OPTIONS,
    TOPOLOGIES,
    closest,
    command_word,
    did_you_mean,
    split_line,
    split_negation,
    split_with_offsets,
    tokenize,
)

__all__ = [
    "EVENT_KINDS",
    "KEYWORDS",
    "LABEL_PLACEHOLDERS",
    "LANGUAGE",
    "NODE_PLACEHOLDERS",
    "OPS",
    "OPTIONS",
    "PREDICATES",
    "SPECS",
    "TOPOLOGIES",
    "CheckOutcome",
    "CommandOutcome",
    "CommandSpec",
    "Language",
    "PredicateSpec",
    "check_arity",
    "check_predicate",
    "closest",
    "command_word",
    "did_you_mean",
    "fits",
    "lesson_events",
    "split_line",
    "split_negation",
    "split_with_offsets",
    "tokenize",
    "usage_error",
]
