from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from simulator.metrics.result import ScenarioResult
from simulator.report.compare import comparison_table, format_value, rich_table, write_comparison


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
    assert _row(rows, "average_power_w")["values"][1] == pytest.approx(0.5 / 1e-3)


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
    assert format_value(None, "s") == "—"
    assert format_value(2e-3, "s") == "2 ms"
    assert format_value(0.25, "fraction") == "25.0%"


def test_write_comparison_csv_json_plots(tmp_path: Path, scenario: ScenarioResult) -> None:
    paths = write_comparison(scenario, tmp_path)
    names = {p.name for p in paths}
    assert {"compare.csv", "compare.json", "comparison.png", "comparison.svg"} <= names
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
