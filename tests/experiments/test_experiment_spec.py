"""`experiment ...` reads exactly the issue's syntax; every mistake is one line with what to type."""

from __future__ import annotations

import pytest

from lab.errors import CommandError
from lab.experiments.spec import parse_experiment, usage
from lab.sched import SECOND


def test_defaults_fill_every_setting():
    spec = parse_experiment("experiment selfish")
    assert spec.experiment == "selfish"
    assert spec.param("alpha").values == (0.1, 0.2, 0.3, 0.4)
    assert spec.param("gamma").texts == ("0",)
    assert spec.command() == "experiment selfish alpha 0.1,0.2,0.3,0.4 gamma 0 runs 1 blocks 1000 seed 1"


def test_the_bench_command_parses():
    spec = parse_experiment("selfish alpha 0.25,0.33,0.4 blocks 1000 runs 1")
    assert spec.param("alpha").values == (0.25, 0.33, 0.4)
    assert (spec.runs, spec.blocks, spec.csv) == (1, 1000, None)
    assert [p.value for p in spec.points()] == ["0.25", "0.33", "0.4"]
    assert spec.points()[0]["alpha"] == 0.25 and spec.points()[0]["gamma"] == 0


def test_double_spend_range_and_every_combination():
    spec = parse_experiment("experiment double-spend q 0.1,0.3 z 1,2,...,6 runs 200 seed 7 csv out.csv")
    assert spec.param("z").values == (1, 2, 3, 4, 5, 6)
    points = spec.points()
    assert len(points) == 12
    assert points[0].param == "z (q=0.1)" and points[0].value == "1"
    assert points[-1].param == "z (q=0.3)" and points[-1]["z"] == 6 and points[-1]["q"] == 0.3
    assert (spec.runs, spec.seed, spec.csv) == (200, 7, "out.csv")
    assert spec.command().endswith("runs 200 blocks 60 seed 7 csv out.csv")


def test_stale_durations_in_virtual_microseconds():
    spec = parse_experiment(["stale", "latency", "500ms,1s,1.5s", "interval", "10m"])
    assert spec.param("latency").values == (SECOND // 2, SECOND, 3 * SECOND // 2)
    assert spec.param("latency").texts == ("500ms", "1s", "1500ms")
    assert spec.param("interval").texts == ("600s",)
    assert spec.points()[0].param == "latency (interval=600s)"


def test_decimal_ranges_are_exact():
    spec = parse_experiment("selfish alpha 0.1,0.15,...,0.45")
    assert spec.param("alpha").texts == ("0.1", "0.15", "0.2", "0.25", "0.3", "0.35", "0.4", "0.45")
    assert parse_experiment("selfish alpha 1/3").param("alpha").texts == ("1/3",)


def test_spaces_after_commas_and_upper_case_words_are_fine():
    spec = parse_experiment("experiment Selfish ALPHA 0.2, 0.3 γ 0.5")
    assert spec.param("alpha").texts == ("0.2", "0.3") and spec.param("gamma").values == (0.5,)


def test_same_words_same_spec():
    assert parse_experiment("selfish alpha 0.2") == parse_experiment("selfish alpha 0.2")


@pytest.mark.parametrize("command, message, hint", [
    ("experiment", "needs to know what to measure", "experiment stale"),
    ("experiment selfsh", "no experiment 'selfsh'", "did you mean 'selfish'?"),
    ("experiment selfish alpah 0.2", "'alpah' is not a setting", "did you mean 'alpha'?"),
    ("experiment selfish alpha", "alpha needs a value", "alpha 0.1,0.2"),
    ("experiment selfish alpha 0.2 alpha 0.3", "alpha is given twice", "with a list"),
    ("experiment selfish alpha 0.6", "alpha 0.6 is out of range", "between 0 and 0.5"),
    ("experiment selfish alpha 0", "alpha 0 is out of range", "between 0 and 0.5"),
    ("experiment selfish alpha x", "'x' is not a number", "alpha 0.1"),
    ("experiment selfish alpha 1/0", "'1/0' is not a number", "alpha"),
    ("experiment selfish gamma 0.3", "gamma 0.3 cannot be set", "through the network"),
    ("experiment selfish alpha 0.1,,0.2", "empty value", "alpha"),
    ("experiment selfish alpha 0.1,0.1", "lists a value twice", "alpha"),
    ("experiment double-spend z 1,...,6", "not a range", "z 1,2,...,6"),
    ("experiment double-spend z 3,2,...,6", "count upwards", "z 1,2,...,6"),
    ("experiment double-spend z 1,2,4,...,6", "not evenly spaced", "z 1,2,...,6"),
    ("experiment double-spend z 1,3,...,6", "never reaches 6", "z 1,2,...,6"),
    ("experiment double-spend z 1,2,...,6,7", "not a range", "..."),
    ("experiment double-spend z 2.5", "not a whole number", "z 1,2"),
    ("experiment double-spend z 1,2,...,50 q 0.1,0.2", "100 rows", "fewer values"),
    ("experiment stale latency fast", "'fast' is not a duration", "latency 1s,5s,10s"),
    ("experiment stale interval 0s", "interval 0s is out of range", "interval 60s"),
    ("experiment stale runs 0", "runs '0' is not a whole number from 1", "runs 1"),
    ("experiment stale blocks lots", "blocks 'lots'", "blocks 500"),
    ("experiment stale seed -1", "seed '-1'", "seed 1"),
    ("experiment stale csv", "csv needs a value", "csv results.csv"),
])
def test_mistakes_say_what_to_type_instead(command, message, hint):
    with pytest.raises(CommandError) as err:
        parse_experiment(command)
    assert message in err.value.message
    assert hint in err.value.hint


def test_usage_lists_the_settings():
    assert usage("double-spend") == ("experiment double-spend [z 1,2,...,6] [q 0.1,0.3] "
                                     "[runs R] [blocks N] [seed S] [csv FILE]")
