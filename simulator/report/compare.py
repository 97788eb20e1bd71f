"""Side-by-side comparison of a scenario's runs: one row per metric, one column per run, ratios to the first.

:func:`comparison_table` is a pure function of a :class:`ScenarioResult`; :func:`rich_table`
renders it for the terminal and :func:`write_comparison` writes ``compare.csv``,
``compare.json`` and the comparison plots.

Derived metrics: energy per token = total energy / (batch × tokens per sequence); energy per
frame = total energy / (FPS × latency) frames; average power = total energy / latency; roofline
fraction = roofline latency / latency (1.0 means the run reaches its bound).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.table import Table

from simulator.metrics.result import RunResult, ScenarioResult
from simulator.report import plots
from simulator.units import format_quantity

Better = Literal["lower", "higher", ""]


@dataclass(frozen=True)
class Metric:
    """One row of the comparison: key, label, unit, which direction is better and how to read it from a run."""

    key: str
    label: str
    unit: str
    better: Better
    value: Callable[[RunResult], float | None]
    dimension: str | None = None


def _energy_per_token(run: RunResult) -> float | None:
    tokens = run.batch * run.tokens_per_sequence
    if run.tokens_per_s is None or tokens <= 0:
        return None
    return run.energy.total_j / tokens


def _energy_per_frame(run: RunResult) -> float | None:
    if run.fps is None or run.fps <= 0 or run.latency_s <= 0:
        return None
    return run.energy.total_j / (run.fps * run.latency_s)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


#: The rows of the comparison, in order.
METRICS: tuple[Metric, ...] = (
    Metric("latency_s", "latency", "s", "lower", lambda r: r.latency_s, "time"),
    Metric("ttft_s", "time to first token", "s", "lower", lambda r: r.ttft_s, "time"),
    Metric("tpot_s", "time per output token", "s", "lower", lambda r: r.tpot_s, "time"),
    Metric("tokens_per_s", "tokens/s", "tokens/s", "higher", lambda r: r.tokens_per_s),
    Metric("fps", "frames/s", "frames/s", "higher", lambda r: r.fps),
    Metric("energy_total_j", "energy total", "J", "lower", lambda r: r.energy.total_j, "energy"),
    Metric("energy_compute_j", "energy compute", "J", "lower", lambda r: r.energy.compute_j, "energy"),
    Metric(
        "energy_data_movement_j", "energy data movement", "J", "lower", lambda r: r.energy.data_movement_j, "energy"
    ),
    Metric("energy_static_j", "energy static", "J", "lower", lambda r: r.energy.static_j, "energy"),
    Metric(
        "data_movement_share",
        "data movement share of energy",
        "fraction",
        "",
        lambda r: _ratio(r.energy.data_movement_j, r.energy.total_j),
    ),
    Metric("energy_per_token_j", "energy per token", "J", "lower", _energy_per_token, "energy"),
    Metric("energy_per_frame_j", "energy per frame", "J", "lower", _energy_per_frame, "energy"),
    Metric("average_power_w", "average power", "W", "lower", lambda r: _ratio(r.energy.total_j, r.latency_s), "power"),
    Metric("roofline_latency_s", "roofline latency bound", "s", "lower", lambda r: r.roofline_latency_s, "time"),
    Metric(
        "roofline_fraction",
        "roofline fraction (bound / latency)",
        "fraction",
        "higher",
        lambda r: _ratio(r.roofline_latency_s, r.latency_s),
    ),
)


def comparison_columns(result: ScenarioResult) -> list[dict[str, str]]:
    """One column per run: ``{"label", "architecture", "workload"}`` (labels are short and unique)."""
    labels = plots.run_labels(result.runs)
    return [
        {"label": label, "architecture": run.architecture, "workload": run.workload}
        for label, run in zip(labels, result.runs, strict=True)
    ]


def comparison_table(result: ScenarioResult, *, keep_empty: bool = False) -> list[dict[str, Any]]:
    """Rows of the comparison: ``{"metric", "label", "unit", "better", "values", "ratios"}``.

    ``values[i]`` is run ``i``'s value (``None`` when it does not apply, e.g. FPS of an LLM run);
    ``ratios[i] = values[i] / values[0]`` (``None`` when either is missing or the first is 0).
    Rows where no run has a value are dropped unless ``keep_empty``.
    """
    rows: list[dict[str, Any]] = []
    for metric in METRICS:
        values = [metric.value(run) for run in result.runs]
        if not keep_empty and all(v is None for v in values):
            continue
        first = values[0] if values else None
        ratios = [v / first if v is not None and first is not None and first != 0 else None for v in values]
        rows.append(
            {
                "metric": metric.key,
                "label": metric.label,
                "unit": metric.unit,
                "better": metric.better,
                "values": values,
                "ratios": ratios,
            }
        )
    return rows


def format_value(value: float | None, unit: str) -> str:
    """A value for display, with a readable prefix for seconds, joules and watts."""
    if value is None:
        return "—"
    dimension = {"s": "time", "J": "energy", "W": "power"}.get(unit)
    if dimension:
        return f"0 {unit}" if value == 0 else format_quantity(value, dimension, digits=4)
    if unit == "fraction":
        return f"{100 * value:.1f}%"
    return f"{plots.fmt_number(value)} {unit}"


def ratio_verdict(ratio: float, better: Better) -> Literal["good", "bad", ""]:
    """``good`` when ``ratio`` (to the first run) goes the ``better`` way, ``bad`` the other way, else ``""``."""
    if ratio == 1 or not better:
        return ""
    return "good" if (ratio < 1) == (better == "lower") else "bad"


def rich_table(result: ScenarioResult, rows: Sequence[dict[str, Any]] | None = None) -> Table:
    """The comparison as a :class:`rich.table.Table`: value and ratio to the first run in each cell."""
    rows = comparison_table(result) if rows is None else rows
    columns = comparison_columns(result)
    table = Table(title=f"{result.scenario}: comparison (ratio to {columns[0]['label'] if columns else '—'})")
    table.add_column("metric", style="bold")
    for column in columns:
        table.add_column(column["label"], justify="right")
    for row in rows:
        cells = []
        for i, (value, ratio) in enumerate(zip(row["values"], row["ratios"], strict=True)):
            text = format_value(value, row["unit"])
            if i > 0 and ratio is not None:
                colour = {"good": "green", "bad": "red", "": "default"}[ratio_verdict(ratio, row["better"])]
                text += f" [{colour}]({plots.fmt_ratio(ratio)})[/{colour}]"
            cells.append(text)
        table.add_row(row["label"], *cells)
    return table


def comparison_json(result: ScenarioResult) -> dict[str, Any]:
    """The ``compare.json`` document: scenario, columns and rows."""
    return {"scenario": result.scenario, "columns": comparison_columns(result), "rows": comparison_table(result)}


def write_comparison(result: ScenarioResult, out_dir: str | Path, *, with_plots: bool = True) -> list[Path]:
    """Write ``compare.csv``, ``compare.json`` and (``with_plots``) the comparison, energy and latency plots."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = comparison_table(result)
    columns = comparison_columns(result)
    csv_path = out / "compare.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        labels = [c["label"] for c in columns]
        writer.writerow(["metric", "unit", "better", *labels, *(f"{label} / {labels[0]}" for label in labels[1:])])
        for row in rows:
            writer.writerow(
                [
                    row["metric"],
                    row["unit"],
                    row["better"],
                    *("" if v is None else repr(float(v)) for v in row["values"]),
                    *("" if r is None else repr(float(r)) for r in row["ratios"][1:]),
                ]
            )
    json_path = out / "compare.json"
    json_path.write_text(json.dumps(comparison_json(result), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    paths = [csv_path, json_path]
    if with_plots and result.runs:
        paths += plots.save_figure(plots.comparison(result), out / "comparison")
        paths += plots.save_figure(plots.energy_breakdown(result), out / "energy")
        paths += plots.save_figure(plots.latency_breakdown(result), out / "latency")
    return paths
