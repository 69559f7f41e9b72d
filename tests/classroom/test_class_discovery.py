"""Peer discovery: a room of laptops learns each other's addresses from the host's gossip, each
picks three outbound peers with its own seeded randomness, and the class becomes a mesh that
holds together when the host leaves; the address table stays bounded whatever a peer gossips."""

from __future__ import annotations

import random

import pytest

from lab.classroom.discovery import (
    MAX_INBOUND,
    OUTBOUND,
    RETRY_SECONDS,
    Address,
    AddrTable,
    accepts_inbound,
    choose_outbound,
    dialable,
    gossip,
    outbound_rng,
)
from lab.net.messages import AddrEntry, MsgAddr

NOW = 1_700_000_000
HOST = Address("192.168.1.1", 18444)


def laptops(n: int) -> list[Address]:
    return [Address(f"192.168.1.{10 + i}", 18444) for i in range(n)]


def class_mesh(n: int, seed: int) -> dict[Address, list[Address]]:
    """Students join one by one: each links to the host, hears every address from its gossip,
    and dials until it has OUTBOUND more peers; a student with MAX_INBOUND links refuses."""
    students = laptops(n)
    gossip_msg = MsgAddr.deserialize(gossip([HOST, *students], NOW - 5).serialize())  # as it travels
    chosen: dict[Address, list[Address]] = {s: [] for s in students}
    inbound = dict.fromkeys(students, 0)
    for i, me in enumerate(students):
        table = AddrTable(me)
        table.add(gossip_msg.addrs, "teacher", NOW)
        rng = outbound_rng(seed, f"s{i}")
        while picks := choose_outbound(table, [HOST, *chosen[me]], NOW, rng, k=OUTBOUND + 1):
            for peer in picks:
                table.attempt(peer, NOW)
                if peer in chosen[me] or me in chosen[peer] or not accepts_inbound(inbound[peer], False, 64):
                    continue  # already linked the other way, or full: refused
                inbound[peer] += 1
                chosen[me].append(peer)
                table.good(peer, NOW)
    return chosen


def connected_without_host(chosen: dict[Address, list[Address]]) -> bool:
    edges = {a: set() for a in chosen}
    for a, outs in chosen.items():
        for b in outs:
            edges[a].add(b)
            edges[b].add(a)
    start = next(iter(edges))
    seen, todo = {start}, [start]
    while todo:
        for b in edges[todo.pop()] - seen:
            seen.add(b)
            todo.append(b)
    return seen == set(edges)


@pytest.mark.parametrize("n", [5, 12, 30])
@pytest.mark.parametrize("seed", range(5))
def test_the_class_forms_a_mesh_that_survives_the_host_leaving(n, seed):
    chosen = class_mesh(n, seed)
    for me, outs in chosen.items():
        assert len(set(outs)) == len(outs) <= OUTBOUND  # never twice, never more
        # a small class has fewer links than 3 each would want (5 laptops: at most 10 links)
        assert len(outs) == OUTBOUND or n < 4 * OUTBOUND
        assert me not in outs and HOST not in outs  # never ourselves, never one we have
    assert connected_without_host(chosen)
    inbound: dict[Address, int] = {}
    for outs in chosen.values():
        for b in outs:
            inbound[b] = inbound.get(b, 0) + 1
    assert max(inbound.values()) <= MAX_INBOUND  # spread out: nobody becomes a second hub


def test_the_choice_is_the_same_for_the_same_seed_and_differs_between_participants():
    assert class_mesh(12, 7) == class_mesh(12, 7)
    picks = class_mesh(12, 7)
    assert len({tuple(v) for v in picks.values()}) > 6
    assert class_mesh(12, 7) != class_mesh(12, 8)


def test_an_address_that_answered_before_comes_first_and_a_failing_one_rests():
    table = AddrTable(laptops(1)[0])
    a, b, c = laptops(4)[1:]
    table.add([a, b, c], "teacher", NOW)
    table.attempt(b, NOW - 600)
    table.good(b, NOW - 600)
    rng = random.Random(1)
    assert choose_outbound(table, [], NOW, rng, k=1) == [b]
    table.attempt(a, NOW)
    assert a not in choose_outbound(table, [], NOW, rng, k=3)  # tried just now
    assert a in choose_outbound(table, [], NOW + RETRY_SECONDS, rng, k=3)
    for t in range(3):
        table.attempt(c, NOW + 1000 * t)
    assert table.get(c).is_terrible(NOW + 5000)
    assert c not in choose_outbound(table, [], NOW + 5000, rng, k=3)
    assert choose_outbound(table, [a, b, c], NOW, rng) == []


def test_one_gossiping_peer_cannot_fill_the_table_and_the_table_has_a_limit():
    table = AddrTable(limit=40, per_source=10)
    flood = [Address(f"10.0.{i // 250}.{i % 250 + 1}", 18444) for i in range(500)]
    assert table.add(flood, "mallory", NOW) == 10
    for s in range(10):
        table.add(flood[100 + 30 * s:130 + 30 * s], f"peer{s}", NOW)
    assert len(table) == 40
    assert table.add([Address("10.9.9.9", 1)], "late", NOW - 100) == 0  # older than all: not kept
    assert table.add([Address("10.9.9.9", 1)], "late", NOW + 100) == 1  # newer: the oldest untried goes


def test_gossip_for_outsiders_and_odd_addresses_is_ignored():
    table = AddrTable(me=Address("192.168.1.5", 18444))
    entries = [AddrEntry.ipv4(NOW, h, 18444) for h in
               ("8.8.8.8", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.168.1.5", "10.0.0.7", "127.0.0.1")]
    entries.append(AddrEntry(NOW, 1, b"\x20\x01" + b"\x00" * 14, 18444))  # IPv6
    entries.append(AddrEntry.ipv4(NOW, "10.0.0.8", 0))  # no port
    entries.append(AddrEntry.ipv4(NOW + 10**6, "10.0.0.9", 18444))  # claims to be seen in the future
    assert table.add(entries, "bob", NOW) == 3
    assert [str(i.addr) for i in table.entries()] == ["10.0.0.7:18444", "10.0.0.9:18444", "127.0.0.1:18444"]
    assert table.get(Address("10.0.0.9", 18444)).time == NOW
    assert not dialable(Address("192.168.1.300", 1)) and not dialable(Address("host.local", 1))


def test_getaddr_answers_a_bounded_sample_of_good_addresses():
    table = AddrTable()
    table.add(laptops(100), "teacher", NOW)
    sample = table.for_getaddr(NOW, random.Random(3), limit=20)
    assert len(sample) == 20 == len(set(sample))
    assert len(table.for_getaddr(NOW, random.Random(3))) == 64


def test_students_keep_few_inbound_slots_and_the_host_takes_the_class():
    assert accepts_inbound(MAX_INBOUND - 1, False, 64) and not accepts_inbound(MAX_INBOUND, False, 64)
    assert accepts_inbound(63, True, 64) and not accepts_inbound(64, True, 64)
