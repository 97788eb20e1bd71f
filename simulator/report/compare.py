"""Side-by-side comparison of a scenario's runs: one row per metric, one column per run, ratios to the first.

The rows are the metrics registry's ``compare`` metrics (:mod:`simulator.metrics.registry`).
:func:`comparison_table` is a pure function of a :class:`ScenarioResult`; ``per="token"`` (or
``"frame"``) divides every whole-run (extensive) metric by each run's output tokens (frames), so a
bigger batch is not made to look worse by doing more work. :func:`rich_tables` renders it for a
terminal of a given width: as is when it fits, else transposed (one row per run) and split into
tables of as many metric columns as fit. :func:`write_comparison` writes ``compare.csv``,
``compare.json`` and the comparison plots.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from rich.table import Table

from simulator.metrics.registry import (
    Metric,
    Per,
    fmt_ratio,
    format_value,
    metric,
    tagged,
    unit_label,
)
from simulator.metrics.result import ScenarioResult
from simulator.report.labels import run_labels


def comparison_metrics(per: Per = "run") -> tuple[Metric, ...]:
    """The rows of a comparison normalised ``per``: every ``compare`` metric but those already divided so."""
    return tuple(m for m in tagged("compare") if per == "run" or m.normalised != per)


def comparison_columns(result: ScenarioResult) -> list[dict[str, str]]:
    """One column per run: ``{"label", "architecture", "workload"}`` (labels are short and unique)."""
    labels = run_labels(result.runs)
    return [
        {"label": label, "architecture": run.architecture, "workload": run.workload}
        for label, run in zip(labels, result.runs, strict=True)
    ]


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def comparison_table(result: ScenarioResult, *, keep_empty: bool = False, per: Per = "run") -> list[dict[str, Any]]:
    """Rows of the comparison: ``{"metric", "label", "unit", "better", "per", "values", "ratios"}``.

    ``values[i]`` is run ``i``'s value (``None`` when it does not apply, e.g. FPS of an LLM run, or
    is not finite); extensive metrics are divided per output token or frame when ``per`` asks
    (``None`` for a run without tokens or frames). ``ratios[i] = values[i] / values[0]`` (``None``
    when either is missing or the first is 0). Rows where no run has a value are dropped unless
    ``keep_empty``.
    """
    rows: list[dict[str, Any]] = []
    for m in comparison_metrics(per):
        values = [_finite(m.value(run, per)) for run in result.runs]
        if not keep_empty and all(v is None for v in values):
            continue
        first = values[0] if values else None
        ratios = [_finite(v / first) if v is not None and first else None for v in values]
        rows.append(
            {
                "metric": m.name if per == "run" or not m.extensive else f"{m.name}_per_{per}",
                "label": m.label if per == "run" or not m.extensive else f"{m.label} per {per}",
                "unit": unit_label(m, per),
                "better": m.better or "",
                "per": per if m.extensive else "run",
                "values": values,
                "ratios": ratios,
            }
        )
    return rows


def _descriptor(row: dict[str, Any]) -> Metric:
    name = str(row["metric"])
    for suffix in ("_per_token", "_per_frame"):
        if name.endswith(suffix) and name[: -len(suffix)] in {m.name for m in tagged("compare")}:
            name = name[: -len(suffix)]
    return metric(name)


def cell_text(row: dict[str, Any], value: float | None) -> str:
    """A value of a comparison row for display (``J/token`` values keep their prefix, e.g. ``1.9 J``)."""
    text = format_value(_descriptor(row), value)
    per = row.get("per", "run")
    return f"{text}/{per}" if per != "run" and text != "—" else text


def ratio_verdict(ratio: float, better: str) -> Literal["good", "bad", ""]:
    """``good`` when ``ratio`` (to the first run) goes the ``better`` way, ``bad`` the other way, else ``""``."""
    if ratio == 1 or not better:
        return ""
    return "good" if (ratio < 1) == (better == "lower") else "bad"


def _cells(row: dict[str, Any], *, markup: bool) -> list[str]:
    cells = []
    for i, (value, ratio) in enumerate(zip(row["values"], row["ratios"], strict=True)):
        text = cell_text(row, value)
        if i > 0 and ratio is not None:
            if markup:
                colour = {"good": "green", "bad": "red", "": "default"}[ratio_verdict(ratio, row["better"])]
                text += f" [{colour}]({fmt_ratio(ratio)})[/{colour}]"
            else:
                text += f" ({fmt_ratio(ratio)})"
        cells.append(text)
    return cells


def _fits(widths: Sequence[int], width: int) -> bool:
    # rich's box: one border per column plus one, and one space of padding on each side of every cell
    return sum(widths) + 3 * len(widths) + 1 <= width


def rich_tables(
    result: ScenarioResult,
    rows: Sequence[dict[str, Any]] | None = None,
    *,
    width: int = 80,
    per: Per = "run",
) -> list[Table]:
    """The comparison as rich tables no wider than ``width`` columns.

    One row per metric and one column per run when that fits; otherwise transposed - one row per
    run - and split into as many tables as it takes to keep every table within ``width`` (each
    repeats the run column). Cells hold the value and the ratio to the first run, green when it goes
    the better way, red when it goes the worse way.
    """
    rows = comparison_table(result, per=per) if rows is None else rows
    columns = comparison_columns(result)
    labels = [c["label"] for c in columns]
    base = labels[0] if labels else "—"
    title = f"{result.scenario}: comparison (ratios to {base})" + (f", per {per}" if per != "run" else "")
    plain = [_cells(row, markup=False) for row in rows]
    marked = [_cells(row, markup=True) for row in rows]
    metric_width = max([len("metric"), *(len(r["label"]) for r in rows)])
    run_widths = [max([len(label), *(len(cells[i]) for cells in plain)]) for i, label in enumerate(labels)]
    if _fits([metric_width, *run_widths], width):
        table = Table(title=title)
        table.add_column("metric", style="bold")
        for label in labels:
            table.add_column(label, justify="right")
        for row, cells in zip(rows, marked, strict=True):
            table.add_row(row["label"], *cells)
        return [table]
    # transposed: runs down, metrics across, split to fit
    run_width = min(max([3, *(len(label) for label in labels)]), max(12, width // 4))
    headers = [f"{row['label']} ({row['unit']})" if row["unit"] else row["label"] for row in rows]
    col_widths = [
        max(min(len(h), 14), *(len(cells[i]) for i in range(len(labels))))
        for h, cells in zip(headers, plain, strict=True)
    ]
    groups: list[list[int]] = [[]]
    for j, w in enumerate(col_widths):
        if groups[-1] and not _fits([run_width, *(col_widths[k] for k in groups[-1]), w], width):
            groups.append([])
        groups[-1].append(j)
    tables = []
    for n, group in enumerate(groups):
        table = Table(title=title + (f" ({n + 1}/{len(groups)})" if len(groups) > 1 else ""), width=width)
        table.add_column("run", style="bold", overflow="fold", max_width=run_width)
        for j in group:
            table.add_column(headers[j], justify="right", overflow="fold")
        for i, label in enumerate(labels):
            table.add_row(label, *(marked[j][i] for j in group))
        tables.append(table)
    return tables


def rich_table(result: ScenarioResult, rows: Sequence[dict[str, Any]] | None = None) -> Table:
    """The comparison as one :class:`rich.table.Table` (one column per run, whatever its width)."""
    return rich_tables(result, rows, width=10**6)[0]


def comparison_json(result: ScenarioResult, *, per: Per = "run") -> dict[str, Any]:
    """The ``compare.json`` document: scenario, normalisation, columns and rows."""
    return {
        "scenario": result.scenario,
        "per": per,
        "columns": comparison_columns(result),
        "rows": comparison_table(result, per=per),
    }


def comparison_csv(result: ScenarioResult, *, per: Per = "run") -> str:
    """The ``compare.csv`` text: a row per metric; the values, then the ratios to the first run."""
    rows = comparison_table(result, per=per)
    labels = [c["label"] for c in comparison_columns(result)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
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
    return buffer.getvalue()


def comparison_files(result: ScenarioResult, *, per: Per = "run") -> dict[str, str]:
    """File name -> text of the comparison's data files (``compare.csv``, ``compare.json``)."""
    return {
        "compare.csv": comparison_csv(result, per=per),
        "compare.json": json.dumps(comparison_json(result, per=per), indent=2, allow_nan=False) + "\n",
    }


def write_comparison(
    result: ScenarioResult, out_dir: str | Path, *, per: Per = "run", formats: Sequence[str] = ("png",)
) -> list[Path]:
    """Write ``compare.csv``, ``compare.json`` and (for each of ``formats``) the comparison, energy and latency plots.

    Written safely into ``out_dir`` (:class:`simulator.outputs.OutputFolder`): atomically, never
    through a symlink, and files an earlier hetsim run left there but this one did not write are removed.
    """
    from simulator.outputs import OutputFolder
    from simulator.report import plots

    with OutputFolder(out_dir, producer="compare", scenario=result.scenario) as folder:
        for name, content in comparison_files(result, per=per).items():
            folder.write_text(name, content)
        if formats and result.runs:
            figures = {
                "comparison": plots.comparison(result),
                "energy": plots.energy_breakdown(result),
                "latency": plots.latency_breakdown(result),
            }
            for stem, fig in figures.items():
                for fmt in formats:
                    folder.write_bytes(f"{stem}.{fmt}", plots.figure_bytes(fig, fmt))
    return folder.written
