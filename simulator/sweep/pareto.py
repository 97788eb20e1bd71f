"""Pareto fronts of sweep results (minimise latency and energy) and their plot.

:func:`pareto_front` is a pure function over (x, y) pairs; :func:`pareto_figure` scatters every
point and draws each group's front (a group is one workload: comparing the latency of different
workloads says nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from simulator.report import style
from simulator.report.plots import energy_scale, time_scale


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated points when minimising both coordinates, sorted by x then y.

    A point is dominated when another is no worse in both coordinates and better in at least
    one. Identical points do not dominate each other (both stay on the front).
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    front: list[int] = []
    best_y = float("inf")
    last: tuple[float, float] | None = None
    for i in order:
        x, y = points[i]
        if y < best_y:
            front.append(i)
            best_y = y
            last = (x, y)
        elif last is not None and (x, y) == last:
            front.append(i)
    return front


def pareto_rows(
    rows: Sequence[Mapping[str, Any]], *, x: str = "latency_s", y: str = "energy_total_j", group: str = "workload"
) -> dict[str, list[Mapping[str, Any]]]:
    """Front rows per group: rows with numeric ``x`` and ``y``, grouped by ``group``, non-dominated in each."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if isinstance(row.get(x), int | float) and isinstance(row.get(y), int | float):
            groups.setdefault(str(row.get(group, "")), []).append(row)
    return {
        name: [members[i] for i in pareto_front([(float(r[x]), float(r[y])) for r in members])]
        for name, members in groups.items()
    }


def pareto_figure(
    rows: Sequence[Mapping[str, Any]],
    *,
    x: str = "latency_s",
    y: str = "energy_total_j",
    group: str = "workload",
    title: str = "Sweep: latency vs energy",
) -> Figure:
    """Scatter of every sweep row (latency vs energy), a colour per group, each group's Pareto front as steps."""
    fig = Figure(figsize=(9, 5.5), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.set_title(title)
    usable = [r for r in rows if isinstance(r.get(x), int | float) and isinstance(r.get(y), int | float)]
    if not usable:
        ax.text(0.5, 0.5, "no finished points", ha="center", va="center", transform=ax.transAxes)
        return fig
    tf, tu = time_scale(max(float(r[x]) for r in usable))
    ef, eu = energy_scale(max(float(r[y]) for r in usable))
    fronts = pareto_rows(usable, x=x, y=y, group=group)
    for i, (name, front) in enumerate(sorted(fronts.items())):
        color = style.run_color(i)
        members = [r for r in usable if str(r.get(group, "")) == name]
        ax.scatter(
            [float(r[x]) / tf for r in members],
            [float(r[y]) / ef for r in members],
            color=color,
            alpha=0.35,
            s=28,
            edgecolor="none",
            label=f"{name}: {len(members)} points",
        )
        fx = [float(r[x]) / tf for r in front]
        fy = [float(r[y]) / ef for r in front]
        ax.step(fx, fy, where="post", color=color, linewidth=1.5)
        ax.scatter(
            fx,
            fy,
            color=color,
            s=60,
            edgecolor="black",
            linewidth=0.6,
            zorder=3,
            label=f"{name}: Pareto front ({len(front)})",
        )
        same: dict[tuple[float, float], list[str]] = {}
        for r, px, py in zip(front, fx, fy, strict=True):
            same.setdefault((px, py), []).append(str(r.get("label", "")))
        if len(same) <= 12:
            for (px, py), labels in same.items():
                text = labels[0] + (f" (+{len(labels) - 1} identical)" if len(labels) > 1 else "")
                if text:
                    ax.annotate(text, (px, py), xytext=(5, 4), textcoords="offset points", fontsize=7)
    xs = [float(r[x]) for r in usable if float(r[x]) > 0]
    ys = [float(r[y]) for r in usable if float(r[y]) > 0]
    if xs and len(xs) == len(usable) and max(xs) / min(xs) > 50:
        ax.set_xscale("log")
    if ys and len(ys) == len(usable) and max(ys) / min(ys) > 50:
        ax.set_yscale("log")
    ax.set_xlabel(f"latency ({tu})")
    ax.set_ylabel(f"energy ({eu})")
    ax.grid(True, linewidth=0.4, alpha=0.5)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
