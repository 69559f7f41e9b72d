"""Commands of the attacker's seat: withhold, publish, strategy, eclipse.

The moves themselves live in lab/world/attack.py and lab/world/topology.py;
what happened is narrated from their typed events (lab/attack_events.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.commands.builtin import NOTHING, need, usage
from lab.commands.parse import parse_int
from lab.render.output import Output

if TYPE_CHECKING:
    from lab.commands.session import Session


def _on_off(word: str, name: str) -> bool:
    w = word.lower()
    if w not in ("on", "off"):
        raise usage(name, f"'{word}' is neither on nor off")
    return w == "on"


async def cmd_withhold(s: Session, args: list[str]) -> Output:
    need(args, "withhold")
    s.need_lab().attack.set_withhold(args[0], _on_off(args[1], "withhold"))
    return NOTHING


async def cmd_publish(s: Session, args: list[str]) -> Output:
    need(args, "publish")
    count = parse_int(args[1], "blocks", 1) if len(args) > 1 else None
    s.need_lab().attack.publish(args[0], count)
    return NOTHING


async def cmd_strategy(s: Session, args: list[str]) -> Output:
    need(args, "strategy")
    kind = args[1].lower()
    if kind not in ("honest", "selfish"):
        raise usage("strategy", f"'{args[1]}' is not a strategy (honest or selfish)")
    s.need_lab().attack.set_strategy(args[0], kind)
    return NOTHING


async def cmd_eclipse(s: Session, args: list[str]) -> Output:
    need(args, "eclipse")
    if args[1].lower() != "by":
        raise usage("eclipse", "name the victim, then `by` and the attackers")
    by = [n for a in args[2:] for n in a.split(",") if n]
    await s.need_lab().topo.eclipse(args[0], by)
    return NOTHING
