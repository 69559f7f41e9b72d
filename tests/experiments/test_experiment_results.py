"""Rows become CSV with the contract header and the same bytes every time."""

from __future__ import annotations

import csv
import io

import pytest

from lab.errors import CommandError
from lab.experiments.results import HEADER, Row, csv_text, numeric, write_csv
from lab.experiments.spec import parse_experiment
from lab.experiments.stats import mean_interval, wilson
from lab.experiments.theory import double_spend_probability, selfish_revenue


def _rows() -> list[Row]:
    spec = parse_experiment("double-spend q 0.1 z 1,2 runs 50")
    rows = [Row.of(p, wilson(k, spec.runs), double_spend_probability(p["q"], int(p["z"])), spec.runs,
                   spec.blocks) for p, k in zip(spec.points(), (11, 3), strict=True)]
    point = parse_experiment("selfish alpha 0.4").points()[0]
    rows.append(Row.of(point, mean_interval([0.47]), selfish_revenue(0.4, 0), 1, 2000))
    return rows


def test_csv_has_the_contract_header_and_fixed_decimals():
    text = csv_text(_rows())
    lines = text.split("\n")
    assert lines[0] == "experiment,param,value,measured,low,high,theory,runs,blocks"
    assert tuple(lines[0].split(",")) == HEADER
    assert lines[1].startswith('double-spend,z (q=0.1),1,0.220000,')
    assert lines[1].endswith(",0.204587,50,60")
    assert lines[3] == "selfish,alpha (gamma=0),0.4,0.470000,,,0.483721,1,2000"
    assert text.endswith("\n") and "\r" not in text
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[0]["param"] == "z (q=0.1)" and float(parsed[0]["low"]) < 0.22 < float(parsed[0]["high"])


def test_same_rows_same_bytes(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_csv(str(first), _rows())
    write_csv(str(second), _rows())
    assert first.read_bytes() == second.read_bytes() == csv_text(_rows()).encode()


def test_a_failed_write_says_so_and_keeps_the_old_file(tmp_path):
    with pytest.raises(CommandError) as err:
        write_csv(str(tmp_path / "no-such-folder" / "x.csv"), _rows())
    assert "cannot write" in err.value.message and "csv results.csv" in err.value.hint
    taken = tmp_path / "taken.csv"  # a folder where the file should go: the rename fails
    taken.mkdir()
    (taken / "inside").write_text("keep me")
    with pytest.raises(CommandError):
        write_csv(str(taken), _rows())
    assert (taken / "inside").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["taken.csv"]  # no temporary file left behind


def test_theory_inside_the_interval():
    rows = _rows()
    assert rows[0].within() is True
    assert rows[2].within() is None  # one run: no interval to be inside of


def test_values_as_numbers_for_a_chart():
    assert numeric("0.25") == 0.25 and numeric("3") == 3.0
    assert numeric("1/3") == pytest.approx(1 / 3)
    assert numeric("500ms") == 0.5 and numeric("2s") == 2.0
    with pytest.raises(ValueError):
        numeric("fast")
