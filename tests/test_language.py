"""The command language is declared once and every reader agrees with it.

Help, completion, the lexer, the lesson loader and the lesson's command count
all read lab/language; lab/commands binds one handler to each declared name;
handlers hand back data that one renderer turns into text.
"""

from __future__ import annotations

import asyncio

from labtest import lab_session

from lab.commands.registry import HANDLERS, bind
from lab.language import LANGUAGE, PREDICATES, split_line, split_with_offsets, tokenize
from lab.lessons import language as lesson_words
from lab.render.output import Check, Line, Table, render
from lab.render.style import Styler
from lab.repl.lexer import unknown_commands


def test_every_declared_command_has_exactly_one_handler():
    assert set(HANDLERS) == set(LANGUAGE.commands)
    bound = bind()
    assert all(b.spec.name == name for name, b in bound.items())


def test_lesson_rules_come_from_the_declarations():
    assert "mine" in lesson_words.LAB_COMMANDS and "check" in lesson_words.LAB_COMMANDS
    assert {"quit", "exit", "seed", "reset"} == lesson_words.FORBIDDEN_IN_LESSONS
    assert lesson_words.check_command("seed 3") == "'seed' cannot be used inside a lesson file"
    assert lesson_words.check_command("hint") == "'hint' cannot be used inside a lesson file"
    assert lesson_words.check_command("mien A") == "unknown command 'mien' (did you mean 'mine'?)"
    # views and lesson commands are not counted; commands that change the lab are
    assert lesson_words.count_commands(["nodes; mine A; hint", "tree", "? ", "send A B 1  # pay"]) == 2
    for name, spec in LANGUAGE.commands.items():
        assert (name in lesson_words.READ_ONLY_COMMANDS) == spec.read_only


def test_one_did_you_mean_for_commands_aliases_and_predicates():
    assert LANGUAGE.suggest("chek") == "check"
    assert LANGUAGE.suggest("exitt") == "quit"  # an alias is suggested as its command
    assert LANGUAGE.suggest("zzzzzz") is None
    assert lesson_words.check_predicate("heigth A >= 1") == "unknown predicate 'heigth' (did you mean 'height'?)"


def test_the_session_the_lexer_and_the_lessons_split_lines_alike():
    line = "mine A 2; send A B 1 as p1 ;; tree # mine B; not this"
    parts = split_line(line)
    assert parts == ["mine A 2", "send A B 1 as p1", "tree"]
    assert [p.strip() for _, p in split_with_offsets(line) if p.strip()] == parts
    assert lesson_words.split_commands(line) == parts
    assert unknown_commands("mine A; bogus B # chek") == ["bogus"]
    assert tokenize("partition A, B|C,D") == ["partition", "A,B", "|", "C,D"]
    assert tokenize("cut A->B") == ["cut", "A", "->", "B"]
    assert tokenize("check height A>=3") == ["check", "height", "A", ">=", "3"]


def test_help_lists_every_command_and_every_predicate_from_the_spec():
    async def go():
        async with lab_session(difficulty=8) as (_, s):
            listing = (await s.execute("help")).text
            for spec in LANGUAGE.commands.values():
                assert spec.usage in listing
            check_help = (await s.execute("help check")).text
            for p in PREDICATES.values():
                assert p.usage in check_help

    asyncio.run(go())


def test_handlers_return_data_and_one_renderer_styles_it():
    async def go():
        async with lab_session(difficulty=8) as (_, s):
            nodes = await s.commands["nodes"].handler(s, [])
            (table,) = nodes.pieces
            assert isinstance(table, Table) and [r[0] for r in table.rows] == ["A", "B", "C", "D"]
            await s.execute("mine A")
            held = await s.commands["check"].handler(s, ["height", "A", ">=", "1"])
            (check,) = held.pieces
            assert isinstance(check, Check) and check.outcome.ok and not held.check_failed
            failed = await s.commands["check"].handler(s, ["height", "A", ">=", "5"])
            assert failed.check_failed
            plain = render(failed, Styler(False, True))
            assert plain[0] == "FAIL check height A >= 5" and plain[1] == "  expected: height A >= 5"
            coloured = render(failed, Styler(True, False))
            assert coloured[0].startswith("\x1b[") and "✗ check height A >= 5" in coloured[0]
            tree = await s.commands["tree"].handler(s, [])
            assert "◀ A B C D" in "\n".join(render(tree, Styler()))
            assert render(tree, Styler(False, True))[-1].startswith("<- node tips")
            assert render(await s.commands["help"].handler(s, ["mine"]), Styler(True))[0] == "\x1b[1mmine NODE [N] [as NAME]\x1b[0m"
            assert isinstance((await s.commands["help"].handler(s, ["mine"])).pieces[0], Line)

    asyncio.run(go())


def test_arity_is_declared_once_and_the_handlers_hold_to_it():
    async def go():
        async with lab_session(difficulty=8) as (_, s):
            assert LANGUAGE.commands["mine"].arity == (1, 2)
            out = await s.execute("mine A 2 3")
            assert not out.ok and out.error == "'mine' takes at most 2 arguments, got 3"
            out = await s.execute("send A B")  # options are taken before words are counted
            assert not out.ok and out.error == "'send' needs 3 arguments"
            out = await s.execute("mempool A B")
            assert not out.ok and "usage: mempool NODE" in out.text
            assert (await s.execute("mine A 3 as b1")).ok

    asyncio.run(go())
