"""results.json / results.csv writers and the summary table, on a hand-made result."""

from __future__ import annotations

import csv
import io
import json

from simulator.metrics.registry import flat_columns
from simulator.metrics.result import EnergySplit, RunResult, ScenarioResult
from simulator.report.tables import summary_rows, summary_table
from simulator.report.writers import results_csv, results_json


def make_run(**overrides: object) -> RunResult:
    fields: dict[str, object] = dict(
        architecture="a", workload="w", kind="gemm", latency_s=2e-3, ttft_s=None, tpot_s=None, tokens_per_s=None,
        fps=500.0, energy=EnergySplit(1.0, 2.0, 1.0), energy_by_component_j={}, energy_by_phase_j={},
        energy_by_kind_j={}, latency_by_category_s={"compute": 2e-3}, latency_by_phase_s={}, busy_by_unit_s={},
        peak_memory_bytes={}, bytes_by_memory={}, roofline_latency_s=1e-3, flops=1.0, operators=3, events=9,
        wall_s=0.01, batch=1, tokens_per_sequence=0.0,
    )  # fmt: skip
    fields.update(overrides)
    return RunResult(**fields)  # type: ignore[arg-type]


def test_json_has_no_nan_and_csv_blank_for_none() -> None:
    result = ScenarioResult("s", (make_run(), make_run(workload="v", roofline_latency_s=float("nan"))))
    document = json.loads(results_json(result))
    assert document["runs"][1]["roofline_latency_s"] is None
    rows = list(csv.DictReader(io.StringIO(results_csv(result))))
    assert list(rows[0]) == list(flat_columns())
    assert rows[0]["ttft_s"] == "" and float(rows[0]["fps"]) == 500.0
    assert float(rows[0]["energy_data_movement_j"]) == 2.0


def test_summary_columns_come_from_the_registry() -> None:
    result = ScenarioResult("s", (make_run(),))
    row = summary_rows(result)[0]
    assert row["DM share"] == "50.0%"
    assert row["FPS"] == "500 frames/s"
    assert row["of roofline"] == "50.0%"  # one roofline ratio format: the fraction of the bound reached
    assert "TPOT" not in row and "tokens/s" not in row  # no run has them: no column
    assert summary_table(result).row_count == 1


def test_non_finite_values_never_show_as_inf_or_nan() -> None:
    result = ScenarioResult("s", (make_run(latency_s=1e308, energy=EnergySplit(float("inf"), 1.0, 0.0)),))
    row = summary_rows(result)[0]
    assert not any("inf" in v.lower() or "nan" in v.lower() for v in row.values())
    text = results_csv(result)
    assert "inf" not in text.lower() and "nan" not in text.lower()
