"""Fidelity outputs: a terminal table, ``fidelity.json`` and a predicted-vs-measured scatter plot."""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.figure import Figure
from rich.table import Table

from simulator.fidelity.suite import CASE_BOUND_PCT, MEDIAN_BOUND_PCT, MEDIAN_MIN_CASES, FidelityReport


def fidelity_tables(report: FidelityReport) -> list[Table]:
    """One table per category (its cases, then its median and worst |error| against the goal bounds).

    Cases with a documented exemption (a physical effect hetsim does not model) are marked; skipped
    cases are listed in a last table with their reason.
    """
    tables = []
    for stats in report.categories:
        checked = "" if stats.median_checked else f"; median not held to the bound (< {MEDIAN_MIN_CASES} cases)"
        verdict = "meets the goal" if stats.meets_goal else "MISSES the goal"
        exempt = (
            f"; without the {stats.exempted} exempted: median {stats.median_unexempted_pct:.1f}% / worst "
            f"{stats.worst_unexempted_pct:.1f}%"
            if stats.exempted
            else ""
        )
        table = Table(
            title=f"{stats.category}: median {stats.median_abs_error_pct:.1f}% / worst {stats.worst_abs_error_pct:.1f}%"
            f" over {stats.cases} cases{exempt}: {verdict}{checked}",
            title_justify="left",
        )
        for column, justify in [
            ("case", "left"),
            ("measured", "right"),
            ("predicted", "right"),
            ("unit", "left"),
            ("error", "right"),
            ("exemption", "left"),
        ]:
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for outcome in report.outcomes:
            case = outcome.case
            if case.category != stats.category:
                continue
            bound = "≤ " if case.is_upper_bound else ""
            table.add_row(
                case.id,
                f"{bound}{case.measured:.4g}",
                f"{outcome.predicted:.4g}",
                case.unit,
                f"{outcome.error_pct:+.1f}%",
                "known gap (docs/fidelity.md)" if case.known_gap else "",
            )
        table.add_section()
        table.add_row(
            "[b]median / worst[/b]",
            "",
            "",
            "",
            f"{stats.median_abs_error_pct:.1f}% / {stats.worst_abs_error_pct:.1f}%",
            f"bounds {MEDIAN_BOUND_PCT:.0f}% / {CASE_BOUND_PCT:.0f}%",
        )
        tables.append(table)
    if report.skipped:
        table = Table(title="listed, not predicted", title_justify="left")
        table.add_column("case")
        table.add_column("category")
        table.add_column("reason")
        for case in report.skipped:
            table.add_row(case.id, case.category, case.skipped)
        tables.append(table)
    return tables


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
