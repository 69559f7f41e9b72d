"""The class on one laptop: this lab's node as a participant of the class network.

`ClassRoom` is the node's hook on its live links (`Node.classroom`, see
lab/net/node.py): right after `verack` a live peer goes through class
admission (auth.Admission) before any chain traffic; class messages are
handled here and nowhere else; while the room is split, links to another
group are dropped and refused, except the host's, which stays up for roster
and control but carries no blocks or transactions (`chain_off`).

- discovery: a student links to the host, asks it for addresses (`getaddr`),
  keeps what it hears in a bounded table (discovery.AddrTable) and opens up
  to OUTBOUND links (discovery.choose_outbound); the host relays each new
  participant's address to everyone (`addr`);
- the roster: each participant reports its own entry; the host keeps the
  reports (roster.Roster.take_report) and sends the roster to all;
- control: the host signs (auth.ControlSigner), every student verifies
  (auth.ControlVerifier) and narrates; nothing else from the network acts.

Pure wiring over the tested foundations beside it. Wall-clock timers: a
class runs live (there is no shared virtual clock across laptops).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from lab.chain.crypto import PrivateKey
from lab.classroom import discovery as disc
from lab.classroom import events as ev
from lab.classroom.auth import (
    Admission,
    AdmissionError,
    ClassCode,
    ControlSigner,
    ControlVerifier,
    Verdict,
)
from lab.classroom.control import MAX_PARTICIPANTS, Autominer, Control, Heal, Latency, Split
from lab.classroom.messages import (
    MsgClassAuth,
    MsgClassCtl,
    MsgClassHello,
    MsgClassRoster,
    RosterEntry,
    decode_class_message,
)
from lab.classroom.roster import Membership, MembershipError, Roster
from lab.net import messages as m
from lab.net.connection import Connection
from lab.net.peer import Peer
from lab.params import HANDSHAKE_TIMEOUT

if TYPE_CHECKING:
    from lab.world.lab import Lab

TICK = 0.2  # seconds between reports, roster broadcasts and outbound dials
CHAIN_MSGS = frozenset({"inv", "getdata", "notfound", "getheaders", "headers", "block", "tx", "reject"})
ACTIONS = {Split: "split", Heal: "heal", Latency: "latency", Autominer: "autominer"}


class JoinError(Exception):
    """The class did not take us: one line for the joiner, then exit 1."""


class ClassRoom:
    def __init__(self, lab: Lab, node: Any, code: ClassCode, *, host_key: PrivateKey | None = None,
                 host_addr: tuple[str, int] | None = None, limit: int = MAX_PARTICIPANTS) -> None:
        self.lab, self.node, self.code = lab, node, code
        self.name: str = node.name
        self.is_host = host_key is not None
        self.signer = ControlSigner(host_key) if host_key is not None else None
        self.host_pubkey: bytes | None = host_key.pubkey if host_key is not None else None
        self.verifier: ControlVerifier | None = None
        self.host_addr = host_addr
        self.limit = limit
        self.membership = Membership(limit)
        self.membership.admit(self.name)
        self.roster = Roster(limit)
        self.own_nonces: set[bytes] = set()
        self.links: dict[Peer, Admission] = {}
        self.by_name: dict[str, Peer] = {}  # admitted peers, by lower-case name
        self.chain_off: set[Peer] = set()  # class links that carry no chain traffic while split
        self.host_peer: Peer | None = None
        self.table = disc.AddrTable()
        self.rng = disc.outbound_rng(lab.seed, self.name)
        self.outbound: dict[Peer, disc.Address] = {}
        self.my_ip = "127.0.0.1"
        self.joined: asyncio.Future[None] | None = None
        self.left = False
        self._last_report: MsgClassRoster | None = None
        self._last_board: bytes = b""
        self._task: asyncio.Task[None] | None = None
        self._dialling: set[disc.Address] = set()  # outbound attempts under way
        self._dials: set[asyncio.Task[None]] = set()
        node.classroom = self
        lab.classroom = self
        lab.payee_of = self.payee

    # -- life cycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        """Host: the class is open. Student: link to the host; JoinError if the class refuses us."""
        loop = asyncio.get_running_loop()
        if self.is_host:
            self.my_ip = self._report_ip(self.node.host)
            self.lab.emit(ev.ClassOpened(self.name, f"{self.my_ip}:{self.node.port}", True))
        else:
            assert self.host_addr is not None
            self.joined = loop.create_future()
            host, port = self.host_addr
            peer = await self.dial(host, port)
            if peer is None:
                raise JoinError(f"no class at {host}:{port}: nothing answers there")
            self.host_peer = peer
            sock = peer.conn.transport.get_extra_info("sockname") if peer.conn.transport else None
            self.my_ip = self._report_ip(sock[0] if sock else self.node.host)
            try:
                await asyncio.wait_for(asyncio.shield(self.joined), HANDSHAKE_TIMEOUT * 2)
            except TimeoutError:
                raise JoinError(f"the class at {host}:{port} did not answer in time") from None
            self.lab.emit(ev.ClassOpened(self.name, f"{host}:{port}", False))
        self._task = loop.create_task(self._tick())

    @staticmethod
    def _report_ip(host: str) -> str:
        return "127.0.0.1" if host in ("0.0.0.0", "", "localhost") else host

    async def leave(self, reason: str = "class leave") -> None:
        if self.left:
            return
        self.left = True
        if self._task is not None:
            self._task.cancel()
        for task in list(self._dials):
            task.cancel()
        for peer in list(self.links):
            self.node.drop_peer(peer, "left the class", narrate=False)
        self.node.classroom = None
        self.lab.emit(ev.ClassLeft(self.name, reason))

    def payee(self, name: str) -> bytes | None:
        """A classmate's wallet address (pkh), by name: its key is derived from the lab seed and
        the name, as every lab node's is (simplified: see the README)."""
        if name.lower() not in self.membership.members and name not in self.roster:
            return None
        return PrivateKey.derive(self.lab.seed, name.upper()).pkh

    def inbound_limit(self) -> int:
        return self.limit if self.is_host else disc.MAX_INBOUND

    async def dial(self, host: str, port: int) -> Peer | None:
        """Open a live link to a participant and start the handshake (admission follows verack)."""
        loop = asyncio.get_running_loop()
        node = self.node
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(
                lambda: Connection(node, inbound=False, remote=f"{host}:{port}"), host, port), HANDSHAKE_TIMEOUT)
        except (OSError, TimeoutError):
            return None
        if self.left:
            conn.close("left the class")
            return None
        peer = Peer(conn)
        node.peers[peer.remote] = peer
        node.start_handshake(peer)
        conn.start_handshake_timer(lambda: self.admitted(peer))
        return peer

    def admitted(self, peer: Peer) -> bool:
        adm = self.links.get(peer)
        return adm is not None and adm.admitted

    def chain_ok(self, peer: Peer) -> bool:
        """May blocks and transactions from this peer be taken in? (Admitted, and not across a split.)"""
        return self.admitted(peer) and peer not in self.chain_off

    # -- the node's hook ---------------------------------------------------------------------------
    def decode(self, command: str, payload: bytes) -> Any:
        return decode_class_message(command, payload)

    def on_active(self, peer: Peer) -> None:
        """verack on a live link: no chain traffic until the class admits the peer."""
        peer.active = False
        if peer in self.links:
            return
        if self.host_pubkey is None and peer is not self.host_peer:
            self._refuse(peer, "not admitted to the class yet: only the host's link pins its key")
            return
        adm = Admission(self.code, self.name, initiator=not peer.inbound, host_pubkey=self.host_pubkey,
                        own_nonces=self.own_nonces)
        self.links[peer] = adm
        peer.send(adm.hello())

    def allow(self, peer: Peer, msg: Any) -> bool:
        """True: the node handles `msg` as usual. Class messages are handled here."""
        t = msg.msgtype
        if t in ("version", "verack", "ping", "pong"):
            return True
        adm = self.links.get(peer)
        try:
            if adm is None:
                raise AdmissionError(f"{t} before class admission")
            adm.check(t)
            if isinstance(msg, MsgClassHello):
                peer.send(adm.on_hello(msg))
                return False
            if isinstance(msg, MsgClassAuth):
                adm.on_auth(msg)
                self._admitted(peer, adm)
                return False
            if not adm.admitted:
                raise AdmissionError(f"{t} before class admission")
        except AdmissionError as e:
            self._refuse(peer, e.reason)
            return False
        except MembershipError as e:
            self._refuse(peer, e.message)
            return False
        if isinstance(msg, MsgClassCtl):
            self._on_control(peer, msg)
        elif isinstance(msg, MsgClassRoster):
            self._on_roster(peer, adm, msg)
        elif t == "addr":
            if not self.is_host:
                self.table.add(msg.addrs, peer.remote, int(time.time()))
        elif t == "getaddr":
            if self.is_host:
                peer.send(disc.gossip(self._addresses(), int(time.time())))
        elif t in CHAIN_MSGS:
            return peer not in self.chain_off
        return False

    def on_closed(self, peer: Peer) -> None:
        adm = self.links.pop(peer, None)
        self.chain_off.discard(peer)
        self.outbound.pop(peer, None)
        name = adm.peer_name if adm is not None and adm.admitted else None
        if name and self.by_name.get(name.lower()) is peer:
            del self.by_name[name.lower()]
            if self.is_host:
                self.membership.leave(name)
                self.roster.set_online(name, False)
        if peer is self.host_peer:
            if self.joined is not None and not self.joined.done():
                why = (f"wrong class code: the class at {peer.remote} refused it" if adm is None or not adm.admitted
                       else f"the class at {peer.remote} closed our link (is the name taken, or the class full?)")
                self.joined.set_exception(JoinError(why))
            elif not self.left:
                self.lab.emit(ev.ClassLeft(self.name, "the host's link closed"))
            self.host_peer = None

    # -- admission ----------------------------------------------------------------------------------
    def _refuse(self, peer: Peer, reason: str) -> None:
        if peer.closed:
            return
        self.lab.emit(ev.ClassRefused(self.name, peer.remote, reason))
        self.node.drop_peer(peer, reason, narrate=False)
        if peer is self.host_peer and self.joined is not None and not self.joined.done():
            text = "wrong class code" if "wrong class code" in reason else reason
            self.joined.set_exception(JoinError(f"{text}: the class at {peer.remote} refused it"))

    def _admitted(self, peer: Peer, adm: Admission) -> None:
        name = adm.peer_name or "?"
        key = name.lower()
        old = self.by_name.get(key)
        if old is not None and not old.closed:
            # two links to one participant (both dialled): keep the one the smaller name opened
            keep_new = (adm.initiator and self.name.lower() < key) or (not adm.initiator and key < self.name.lower())
            if not keep_new:
                self.node.drop_peer(peer, "a second link to the same participant", narrate=False)
                return
            self.node.drop_peer(old, "a second link to the same participant", narrate=False)
        if self.is_host and old is None:
            self.membership.admit(name)  # MembershipError: the name is taken, or the class is full
        if self.host_pubkey is None:
            self.host_pubkey = adm.host_pubkey
        if peer is self.host_peer and self.verifier is None and self.host_pubkey is not None:
            self.verifier = ControlVerifier(self.host_pubkey)
        if not self.is_host and self.membership.refuses(self.name, name) and peer is not self.host_peer:
            self.node.drop_peer(peer, "the class is split: it is in another group", narrate=False)
            return
        self.by_name[key] = peer
        host_entry = self.roster.get(name)
        if self.host_peer is None and not self.is_host and host_entry is not None and host_entry.is_host:
            self.host_peer = peer  # the host's link again (dialled from the address table)
        if not peer.inbound and peer.transport is not None:
            host, port = peer.transport.get_extra_info("peername")[:2]
            self.outbound[peer] = disc.Address(host, port)
            self.table.good(self.outbound[peer], int(time.time()))
        self.lab.emit(ev.ClassAdmitted(self.name, peer.remote, name))
        if self.is_host:
            if self.signer is not None and self.signer.last is not None:
                peer.send(self.signer.last)  # a late joiner's replay floor, and the room's state
            peer.send(self.roster.to_message())
        elif peer is self.host_peer:
            peer.send(m.MsgGetaddr())
            peer.send(MsgClassRoster((self._own_entry(),)))
        self._set_chain(peer, name)

    def _set_chain(self, peer: Peer, name: str) -> None:
        """Chain traffic on this class link, unless a split puts it in another group."""
        if self.membership.refuses(self.name, name):
            if self.is_host or peer is self.host_peer:
                self.chain_off.add(peer)
                peer.active = False
            else:
                self.node.drop_peer(peer, "the class is split: it is in another group", narrate=False)
            return
        was_off = peer in self.chain_off or not peer.active
        self.chain_off.discard(peer)
        if was_off:
            peer.active = True
            self.node.start_relay(peer)

    # -- control --------------------------------------------------------------------------------------
    def command(self, control: Control) -> None:
        """The host's command: sign it, send it to every participant, apply it here."""
        assert self.signer is not None
        msg = self.signer.sign(control, int(time.time()))
        for peer in list(self.by_name.values()):
            peer.send(msg)
        self._apply(control, by_host=True)

    def _on_control(self, peer: Peer, msg: MsgClassCtl) -> None:
        if self.is_host or self.verifier is None:
            self.lab.emit(ev.ClassControlRefused(self.name, peer.remote, "only the host sends class control"))
            return
        verdict = self.verifier.check(msg)
        if verdict is Verdict.ACCEPTED:
            self._apply(msg.control, by_host=False)
        elif verdict.refused:
            self.lab.emit(ev.ClassControlRefused(self.name, peer.remote, verdict.value))
            if peer is not self.host_peer:
                self.node.drop_peer(peer, f"class control {verdict.value}", narrate=False)

    def _apply(self, control: Control, by_host: bool) -> None:
        self.membership.apply(control)
        action = ACTIONS[type(control)]
        detail = str(control).removeprefix(action).strip()
        self.lab.emit(ev.ClassControlApplied(self.name, action, detail,
                                             self.membership.companions(self.name), by_host))
        if isinstance(control, Split | Heal):
            for key, peer in list(self.by_name.items()):
                adm = self.links.get(peer)
                self._set_chain(peer, adm.peer_name if adm and adm.peer_name else key)
        elif isinstance(control, Latency):
            for key, peer in self.by_name.items():
                peer.conn.delay = self.membership.latency_ms(self.name, key) / 1000
        elif isinstance(control, Autominer):
            if control.on:
                interval = control.interval_ms * 1000 or self.lab.mining.block_interval
                participants = max(1, len(self.roster) if not self.is_host else len(self.membership.members))
                self.lab.mining.block_interval = interval * participants
            self.lab.set_autominer(control.on)

    # -- the roster and discovery ------------------------------------------------------------------------
    def _own_entry(self) -> RosterEntry:
        tip = self.node.state.chain.tip
        peers = tuple(sorted((self.links[p].peer_name or "?" for p in self.by_name.values()
                              if p in self.links and p not in self.chain_off and not p.closed), key=str.lower))
        return RosterEntry(self.name, self.my_ip, self.node.port, tip.height, tip.hash, peers[:64],
                           True, self.is_host)

    def _on_roster(self, peer: Peer, adm: Admission, msg: MsgClassRoster) -> None:
        if self.is_host:
            name = adm.peer_name or ""
            old = self.roster.get(name)
            e = msg.entries[0] if msg.entries else None
            moved = e is not None and (old is None or not old.online or old.address != e.address)
            if self.roster.take_report(name, msg) and moved and e is not None:  # a newcomer, or back
                gossip = disc.gossip([disc.Address(e.host, e.port)], int(time.time()))
                for other in self.by_name.values():
                    if other is not peer:
                        other.send(gossip)
        elif peer is self.host_peer:
            self.roster.replace(msg)
            for e in msg.entries:
                self.membership.members.setdefault(e.name.lower(), e.name)
            if self.joined is not None and not self.joined.done():
                self.joined.set_result(None)

    def _addresses(self) -> list[disc.Address]:
        return [disc.Address(e.host, e.port) for e in self.roster.participants() if e.online and e.port]

    async def _tick(self) -> None:
        while not self.left:
            try:
                self._report()
                if not self.is_host:
                    self._dial_more()
            except Exception as e:  # a bug of ours must not stop the class
                self.node.internal_errors.append(f"classroom tick: {type(e).__name__}: {e}")
            await asyncio.sleep(TICK)

    def _report(self) -> None:
        own = self._own_entry()
        if self.is_host:
            self.roster.update(own)
            board = self.roster.to_message()
            data = board.serialize()
            if data != self._last_board:
                self._last_board = data
                for peer in self.by_name.values():
                    peer.send(board)
        elif self.host_peer is not None:
            report = MsgClassRoster((own,))
            if report != self._last_report:
                self._last_report = report
                self.host_peer.send(report)

    def _dial_more(self) -> None:
        now = int(time.time())
        me = disc.Address(self.my_ip, self.node.port)
        names = {disc.Address(e.host, e.port): e.name for e in self.roster.participants()}
        excluded = {a for a, n in names.items() if self.membership.refuses(self.name, n) or n.lower() in self.by_name}
        excluded.add(me)
        current = {a for p, a in self.outbound.items() if not p.closed} | self._dialling
        for addr in disc.choose_outbound(self.table, current | excluded, now, self.rng,
                                         k=disc.OUTBOUND + len(excluded - current)):
            if not disc.dialable(addr):
                continue
            if addr in self._dialling:
                continue
            self.table.attempt(addr, now)
            self._dialling.add(addr)
            task = asyncio.get_running_loop().create_task(self._dial_one(addr))
            self._dials.add(task)
            task.add_done_callback(self._dials.discard)

    async def _dial_one(self, addr: disc.Address) -> None:
        """One outbound attempt, beside the others (an address that never answers holds up nothing)."""
        try:
            peer = await self.dial(addr.host, addr.port)
            if peer is not None:
                self.outbound[peer] = addr
        finally:
            self._dialling.discard(addr)
