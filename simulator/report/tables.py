"""The terminal summary of a scenario: one rich table row per run.

Columns: latency, TTFT, TPOT, throughput (tokens/s for LLMs, FPS for CNNs), total energy and its
data-movement / compute / static shares, and the roofline bound (with how far above it the run is).
"""

from __future__ import annotations

from rich.table import Table

from simulator.metrics.result import RunResult, ScenarioResult
from simulator.units import format_quantity


def _time(value: float | None) -> str:
    return "-" if value is None else format_quantity(value, "time", digits=4)


def _energy(value: float) -> str:
    return format_quantity(value, "energy", digits=4)


def _throughput(run: RunResult) -> str:
    if run.tokens_per_s is not None:
        return f"{run.tokens_per_s:,.1f} tok/s"
    if run.fps is not None:
        return f"{run.fps:,.1f} FPS"
    return "-"


def _share(part: float, total: float) -> str:
    return "-" if total <= 0 else f"{100.0 * part / total:.0f}%"


def summary_rows(result: ScenarioResult) -> list[dict[str, str]]:
    """The table's cells as strings, one dict per run (also handy for tests and plain output)."""
    rows = []
    for run in result.runs:
        total = run.energy.total_j
        above = run.latency_s / run.roofline_latency_s if run.roofline_latency_s > 0 else float("nan")
        rows.append(
            {
                "architecture": run.architecture,
                "workload": run.workload,
                "latency": _time(run.latency_s),
                "TTFT": _time(run.ttft_s),
                "TPOT": _time(run.tpot_s),
                "throughput": _throughput(run),
                "energy": _energy(total),
                "move/comp/static": "/".join(
                    _share(part, total)
                    for part in (run.energy.data_movement_j, run.energy.compute_j, run.energy.static_j)
                ),
                "roofline": f"{_time(run.roofline_latency_s)} ×{above:.2f}",
            }
        )
    return rows


def summary_table(result: ScenarioResult) -> Table:
    """A rich table summarising every run of ``result``."""
    table = Table(title=f"hetsim · {result.scenario}", title_justify="left")
    rows = summary_rows(result)
    columns = list(rows[0]) if rows else ["architecture", "workload"]
    for column in columns:
        numeric = column not in ("architecture", "workload")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=not numeric)
    for row in rows:
        table.add_row(*row.values())
    table.caption = (
        "move/comp/static: energy shares (data movement / compute / static); "
        "roofline: the ideal bound and latency ÷ bound"
    )
    return table
