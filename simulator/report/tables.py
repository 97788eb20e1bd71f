"""The terminal summary of a scenario: one rich table row per run, one column per ``summary`` metric.

The columns are the metrics registry's ``summary`` metrics (latency, TTFT, TPOT, tokens/s, FPS,
energy, its data-movement share, the fraction of the roofline reached); a column no run has a value
for (FPS of an LLM scenario) is left out.
"""

from __future__ import annotations

from rich.table import Table

from simulator.metrics.registry import Metric, format_value, tagged
from simulator.metrics.result import ScenarioResult


def summary_metrics(result: ScenarioResult) -> tuple[Metric, ...]:
    """The ``summary`` metrics at least one run of ``result`` has a value for, in registry order."""
    return tuple(m for m in tagged("summary") if any(m.read(run) is not None for run in result.runs))


def summary_rows(result: ScenarioResult) -> list[dict[str, str]]:
    """The table's cells as strings, one dict per run (also handy for tests and plain output)."""
    metrics = summary_metrics(result)
    rows = []
    for run in result.runs:
        row = {"architecture": run.architecture, "workload": run.workload}
        row.update({m.header: format_value(m, m.read(run)) for m in metrics})
        rows.append(row)
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
        "DM share: data-movement share of the energy; of roofline: the roofline latency bound / latency "
        "(100% = at the bound)"
    )
    return table
