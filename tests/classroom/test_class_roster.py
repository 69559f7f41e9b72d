"""The roster and the membership policy, told as a class: six laptops join, the instructor splits
the room in two, the roster shows two groups with a tip each, the instructor heals it."""

from __future__ import annotations

import pytest

from lab.classroom import control as cc
from lab.classroom import messages as cm
from lab.classroom.roster import GROUP_COLUMNS, ROSTER_COLUMNS, Membership, MembershipError, Roster
from lab.errors import CommandError

TIP_A, TIP_B = b"\xaa" * 31 + b"\x00", b"\xbb" * 31 + b"\x00"
MESH = {  # who each participant says it is linked to: a mesh, not a star
    "teacher": ("alice", "bob", "carol", "dave", "erin"),
    "alice": ("teacher", "bob", "erin"),
    "bob": ("teacher", "alice", "carol"),
    "carol": ("teacher", "bob", "dave"),
    "dave": ("teacher", "carol", "erin"),
    "erin": ("teacher", "dave", "alice"),
}


def report(name: str, peers: tuple[str, ...], tip: bytes = TIP_A, height: int = 5, online: bool = True):
    i = sorted(MESH).index(name) if name in MESH else 99
    return cm.RosterEntry(name, f"192.168.1.{10 + i}", 18444, height, tip, peers, online, name == "teacher")


def class_of_six(links: dict[str, tuple[str, ...]] = MESH, tips: dict[str, bytes] | None = None) -> Roster:
    roster = Roster()
    for name, peers in links.items():
        assert roster.update(report(name, peers, (tips or {}).get(name, TIP_A)))
    return roster


def test_a_meshed_class_is_one_group_with_one_tip():
    roster = class_of_six()
    assert roster.groups() == [("alice", "bob", "carol", "dave", "erin", "teacher")]
    assert roster.tips() == {TIP_A}
    rows = roster.rows()
    assert len(rows[0]) == len(ROSTER_COLUMNS)
    assert rows[0][0] == "teacher (host)"  # the host first, then by name
    assert [r[0] for r in rows[1:]] == ["alice", "bob", "carol", "dave", "erin"]
    assert rows[1] == ("alice", "192.168.1.10:18444", "5", "aaaaaa", "teacher, bob, erin", "yes", "1")


def test_a_split_room_shows_two_groups_each_with_its_own_tip():
    west, east = ("teacher", "alice", "bob"), ("carol", "dave", "erin")
    links = {n: tuple(p for p in MESH[n] if (p in west) == (n in west)) for n in MESH}
    tips = {n: TIP_A if n in west else TIP_B for n in MESH}
    roster = class_of_six(links, tips)
    assert roster.groups() == [("alice", "bob", "teacher"), ("carol", "dave", "erin")]
    assert roster.tips(west) == {TIP_A} and roster.tips(east) == {TIP_B}
    assert roster.group_rows() == [("1", "alice, bob, teacher", "aaaaaa"), ("2", "carol, dave, erin", "bbbbbb")]
    assert len(roster.group_rows()[0]) == len(GROUP_COLUMNS)


def test_a_link_counts_while_either_end_still_reports_it():
    links = dict(MESH, carol=("teacher", "dave"))  # carol's newer report no longer lists bob; bob's does
    assert len(class_of_six(links).groups()) == 1
    assert frozenset(("bob", "carol")) in class_of_six(links).links()


def test_offline_participants_drop_out_of_the_groups_but_stay_on_the_roster():
    roster = class_of_six()
    roster.set_online("teacher", False)  # the hub leaves; the mesh still holds the students together
    assert roster.groups() == [("alice", "bob", "carol", "dave", "erin")]
    roster.set_online("bob", False)
    roster.set_online("dave", False)
    assert roster.groups() == [("alice", "erin"), ("carol",)]
    assert [r[5] for r in roster.rows()] == ["no", "yes", "no", "yes", "no", "yes"]
    assert roster.rows()[2][6] == "-"  # bob, offline, is in no group


def test_the_roster_travels_as_a_message_and_stops_at_the_class_limit():
    roster = class_of_six()
    again = Roster()
    assert again.merge(cm.MsgClassRoster.deserialize(roster.to_message().serialize())) == 6
    assert again.rows() == roster.rows()
    small = Roster(limit=3)
    assert small.merge(roster.to_message()) == 3
    assert small.update(report("ALICE", ("bob",), height=9)) is True  # known names update in any case
    assert small.get("alice").height == 9 and len(small) == 3
    small.remove("alice")
    assert "alice" not in small and small.update(report("zed", ()))


def test_names_are_taken_once_and_the_class_has_a_limit():
    m = Membership(limit=3)
    m.admit("teacher")
    m.admit("alice")
    with pytest.raises(MembershipError, match="already in the class"):
        m.admit("ALICE")
    with pytest.raises(MembershipError, match="cannot be a participant's name"):
        m.admit("al ice")
    m.admit("bob")
    with pytest.raises(MembershipError, match="full \\(3 participants\\)") as e:
        m.admit("carol")
    assert isinstance(e.value, CommandError) and e.value.hint
    m.leave("bob")
    m.admit("carol")
    assert Membership().limit == 64


def six_members() -> Membership:
    m = Membership()
    for n in MESH:
        m.admit(n)
    return m


def test_a_split_names_who_refuses_whom_until_heal():
    m = six_members()
    split = m.plan_split((("Alice", "bob"), ("carol", "dave")))  # any case, as members write them
    assert split.groups == (("alice", "bob"), ("carol", "dave"))
    m.apply(split)
    assert m.refuses("alice", "carol") and m.refuses("DAVE", "bob")
    assert not m.refuses("alice", "bob")
    # teacher and erin were not named: they stay with the first group, so nobody bridges the split
    assert not m.refuses("teacher", "alice") and m.refuses("erin", "dave")
    assert m.companions("alice") == ("bob", "erin", "teacher")
    assert m.companions("carol") == ("dave",)
    m.apply(cc.Heal())
    assert not m.refuses("alice", "carol") and m.companions("alice") == ()


def test_a_host_command_naming_someone_not_in_the_class_says_who_is():
    m = six_members()
    with pytest.raises(MembershipError, match="zed is not in the class") as e:
        m.plan_split((("alice",), ("zed",)))
    assert "alice, bob, carol" in e.value.hint


def test_latency_between_groups_and_the_autominer_follow_the_hosts_commands():
    m = six_members()
    m.apply(m.plan_latency(("alice", "bob"), ("carol",), 300))
    assert m.latency_ms("carol", "ALICE") == 300 and m.latency_ms("alice", "bob") == 0
    m.apply(cc.Latency(("alice",), ("carol",), 0))  # 0 removes that pair's delay
    assert m.latency_ms("alice", "carol") == 0 and m.latency_ms("bob", "carol") == 300
    m.apply(cc.Autominer(True, 30_000))
    assert m.autominer == cc.Autominer(True, 30_000)
    m.apply(cc.Autominer(False))
    assert not m.autominer.on


def test_the_host_keeps_each_participants_report_about_itself_only():
    roster = class_of_six()
    assert roster.take_report("bob", cm.MsgClassRoster((report("bob", ("alice",), height=9),)))
    assert roster.get("bob").height == 9
    # carol may not speak for bob, nor claim to be the host, nor send several entries
    assert not roster.take_report("carol", cm.MsgClassRoster((report("bob", (), height=1),)))
    host_claim = cm.RosterEntry("carol", "192.168.1.12", 18444, 5, TIP_A, (), True, True)
    assert not roster.take_report("carol", cm.MsgClassRoster((host_claim,)))
    assert not roster.take_report("carol", cm.MsgClassRoster((report("carol", ()), report("dave", ()))))
    assert roster.get("bob").height == 9 and not roster.get("carol").is_host
    # a student shows the host's roster as it comes
    student_view = Roster()
    student_view.update(report("zed", ()))
    student_view.replace(roster.to_message())
    assert "zed" not in student_view and student_view.rows() == roster.rows()
