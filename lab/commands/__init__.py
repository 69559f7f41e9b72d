"""Handlers bound to the command language (lab/language): one Session serves the REPL, scripts,
lessons and tests.

    session.py   runs a line: split, look up, call the handler, render, add the narration
    registry.py  the table binding each declared command to its handler
    builtin.py, network.py, views.py, details.py, lessons.py   the handlers; each returns an Output (data)
    predicates.py  one evaluator per declared predicate (`check`, lesson goals)
    reads.py     every read of lab state the handlers and predicates make
    parse.py     a command's words into values (amounts, durations, groups, labels)
    lesson_runner.py, lesson_cli.py   the lesson engine on a Session; `lab lessons` / `lab lesson ID`
"""
