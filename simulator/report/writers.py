"""Pure writers for ``results.json`` and ``results.csv``: records in, text out (the runner saves it).

``results.json`` is :meth:`ScenarioResult.to_json` (``{"hetsim_version", "scenario", "runs": [...]}``);
``results.csv`` has one row per run with the flat columns of the metrics registry
(:func:`simulator.metrics.registry.flat_columns`: identity, then every metric, each name carrying its unit).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from typing import Any

from simulator.metrics.registry import flat_columns
from simulator.metrics.result import RunResult, ScenarioResult


def csv_row(run: RunResult) -> dict[str, Any]:
    """One flat row of ``results.csv`` (``None`` becomes an empty cell)."""
    return run.flat_metrics()


def results_csv(result: ScenarioResult) -> str:
    """``results.csv`` text: a header line, then one row per run in run order (non-finite values empty)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=flat_columns(), lineterminator="\n")
    writer.writeheader()
    for run in result.runs:
        writer.writerow({k: _cell(v) for k, v in csv_row(run).items()})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    """A CSV cell: ``None`` and non-finite floats are empty."""
    return "" if value is None or (isinstance(value, float) and not math.isfinite(value)) else value


def finite_json(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null (strict parsers reject the bare tokens)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value


def results_json(result: ScenarioResult) -> str:
    """``results.json`` text (indented, keys in record order)."""
    return json.dumps(finite_json(result.to_json()), indent=2) + "\n"
