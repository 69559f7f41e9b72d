"""The shell, driven through prompt_toolkit's pipe input with no screen: we check the lab, not bytes."""

from __future__ import annotations

import asyncio
import os
import signal

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from repl_helpers import new_session, wait_until

from lab.render.style import Styler
from lab.repl.app import Shell, want_color

CTRL_C, CTRL_D = "\x03", "\x04"


def height(session, name: str) -> int:
    return session.lab.nodes[name].state.chain.tip.height


async def drive(session, *chunks: str, color: bool = False):
    """Type `chunks` (all at once, as typeahead) into a shell; returns (exit code, printed text)."""
    out: list[str] = []
    with create_pipe_input() as inp:
        shell = Shell(session, input=inp, output=DummyOutput(), echo=out.append, color=color)
        for chunk in chunks:
            inp.send_text(chunk)
        code = await shell.run()
    return code, "\n".join(out)


def test_a_typed_command_changes_the_lab_and_ctrl_d_leaves_with_0():
    async def go():
        async with new_session() as (_, s):
            code, text = await drive(s, "mine A\n", CTRL_D)
            return code, text, height(s, "A"), height(s, "D")

    code, text, a, d = asyncio.run(go())
    assert code == 0
    assert a == 1 and d == 1  # auto mode: the block reached every node before the next prompt
    assert "A mined block 1" in text


def test_quit_leaves_and_later_lines_are_not_run():
    async def go():
        async with new_session() as (_, s):
            code, _ = await drive(s, "quit\n", "mine A\n")
            return code, height(s, "A")

    assert asyncio.run(go()) == (0, 0)


def test_ctrl_c_drops_the_line_and_the_prompt_comes_back():
    """Alice types a command, thinks better of it, presses Ctrl-C; the next line still runs."""
    async def go():
        async with new_session() as (_, s):
            code, text = await drive(s, "mine A 3", CTRL_C, "mine B\n", CTRL_D)
            return code, text, height(s, "A"), height(s, "B")

    code, text, a, b = asyncio.run(go())
    assert code == 0
    assert (a, b) == (1, 1)  # only B's one block: `mine A 3` never ran
    assert "B mined block 1" in text and "A mined" not in text


def test_a_bad_line_gets_one_error_and_the_shell_goes_on():
    async def go():
        async with new_session() as (_, s):
            code, text = await drive(s, "frobnicate A\n", "mine Q\n", "mine C\n", CTRL_D)
            return code, text, height(s, "C")

    code, text, c = asyncio.run(go())
    assert code == 0 and c == 1
    assert "unknown command 'frobnicate'" in text
    assert "there is no node 'Q'" in text


def test_a_fork_is_made_and_healed_from_the_prompt():
    """The network splits, both halves mine, heal: every node ends on the longer chain."""
    async def go():
        async with new_session() as (_, s):
            await drive(s, "partition A,B | C,D\n", "mine A\n", "mine C 2\n", "heal\n", CTRL_D)
            return {n: height(s, n) for n in "ABCD"}, len({node.state.chain.tip.hash for node in s.lab.nodes.values()})

    heights, tips = asyncio.run(go())
    assert heights == {"A": 2, "B": 2, "C": 2, "D": 2} and tips == 1


def test_the_shell_follows_the_new_lab_after_seed():
    """`seed` replaces the Lab object: completion, toolbar and narration must use the new one."""
    async def go():
        async with new_session() as (old, s):
            out: list[str] = []
            with create_pipe_input() as inp:
                shell = Shell(s, input=inp, output=DummyOutput(), echo=out.append)
                inp.send_text("seed 7\nmine B\n" + CTRL_D)
                await shell.run()
            return old is not s.lab, height(s, "B"), shell.narrator, old, s.lab, shell.toolbar.text

    replaced, b, narrator, old, new, toolbar = asyncio.run(go())
    assert replaced and b == 1
    assert narrator not in old.listeners and narrator not in new.listeners  # detached on exit
    assert "● 1 " in toolbar


def test_live_narration_is_printed_between_commands():
    """In live mode the auto-miners find blocks while the learner is at the prompt."""
    async def go():
        async with new_session() as (_, s):
            out: list[str] = []
            with create_pipe_input() as inp:
                shell = Shell(s, input=inp, output=DummyOutput(), echo=out.append)
                task = asyncio.ensure_future(shell.run())
                inp.send_text("speed 3000; autominer on; mode live\n")
                # nobody types: whatever is printed now came from the nodes, above the prompt
                await wait_until(lambda: any("mined block" in o for o in out[1:]), "a block mined in live mode")
                inp.send_text(CTRL_D)
                code = await asyncio.wait_for(task, 10)
            return code, out, s.lab.mode, shell.toolbar.text

    code, out, mode, toolbar = asyncio.run(go())
    assert code == 0 and mode == "live"
    narrated = [o for o in out[1:] if "mined block" in o]
    assert narrated and narrated[0].startswith("⛏ +")  # glyph, then virtual time
    assert "live x3000" in toolbar


def test_ctrl_c_interrupts_a_long_command_and_the_shell_goes_on():
    """`run 30s` in live mode takes 30 wall seconds; Ctrl-C (a SIGINT between prompts) cuts it short."""
    async def go():
        async with new_session() as (_, s):
            out: list[str] = []
            before = signal.getsignal(signal.SIGINT)
            with create_pipe_input() as inp:
                shell = Shell(s, input=inp, output=DummyOutput(), echo=out.append)
                task = asyncio.ensure_future(shell.run())
                inp.send_text("mode live\n")
                await wait_until(lambda: s.lab.mode == "live", "live mode")
                inp.send_text("run 30s\n")
                await wait_until(lambda: shell.narrator.busy, "`run 30s` started")
                os.kill(os.getpid(), signal.SIGINT)
                await wait_until(lambda: any("interrupted" in o for o in out), "the interruption reported")
                inp.send_text("mine A\n" + CTRL_D)
                code = await asyncio.wait_for(task, 10)
            return code, height(s, "A"), signal.getsignal(signal.SIGINT) is before

    code, a, restored = asyncio.run(go())
    assert code == 0 and a == 1
    assert restored  # Ctrl-C means KeyboardInterrupt again once the shell is done


def test_a_crash_below_the_shell_is_one_line_not_a_traceback(tmp_path, monkeypatch):
    async def go():
        async def broken(line, record=True):
            raise ZeroDivisionError("boom")

        async with new_session() as (_, s):
            s.execute = broken
            code, text = await drive(s, "mine A\n", CTRL_D)
            return code, text

    code, text = asyncio.run(go())
    assert code == 0
    assert "internal error while running 'mine A': ZeroDivisionError: boom" in text
    assert "Traceback" not in text
    assert (tmp_path / "state" / "last-error.txt").read_text().startswith("command: mine A")


def test_history_is_shared_with_the_next_session(tmp_path):
    from lab.repl.history import open_history

    async def go():
        async with new_session() as (_, s):
            history, warning = open_history()
            with create_pipe_input() as inp:
                shell = Shell(s, input=inp, output=DummyOutput(), echo=lambda _: None, history=history)
                inp.send_text("mine A\n" + CTRL_D)
                await shell.run()
            return warning, list(open_history()[0].load_history_strings())

    warning, strings = asyncio.run(go())
    assert warning is None and strings == ["mine A"]
    assert (tmp_path / "state" / "history").exists()


def test_colour_follows_no_color_plain_and_dumb_terminals(monkeypatch):
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert want_color(plain=False)
    assert not want_color(plain=True)
    monkeypatch.setenv("TERM", "dumb")
    assert not want_color(plain=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("NO_COLOR", "1")
    assert not want_color(plain=False)


def test_plain_prompt_is_one_bit_and_flags_unknown_words_in_ascii():
    from prompt_toolkit.formatted_text import to_formatted_text
    from prompt_toolkit.output import ColorDepth

    async def go():
        async with new_session(Styler(False, True)) as (_, s):
            with create_pipe_input() as inp:
                shell = Shell(s, input=inp, output=DummyOutput(), plain=True, color=False)
                shell.prompt.default_buffer.text = "mnie A"
                unknown = "".join(t for _, t, *_ in to_formatted_text(shell.prompt.rprompt))
                shell.prompt.default_buffer.text = "mi"
                typing = "".join(t for _, t, *_ in to_formatted_text(shell.prompt.rprompt))
                shell.prompt.default_buffer.text = "mine A"
                usage = "".join(t for _, t, *_ in to_formatted_text(shell.prompt.rprompt))
                return shell.prompt.app.color_depth, unknown, typing, usage

    depth, unknown, typing, usage = asyncio.run(go())
    assert depth == ColorDepth.DEPTH_1_BIT
    # flagged with a glyph and words, not colour alone; ASCII in --plain
    assert unknown == "? unknown command 'mnie' - did you mean mine?"
    assert typing.startswith("mine")  # a prefix being typed is not flagged yet
    assert usage == "mine NODE [N] [as NAME]"


def test_run_repl_end_to_end_in_a_prompt_toolkit_app_session(tmp_path):
    """The real entry point (patch_stdout, history file, session close) with a pipe for a keyboard."""
    from prompt_toolkit.application import create_app_session

    from lab.commands.session import LabConfig
    from lab.repl.app import run_repl

    async def go(text: str, **kw):
        with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
            inp.send_text(text)
            return await run_repl(LabConfig(difficulty=8), **kw)

    assert asyncio.run(go("mine A\nquit\n")) == 0
    assert asyncio.run(go(CTRL_D, lesson="no-such-lesson")) == 2
    history = (tmp_path / "state" / "history").read_text()
    assert "+mine A" in history and "+quit" in history
