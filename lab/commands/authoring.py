"""`lessons new FILE` (and `lab lessons new FILE`): a lesson skeleton from the lab as it is now.

The lab's scenario becomes the lesson's [start]; the commands typed since
the lab was built become the reference solution of one step; the goal lists
predicates that hold now (heights, tips, mempools), for the author to keep
the ones the step is about. Every suggestion is evaluated before it is
written, so each one is a valid predicate that holds after the solution.
The text is parsed back with the lesson loader before it is written, so
`lab lessons check FILE` reads what `lessons new` wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from lab.commands import predicates, reads
from lab.errors import CommandError
from lab.lessons import language
from lab.lessons.loader import FILE_NAME, parse_lesson
from lab.render.output import Output, output
from lab.world.savefile import atomic_write
from lab.world.topology import node_names

if TYPE_CHECKING:
    from lab.commands.session import Session
    from lab.world.lab import Lab

USAGE_HINT = "name it NN-slug.toml, e.g. `lessons new 90-my-lesson.toml`"


def suggested_goals(lab: Lab) -> list[str]:
    """Predicates that hold on `lab` now: every node's height, who shares a tip, every mempool's size."""
    nodes = sorted(lab.nodes.values(), key=lambda n: n.name)
    found = [f"height {n.name} >= {reads.tip(n).height}" for n in nodes if reads.tip(n).height > 0]
    by_tip: dict[bytes, list[str]] = {}
    for n in nodes:
        by_tip.setdefault(reads.tip(n).hash, []).append(n.name)
    if len(by_tip) == 1 and len(nodes) > 1:
        found.append("same-tip")
    else:
        found += [f"tip {names[0]} == {other}" for names in by_tip.values() for other in names[1:]]
        found += ["forked"] if len(by_tip) > 1 else []
    found += [f"mempool {n.name} size == {len(reads.mempool_txs(n))}" for n in nodes]
    return [p for p in found if _holds(lab, p)]


def _holds(lab: Lab, predicate: str) -> bool:
    try:
        return predicates.evaluate(lab, predicate).ok
    except CommandError:
        return False


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _list(items: list[str], indent: str = "    ") -> str:
    if not items:
        return "[]"
    return "[\n" + "".join(f"{indent}{_toml(x)},\n" for x in items) + "]"


def skeleton(s: Session, file_name: str) -> str:
    """The text of a lesson file for the lab of session `s` (the file name gives its number and id)."""
    match = FILE_NAME.match(file_name)
    if not match:
        raise CommandError(f"'{file_name}' is not a lesson file name", USAGE_HINT)
    lab = s.need_lab()
    cfg = s.config
    # the nodes the lab was built with, in its order (a ring's); nodes added since are the solution's
    names = node_names(cfg.nodes) if isinstance(cfg.nodes, int) else [n.upper() for n in cfg.nodes]
    topology = cfg.topology + (f" {cfg.k}" if cfg.topology == "random" else "")
    typed = [line for line in s.history if language.check_command(line) is None and not _is_authoring(line)]
    if not typed:
        raise CommandError("no commands typed in this lab yet: the skeleton would have no solution",
                           "type the commands of the step (e.g. `mine A`), then `lessons new FILE`")
    goals = suggested_goals(lab)
    latency = f'latency = "{round(cfg.latency_ms, 3):g}ms"\n'
    text = f"""# A lesson skeleton written by `lessons new` from a lab; `lab lessons check {file_name}` replays it.
id = {_toml(match.group(2))}
title = "TODO: the lesson's title"
summary = "TODO: one sentence on what the learner will see."

[start]
names = {json.dumps(names)}
topology = {_toml(topology)}
seed = {cfg.seed}
difficulty = {cfg.difficulty}
{latency}
[[steps]]
title = "TODO: the step's title"
say = \"\"\"
TODO: what the learner should do, and why it matters.
\"\"\"
# Suggested from the lab as it was (each holds after the solution): keep the ones this step is about.
goal = {_list(goals)}
hints = ["TODO: a vague hint first", "TODO: then the command"]
# The commands typed in the lab (views left out): the reference solution.
solution = {_list(typed)}
"""
    parse_lesson(text, file_name)  # what we write must load (raises LessonError otherwise)
    return text


def _is_authoring(line: str) -> bool:
    return language.command_word(line) in ("lessons", "lesson")


def write_skeleton(s: Session, path: str) -> str:
    """Write the skeleton to `path` (never over an existing file); the line that says so."""
    p = Path(path).expanduser()
    if p.exists():
        raise CommandError(f"'{p}' already exists", "give a new file name; `lessons new` never overwrites")
    text = skeleton(s, p.name)
    try:
        atomic_write(p, text.encode())
    except OSError as e:
        raise CommandError(f"could not write '{p}': {e.strerror or e}", "check the folder") from None
    return (f"wrote {p}: this lab as [start], the commands typed as the solution, goals to choose from; "
            f"edit the TODOs, then `lab lessons check {p}`")


async def cmd_lessons_new(s: Session, args: list[str]) -> Output:
    """`lessons new FILE`."""
    if len(args) != 1:
        raise CommandError("'lessons new' needs a file name", USAGE_HINT)
    return output(write_skeleton(s, args[0]))
