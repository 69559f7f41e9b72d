"""The `lab` command line (click): the REPL, scripts, inline commands, lessons, bench.

Exit codes: 0 success, 1 a `check` failed or a command failed, 2 usage error.
Output that is not a terminal has no colour; NO_COLOR is honoured everywhere.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import click

from lab import __version__
from lab.errors import LabError
from lab.language.words import TOPOLOGIES
from lab.params import DEFAULT_DIFFICULTY, DEFAULT_LATENCY_MS, DEFAULT_NODES, DEFAULT_SEED
from lab.render.style import Styler, color_wanted


def _config(nodes: int, seed: int, topology: str, difficulty: int, latency: float, host: str = "127.0.0.1"):
    from lab.commands.config import LabConfig
    kind, _, k = topology.partition(" ")
    return LabConfig(nodes=nodes, topology=kind, k=int(k) if k.isdigit() else 3, seed=seed,
                     difficulty=difficulty, latency_ms=latency, host=host)


DEFAULT_MAX_SECONDS = 600  # a script's wall-clock limit unless --max-seconds says otherwise (generous)


async def run_lines(session, lines, source: str, out) -> int:
    """Run script lines; print `FILE:LINE:` before a command error and stop; checks don't stop."""
    failed_checks = 0
    for lineno, line in lines:
        if session.deadline is not None and time.monotonic() > session.deadline:
            out(f"{source}:{lineno}: stopped: the script's time limit of {session.max_seconds:g} s ran out "
                "(give it more with --max-seconds N)")
            return 1
        outcome = await session.execute(line)
        if outcome.text:
            out(outcome.text)
        if outcome.check_failed:
            failed_checks += 1
        if not outcome.ok and not outcome.check_failed:
            # non-ASCII escaped: a look-alike (Cyrillic А) must not be echoed as if it were "A"
            shown = line.strip().encode("ascii", "backslashreplace").decode("ascii")
            out(f"{source}:{lineno}: command failed: {shown}")
            return 1
        if outcome.quit:
            break
    if failed_checks:
        out(f"{failed_checks} check{'s' if failed_checks != 1 else ''} failed")
        return 1
    return 0


async def _script(config, lines, source: str, styler: Styler, max_seconds: float = DEFAULT_MAX_SECONDS,
                  load: str | None = None) -> int:
    from lab.commands.session import Session
    session = Session(config, styler)
    # Long work obeys a limit in scripts: the estimate refuses what cannot finish, the deadline stops the rest
    session.max_seconds, session.deadline = max_seconds, time.monotonic() + max_seconds
    session.notice = lambda text: click.echo(text, err=True)
    if sys.stderr.isatty():  # elsewhere no progress line: a script's output stays the same run to run
        from lab.repl.progress import ProgressPrinter
        session.on_progress = ProgressPrinter(sys.stderr, ascii_only=styler.ascii_only)
    _ctrl_c_stops_long_commands(session)
    try:
        await session.start()
    except (LabError, OSError) as e:  # e.g. more nodes than open files allow: one line, not a traceback
        click.echo(styler.line("error", f"the lab could not start: {e}"))
        await session.close()
        return 1
    try:
        if load is not None:  # saving (SQLite) is imported only for a saved lab: start-up stays short
            from lab.commands.saving import load_at_start
            if not await load_at_start(session, load, click.echo):
                return 1
        return await run_lines(session, lines, source, click.echo)
    finally:
        await session.close()


async def _guarded(coro):
    """Run the lab with an event loop that reports EMFILE in one line, not a traceback per refused accept."""
    from lab.world.limits import EmfileReporter
    asyncio.get_running_loop().set_exception_handler(EmfileReporter(lambda text: click.echo(text, err=True)))
    return await coro


def _ctrl_c_stops_long_commands(session) -> None:
    """Ctrl-C in a script: long work (`mine A 1000`, an experiment) stops early and reports, and
    the script goes on; any other command is cancelled and the script ends (exit 130)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def interrupt() -> None:
        if session.request_stop():
            return
        if task is not None:
            task.cancel()
    try:
        loop.add_signal_handler(signal.SIGINT, interrupt)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        pass


def _run(coro) -> int:
    try:
        return asyncio.run(_guarded(coro))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 130


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="blockchain-lab")
@click.option("--nodes", "-n", default=DEFAULT_NODES, show_default=True, type=click.IntRange(1, 2000), help="How many nodes.")
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=click.IntRange(0, 2**32 - 1), help="The seed: same seed + same commands = same run.")
@click.option("--topology", default="mesh", show_default=True, help=" | ".join(TOPOLOGIES[:-1]) + " | 'random K'")
@click.option("--difficulty", default=DEFAULT_DIFFICULTY, show_default=True, type=click.IntRange(1, 32), help="Proof-of-work zero bits.")
@click.option("--latency", default=DEFAULT_LATENCY_MS, show_default=True, type=click.FloatRange(0, 60_000), help="Link latency in ms.")
@click.option("--host", default="127.0.0.1", show_default=True, metavar="ADDR",
              help="Address every node listens on. Anything but loopback exposes the nodes to your network: see README, Security.")
@click.option("-c", "commands", default=None, help='Run these commands and exit, e.g. -c "mine A; tree".')
@click.option("--load", "load", default=None, metavar="FILE", help="Start on a saved lab (`save FILE` makes one).")
@click.option("--plain", is_flag=True, help="No colour, ASCII only.")
@click.option("--max-seconds", "max_seconds", default=DEFAULT_MAX_SECONDS, show_default=True,
              type=click.FloatRange(1, 10**7), help="Wall-clock limit of a script (-c, stdin).")
@click.pass_context
def main(ctx: click.Context, nodes, seed, topology, difficulty, latency, host, commands, load, plain, max_seconds) -> None:
    """Blockchain Lab: a small blockchain network of real nodes, driven from one prompt."""
    ctx.ensure_object(dict)
    ctx.obj.update(nodes=nodes, seed=seed, topology=topology, difficulty=difficulty, latency=latency, plain=plain,
                   host=host, max_seconds=max_seconds, commands=commands, load=load)
    if topology.split(" ")[0] not in TOPOLOGIES:
        choices = ", ".join(TOPOLOGIES[:-1]) + ", 'random K'"
        raise click.BadParameter(f"'{topology}' is not a topology ({choices})", param_hint="--topology")
    if ctx.invoked_subcommand is not None:
        return
    config = _config(nodes, seed, topology, difficulty, latency, host)
    if commands is not None:
        styler = Styler(color_wanted(sys.stdout.isatty(), plain), plain)
        ctx.exit(_run(_script(config, [(1, commands)], "-c", styler, max_seconds, load)))
    if sys.stdin.isatty() and sys.stdout.isatty():
        from lab.repl.app import run_repl
        ctx.exit(_run(run_repl(config, plain=plain, load=load)))
    styler = Styler(False, plain)
    ctx.exit(_run(_script(config, enumerate(sys.stdin, 1), "<stdin>", styler, max_seconds, load)))


@main.command("run")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--max-seconds", "max_seconds", default=None, type=click.FloatRange(1, 10**7),
              help=f"Wall-clock limit of the script [default: {DEFAULT_MAX_SECONDS}].")
@click.pass_context
def run_cmd(ctx: click.Context, file, max_seconds) -> None:
    """Run a script of lab commands (FILE, or - for stdin)."""
    o = ctx.obj
    config = _config(o["nodes"], o["seed"], o["topology"], o["difficulty"], o["latency"], o["host"])
    styler = Styler(color_wanted(sys.stdout.isatty(), o["plain"]), o["plain"])
    name = "<stdin>" if file.name == "<stdin>" else file.name
    ctx.exit(_run(_script(config, enumerate(file, 1), name, styler, max_seconds or o["max_seconds"], o["load"])))


@main.group("lessons", invoke_without_command=True)
@click.pass_context
def lessons_cmd(ctx: click.Context) -> None:
    """List the lessons with your progress."""
    if ctx.invoked_subcommand is not None:
        return
    from lab.commands.lesson_cli import lessons_listing
    click.echo("\n".join(lessons_listing(plain=ctx.obj["plain"])))


@lessons_cmd.command("check")
@click.argument("lessons", nargs=-1)
@click.pass_context
def lessons_check_cmd(ctx: click.Context, lessons) -> None:
    """Replay the reference solutions and report each lesson: all, or these ids or FILE.toml (for authors)."""
    from lab.commands.lesson_cli import check_lessons
    ctx.exit(_run(check_lessons(list(lessons), click.echo)))


@lessons_cmd.command("new")
@click.argument("file")
@click.pass_context
def lessons_new_cmd(ctx: click.Context, file) -> None:
    """Write a lesson skeleton from a lab built by -c "COMMANDS" or by the commands on stdin (for authors)."""
    from lab.commands.lesson_cli import new_lesson
    o = ctx.obj
    config = _config(o["nodes"], o["seed"], o["topology"], o["difficulty"], o["latency"], o["host"])
    lines = [o["commands"]] if o["commands"] is not None else ([] if sys.stdin.isatty() else list(sys.stdin))
    ctx.exit(_run(new_lesson(config, lines, file, click.echo, o["load"])))


@main.command("lesson")
@click.argument("lesson_id")
@click.option("--submit", "submit", default=None, metavar="FILE",
              help="Keep a submission in FILE as you work (for `lab grade`).")
@click.pass_context
def lesson_cmd(ctx: click.Context, lesson_id, submit) -> None:
    """Open the lab inside a lesson (with stdin not a terminal: take commands from stdin)."""
    plain = ctx.obj["plain"]
    if sys.stdin.isatty() and sys.stdout.isatty():
        from lab.repl.app import run_repl
        o = ctx.obj
        config = _config(o["nodes"], o["seed"], o["topology"], o["difficulty"], o["latency"], o["host"])
        ctx.exit(_run(run_repl(config, plain=plain, lesson=lesson_id, submit=submit)))
    from lab.commands.lesson_cli import run_lesson_stdin
    ctx.exit(_run(run_lesson_stdin(lesson_id, sys.stdin, click.echo, plain=True, submit=submit)))


@main.command("grade")
@click.argument("paths", nargs=-1, required=True)
@click.option("--csv", "csv_path", default=None, metavar="FILE", help="Also write the rows as CSV to FILE.")
def grade_cmd(paths, csv_path) -> None:
    """Replay every submission (files or folders) and print one row per learner and lesson."""
    from lab.commands.grading_cli import grade_command
    sys.exit(grade_command(paths, csv_path, click.echo))


def _class_run(ctx: click.Context, *, hosting: bool, addr: str, code, name, commands, script) -> None:
    import secrets

    from lab.classroom.front import run_class
    o = ctx.obj
    if commands is not None and script is not None:
        raise click.UsageError("give -c CMDS or --script FILE, not both")
    parent = ctx.find_root()  # `lab [--nodes N] class host` / `lab [--nodes N] join`
    explicit = parent is not None and parent.get_parameter_source("nodes") is click.core.ParameterSource.COMMANDLINE
    # each laptop's own seed and wallet key, unguessable by classmates, unless `lab --seed N` asks for a replay
    seeded = parent is not None and parent.get_parameter_source("seed") is click.core.ParameterSource.COMMANDLINE
    seed = o["seed"] if seeded else secrets.randbits(32)
    config = _config(o["nodes"] if explicit else 1, seed, o["topology"], o["difficulty"], o["latency"])
    interactive = commands is None and script is None and sys.stdin.isatty() and sys.stdout.isatty()
    styler = Styler(color_wanted(sys.stdout.isatty(), o["plain"]), o["plain"])
    name_shown = "<stdin>" if script is None else script.name
    ctx.exit(_run(run_class(config, hosting=hosting, addr=addr, code=code, name=name, commands=commands,
                            script=script, script_name=name_shown, styler=styler, own_key=not seeded,
                            out=lambda text: click.echo(text), interactive=interactive)))


@main.group("class")
def class_cmd() -> None:
    """A class: labs on many laptops as one peer-to-peer network (see README, Security)."""


@class_cmd.command("host")
@click.option("--listen", "addr", default="127.0.0.1:0", show_default=True, metavar="ADDR:PORT",
              help="Where the class listens; 0.0.0.0:PORT opens it to the LAN (see README, Security).")
@click.option("--code", default=None, metavar="CODE", help="Your own secret instead of a random one.")
@click.option("--name", default=None, help="Your participant name (default: your login name).")
@click.option("-c", "commands", default=None, help="Run these commands, then close the class.")
@click.option("--script", type=click.File("r", encoding="utf-8"), default=None, help="Run this script.")
@click.pass_context
def class_host_cmd(ctx: click.Context, addr, code, name, commands, script) -> None:
    """Open a class; prints first: class open: lab join HOST:PORT --code CODE"""
    _class_run(ctx, hosting=True, addr=addr, code=code, name=name, commands=commands, script=script)


@main.command("join")
@click.argument("addr", metavar="HOST:PORT")
@click.option("--code", required=True, metavar="CODE", help="The code the instructor's screen shows.")
@click.option("--name", default=None, help="Your participant name (default: your login name).")
@click.option("-c", "commands", default=None, help="Run these commands, then leave.")
@click.option("--script", type=click.File("r", encoding="utf-8"), default=None, help="Run this script.")
@click.pass_context
def join_cmd(ctx: click.Context, addr, code, name, commands, script) -> None:
    """Join a class: your node joins the class network at HOST:PORT."""
    _class_run(ctx, hosting=False, addr=addr, code=code, name=name, commands=commands, script=script)


@main.command("bench")
@click.option("--json", "as_json", is_flag=True, help="One JSON object keyed by figure name.")
@click.option("--quick", is_flag=True, help="A smoke run of a few seconds (timings not meaningful).")
@click.option("--only", default=None, metavar="FIGURES", help="Run only these figures, e.g. sync or hop,flood.")
@click.option("--runs", default=None, type=click.IntRange(1, 50), help="Runs per figure (median reported).")
def bench_cmd(as_json, quick, only, runs) -> None:
    """Measure this machine: how many nodes it runs, how fast blocks travel."""
    from lab.bench import main as bench_main
    sys.exit(bench_main(as_json=as_json, quick=quick, only=only, runs=runs))


if __name__ == "__main__":  # pragma: no cover
    main()
