"""Pareto fronts of sweep results (minimise latency and energy) and their plot.

:func:`pareto_front` is a pure function over (x, y) pairs; :func:`pareto_figure` scatters every
point and draws each group's front (a group is one workload: comparing the latency of different
workloads says nothing). Objectives are metrics of the registry, read from the flat sweep rows;
``per="token"`` (or ``"frame"``) divides whole-run objectives by each row's output tokens (frames),
so a sweep over batch size compares energy per token, not the bigger batch's bigger total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from simulator.metrics.registry import Per, metric, row_value, unit_label
from simulator.report import style
from simulator.report.labels import text
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


def _xy(row: Mapping[str, Any], x: str, y: str, per: Per) -> tuple[float, float] | None:
    vx, vy = row_value(row, x, per), row_value(row, y, per)
    return None if vx is None or vy is None else (vx, vy)


def pareto_rows(
    rows: Sequence[Mapping[str, Any]],
    *,
    x: str = "latency_s",
    y: str = "energy_total_j",
    group: str = "workload",
    per: Per = "run",
) -> dict[str, list[Mapping[str, Any]]]:
    """Front rows per group: rows with finite ``x`` and ``y`` (divided ``per`` token or frame), non-dominated."""
    groups: dict[str, list[tuple[Mapping[str, Any], tuple[float, float]]]] = {}
    for row in rows:
        xy = _xy(row, x, y, per)
        if xy is not None:
            groups.setdefault(str(row.get(group, "")), []).append((row, xy))
    return {name: [members[i][0] for i in pareto_front([xy for _, xy in members])] for name, members in groups.items()}


def _axis_label(name: str, per: Per) -> str:
    m = metric(name)
    return m.header + (f" per {per}" if per != "run" and m.extensive else "")


def pareto_figure(
    rows: Sequence[Mapping[str, Any]],
    *,
    x: str = "latency_s",
    y: str = "energy_total_j",
    group: str = "workload",
    title: str = "Sweep: latency vs energy",
    per: Per = "run",
) -> Figure:
    """Scatter of every sweep row (``x`` vs ``y``), a colour per group, each group's Pareto front as steps."""
    fig = Figure(figsize=(9, 5.5), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.set_title(text(title + (f" (per {per})" if per != "run" else "")))
    usable = [(r, xy) for r in rows if (xy := _xy(r, x, y, per)) is not None]
    if not usable:
        ax.text(0.5, 0.5, "no finished points", ha="center", va="center", transform=ax.transAxes)
        return fig
    scale_x = time_scale if metric(x).dimension == "time" else energy_scale
    scale_y = energy_scale if metric(y).dimension == "energy" else time_scale
    tf, tu = scale_x(max(xy[0] for _, xy in usable))
    ef, eu = scale_y(max(xy[1] for _, xy in usable))
    fronts = pareto_rows([r for r, _ in usable], x=x, y=y, group=group, per=per)
    value = {id(r): xy for r, xy in usable}
    for i, (name, front) in enumerate(sorted(fronts.items())):
        color = style.run_color(i)
        members = [xy for r, xy in usable if str(r.get(group, "")) == name]
        ax.scatter(
            [px / tf for px, _ in members],
            [py / ef for _, py in members],
            color=color,
            alpha=0.35,
            s=28,
            edgecolor="none",
            label=text(f"{name}: {len(members)} points"),
        )
        fx = [value[id(r)][0] / tf for r in front]
        fy = [value[id(r)][1] / ef for r in front]
        ax.step(fx, fy, where="post", color=color, linewidth=1.5)
        ax.scatter(
            fx,
            fy,
            color=color,
            s=60,
            edgecolor="black",
            linewidth=0.6,
            zorder=3,
            label=text(f"{name}: Pareto front ({len(front)})"),
        )
        same: dict[tuple[float, float], list[str]] = {}
        for r, px, py in zip(front, fx, fy, strict=True):
            same.setdefault((px, py), []).append(str(r.get("label", "")))
        if len(same) <= 12:
            for (px, py), labels in same.items():
                note = labels[0] + (f" (+{len(labels) - 1} identical)" if len(labels) > 1 else "")
                if note:
                    ax.annotate(text(note), (px, py), xytext=(5, 4), textcoords="offset points", fontsize=7)
    xs = [xy[0] for _, xy in usable if xy[0] > 0]
    ys = [xy[1] for _, xy in usable if xy[1] > 0]
    if xs and len(xs) == len(usable) and max(xs) / min(xs) > 50:
        ax.set_xscale("log")
    if ys and len(ys) == len(usable) and max(ys) / min(ys) > 50:
        ax.set_yscale("log")
    ax.set_xlabel(f"{_axis_label(x, per)} ({tu}{unit_label(metric(x), per)[len(metric(x).unit) :]})")
    ax.set_ylabel(f"{_axis_label(y, per)} ({eu}{unit_label(metric(y), per)[len(metric(y).unit) :]})")
    ax.grid(True, linewidth=0.4, alpha=0.5)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
