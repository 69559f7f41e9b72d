"""The `lab` command line: help, version, exit codes, scripts, inline commands, piped stdin.

Exit codes are a contract (README, Using the lab): 0 success, 1 a `check` or a
command failed, 2 a usage error. Output that is not a terminal carries no
colour and no cursor tricks.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from lab import __version__
from lab.cli import main

FAST = ["--difficulty", "8"]


@pytest.fixture(autouse=True)
def _state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path / "state"))


def lab(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


# -- help, version, usage errors ---------------------------------------------------------------
def test_help_lists_the_subcommands_and_options():
    r = lab("--help")
    assert r.exit_code == 0
    for word in ("run", "lessons", "lesson", "bench", "--seed", "--nodes", "--plain", "-c"):
        assert word in r.output
    assert lab("-h").output == r.output


def test_version():
    r = lab("--version")
    assert r.exit_code == 0 and __version__ in r.output


@pytest.mark.parametrize("args", [
    ["--nodes", "0"],
    ["--difficulty", "99"],
    ["--topology", "blob"],
    ["--seed", "minus-one"],
    ["no-such-command"],
    ["run"],  # FILE missing
    ["run", "/no/such/file.lab"],
])
def test_usage_errors_exit_2(args):
    r = lab(*args)
    assert r.exit_code == 2, r.output
    assert "Usage:" in r.output or "Error" in r.output


# -- lab -c --------------------------------------------------------------------------------------------
def test_inline_commands_run_and_exit_0():
    r = lab(*FAST, "-c", "mine A; check height D == 1")
    assert r.exit_code == 0, r.output
    assert "A mined block 1" in r.output


def test_inline_failed_check_exits_1_after_running_the_rest():
    r = lab(*FAST, "-c", "check height A == 5; mine B")
    assert r.exit_code == 1
    assert "expected: height A == 5" in r.output
    assert "B mined block 1" in r.output  # checks do not stop the run
    assert "1 check failed" in r.output


def test_inline_command_error_exits_1_with_its_location():
    r = lab(*FAST, "-c", "frobnicate")
    assert r.exit_code == 1
    assert "unknown command 'frobnicate'" in r.output
    assert "-c:1: command failed: frobnicate" in r.output


# -- lab run FILE --------------------------------------------------------------------------------------
def test_a_script_runs_to_the_end(tmp_path):
    script = tmp_path / "fork.lab"
    script.write_text("# a fork, then healed\npartition A,B | C,D\nmine A\nmine C 2\nheal\ncheck same-tip\n")
    r = lab(*FAST, "run", str(script))
    assert r.exit_code == 0, r.output
    assert "reorganised" in r.output


def test_a_command_error_in_a_script_names_file_and_line_and_stops(tmp_path):
    script = tmp_path / "bad.lab"
    script.write_text("mine A\n\nmine Z\nmine B\n")
    r = lab(*FAST, "run", str(script))
    assert r.exit_code == 1
    assert f"{script}:3: command failed: mine Z" in r.output
    assert "B mined" not in r.output  # a command error stops the script


def test_a_failed_check_in_a_script_exits_1_after_every_check(tmp_path):
    script = tmp_path / "checks.lab"
    script.write_text("mine A\ncheck height A == 2\ncheck height B == 1\ncheck forked\n")
    r = lab(*FAST, "run", str(script))
    assert r.exit_code == 1
    assert "2 checks failed" in r.output


def test_run_dash_reads_stdin():
    r = lab(*FAST, "run", "-", input="mine C\ncheck height A == 1\n")
    assert r.exit_code == 0, r.output
    assert "C mined block 1" in r.output


# -- lab with stdin not a terminal -------------------------------------------------------------------------
def test_lab_with_piped_stdin_reads_commands_like_run_dash():
    r = lab(*FAST, input="mine A\nmine B\ncheck height C == 2\n")
    assert r.exit_code == 0, r.output
    assert "A mined block 1" in r.output and "B mined block 2" in r.output
    assert "lab> " not in r.output


def test_lab_with_piped_stdin_reports_errors_like_a_script():
    r = lab(*FAST, input="mine A\nmine Q\n")
    assert r.exit_code == 1
    assert "<stdin>:2: command failed: mine Q" in r.output


def test_a_real_pipe_gets_no_prompt_toolkit_warning_and_no_escape_codes(tmp_path):
    """`echo ... | lab`: prompt_toolkit is not involved, so nothing warns and nothing is coloured."""
    env = {**os.environ, "LAB_STATE_DIR": str(tmp_path / "state"), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    p = subprocess.run([sys.executable, "-m", "lab", *FAST], input="mine A\ntree\nstatus\nquit\nmine B\n",
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "A mined block 1" in p.stdout and "B mined" not in p.stdout  # quit ends the run
    assert "\x1b" not in p.stdout and "\x1b" not in p.stderr
    assert "Input is not a terminal" not in p.stderr
    assert p.stderr == ""


# -- start-up imports what `lab -c status` needs, nothing more ------------------------------------------------
_MODULES_AT_EXIT = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print(' '.join(sorted(sys.modules)), file=sys.stderr))\n"
    "sys.argv = ['lab', *sys.argv[1:]]\n"
    "runpy.run_module('lab', run_name='__main__')\n"
)


def _modules_after(tmp_path, *args: str) -> tuple[str, set[str]]:
    env = {**os.environ, "LAB_STATE_DIR": str(tmp_path / "state"), "NO_COLOR": "1"}
    p = subprocess.run([sys.executable, "-c", _MODULES_AT_EXIT, *args], capture_output=True, text=True, env=env,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout, set(p.stderr.split())


RARE = ("sqlite3", "tomllib", "csv", "lab.commands.saving", "lab.commands.experiment", "lab.commands.classroom",
        "lab.commands.lessons", "lab.commands.details", "lab.commands.attack", "lab.experiments.labs",
        "lab.classroom.roster", "lab.lessons.loader", "lab.world.savefile", "lab.repl.progress")


def test_a_lab_starts_without_the_modules_of_rarely_used_commands(tmp_path):
    """Experiments, the class, saving, lessons, details: imported when such a command first runs."""
    out, loaded = _modules_after(tmp_path, *FAST, "-c", "status")
    assert "4 nodes (mesh)" in out
    assert sorted(loaded & set(RARE)) == []
    out, loaded = _modules_after(tmp_path, *FAST, "-c", "mine A; digest; log 3")
    assert "A mined block 1" in out
    assert {"lab.commands.saving", "lab.commands.details"} <= loaded
