"""The class is the network (issue 16): a host and five students, each a separate `lab` process on
127.0.0.1, join, mine, split, heal, leave and rejoin; a wrong code and a forged control are refused."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time

import pytest
from classproc import DIFFICULTY, Laptop

from lab.classroom import messages as cm
from lab.classroom.auth import Admission, ClassCode, ControlSigner, new_host_key
from lab.classroom.control import Split
from lab.net import messages as m
from lab.net.messages import decode_message
from lab.net.wire import FrameBuffer, encode_frame
from lab.params import PROTOCOL_VERSION, USER_AGENT

STUDENTS = ("ALICE", "BOB", "CAROL", "DAVE", "EVE")
EVERYONE = ("TEACHER", *STUDENTS)


def own_height(r: dict) -> int:
    """The height in `class`'s line about this lab's own node ("your node ALICE: height 9, ...")."""
    return int(r["mine"].split()[4].rstrip(","))


def one_tip(r: dict, n: int, height: int | None = None) -> bool:
    heights = {row["height"] for row in r["rows"].values() if row["online"] == "yes"}
    return (r["online"] == n and r["tips"] == 1 and r["ngroups"] == 1
            and (height is None or heights == {str(height)}))


@pytest.fixture(scope="module")
def classroom():
    host, addr, code = Laptop.host()
    laps = {"TEACHER": host}
    try:
        for name in STUDENTS:
            laps[name] = Laptop.join(addr, code, name.lower())
        yield laps, addr, code
    finally:
        for lap in laps.values():
            lap.close()


def test_a_class_forms_mines_splits_heals_and_a_student_rejoins(classroom):
    laps, addr, code = classroom
    host = laps["TEACHER"]
    host.until(lambda r: r["online"] == 6)
    # each student mines a block; every roster shows one tip
    for height, name in enumerate(STUDENTS, 1):
        laps[name].run(f"mine {name}", "mined block")
        for lap in laps.values():  # the next miner builds on this block: wait until everyone has it
            lap.until(lambda r, h=height: own_height(r) == h)
    host.run("mine TEACHER 3", "mined block")  # the students' coinbases mature
    for lap in laps.values():
        lap.until(lambda r: one_tip(r, 6, 8))
    # the mesh: students link to one another, not only to the host
    rows = host.roster()["rows"]
    assert any(set(rows[s]["peers"].split(", ")) - {"TEACHER"} for s in STUDENTS)

    # split: the students hear it from the host, each side mines on its own
    mark = laps["CAROL"].send("class")  # a mark in CAROL's output before the split
    host.run("class split TEACHER ALICE BOB | CAROL DAVE EVE", "split the class")
    laps["CAROL"].wait_line(lambda s: "the instructor split the class: you are with DAVE, EVE" in s, mark)
    host.until(lambda r: r["ngroups"] == 2)
    pay = laps["ALICE"].run("send ALICE CAROL 5", "transaction")
    txid = re.search(r"transaction ([0-9a-f]{6,})", "\n".join(pay)).group(1)
    laps["ALICE"].run("mine ALICE", "mined block")
    laps["DAVE"].run("send DAVE EVE 7", "transaction")
    laps["DAVE"].run("mine DAVE", "mined block")
    for lap in (laps["DAVE"], laps["EVE"]):
        lap.until(lambda r: own_height(r) == 9)
    laps["EVE"].run("mine EVE", "mined block")
    split = host.until(lambda r: r["ngroups"] == 2 and r["tips"] == 2
                       and {r["rows"][n]["height"] for n in ("CAROL", "DAVE", "EVE")} == {"10"}
                       and {r["rows"][n]["height"] for n in ("TEACHER", "ALICE", "BOB")} == {"9"})
    assert sorted(map(sorted, (g for g, _ in split["groups"]))) == [["ALICE", "BOB", "TEACHER"],
                                                                   ["CAROL", "DAVE", "EVE"]]
    assert all(len(tips) == 1 for _, tips in split["groups"])  # each side agrees within itself

    # heal: the most-work tip everywhere, ALICE's payment back in the mempool, one UTXO set
    host.run("class heal", "healed the class")
    healed = [lap.until(lambda r: one_tip(r, 6, 10)) for lap in laps.values()]
    commitments = {r["mine"].split("commitment ")[1] for r in healed}
    assert len(commitments) == 1
    for name in ("TEACHER", "ALICE", "BOB"):  # the losing side's payment is back in its mempools
        assert txid[:6] in "\n".join(laps[name].run(f"mempool {name}", "->"))

    # a student leaves; the class goes on; it comes back (a new process) and catches up
    laps["EVE"].run("class leave", "left the class")
    host.until(lambda r: r["online"] == 5)
    laps["BOB"].run("mine BOB 2", "mined block")
    assert laps["EVE"].close() == 0
    laps["EVE"] = Laptop.join(addr, code, "eve")
    laps["EVE"].until(lambda r: one_tip(r, 6, 12) and own_height(r) == 12)


def test_a_wrong_code_is_refused_with_one_line_and_exit_1(classroom):
    _, addr, code = classroom
    wrong = "ZZZZ-ZZZZ-" + code[10:]
    out = subprocess.run([sys.executable, "-m", "lab", "--difficulty", DIFFICULTY, "--plain", "join", addr,
                          "--code", wrong, "--name", "mallory", "-c", "class"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "wrong class code" in out.stdout.splitlines()[0]


class RawPeer:
    """A hand-written participant: the handshake, class admission with the code, then whatever it likes."""

    def __init__(self, addr: str) -> None:
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.frames = FrameBuffer()
        self.pending: list = []
        self.send(m.MsgVersion(PROTOCOL_VERSION, m.NODE_NETWORK, int(time.time()), 7, USER_AGENT, 0))
        self.send(m.MsgVerack())

    def send(self, msg) -> None:
        self.sock.sendall(encode_frame(msg.msgtype, msg.serialize()))

    def recv(self, msgtype: str):
        while True:
            while self.pending:
                command, payload = self.pending.pop(0)
                if command == msgtype:
                    return decode_message(command, payload) or cm.decode_class_message(command, payload)
            data = self.sock.recv(65536)
            assert data, "the node closed the connection"
            self.pending += self.frames.feed(data)

    def close(self) -> None:
        self.sock.close()


def test_a_forged_control_message_is_refused_and_narrated(classroom):
    laps, addr, code = classroom
    host, alice = laps["TEACHER"], laps["ALICE"]
    # the host's key, as its hello presents it to anyone who connects
    probe = RawPeer(addr)
    host_key = probe.recv("classhello").host_pubkey
    probe.close()
    # a classmate who knows the code: admitted by ALICE, then it sends control the host never signed
    mallory = RawPeer(host.roster()["rows"]["ALICE"]["address"])
    adm = Admission(ClassCode.parse(code), "MALLORY", initiator=True, host_pubkey=host_key)
    mallory.send(adm.hello())
    mallory.send(adm.on_hello(mallory.recv("classhello")))
    adm.on_auth(mallory.recv("classauth"))
    assert adm.admitted
    mark = alice.send("class")
    mallory.send(cm.MsgClassCtl(99, int(time.time()), Split((("ALICE",), ("BOB",)))))
    alice.wait_line(lambda s: "ALICE refused a class control message" in s and "not signed by the host" in s, mark)
    mallory.close()
    # a control signed by another key is refused too, and nothing was split
    forger = ControlSigner(new_host_key())
    mallory = RawPeer(host.roster()["rows"]["ALICE"]["address"])
    adm = Admission(ClassCode.parse(code), "MALLORY", initiator=True, host_pubkey=host_key)
    mallory.send(adm.hello())
    mallory.send(adm.on_hello(mallory.recv("classhello")))
    adm.on_auth(mallory.recv("classauth"))
    mallory.send(forger.sign(Split((("ALICE",), ("BOB",))), int(time.time())))
    alice.wait_line(lambda s: "signature does not match the host key" in s, mark)
    mallory.close()
    assert alice.roster()["ngroups"] == 1


def test_latency_and_autominer_reach_every_student_signed_and_narrated(classroom):
    laps, _, _ = classroom
    host, bob = laps["TEACHER"], laps["BOB"]
    mark = bob.send("class")
    host.run("class latency ALICE | BOB 100ms", "set latency")
    bob.wait_line(lambda s: "the instructor set latency ALICE | BOB 100ms" in s, mark)
    host.run("class autominer on 1h", "set autominer")
    bob.wait_line(lambda s: "the instructor set autominer on 3600000ms" in s, mark)
    host.run("class autominer off", "set autominer")
    bob.wait_line(lambda s: "the instructor set autominer off" in s, mark)
    # a student cannot command the class; the host cannot leave it
    assert "only the instructor's lab can split the class" in "\n".join(
        bob.run("class split ALICE | BOB", "only the instructor"))
    assert "type `quit` to close the class" in "\n".join(host.run("class leave", "quit"))
