"""Fidelity outputs: a terminal table, ``fidelity.json`` and a predicted-vs-measured scatter plot."""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.figure import Figure
from rich.table import Table

from simulator.fidelity.suite import FidelityReport


def fidelity_table(report: FidelityReport) -> Table:
    """One row per case, then the per-category median and worst absolute error."""
    table = Table(title="hetsim fidelity: predicted vs published measurements")
    for column, justify in [
        ("case", "left"),
        ("category", "left"),
        ("measured", "right"),
        ("predicted", "right"),
        ("unit", "left"),
        ("error", "right"),
        ("known gap", "left"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for outcome in report.outcomes:
        case = outcome.case
        bound = "≤ " if case.is_upper_bound else ""
        table.add_row(
            case.id,
            case.category,
            f"{bound}{case.measured:.4g}",
            f"{outcome.predicted:.4g}",
            case.unit,
            f"{outcome.error_pct:+.1f}%",
            "yes (see fidelity.json)" if case.known_gap else "",
        )
    table.add_section()
    for stats in report.categories:
        table.add_row(
            f"[b]{stats.category}[/b] ({stats.cases} cases)",
            "",
            "",
            "",
            "",
            f"median {stats.median_abs_error_pct:.1f}% / worst {stats.worst_abs_error_pct:.1f}%",
            "",
        )
    return table


def scatter_figure(report: FidelityReport) -> Figure:
    """Predicted vs measured on log axes, one colour per category, with the y = x line and ±15 % band."""
    fig = Figure(figsize=(6.5, 6.0), layout="constrained")
    ax = fig.add_subplot()
    values = [o.case.measured for o in report.outcomes] + [o.predicted for o in report.outcomes]
    low, high = min(values) / 2, max(values) * 2
    ax.plot([low, high], [low, high], color="black", linewidth=1, label="y = x")
    ax.fill_between([low, high], [low * 0.85, high * 0.85], [low * 1.15, high * 1.15], color="0.85", label="±15 %")
    for category in dict.fromkeys(o.case.category for o in report.outcomes):
        points = [o for o in report.outcomes if o.case.category == category]
        ax.scatter([o.case.measured for o in points], [o.predicted for o in points], label=category, zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("measured (each case in its own unit: ms, tokens/s, FPS, ×)")
    ax.set_ylabel("predicted by hetsim (same unit)")
    ax.set_title("Fidelity: hetsim vs published measurements")
    ax.legend(loc="upper left", fontsize="small")
    return fig


def write_fidelity(report: FidelityReport, out_dir: Path) -> list[Path]:
    """Write ``fidelity.json`` and ``fidelity.png``/``.svg`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "fidelity.json"
    json_path.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    fig = scatter_figure(report)
    written = [json_path]
    for suffix in (".png", ".svg"):
        path = out_dir / f"fidelity{suffix}"
        fig.savefig(path, dpi=150)
        written.append(path)
    return written
