"""`lab bench --quick --json`: every figure present with median/min/max/unit, and the machine.

A smoke run only: sizes are cut down and nothing here asserts a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lab import bench

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("start", "hashrate", "hop", "flood", "experiment", "stale-experiment", "selfish-experiment", "sync",
           "sigs", "sighash", "keep", "scale", "responsive", "grade", "class")  # keep: issue 15


def _bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", "bench", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def quick() -> dict:
    r = _bench("--quick", "--json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return json.loads(r.stdout)


def test_the_figures_are_the_ones_the_issue_names() -> None:
    assert tuple(f.name for f in bench.FIGURES) == FIGURES


def test_quick_json_has_every_figure_with_median_min_max_and_unit(quick: dict) -> None:
    assert set(quick) == {"machine", *FIGURES}
    for name in FIGURES:
        entry = quick[name]
        assert "error" not in entry, f"{name}: {entry.get('error')}"
        for key in ("median", "min", "max"):
            assert isinstance(entry[key], (int, float)), (name, key)
        assert entry["min"] <= entry["median"] <= entry["max"], name
        assert isinstance(entry["unit"], str) and entry["unit"], name
        assert entry["pass"] is None  # --quick: sizes differ, so no verdict against the targets
        assert "target" in entry


def test_figures_with_two_targets_carry_the_second_as_a_nested_entry(quick: dict) -> None:
    assert quick["sigs"]["connect"]["unit"] == "ms per 100 tx"
    assert quick["scale"]["memory"]["unit"] == "MB"
    assert quick["scale"]["memory"]["median"] > 0
    assert quick["sighash"]["small"]["unit"] == "ms" and quick["sighash"]["per_input"]["unit"] == "x"


def test_hop_and_flood_carry_their_floor_and_the_ratio_lab_over_floor(quick: dict) -> None:
    """The floor is a bare asyncio relay of the same frame along the same links, measured in the same run."""
    for name in ("hop", "flood"):
        entry = quick[name]
        assert entry["floor"]["unit"] == entry["unit"]
        assert entry["floor"]["median"] > 0
        assert entry["ratio"]["unit"] == "x"
        assert entry["ratio"]["median"] > 0
    text = bench.render_table(quick, quick=True)
    assert "lab / floor" in text and "bare asyncio relay" in text


def test_machine_names_cores_python_and_the_ecdsa_backend(quick: dict) -> None:
    m = quick["machine"]
    assert m["cores"] >= 1
    assert m["python"].count(".") == 2
    assert m["ecdsa_backend"] in ("gmpy2", "pure")


def test_the_table_shows_targets_marks_and_the_machine(quick: dict) -> None:
    text = bench.render_table(quick, quick=True)
    assert f"{quick['machine']['cores']} core" in text and quick["machine"]["ecdsa_backend"] in text
    for name in FIGURES:
        assert f"\n{name} " in text
    full = {k: (v if k == "machine" else {**v, "pass": False}) for k, v in quick.items()}
    assert "MISS" in bench.render_table(full, quick=False)


def test_only_runs_one_figure_and_an_unknown_name_is_a_usage_error() -> None:
    r = _bench("--quick", "--json", "--only", "hashrate")
    assert r.returncode == 0, r.stderr
    assert set(json.loads(r.stdout)) == {"machine", "hashrate"}
    r = _bench("--only", "nosuch")
    assert r.returncode == 2
    assert "hashrate" in r.stderr  # lists the figures there are


def test_the_floor_relays_each_frame_to_every_node_of_a_line() -> None:
    from labtest import run

    from lab.bench.floor import FloorNet
    from lab.net.wire import encode_frame

    async def go() -> list[dict[str, float]]:
        net = await FloorNet.open("ABCD", [("A", "B"), ("B", "C"), ("C", "D")])
        try:
            return [await net.flood(origin, encode_frame("block", payload))
                    for origin, payload in (("A", b"first" * 100), ("D", b"second" * 100))]
        finally:
            await net.close()

    first, second = run(go())
    assert set(first) == {"B", "C", "D"} and first["B"] < first["D"]
    assert set(second) == {"A", "B", "C"} and second["C"] < second["A"]
