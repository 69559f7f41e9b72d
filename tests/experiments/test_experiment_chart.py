"""Charts and tables of experiment rows: the same text for the same rows, colour only when asked."""

from __future__ import annotations

from lab.experiments.results import Row
from lab.experiments.spec import parse_experiment
from lab.experiments.stats import mean_interval, wilson
from lab.experiments.theory import double_spend_probability, selfish_revenue
from lab.render.chart import chart, plain_chart, rows_table

ESC = "\x1b["


def _double_spend_rows() -> list[Row]:
    spec = parse_experiment("double-spend q 0.1,0.3 z 1,2,...,4 runs 100")
    found = (22, 4, 1, 0, 64, 41, 35, 22)  # successes out of 100 per point
    return [Row.of(p, wilson(k, spec.runs), double_spend_probability(p["q"], int(p["z"])), spec.runs,
                   spec.blocks) for p, k in zip(spec.points(), found, strict=True)]


def _selfish_rows() -> list[Row]:
    spec = parse_experiment("selfish alpha 0.25,0.33,0.4")
    shares = {0.25: [0.21, 0.23, 0.22], 0.33: [0.31, 0.35, 0.33], 0.4: [0.47, 0.50, 0.48]}
    return [Row.of(p, mean_interval(shares[p["alpha"]]), selfish_revenue(p["alpha"], 0), 3, 1000)
            for p in spec.points()]


def test_the_chart_is_the_same_text_whatever_the_terminal(monkeypatch):
    first = chart(_selfish_rows(), width=60, height=16)
    monkeypatch.setenv("COLUMNS", "20")
    monkeypatch.setenv("LINES", "5")
    assert chart(_selfish_rows(), width=60, height=16) == first
    assert ESC not in first
    lines = first.split("\n")
    assert max(len(line) for line in lines[:-1]) == 60  # the frame is as wide as asked
    assert "the selfish pool's share of the best chain" in lines[0]
    assert all(v in first for v in ("0.25", "0.33", "0.4", "alpha"))
    assert first.count("●") >= 3 + 1  # three measured points and the key


def test_colour_only_when_asked():
    assert ESC in chart(_selfish_rows(), color=True)
    assert ESC not in chart(_selfish_rows(), color=False)
    assert ESC not in plain_chart(_selfish_rows())


def test_two_series_get_two_markers_and_a_key():
    text = chart(_double_spend_rows(), width=70, height=18)
    assert "● z (q=0.1)  ■ z (q=0.3): measured" in text.split("\n")[-1]
    assert "■" in "\n".join(text.split("\n")[:-1])


def test_plain_chart_is_ascii_with_one_line_per_row():
    rows = _double_spend_rows()
    text = plain_chart(rows, width=72)
    assert text.isascii()
    lines = text.split("\n")
    assert lines[0] == "double spends that succeed vs confirmations"
    assert "z (q=0.1):" in lines and "z (q=0.3):" in lines
    data = [line for line in lines if line.rstrip().endswith(tuple("0123456789"))
            and " vs " in line]
    assert len(data) == len(rows)
    # q=0.3, z=1: measured 0.64 lies right of theory 0.6277 on the line's scale, inside its interval
    line = next(line for line in data if line.endswith("0.640000 vs 0.627749"))
    bar = line[3:line.rindex("  0.64")]
    assert bar.index("[") <= bar.index("|") <= bar.index("x") <= bar.index("]")


def test_plain_is_what_chart_gives_when_asked_and_for_nothing():
    assert chart(_selfish_rows(), plain=True) == plain_chart(_selfish_rows())
    assert plain_chart([]) == "(no rows yet)"


def test_table_lists_measured_interval_and_theory():
    rows = _selfish_rows()
    rows.append(Row.of(parse_experiment("selfish alpha 0.1").points()[0], mean_interval([0.07]), None, 1, 1000))
    text = rows_table(rows)
    lines = text.split("\n")
    assert lines[0].split() == ["param", "value", "measured", "95", "%", "interval", "theory", "runs", "blocks"]
    assert "alpha (gamma=0)  0.4" in lines[4] and "0.483721" in lines[4]
    assert lines[5].count("–") == 2  # one run, no formula: nothing to print
    assert "-" in rows_table(rows[-1:], ascii_only=True).split("\n")[-1]
    assert rows_table([]) == "(no rows)"
