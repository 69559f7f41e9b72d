"""The class messages: exact round trips through a frame, strict bounds, readable reprs, and
a fuzz of random and mutated payloads that must be parsed or refused with ProtocolError.

Hypothesis runs derandomised: the same cases on every run and every machine.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.classroom import control as cc
from lab.classroom import messages as cm
from lab.errors import ProtocolError
from lab.net.messages import MESSAGEMAP
from lab.net.wire import FrameBuffer, encode_frame


def fuzz(n: int) -> settings:
    return settings(max_examples=n, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


names = st.one_of(st.sampled_from(["alice", "Bob", "carol-2", "a_", "x" * cc.MAX_NAME_LEN]),
                  st.builds(str.__add__, st.sampled_from("abXY"),
                            st.text(alphabet="abcXYZ019-_", max_size=cc.MAX_NAME_LEN - 1)))


def distinct(max_size: int, min_size: int = 0) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(names, min_size=min_size, max_size=max_size, unique_by=str.lower).map(tuple)


@st.composite
def disjoint_groups(draw: st.DrawFn, n_min: int, n_max: int) -> tuple[tuple[str, ...], ...]:
    n = draw(st.integers(n_min, n_max))
    pool = draw(st.lists(names, min_size=n * 3, max_size=n * 3, unique_by=str.lower))
    return tuple(tuple(pool[i * 3:i * 3 + draw(st.integers(1, 3))]) for i in range(n))


pubkeys = st.builds(lambda b, x: bytes((b,)) + x, st.sampled_from([2, 3]), st.binary(min_size=32, max_size=32))
hellos = st.builds(cm.MsgClassHello, st.binary(min_size=32, max_size=32), pubkeys, names, st.integers(0, 255))
auths = st.builds(cm.MsgClassAuth, st.binary(min_size=32, max_size=32))
controls = st.one_of(
    disjoint_groups(2, cc.MAX_GROUPS).map(cc.Split),
    st.just(cc.Heal()),
    disjoint_groups(2, 2).flatmap(lambda g: st.builds(cc.Latency, st.just(g[0]), st.just(g[1]),
                                                     st.integers(0, cc.MAX_DELAY_MS))),
    st.just(cc.Autominer(False)),
    st.builds(cc.Autominer, st.just(True), st.integers(0, 2**32 - 1)),
)
ctls = st.builds(cm.MsgClassCtl, st.integers(0, 2**32 - 1), st.integers(-(2**63), 2**63 - 1), controls,
                 st.binary(max_size=cm.MAX_SIG_SIZE))
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
entries = st.builds(cm.RosterEntry, names, ipv4, st.integers(0, 0xFFFF), st.integers(0, 2**32 - 1),
                    st.binary(min_size=32, max_size=32), distinct(5), st.booleans(), st.booleans(),
                    st.binary(min_size=20, max_size=20))
rosters = st.lists(entries, max_size=5, unique_by=lambda e: e.name.lower()).map(
    lambda es: cm.MsgClassRoster(tuple(es)))

MESSAGES = {"classhello": hellos, "classauth": auths, "classctl": ctls, "classroster": rosters}
any_message = st.one_of(*MESSAGES.values())


def test_the_fuzzer_covers_every_class_message_and_none_clashes_with_bitcoins():
    assert set(MESSAGES) == set(cm.CLASS_MESSAGEMAP)
    assert not set(cm.CLASS_MESSAGEMAP) & set(MESSAGEMAP)
    assert all(len(t) <= 12 for t in cm.CLASS_MESSAGEMAP)  # fits a frame's command field


def parse_or_refuse(command: str, payload: bytes) -> cm.Message | None:
    """The one contract: a message, None (not a class command), or ProtocolError. Nothing else."""
    try:
        msg = cm.decode_class_message(command, payload)
    except ProtocolError:
        return None
    if msg is not None:
        assert msg.serialize() == payload  # accepted bytes are canonical
        assert repr(msg).startswith("msg_" + command)
    return msg


@fuzz(300)
@given(msg=any_message, cut=st.integers(1, 64))
def test_every_class_message_round_trips_exactly_through_a_frame(msg, cut):
    payload = msg.serialize()
    frame = encode_frame(msg.msgtype, payload)
    buf = FrameBuffer()
    got = []
    for i in range(0, len(frame), cut):
        got += buf.feed(frame[i:i + cut])
    assert got == [(msg.msgtype, payload)]
    again = cm.decode_class_message(msg.msgtype, payload)
    assert again == msg and again.serialize() == payload


@fuzz(600)
@given(command=st.sampled_from(sorted(cm.CLASS_MESSAGEMAP)), payload=st.binary(max_size=300))
def test_random_payloads_are_parsed_or_refused_with_a_protocol_error(command, payload):
    parse_or_refuse(command, payload)


def _mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    """Flip a bit, overwrite, insert, delete, truncate, or plant a huge compact size."""
    b = bytearray(data)
    for kind, pos, value in ops:
        p = pos % (len(b) + 1)
        if kind == 0 and p < len(b):
            b[p] ^= 1 << (value % 8)
        elif kind == 1 and p < len(b):
            b[p] = value
        elif kind == 2:
            b[p:p] = bytes((value,)) * (1 + value % 5)
        elif kind == 3:
            del b[p:p + 1 + value % 9]
        elif kind == 4:
            del b[p:]
        elif kind == 5 and p < len(b):
            b[p] = 0xFF if value % 2 else 0xFD
    return bytes(b)


mutations = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 10_000), st.integers(0, 255)),
                     min_size=1, max_size=4)


@fuzz(400)
@given(msg=any_message, ops=mutations, retype=st.sampled_from([None, *sorted(cm.CLASS_MESSAGEMAP)]))
def test_mutated_class_messages_are_parsed_or_refused_with_a_protocol_error(msg, ops, retype):
    parse_or_refuse(retype or msg.msgtype, _mutate(msg.serialize(), ops))


@pytest.mark.soak
@pytest.mark.timeout(900)
@fuzz(10_000)
@given(msg=any_message, ops=mutations, retype=st.sampled_from([None, *sorted(cm.CLASS_MESSAGEMAP)]))
def test_soak_mutated_class_messages(msg, ops, retype):
    parse_or_refuse(retype or msg.msgtype, _mutate(msg.serialize(), ops))


@pytest.mark.parametrize("command", sorted(cm.CLASS_MESSAGEMAP))
def test_empty_and_all_ff_payloads_of_every_class_type(command):
    for payload in (b"", b"\x00", b"\xff" * 9, b"\xff" * 120, b"\xfe\xff\xff\xff\xff" + b"\x00" * 40):
        parse_or_refuse(command, payload)


# --- bounds a learner would run into --------------------------------------------------------

KEY = b"\x02" + b"\x11" * 32
TIP = bytes(range(32))


def entry(name: str, peers: tuple[str, ...] = ()) -> cm.RosterEntry:
    return cm.RosterEntry(name, "192.168.1.20", 18444, 7, TIP, peers)


@pytest.mark.parametrize("name", ["", "a" * 13, "al ice", "Алиса", "Ａ", "bob\n", "x.y", "é", "5", "1st", "-x", "_a"])
def test_names_outside_ascii_letters_digits_dash_underscore_are_refused(name):
    with pytest.raises(ValueError):
        cm.MsgClassHello(b"\x00" * 32, KEY, name)
    payload = bytes(1) + b"\x00" * 32 + KEY + bytes((len(name.encode()),)) + name.encode()
    with pytest.raises(ProtocolError):
        cm.MsgClassHello.deserialize(payload)


def test_a_name_may_appear_once_across_a_split_in_any_case():
    assert str(cc.Split((("alice", "bob"), ("carol",)))) == "split alice bob | carol"
    with pytest.raises(ValueError):
        cc.Split((("alice",), ("ALICE", "bob")))
    with pytest.raises(ValueError):
        cc.Split((("alice", "bob"),))  # one group is not a split
    with pytest.raises(ValueError):
        cc.Split(tuple((f"n{i}",) for i in range(cc.MAX_GROUPS + 1)))


def test_oversized_counts_are_refused_before_the_entries_are_read():
    too_many = b"\x00" * 12 + bytes((cc.Action.SPLIT, cc.MAX_GROUPS + 1))
    with pytest.raises(ProtocolError, match="oversized split"):
        cm.MsgClassCtl.deserialize(too_many)
    roster = b"\xfe" + (10**6).to_bytes(4, "little")
    with pytest.raises(ProtocolError, match="oversized classroster"):
        cm.MsgClassRoster.deserialize(roster)
    full = cm.MsgClassRoster(tuple(entry(f"p{i}") for i in range(cc.MAX_PARTICIPANTS)))
    assert cm.MsgClassRoster.deserialize(full.serialize()) == full
    one_more = b"\x41" + full.serialize()[1:] + entry("p64").serialize()
    with pytest.raises(ProtocolError):
        cm.MsgClassRoster.deserialize(one_more)


def test_control_values_out_of_range_are_refused():
    with pytest.raises(ValueError):
        cc.Latency(("a",), ("b",), cc.MAX_DELAY_MS + 1)
    with pytest.raises(ValueError):
        cc.Autominer(False, 5000)
    flag2 = cm.MsgClassCtl(1, 0, cc.Autominer(True)).serialize()
    bad = bytearray(flag2)
    bad[13] = 2  # the on/off byte must be 0 or 1: one message, one encoding
    with pytest.raises(ProtocolError):
        cm.MsgClassCtl.deserialize(bytes(bad))
    unknown = bytearray(cm.MsgClassCtl(1, 0, cc.Heal()).serialize())
    unknown[12] = 9
    with pytest.raises(ProtocolError, match="unknown class control action 9"):
        cm.MsgClassCtl.deserialize(bytes(unknown))


def test_reprs_read_as_a_learner_would_say_them():
    ctl = cm.MsgClassCtl(3, 1_700_000_000, cc.Latency(("alice", "bob"), ("carol",), 250), b"\x30\x44")
    assert repr(ctl) == "msg_classctl(seq=3, time=1700000000, latency alice bob | carol 250ms, sig=3044..)"
    assert repr(cm.MsgClassCtl(4, 0, cc.Autominer(True, 30_000))).endswith("autominer on 30000ms, sig=none)")
    roster = cm.MsgClassRoster((cm.RosterEntry("alice", "10.0.0.5", 18444, 12, TIP, ("bob",), True, True),))
    assert repr(roster) == "msg_classroster(alice@10.0.0.5:18444 h=12 tip=1f1e1d peers=[bob] online host)"
    assert "name=alice" in repr(cm.MsgClassHello(b"\xab" * 32, KEY, "alice"))


def test_roster_addresses_must_be_dotted_quads():
    for host in ("256.0.0.1", "1.2.3", "01.2.3.4", "localhost", "::1"):
        with pytest.raises(ValueError):
            cm.RosterEntry("alice", host, 1, 0, TIP, ())


def test_a_roster_entry_carries_its_wallets_key_hash_and_nothing_else_is_one():
    pkh = bytes(range(100, 120))
    e = cm.RosterEntry("alice", "10.0.0.5", 18444, 12, TIP, ("bob",), True, False, pkh)
    back = cm.MsgClassRoster.deserialize(cm.MsgClassRoster((e,)).serialize()).entries[0]
    assert back.pkh == pkh and back == e
    for wrong in (b"", bytes(19), bytes(21)):
        with pytest.raises(ValueError):
            cm.RosterEntry("alice", "10.0.0.5", 1, 0, TIP, (), True, False, wrong)
    cut = cm.MsgClassRoster((e,)).serialize()[:-1]  # a report whose key hash is cut short is refused
    with pytest.raises(ProtocolError):
        cm.MsgClassRoster.deserialize(cut)
