"""Admission by class code, host pinning, and host-signed control, told as the classroom's story:
the instructor opens a class, students join with the code; an outsider without it, a student with
a mistyped code and a classmate who knows the code but not the host's key all try their luck.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.classroom import auth as ca
from lab.classroom import control as cc
from lab.classroom import messages as cm
from lab.errors import CommandError, ProtocolError

RNG = random.Random(16)
HOST_KEY = ca.new_host_key(RNG)
CODE = ca.ClassCode.new(HOST_KEY.pubkey, rng=RNG)


def handshake(a: ca.Admission, b: ca.Admission) -> None:
    """Both ends send classhello after verack, then answer each other's with classauth."""
    ha, hb = a.hello(), b.hello()
    auth_b = b.on_hello(ha)
    auth_a = a.on_hello(hb)
    a.on_auth(auth_b)
    b.on_auth(auth_a)


def host_side(**kw) -> ca.Admission:
    return ca.Admission(CODE, "teacher", initiator=False, host_pubkey=HOST_KEY.pubkey, rng=RNG, **kw)


def student(name: str, code: ca.ClassCode = CODE, **kw) -> ca.Admission:
    return ca.Admission(code, name, initiator=True, rng=RNG, **kw)


# --- the code ------------------------------------------------------------------------------


def test_the_code_is_four_groups_of_four_and_types_back_in_any_case():
    text = str(CODE)
    assert len(text) == 19 and text.count("-") == 3
    assert ca.ClassCode.parse(text) == CODE
    assert ca.ClassCode.parse(text.lower().replace("-", " ")) == CODE
    assert ca.ClassCode.parse(text.replace("0", "o").replace("1", "l")) == CODE  # read off a projector
    assert CODE.pins(HOST_KEY.pubkey)
    assert not CODE.pins(ca.new_host_key(RNG).pubkey)


def test_an_instructors_own_secret_keeps_the_fingerprint_at_the_end():
    code = ca.ClassCode.new(HOST_KEY.pubkey, "tuesday-class")
    assert str(code).endswith(str(CODE)[-9:])  # the fingerprint's two groups
    assert ca.ClassCode.parse(str(code)) == code
    with pytest.raises(ca.ClassCodeError):
        ca.ClassCode.new(HOST_KEY.pubkey, "abc")  # too short to be a secret


@pytest.mark.parametrize("typed", ["", "K7QM", "K7QM-2XVA-9TRD", "K7QM-2XVA-9TRD-HF4U", "K7QM_2XVA_9TRD_HF4C",
                                   "K7QM-2XVA-9TRD-HF4Ç", "A" * 60])
def test_a_code_that_cannot_be_read_says_what_to_type(typed):
    with pytest.raises(CommandError) as e:
        ca.ClassCode.parse(typed)
    assert "K7QM-2XVA-9TRD-HF4C" in e.value.hint


def test_crockford_base32_round_trips():
    for data in (b"\x00" * 5, b"\xff" * 5, bytes(range(5)), bytes(range(10))):
        assert ca.b32decode(ca.b32encode(data)) == data


# --- admission ---------------------------------------------------------------------------


def test_a_student_with_the_right_code_is_admitted_and_pins_the_host_key():
    teacher, alice = host_side(), student("alice")
    handshake(alice, teacher)
    assert alice.admitted and teacher.admitted
    assert alice.peer_name == "teacher" and teacher.peer_name == "alice"
    assert alice.host_pubkey == HOST_KEY.pubkey  # learned from the host's hello, vouched for by the code
    alice.check("classctl")  # class messages now flow


def test_two_students_with_the_code_admit_each_other():
    alice, bob = student("alice", host_pubkey=HOST_KEY.pubkey), student("bob", host_pubkey=HOST_KEY.pubkey)
    bob.initiator = False  # bob accepted alice's connection
    handshake(alice, bob)
    assert alice.admitted and bob.admitted


def test_a_wrong_code_is_refused_by_both_ends():
    wrong = ca.ClassCode(CODE.secret[:-1] + ("2" if CODE.secret[-1] != "2" else "3"), CODE.fingerprint)
    teacher, mallory = host_side(), student("mallory", wrong)
    ha, hm = teacher.hello(), mallory.hello()
    auth_m = mallory.on_hello(ha)
    auth_t = teacher.on_hello(hm)
    with pytest.raises(ca.AdmissionError, match="wrong class code"):
        teacher.on_auth(auth_m)
    with pytest.raises(ProtocolError, match="wrong class code"):
        mallory.on_auth(auth_t)
    assert not teacher.admitted and not mallory.admitted
    assert mallory.host_pubkey is None  # a key is pinned only from an admitted link


def test_a_code_naming_another_host_is_refused_before_any_answer():
    other = ca.ClassCode.new(ca.new_host_key(RNG).pubkey, CODE.secret)
    teacher, alice = host_side(), student("alice", other)
    with pytest.raises(ca.AdmissionError, match="fingerprint"):
        alice.on_hello(teacher.hello())


def test_no_code_no_class_messages():
    teacher = host_side()
    teacher.hello()
    for msgtype in ("classctl", "classroster"):
        with pytest.raises(ca.AdmissionError, match="before class admission"):
            teacher.check(msgtype)
    teacher.check("block")  # the ordinary protocol is not the admission's business
    with pytest.raises(ca.AdmissionError, match="before the hellos"):
        teacher.on_auth(cm.MsgClassAuth(b"\x00" * 32))


def test_a_reply_reflected_back_on_a_second_link_does_not_admit():
    """Mallory has no code. She opens a second link to the host and sends the host's own
    challenge from the first, hoping its answer there is the one the first link wants."""
    book: set[bytes] = set()  # a node's nonces, shared by all its links
    link1, link2 = host_side(own_nonces=book), host_side(own_nonces=book)
    h1 = link1.hello()
    link2.hello()
    with pytest.raises(ca.AdmissionError, match="own nonce"):
        link2.on_hello(cm.MsgClassHello(h1.nonce, h1.host_pubkey, "mallory"))
    # And were the nonce not caught, the answer names the end that gives it: the host answers
    # as the acceptor, and a link the host accepted wants an initiator's answer.
    x, y = cm.MsgClassHello(b"\x01" * 32, ca.UNKNOWN_HOST, "a"), cm.MsgClassHello(b"\x02" * 32, ca.UNKNOWN_HOST, "b")
    assert ca.auth_mac(CODE.key(), ca.ACCEPTOR, x, y) != ca.auth_mac(CODE.key(), ca.INITIATOR, x, y)


def test_hellos_and_auths_come_once_each():
    teacher, alice = host_side(), student("alice")
    handshake(alice, teacher)
    with pytest.raises(ca.AdmissionError, match="second classhello"):
        teacher.on_hello(alice.hello())
    with pytest.raises(ca.AdmissionError, match="second classauth"):
        teacher.on_auth(cm.MsgClassAuth(b"\x00" * 32))


def test_a_peer_using_our_own_name_or_another_protocol_version_is_refused():
    teacher = host_side()
    with pytest.raises(ca.AdmissionError, match="our own name"):
        teacher.on_hello(cm.MsgClassHello(b"\x01" * 32, ca.UNKNOWN_HOST, "TEACHER"))
    with pytest.raises(ca.AdmissionError, match="version 2"):
        host_side().on_hello(cm.MsgClassHello(b"\x01" * 32, ca.UNKNOWN_HOST, "alice", 2))


# --- control -------------------------------------------------------------------------------

SPLIT = cc.Split((("alice", "bob"), ("carol", "dave")))


def test_host_signed_control_is_accepted_once_and_in_order():
    signer, alice = ca.ControlSigner(HOST_KEY), ca.ControlVerifier(HOST_KEY.pubkey)
    first = signer.sign(SPLIT, 1_700_000_000)
    second = signer.sign(cc.Heal(), 1_700_000_060)
    assert (first.seq, second.seq) == (1, 2)
    # it travels as bytes, like any message
    assert alice.check(cm.MsgClassCtl.deserialize(first.serialize())) is ca.Verdict.ACCEPTED
    assert alice.check(first) is ca.Verdict.DUPLICATE  # relayed twice: quiet
    assert alice.check(second) is ca.Verdict.ACCEPTED
    assert alice.check(first) is ca.Verdict.REPLAYED  # the old split sent again after the heal
    assert alice.seq == 2 and alice.last == second


def test_a_classmate_with_the_code_cannot_forge_control():
    alice = ca.ControlVerifier(HOST_KEY.pubkey)
    mallory_key = ca.new_host_key(RNG)  # mallory signs with her own key: she has no other
    unsigned = cm.MsgClassCtl(1, 0, SPLIT)
    assert alice.check(unsigned) is ca.Verdict.UNSIGNED
    forged = cm.MsgClassCtl(1, 0, SPLIT, mallory_key.sign(ca.control_digest(HOST_KEY.pubkey, unsigned)))
    assert alice.check(forged) is ca.Verdict.FORGED
    junk = cm.MsgClassCtl(1, 0, SPLIT, b"\x30" * 70)
    assert alice.check(junk) is ca.Verdict.FORGED
    assert alice.seq == 0 and all(v.refused for v in (ca.Verdict.UNSIGNED, ca.Verdict.FORGED))


@pytest.mark.parametrize("tamper", [
    lambda m: cm.MsgClassCtl(m.seq + 1, m.time, m.control, m.sig),  # jump the sequence
    lambda m: cm.MsgClassCtl(m.seq, m.time + 1, m.control, m.sig),
    lambda m: cm.MsgClassCtl(m.seq, m.time, cc.Split((("alice",), ("bob", "carol", "dave"))), m.sig),
    lambda m: cm.MsgClassCtl(m.seq, m.time, cc.Heal(), m.sig),
])
def test_a_signed_message_with_any_field_changed_is_refused(tamper):
    signed = ca.ControlSigner(HOST_KEY).sign(SPLIT, 5)
    alice = ca.ControlVerifier(HOST_KEY.pubkey)
    assert alice.check(tamper(signed)) is ca.Verdict.FORGED
    assert alice.check(signed) is ca.Verdict.ACCEPTED


def test_control_from_another_class_session_is_refused():
    """A new session has a new host key: last week's signed messages mean nothing today."""
    last_week = ca.ControlSigner(ca.new_host_key(RNG)).sign(SPLIT, 0)
    assert ca.ControlVerifier(HOST_KEY.pubkey).check(last_week) is ca.Verdict.FORGED


def test_a_late_joiner_gets_the_hosts_last_message_as_its_replay_floor():
    signer = ca.ControlSigner(HOST_KEY)
    old = signer.sign(SPLIT, 0)
    signer.sign(cc.Heal(), 1)
    late = ca.ControlVerifier(HOST_KEY.pubkey)
    assert signer.last is not None and late.check(signer.last) is ca.Verdict.ACCEPTED
    assert late.check(old) is ca.Verdict.REPLAYED


def test_a_student_pins_the_host_key_only_from_a_peer_that_presents_one():
    """Alice's first link must reach someone who knows the host key: a classmate who has not
    learned it either cannot vouch for one."""
    alice, bob = student("alice"), student("bob")
    bob.initiator = False
    with pytest.raises(ca.AdmissionError, match="did not present the host key"):
        alice.on_hello(bob.hello())
    assert alice.host_pubkey is None


# --- whatever a peer sends, admission answers or refuses -----------------------------------

peer_msgs = st.one_of(
    st.builds(cm.MsgClassHello, st.binary(min_size=32, max_size=32),
              st.sampled_from([ca.UNKNOWN_HOST, HOST_KEY.pubkey, b"\x03" + b"\x07" * 32]),
              st.sampled_from(["alice", "teacher", "mallory"]), st.sampled_from([1, 1, 2])),
    st.builds(cm.MsgClassAuth, st.binary(min_size=32, max_size=32)),
    st.sampled_from(["classctl", "classroster", "block", "classhello"]),
)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(msgs=st.lists(peer_msgs, max_size=5))
def test_a_peer_without_the_code_is_never_admitted_and_never_crashes_admission(msgs):
    teacher = host_side()
    teacher.hello()
    for m in msgs:
        try:
            if isinstance(m, cm.MsgClassHello):
                teacher.on_hello(m)
            elif isinstance(m, cm.MsgClassAuth):
                teacher.on_auth(m)
            else:
                teacher.check(m)
        except ca.AdmissionError:
            break  # the node drops the peer here
    assert not teacher.admitted


def _der(r: int, s: int) -> bytes:
    def part(x: int) -> bytes:
        b = x.to_bytes((x.bit_length() + 8) // 8, "big")  # a leading 0 keeps it positive
        return b"\x02" + bytes((len(b),)) + b
    body = part(r) + part(s)
    return b"\x30" + bytes((len(body),)) + body


def _undo_der(sig: bytes) -> tuple[int, int]:
    r_len = sig[3]
    r = int.from_bytes(sig[4:4 + r_len], "big")
    return r, int.from_bytes(sig[6 + r_len:], "big")


def test_a_malleated_copy_of_the_hosts_signature_is_quiet_when_accepted_and_refused_when_new():
    """(r, n - s) is a valid ECDSA signature too; the host signs low-S, so a high-S one is a copy."""
    signed = ca.ControlSigner(HOST_KEY).sign(SPLIT, 5)
    r, s = _undo_der(signed.sig)
    assert _der(r, s) == signed.sig
    high_s = cm.MsgClassCtl(signed.seq, signed.time, signed.control, _der(r, ca.CURVE_ORDER - s))
    alice = ca.ControlVerifier(HOST_KEY.pubkey)
    assert alice.check(high_s) is ca.Verdict.FORGED
    assert alice.check(signed) is ca.Verdict.ACCEPTED
    assert alice.check(high_s) is ca.Verdict.DUPLICATE  # relayed by someone who re-encoded it: no alarm
