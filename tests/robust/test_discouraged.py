"""Discouragement (lab/net/banman.py): outsiders by host with an expiry, lab nodes by name, all bounded."""

from __future__ import annotations

from lab.net.banman import MAX_HOSTS, Discouraged


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_outsider_is_refused_by_host_from_any_port_until_it_expires():
    clock = Clock()
    d = Discouraged(seconds=60, clock=clock)
    d.add("10.0.0.5:40001", lab_node=False)
    assert "10.0.0.5:40001" in d
    assert d.refuses("10.0.0.5")  # a new port does not start over
    assert not d.refuses("10.0.0.6")
    clock.now += 61
    assert not d.refuses("10.0.0.5")  # a day later (here a minute) it may come back
    assert d.listed() == []


def test_lab_nodes_are_discouraged_by_name_until_lifted():
    d = Discouraged(seconds=60, clock=Clock())
    d.add("C", lab_node=True)
    assert "C" in d and d.listed() == ["C"]
    d.discard("C")
    assert "C" not in d


def test_thousands_of_punished_hosts_stay_bounded():
    d = Discouraged(seconds=60, clock=Clock())
    for i in range(3 * MAX_HOSTS):
        d.add(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}:1", lab_node=False)
    assert len(d) == MAX_HOSTS and len(d.listed()) == MAX_HOSTS
    assert d.punished == 3 * MAX_HOSTS  # the count is kept
