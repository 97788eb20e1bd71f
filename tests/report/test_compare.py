from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from simulator.metrics.registry import format_value, metric
from simulator.metrics.result import ScenarioResult
from simulator.report.compare import comparison_table, rich_table, rich_tables, write_comparison


def _row(rows: list[dict], key: str) -> dict:
    return next(r for r in rows if r["metric"] == key)


def test_ratios_to_first_run(scenario: ScenarioResult) -> None:
    rows = comparison_table(scenario)
    lat = _row(rows, "latency_s")
    assert lat["values"] == [2e-3, 1e-3, 4e-3]
    assert lat["ratios"] == pytest.approx([1.0, 0.5, 2.0])
    energy = _row(rows, "energy_total_j")
    assert energy["ratios"] == pytest.approx([1.0, 0.5 / 0.8, 0.35 / 0.8])
    tok = _row(rows, "tokens_per_s")
    assert tok["values"] == [500.0, 1000.0, None]
    assert tok["ratios"][:2] == pytest.approx([1.0, 2.0]) and tok["ratios"][2] is None
    fps = _row(rows, "fps")
    assert fps["ratios"] == [None, None, None]  # the first run has no FPS
    assert _row(rows, "data_movement_share")["values"][0] == pytest.approx(0.5 / 0.8)


def test_derived_metrics(scenario: ScenarioResult) -> None:
    rows = comparison_table(scenario)
    assert _row(rows, "energy_per_token_j")["values"][0] == pytest.approx(0.8 / 16)
    assert _row(rows, "energy_per_frame_j")["values"][2] == pytest.approx(0.35 / (250 * 4e-3))
    assert _row(rows, "roofline_fraction")["values"][0] == pytest.approx(0.6)


def test_empty_rows_dropped(single: ScenarioResult) -> None:
    keys = [r["metric"] for r in comparison_table(single)]
    assert "fps" not in keys and "energy_per_frame_j" not in keys
    assert "fps" in [r["metric"] for r in comparison_table(single, keep_empty=True)]


def test_rich_table_renders(scenario: ScenarioResult) -> None:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(rich_table(scenario))
    text = console.file.getvalue()
    assert "latency" in text and "2 ms" in text and "(0.50×)" in text


def test_format_value() -> None:
    assert format_value(metric("latency_s"), None) == "—"
    assert format_value(metric("latency_s"), 2e-3) == "2 ms"
    assert format_value(metric("roofline_fraction"), 0.25) == "25.0%"
    assert format_value(metric("latency_s"), float("inf")) == "—"
    assert format_value(metric("data_movement_share"), float("nan")) == "—"


def _many(make_run_fn, n: int = 12) -> ScenarioResult:
    runs = tuple(
        make_run_fn(f"architecture-{i:02d}", f"workload-{i:02d}", latency_s=1e-3 * (i + 1), n_ops=4) for i in range(n)
    )
    return ScenarioResult("many", runs)


def test_twelve_runs_fit_80_columns(make_run_fn) -> None:
    result = _many(make_run_fn)
    console = Console(file=io.StringIO(), width=80, color_system=None)
    tables = rich_tables(result, width=80)
    assert len(tables) > 1  # transposed and split
    for table in tables:
        console.print(table)
    lines = console.file.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    text = console.file.getvalue()
    for i in range(12):  # every run is named, every metric is shown
        assert f"architecture-{i:02d}" in text.replace("\n", "")
    assert "latency" in text and "energy total" in text


def test_few_runs_keep_one_column_per_run(scenario: ScenarioResult) -> None:
    tables = rich_tables(scenario, width=200)
    assert len(tables) == 1 and next(c.header for c in tables[0].columns) == "metric"


def test_per_token_normalisation_favours_the_bigger_batch(make_run_fn) -> None:
    import dataclasses

    small = make_run_fn("chip-a", "b1", energy=(0.1, 0.4, 0.1))
    # batch 8: 8x the tokens for 4x the energy
    big = dataclasses.replace(make_run_fn("chip-a", "b8", energy=(0.4, 1.6, 0.4)), batch=8)
    result = ScenarioResult("batches", (small, big))
    whole = _row(comparison_table(result), "energy_total_j")
    assert whole["ratios"][1] == pytest.approx(4.0)  # whole-run energy: the bigger batch looks worse
    rows = comparison_table(result, per="token")
    per_token = _row(rows, "energy_total_j_per_token")
    assert per_token["values"][0] == pytest.approx(0.6 / 16)
    assert per_token["ratios"][1] == pytest.approx(0.5)  # per token it is twice as efficient
    assert per_token["unit"] == "J/token"
    assert "energy_per_token_j" not in [r["metric"] for r in rows]  # the same numbers, not twice
    assert _row(rows, "tpot_s")["values"] == [small.tpot_s, big.tpot_s]  # intensive metrics unchanged


def test_per_frame_leaves_llm_runs_empty(scenario: ScenarioResult) -> None:
    row = _row(comparison_table(scenario, per="frame"), "energy_total_j_per_frame")
    assert row["values"][:2] == [None, None]
    assert row["values"][2] == pytest.approx(0.35 / (250 * 4e-3))


def test_overflowing_latency_never_shows_inf_or_nan(make_run_fn) -> None:
    huge = make_run_fn("chip-a", "huge", latency_s=1e308)
    result = ScenarioResult("huge", (make_run_fn(), huge))
    console = Console(file=io.StringIO(), width=200, color_system=None)
    for table in rich_tables(result, width=200):
        console.print(table)
    text = console.file.getvalue().lower()
    assert "inf" not in text and "nan" not in text
    rows = comparison_table(result)
    assert all(v is None or v == v for r in rows for v in r["values"])


def test_write_comparison_csv_json_plots(tmp_path: Path, scenario: ScenarioResult) -> None:
    paths = write_comparison(scenario, tmp_path)
    names = {p.name for p in paths}
    assert {"compare.csv", "compare.json", "comparison.png"} <= names
    assert "comparison.svg" not in names  # PNG by default, SVG on request
    assert "comparison.svg" in {p.name for p in write_comparison(scenario, tmp_path, formats=("png", "svg"))}
    doc = json.loads((tmp_path / "compare.json").read_text())
    assert [c["label"] for c in doc["columns"]] == ["chip-a · decode", "chip-b · decode", "chip-a · skynet"]
    rows = list(csv.reader((tmp_path / "compare.csv").open()))
    assert rows[0][:4] == ["metric", "unit", "better", "chip-a · decode"]
    lat = next(r for r in rows if r[0] == "latency_s")
    assert float(lat[3]) == 2e-3 and float(lat[6]) == pytest.approx(0.5)


def test_ratio_verdict() -> None:
    from simulator.report.compare import ratio_verdict

    assert ratio_verdict(0.5, "lower") == "good" and ratio_verdict(2.0, "lower") == "bad"
    assert ratio_verdict(2.0, "higher") == "good" and ratio_verdict(0.5, "higher") == "bad"
    assert ratio_verdict(1.0, "lower") == "" and ratio_verdict(0.5, "") == ""


def test_one_descriptor_reaches_every_output(scenario: ScenarioResult) -> None:
    """avg_power_w was added as one registry descriptor: every consumer shows it without further edits."""
    from simulator.metrics.registry import flat_columns, markdown_table, sweep_columns
    from simulator.report.writers import results_csv, results_json

    assert _row(comparison_table(scenario), "avg_power_w")["values"][1] == pytest.approx(0.5 / 1e-3)
    assert "avg_power_w" in flat_columns() and "avg_power_w" in sweep_columns()
    assert "avg_power_w" in results_csv(scenario).splitlines()[0].split(",")
    assert json.loads(results_json(scenario))["runs"][0]["avg_power_w"] == pytest.approx(0.8 / 2e-3)
    assert "| `avg_power_w` | W | lower |" in markdown_table()
    assert format_value(metric("avg_power_w"), 400.0) == "400 W"
