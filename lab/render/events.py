"""The sentence for each typed event (lab/events.py): every narration template lives here.

`sentence(event)` is one plain-language line, or None for an event that is a
fact the lab keeps but does not narrate (a block stored). `is_quiet(event)`:
detail that `log` shows and the summary after a command leaves out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lab import attack_events as av
from lab import events as ev
from lab.chain.amount import format_amount
from lab.chain.crypto import short_hex
from lab.classroom import events as cev
from lab.render.words import plural


def _detail(detail: str) -> str:
    return f" ({detail})" if detail else ""


def _mined(e: ev.BlockMined) -> str:
    return (f"{e.node} mined block {e.height} {short_hex(e.block)} on {e.height - 1} {short_hex(e.parent)} "
            f"({e.n_tx} tx, reward {format_amount(e.reward)}"
            + (f" incl. {format_amount(e.fees)} fees" if e.fees else "") + ")")


def _accepted(e: ev.BlockAccepted) -> str:
    return f"{e.node} accepted block {e.height} {short_hex(e.block)} from {e.peer}: new tip"


def _fork(e: ev.ForkSeen) -> str:
    why = "which has more work" if e.tip_more_work else "which has as much work and came first"
    return (f"{e.node} sees a fork: block {e.height} {short_hex(e.block)} from {e.peer} is on a side branch; "
            f"it stays on {e.tip_height} {short_hex(e.tip)}, {why}")


def _orphan(e: ev.BlockOrphan) -> str:
    if e.height is None:
        return f"{e.node} got block {short_hex(e.block)} from {e.peer} but not its parent yet; asking for headers"
    return (f"{e.node} got block {e.height} {short_hex(e.block)} from {e.peer}: its branch has more work, "
            "but blocks before it have not arrived; fetching them")


def _block_rejected(e: ev.BlockRejected) -> str:
    frm = f" from {e.peer}" if e.direct else ""
    return f"{e.node} rejected block {short_hex(e.block)}{frm}: {e.code}{_detail(e.detail)}"


def _headers_rejected(e: ev.HeadersRejected) -> str:
    return f"{e.node} rejected headers from {e.peer}: {e.code}{_detail(e.detail)}"


def reorg_change(e: ev.Reorg) -> str:
    """What a reorg did, without who: `back to block 4 c5e8c6, dropped 1 (852ea2), adopted 2 (...)`."""
    dropped = ", ".join(short_hex(h) for h in e.dropped)
    adopted = ", ".join(short_hex(h) for h in e.adopted)
    return (f"back to block {e.fork_height} {short_hex(e.fork)}, dropped {len(e.dropped)} ({dropped}), "
            f"adopted {len(e.adopted)} ({adopted})")


def _reorg(e: ev.Reorg) -> str:
    return f"{e.node} reorganised to a chain with more work: {reorg_change(e)}"


def _tx_accepted(e: ev.TxAccepted) -> str:
    if e.origin == "caught-up":
        return f"{e.node} accepted transaction {short_hex(e.tx)} into its mempool now that its chain has caught up"
    if e.origin == "own":
        return f"{e.node} checked its own transaction {short_hex(e.tx)}, keeps it in its mempool and announces it"
    return f"{e.node} accepted transaction {short_hex(e.tx)} from {e.peer} into its mempool"


def _peer_connected(e: ev.PeerConnected) -> str:
    if e.outsider:
        return f"{e.node} accepted a connection from {e.peer} (outside the lab)"
    return f"{e.node} completed the handshake with {e.peer}"


def _healed(e: ev.Healed) -> str:
    if e.reconnected:
        return f"the network is healed: {plural(e.reconnected, 'link')} reconnected"
    return "the network is healed (no link needed reconnecting)"


# -- the attacker's seat ------------------------------------------------------------------------------


def _withhold(e: av.WithholdSet) -> str:
    if e.on:
        return (f"{e.node} now keeps the blocks it mines and the transactions it makes to itself; "
                "its miner extends its own private chain")
    return f"{e.node} stops withholding: it publishes every block it finds, as an honest node does"


def _published(e: av.BlocksPublished) -> str:
    heights = ", ".join(f"{e.first_height + i} {short_hex(h)}" for i, h in enumerate(e.blocks[:6]))
    more = f" and {len(e.blocks) - 6} more" if len(e.blocks) > 6 else ""
    left = f"; it still withholds {e.left}" if e.left else ""
    return f"{e.node} publishes {plural(len(e.blocks), 'block')} it withheld ({heights}{more}){left}"


# Eyal & Sirer's rules (lab/chain/strategies.py), one clause each; {p}: the blocks the move published.
_MOVES = {
    "withhold": "it keeps its new block private",
    "win-race": "it found a block during a tie, so it publishes {p} and wins the race",
    "match": "the public chain caught up to one behind, so it publishes {p} to tie, and races",
    "override": "its lead fell to one, so it publishes {p}: its longer chain wins",
    "keep-ahead": "it is still well ahead, so it publishes {p} to match the public chain",
    "adopt": "the public chain is longer, so it gives up its branch and mines on the public tip",
    "publish": "it publishes {p} at once",
    "first-seen": "a block of equal work arrived; it keeps the tip it saw first",
    "nothing-withheld": "it holds nothing back and keeps mining",
}


def _move(e: av.StrategyMove) -> str:
    what = _MOVES.get(e.rule, e.rule).format(p=plural(e.published, "block"))
    if e.abandoned:
        what += f" ({plural(e.abandoned, 'withheld block')} abandoned)"
    cause = "mined a block" if e.cause == "mined" else "heard a block"
    return (f"{e.node} ({e.strategy}) {cause}; its branch {e.private}, the public chain {e.public} since the fork: "
            f"{what}")


def _class_control(e: cev.ClassControlApplied) -> str:
    who = "you" if e.by_host else "the instructor"
    if e.action == "split":
        mates = f"you are with {', '.join(e.companions)}" if e.companions else "you are alone in your group"
        return f"{who} split the class: {mates} (groups: {e.detail})"
    if e.action == "heal":
        return f"{who} healed the class: every group links up again and the most-work chain wins"
    return f"{who} set {e.action} {e.detail}"


_TEMPLATES: dict[type, Callable[[Any], str | None]] = {
    av.WithholdSet: _withhold,
    av.BlockWithheld: lambda e: (f"{e.node} keeps block {e.height} {short_hex(e.block)} to itself "
                                 f"(withholds {e.withheld})"),
    av.TxWithheld: lambda e: f"{e.node} keeps its transaction {short_hex(e.tx)} private, for its own chain",
    av.BlocksPublished: _published,
    av.StrategySet: lambda e: (f"{e.node} plays selfish (Eyal & Sirer): it withholds and publishes only to race "
                               "or to win" if e.strategy == "selfish" else f"{e.node} plays honest"),
    av.StrategyMove: _move,
    av.Eclipsed: lambda e: (f"{e.node} is eclipsed: its only peers are {', '.join(e.by)} ({e.cut} other links "
                            f"closed), and they relay it only their own blocks and transactions"),
    av.EclipseEnded: lambda e: f"{e.node} is no longer eclipsed by {', '.join(e.by)}",
    ev.BlockMined: _mined,
    ev.BlockStored: lambda e: None,
    ev.BlockAccepted: _accepted,
    ev.ForkSeen: _fork,
    ev.BlockOrphan: _orphan,
    ev.BlockRejected: _block_rejected,
    ev.HeadersRejected: _headers_rejected,
    ev.Reorg: _reorg,
    ev.BlockForged: lambda e: (f"{e.node} forged block {short_hex(e.block)} breaking the rule '{e.rule}' "
                               "and sends it to its peers"),
    ev.TxAccepted: _tx_accepted,
    ev.TxRejected: lambda e: (f"{e.node} rejected transaction {short_hex(e.tx)} from {e.peer}: "
                              f"{e.code}{_detail(e.detail)}"),
    ev.TxOrphan: lambda e: f"{e.node} holds transaction {short_hex(e.tx)} from {e.peer} until its parent arrives",
    ev.TxReturned: lambda e: f"{e.node}: transaction {short_hex(e.tx)} from a dropped block is back in the mempool",
    ev.TxEvicted: lambda e: f"{e.node}: transaction {short_hex(e.tx)} left the mempool: {e.code}{_detail(e.detail)}",
    ev.TxHanded: lambda e: f"{e.wallet}'s wallet hands transaction {short_hex(e.tx)} to {e.node}",
    ev.PeerConnected: _peer_connected,
    ev.PeerDisconnected: lambda e: f"{e.node} disconnected {e.peer}: {e.reason}",
    ev.PeerPunished: lambda e: f"{e.node} disconnected {e.peer} and discourages it: {e.reason}",
    ev.PeerNoisy: lambda e: (f"{e.node} stops narrating rejections from {e.peer}: "
                             f"it sent more than {e.limit}"),
    ev.FrameDropped: lambda e: (f"{e.node} dropped a '{e.command}' frame from {e.peer}: "
                                "bad checksum (more are dropped silently)"),
    ev.RejectReceived: lambda e: (f"{e.node} learns from {e.peer} that its {e.message} "
                                  f"{short_hex(e.hash)} was refused: {e.reason}"),
    ev.InternalError: lambda e: (f"{e.node} hit an internal error handling '{e.command}' from {e.peer}: "
                                 f"{e.detail}"),
    ev.LinkUp: lambda e: f"{e.node} connected to {e.peer}",
    ev.LinkDown: lambda e: f"{e.node} and {e.peer} disconnected",
    ev.Partitioned: lambda e: (f"the network is split: {' | '.join(','.join(g) for g in e.groups)} "
                               f"({plural(e.cut, 'link')} cut)"),
    ev.Healed: _healed,
    ev.OneWayCut: lambda e: (f"one-way cut: {e.src}'s messages to {e.dst} are now lost "
                             f"({e.dst} still reaches {e.src})"),
    ev.NodeStopped: lambda e: f"{e.node} stopped: it keeps its chain but hears nothing until started",
    ev.NodeStarted: lambda e: (f"{e.node} started again at height {e.height}; "
                               "it reconnects and catches up"),
    ev.HeadersAsked: lambda e: (f"{e.node} asked {e.peer} for headers after {short_hex(e.start)} "
                                f"(getheaders, a locator of {e.locator} hash{'es' if e.locator != 1 else ''})"),
    ev.HeadersReceived: lambda e: (f"{e.node} got {e.count} header{'s' if e.count != 1 else ''} from {e.peer} "
                                   f"(heights {e.first_height}..{e.last_height}, up to {short_hex(e.last)}), checked "
                                   f"them, and asked {e.peer} for {e.asked} block{'s' if e.asked != 1 else ''} (getdata)"),
    ev.NodeAdded: lambda e: (f"{e.node} joined the network with an empty chain, connecting to "
                             f"{', '.join(e.peers) or 'nobody'}"),
    ev.StillBusy: lambda e: (f"the network is still busy: the auto-miners found {plural(e.mined, 'block')} while messages "
                             "were in flight; type `run until quiet` to go on, or `autominer off`"),
    cev.ClassOpened: lambda e: (f"{e.node} {'hosts the class at' if e.is_host else 'joined the class of'} {e.host}; "
                               "a class lab runs live: there is no shared virtual clock across laptops"),
    cev.ClassAdmitted: lambda e: f"{e.node} admitted {e.name} ({e.peer}) to the class",
    cev.ClassRefused: lambda e: f"{e.node} refused a class link with {e.peer}: {e.reason}",
    cev.ClassControlApplied: _class_control,
    cev.ClassControlRefused: lambda e: (f"{e.node} refused a class control message from {e.peer}: {e.reason}; "
                                       "only the host's signed commands count"),
    cev.ClassLeft: lambda e: f"{e.node} left the class ({e.reason}); the lab goes on alone",
}

# Detail: shown by `log`, left out of the summary after a command.
_QUIET: frozenset[type] = frozenset({cev.ClassAdmitted, ev.BlockAccepted, ev.BlockOrphan, ev.TxOrphan,
                                     ev.RejectReceived, ev.HeadersAsked, ev.HeadersReceived})


def sentence(event: Any) -> str | None:
    """The line for `event` (a typed event or a Record of one); None if it is not narrated."""
    e = getattr(event, "event", event)
    return _TEMPLATES[type(e)](e)


def is_quiet(event: Any) -> bool:
    e = getattr(event, "event", event)
    t = type(e)
    if t is ev.TxAccepted:
        return e.peer != e.node or e.origin == "caught-up"
    if t is ev.PeerConnected:
        return not e.outsider
    return t in _QUIET
