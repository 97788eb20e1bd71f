"""Pure writers for ``results.json`` and ``results.csv``: records in, text out (the runner saves it).

``results.json`` is :meth:`ScenarioResult.to_json` (``{"hetsim_version", "scenario", "runs": [...]}``);
``results.csv`` has one row per run with the flat columns in :data:`CSV_COLUMNS`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from typing import Any

from simulator.metrics.result import RunResult, ScenarioResult

#: Columns of ``results.csv``, in order; every name carries its unit.
CSV_COLUMNS: tuple[str, ...] = (
    "architecture",
    "workload",
    "kind",
    "latency_s",
    "ttft_s",
    "tpot_s",
    "tokens_per_s",
    "fps",
    "energy_total_j",
    "energy_compute_j",
    "energy_data_movement_j",
    "energy_static_j",
    "roofline_latency_s",
    "operators",
    "events",
    "wall_s",
)


def csv_row(run: RunResult) -> dict[str, Any]:
    """One flat row of ``results.csv`` (``None`` becomes an empty cell)."""
    flat = run.flat_metrics()
    return {column: flat[column] for column in CSV_COLUMNS}


def results_csv(result: ScenarioResult) -> str:
    """``results.csv`` text: a header line, then one row per run in run order."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for run in result.runs:
        writer.writerow({k: "" if v is None else v for k, v in csv_row(run).items()})
    return buffer.getvalue()


def _finite(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null (strict parsers reject the bare tokens)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def results_json(result: ScenarioResult) -> str:
    """``results.json`` text (indented, keys in record order)."""
    return json.dumps(_finite(result.to_json()), indent=2) + "\n"
