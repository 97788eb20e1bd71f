"""Plots of results: pure functions from :class:`RunResult`/:class:`ScenarioResult` to matplotlib Figures.

Every function builds a :class:`matplotlib.figure.Figure` directly (no ``pyplot``, so no global
figure registry and no state shared between calls) and returns it; :func:`figure_bytes` renders a
figure (PNG by default, SVG on request) and :func:`standard_figures` builds a scenario's standard
set once, for the plot files and the HTML report alike. Colours come from
:mod:`simulator.report.style`, so a category, phase or operator kind looks the same in every
figure. Hardware numbers (peaks, bandwidths, which component is a link) come from each run's typed
:attr:`RunResult.hardware`, never from YAML. Run names are drawn as text (a ``$`` is not mathtext).
Axes carry units; times and energies are scaled to a readable prefix; values that are not finite
(a ``1e308 s`` latency overflowing a sum) are shown as "n/a", never drawn.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from simulator.metrics.registry import fmt_number, fmt_ratio
from simulator.metrics.result import ENERGY_CATEGORIES, LATENCY_CATEGORIES, OpRecord, RunResult, ScenarioResult
from simulator.report import style
from simulator.report.labels import run_labels, slug, text

__all__ = [
    "GANTT_MAX_OPS",
    "comparison",
    "component_kinds",
    "energy_breakdown",
    "energy_segments",
    "figure_bytes",
    "fmt_number",
    "fmt_ratio",
    "gantt",
    "gantt_window",
    "latency_breakdown",
    "latency_by_phase_family",
    "roofline",
    "roofline_points",
    "run_labels",
    "run_roofs",
    "save_figure",
    "slug",
    "standard_figures",
]

#: Most operators a Gantt chart draws when the kept timeline has no step to show (a CNN, a prefill).
GANTT_MAX_OPS = 500
#: Resolution of PNG figures.
DPI = 110

_TIME_SCALES = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
_ENERGY_SCALES = ((1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ"), (1e-12, "pJ"))


# --------------------------------------------------------------------------------------------
# Helpers shared with the HTML report and comparisons
# --------------------------------------------------------------------------------------------


def scale_for(value: float, scales: Sequence[tuple[float, str]]) -> tuple[float, str]:
    """The (factor, unit) of ``scales`` that shows ``value`` as a number ≥ 1 (the smallest one otherwise)."""
    value = abs(value) if math.isfinite(value) else 1.0
    for factor, unit in scales:
        if value >= factor:
            return factor, unit
    return scales[-1]


def time_scale(seconds: float) -> tuple[float, str]:
    """Readable time unit for a value in seconds: divide by the factor, label with the unit."""
    return scale_for(seconds, _TIME_SCALES)


def energy_scale(joules: float) -> tuple[float, str]:
    """Readable energy unit for a value in joules."""
    return scale_for(joules, _ENERGY_SCALES)


#: Beyond this magnitude a value is not drawn (shown "n/a"): axis limits and ticks of a ``1e308 s`` bar overflow.
PLOTTABLE = 1e300


def _finite(value: float | None) -> float | None:
    """``value`` when it can be drawn: finite and below :data:`PLOTTABLE`; else ``None``."""
    return value if value is not None and math.isfinite(value) and abs(value) < PLOTTABLE else None


def _largest(values: Iterable[float | None]) -> float:
    return max((f for v in values if (f := _finite(v)) is not None), default=0.0) or 1.0


def component_kinds(run: RunResult) -> dict[str, str]:
    """Kind of every component in ``run.energy_by_component_j``: ``unit``, a memory level, ``link`` or ``system``.

    From the run's typed hardware facts (the names the energy ledger uses); a component the facts do
    not know (a hand-made result without them) is ``component``.
    """
    return {name: run.hardware.component_kind(name) or "component" for name in run.energy_by_component_j}


def run_roofs(run: RunResult) -> tuple[float, float, str] | None:
    """(peak FLOP/s, sustained bandwidth B/s, memory name) of a run's roofline chart, from its hardware facts.

    Peak: the fastest unit's peak in the dtype that carried most of the run's FLOPs (any dtype when
    the run kept no per-dtype totals). Bandwidth: :meth:`HardwareFacts.roof_memory`'s sustained
    bandwidth. ``None`` when the facts give no positive roof.
    """
    flops_by_dtype: dict[str, float] = {}
    for s in run.op_stats:
        flops_by_dtype[s.dtype] = flops_by_dtype.get(s.dtype, 0.0) + s.flops
    dtype = max(flops_by_dtype, key=lambda d: (flops_by_dtype[d], d)) if flops_by_dtype else None
    peak = run.hardware.peak_flops_per_s(dtype) or run.hardware.peak_flops_per_s()
    memory = run.hardware.roof_memory()
    if memory is None or not peak > 0 or not memory.sustained_bandwidth_bytes_per_s > 0:
        return None
    return peak, memory.sustained_bandwidth_bytes_per_s, memory.name


def _runs(result: ScenarioResult | Sequence[RunResult]) -> tuple[Sequence[RunResult], str]:
    if isinstance(result, ScenarioResult):
        return result.runs, result.scenario
    return tuple(result), ""


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _style_axes(ax: Axes) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.set_axisbelow(True)


def _legend_outside(ax: Axes, handles: Sequence[Any], title: str | None = None) -> None:
    if handles:
        ax.legend(
            handles=handles,
            title=title,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            title_fontsize=8,
            frameon=False,
        )


def _empty(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])


def _title(what: str, scenario: str) -> str:
    return text(what + (f" — {scenario}" if scenario else ""))


# --------------------------------------------------------------------------------------------
# Energy
# --------------------------------------------------------------------------------------------

_KIND_ORDER = ("register", "sram", "cache", "memory", "dram", "hbm", "link", "unit", "system", "component")


def _shade(color: str, index: int) -> str:
    """The ``index``-th distinct shade of ``color``: the colour itself, then lighter and darker in turn."""
    if index == 0:
        return color
    r, g, b = to_rgb(color)
    step = (index + 1) // 2
    amount = min(0.22 * step, 0.8)
    if index % 2:  # lighter: mix with white
        return to_hex((r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount))
    return to_hex((r * (1 - amount), g * (1 - amount), b * (1 - amount)))


def component_colors(runs: Sequence[RunResult]) -> dict[str, str]:
    """One colour per data-moving component across ``runs``: its kind's colour, shaded apart within a kind.

    Two memories of one level (two SRAMs) get two shades of the level's colour, so every legend
    entry names exactly one colour.
    """
    by_kind: dict[str, list[str]] = defaultdict(list)
    for run in runs:
        kinds = component_kinds(run)
        for name, cats in run.energy_by_component_j.items():
            if cats.get("data_movement", 0.0) > 0 and name not in by_kind[kinds[name]]:
                by_kind[kinds[name]].append(name)
    colors: dict[str, str] = {}
    for kind, names in by_kind.items():
        for i, name in enumerate(sorted(names)):
            colors[name] = _shade(style.component_kind_color(kind), i)
    return colors


def energy_segments(run: RunResult, colors: dict[str, str] | None = None) -> list[tuple[str, str, float]]:
    """Stack segments of a run's energy: ``(label, colour, joules)``.

    Compute energy is one segment; data-movement energy is one segment per memory and link (named
    ``DM · <component> (<kind>)``, coloured by :func:`component_colors`); static energy is one
    segment. The segments sum to the run's total energy as the ledger attributes it per component.
    """
    kinds = component_kinds(run)
    colors = component_colors([run]) if colors is None else colors
    compute = sum(c.get("compute", 0.0) for c in run.energy_by_component_j.values())
    static = sum(c.get("static", 0.0) for c in run.energy_by_component_j.values())
    segments: list[tuple[str, str, float]] = [("compute", style.category_color("compute"), compute)]
    movers = [
        (_KIND_ORDER.index(kinds[name]) if kinds[name] in _KIND_ORDER else len(_KIND_ORDER), name, joules)
        for name, cats in run.energy_by_component_j.items()
        if (joules := cats.get("data_movement", 0.0)) > 0
    ]
    for _, name, joules in sorted(movers):
        label = f"DM · {name}" if name == kinds[name] else f"DM · {name} ({kinds[name]})"
        segments.append((label, colors.get(name, style.component_kind_color(kinds[name])), joules))
    segments.append(("static", style.category_color("static"), static))
    return segments


def energy_breakdown(result: ScenarioResult | Sequence[RunResult]) -> Figure:
    """Stacked bars, one per run: compute, data movement per memory and link, static energy."""
    runs, scenario = _runs(result)
    labels = [text(label) for label in run_labels(runs, sep="\n")]
    fig = _new_figure(min(14.0, max(6.0, 0.9 * len(runs) + 4.5)), 4.8)
    ax = fig.add_subplot()
    _style_axes(ax)
    ax.set_title(_title("Energy breakdown", scenario))
    if not runs:
        _empty(ax, "no runs")
        return fig
    colors = component_colors(runs)
    all_segments = [energy_segments(run, colors) for run in runs]
    factor, unit = energy_scale(_largest(run.energy.total_j for run in runs))
    seen: dict[str, str] = {}  # legend entries in stack order: compute, data movement, static
    for segments in all_segments:
        for label, color, joules in segments[:-1]:
            if joules > 0:
                seen.setdefault(label, color)
    for x, segments in enumerate(all_segments):
        total = sum(s[2] for s in segments)
        if _finite(total) is None:
            ax.annotate("n/a", (x, 0), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
            continue
        bottom = 0.0
        for label, color, joules in segments:
            if joules <= 0:
                continue
            ax.bar(x, joules / factor, bottom=bottom, color=color, edgecolor="white", linewidth=0.6, width=0.6)
            bottom += joules / factor
            seen.setdefault(label, color)  # static last
        dm = sum(s[2] for s in segments if s[0].startswith("DM"))
        share = f"{100 * dm / total:.0f}% DM" if total > 0 else ""
        ax.annotate(
            f"{total / factor:.3g} {unit}\n{share}",
            (x, bottom),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(range(len(runs)), labels, fontsize=8, rotation=30 if len(runs) > 6 else 0)
    ax.set_ylabel(f"energy ({unit})")
    ax.margins(y=0.15)
    handles = [Patch(facecolor=c, label=text(lab)) for lab, c in seen.items()]
    _legend_outside(ax, handles, "component")
    return fig


# --------------------------------------------------------------------------------------------
# Latency
# --------------------------------------------------------------------------------------------


def latency_by_phase_family(run: RunResult) -> dict[str, float]:
    """Latency per phase family (``decode[0]``, ``decode[1]``… summed as ``decode``).

    Known families come in execution order (:data:`~simulator.report.style.PHASE_ORDER`), others after
    them in first-seen order.
    """
    out: dict[str, float] = {}
    for phase, seconds in run.latency_by_phase_s.items():
        base = style.phase_base(phase)
        out[base] = out.get(base, 0.0) + seconds
    rank = {name: i for i, name in enumerate(style.PHASE_ORDER)}
    order = sorted(out, key=lambda name: (rank.get(name, len(rank)), list(out).index(name)))
    return {name: out[name] for name in order}


def latency_breakdown(result: ScenarioResult | Sequence[RunResult]) -> Figure:
    """Two panels of horizontal stacked bars per run: latency by critical-path category and by phase."""
    runs, scenario = _runs(result)
    labels = [text(label) for label in run_labels(runs)]
    fig = _new_figure(10.0, max(3.2, 0.55 * len(runs) + 2.2) * 2 / 1.4)
    axes = fig.subplots(2, 1)
    fig.suptitle(_title("Latency breakdown", scenario))
    if not runs:
        for ax in axes:
            _empty(ax, "no runs")
        return fig
    largest = _largest(run.latency_s for run in runs)
    factor, unit = time_scale(largest)
    ax = axes[0]
    _style_axes(ax)
    ax.set_title("by category (critical path)", fontsize=10)
    categories = list(LATENCY_CATEGORIES) + sorted(
        {c for run in runs for c in run.latency_by_category_s} - set(LATENCY_CATEGORIES)
    )
    for y, run in enumerate(runs):
        if _finite(run.latency_s) is None:
            ax.annotate("n/a", (0, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
            continue
        left = 0.0
        for cat in categories:
            value = run.latency_by_category_s.get(cat, 0.0) / factor
            if value > 0 and _finite(value) is not None:
                ax.barh(y, value, left=left, color=style.category_color(cat), edgecolor="white", height=0.6)
                left += value
        ax.annotate(
            f"{run.latency_s / factor:.3g} {unit}",
            (left, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(range(len(runs)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"latency ({unit})")
    ax.set_xlim(0, largest / factor * 1.15)  # room for the value labels
    _legend_outside(
        ax,
        [Patch(facecolor=style.category_color(c), label=style.CATEGORY_LABELS.get(c, c)) for c in categories],
        "category",
    )

    ax = axes[1]
    _style_axes(ax)
    # Phases on different units can run at the same time (SnapKV's selection beside the next layer's
    # prefill), so their wall times may add up to more than the latency: the black tick marks the latency.
    ax.set_title("by phase (wall time of each phase; overlapping phases both count, | = latency)", fontsize=10)
    families = [latency_by_phase_family(run) for run in runs]
    phases: list[str] = []
    for fam in families:
        phases += [p for p in fam if p not in phases]
    for y, (fam, run) in enumerate(zip(families, runs, strict=True)):
        left = 0.0
        for phase in phases:
            value = fam.get(phase, 0.0) / factor
            if value > 0 and _finite(value) is not None:
                ax.barh(y, value, left=left, color=style.phase_color(phase), edgecolor="white", height=0.6)
                left += value
        if _finite(run.latency_s) is not None:
            latency = run.latency_s / factor
            ax.plot([latency, latency], [y - 0.4, y + 0.4], color="black", linewidth=1.5)
    ax.set_yticks(range(len(runs)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"time in phase ({unit})")
    ax.margins(x=0.12)
    _legend_outside(ax, [Patch(facecolor=style.phase_color(p), label=text(p)) for p in phases], "phase")
    return fig


# --------------------------------------------------------------------------------------------
# Gantt
# --------------------------------------------------------------------------------------------


def gantt_window(run: RunResult, max_ops: int = GANTT_MAX_OPS) -> tuple[float, float, str]:
    """The window a Gantt chart shows by default: ``(start_s, end_s, what)``.

    When the kept timeline holds a step after the first (the default timeline window keeps a decode
    step from the middle of the run; for Medusa that step is heads + tree verification + its
    accept), that step's span - the middle one of those kept. Otherwise (a CNN, a one-step
    workload, a window of the first operators) the first ``max_ops`` operators kept.
    """
    ops = sorted(run.timeline, key=lambda op: (op.start_s, op.op_id))
    if not ops:
        flows = run.flow_timeline
        if not flows:
            return (0.0, run.latency_s, "no timeline")
        return (min(f.start_s for f in flows), max(f.end_s for f in flows), "kept transfers")
    later = sorted({op.step for op in ops if op.step > 0})
    if later:
        step = later[(len(later) - 1) // 2]
        in_step = [op for op in ops if op.step == step]
        phases = list(dict.fromkeys(op.phase for op in in_step))
        return (in_step[0].start_s, max(op.end_s for op in in_step), f"step {step} ({', '.join(phases)})")
    kept = ops[:max_ops]
    what = f"first {len(kept)} operators" if len(kept) < run.operators else "every operator"
    return (kept[0].start_s, max(op.end_s for op in kept), what)


def gantt(
    run: RunResult, *, window: tuple[float, float] | None = None, max_ops: int = GANTT_MAX_OPS, step: int | None = None
) -> Figure:
    """Per-unit Gantt chart of a window of the run: one row per compute unit and per link, ops coloured by kind.

    ``window`` is ``(start_s, end_s)``; ``step`` shows that step's span instead; by default
    :func:`gantt_window`. Link rows show each transfer (flow) as a bar. The title says which window.
    """
    what = "window"
    if window is not None:
        start, end = window
    elif step is not None:
        in_step: list[OpRecord] = [op for op in run.timeline if op.step == step]
        if not in_step:
            raise ValueError(
                f"step {step} is not in the kept timeline (steps kept: {sorted({o.step for o in run.timeline})})"
            )
        start, end, what = min(o.start_s for o in in_step), max(o.end_s for o in in_step), f"step {step}"
    else:
        start, end, what = gantt_window(run, max_ops)
    span = max(end - start, 1e-15)
    factor, unit = time_scale(span)
    ops = [op for op in run.timeline if op.end_s >= start and op.start_s <= end]
    flows = [f for f in run.flow_timeline if f.end_s >= start and f.start_s <= end]
    units: list[str] = []
    for op in sorted(run.timeline, key=lambda o: (o.start_s, o.op_id)):
        if op.unit not in units:
            units.append(op.unit)
    links = sorted({f.link for f in run.flow_timeline})
    rows = units + links
    fig = _new_figure(11.0, max(2.6, 0.45 * len(rows) + 1.8))
    ax = fig.add_subplot()
    _style_axes(ax)
    ax.set_title(
        text(
            f"Timeline — {run.architecture} · {run.workload}: {what}"
            f" ({len(ops)} ops, {start / factor:.4g}–{end / factor:.4g} {unit})"
        )
    )
    if not rows:
        _empty(ax, "no timeline kept (ask for outputs: [timeline] or [report])")
        return fig
    by_row_kind: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)
    for op in ops:
        by_row_kind[(rows.index(op.unit), op.kind)].append(
            ((op.start_s - start) / factor, max(op.end_s - op.start_s, 0.0) / factor)
        )
    for (row, kind), spans in by_row_kind.items():
        color = style.kind_color(kind)  # a thin edge keeps sub-pixel operators visible
        ax.broken_barh(spans, (row - 0.38, 0.76), facecolors=color, edgecolor=color, linewidth=0.3)
    link_color = style.component_kind_color("link")
    by_link: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for flow in flows:
        by_link[rows.index(flow.link)].append(
            ((flow.start_s - start) / factor, max(flow.end_s - flow.start_s, 0.0) / factor)
        )
    for row, spans in by_link.items():
        ax.broken_barh(spans, (row - 0.3, 0.6), facecolors=link_color, alpha=0.55, edgecolor=link_color, linewidth=0.3)
    ax.set_yticks(range(len(rows)), [text(u) for u in units] + [text(f"link {name}") for name in links], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, span / factor)
    ax.set_xlabel(f"time ({unit})" if start == 0 else f"time since {start / factor:.4g} {unit} ({unit})")
    kinds = sorted({op.kind for op in ops})
    handles = [Patch(facecolor=style.kind_color(k), label=k) for k in kinds]
    if flows:
        handles.append(Patch(facecolor=link_color, alpha=0.55, label="transfer (link)"))
    _legend_outside(ax, handles, "operator kind")
    return fig


# --------------------------------------------------------------------------------------------
# Roofline
# --------------------------------------------------------------------------------------------

#: Roofline points below this share of operator time are named in the legend only.
LABEL_SHARE = 0.05

#: Marker per phase family on the roofline (kinds are colours).
PHASE_MARKERS = {
    "prefill": "o",
    "decode": "^",
    "medusa_heads": "s",
    "tree_verify": "D",
    "snapkv_select": "P",
    "inference": "o",
}


def roofline_points(run: RunResult) -> list[dict[str, float | str]]:
    """Operator kinds on the roofline, one point per (kind, phase family).

    Intensity = Σ FLOPs / Σ bytes moved of the kind's operators in that phase; attained = Σ FLOPs /
    Σ operator durations. Prefill and decode are apart: a matmul of a 1,792-token prefill and one of
    a batch-1 decode step sit at opposite ends of the chart. From the whole run's totals
    (:attr:`RunResult.op_stats`), else ``by_kind`` (phase ``all``), else the kept timeline; without
    any, a single ``whole run`` point from the run's FLOPs, its bytes at every memory and its latency.
    """
    agg: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    if run.op_stats:
        for s in run.op_stats:
            a = agg[(s.kind, style.phase_base(s.phase))]
            a[0] += s.flops
            a[1] += s.bytes
            a[2] += s.busy_s
            a[3] += s.count
    elif run.by_kind:
        for kind, stats in run.by_kind.items():
            agg[(kind, "all")] = [stats["flops"], stats["bytes"], stats["busy_s"], stats["count"]]
    else:
        for op in run.timeline:
            a = agg[(op.kind, style.phase_base(op.phase))]
            a[0] += op.flops
            a[1] += op.bytes
            a[2] += max(op.end_s - op.start_s, 0.0)
            a[3] += 1
    points: list[dict[str, float | str]] = []
    rank = {name: i for i, name in enumerate(style.PHASE_ORDER)}
    for (kind, phase), (flops, nbytes, seconds, count) in sorted(
        agg.items(), key=lambda kv: (kv[0][0], rank.get(kv[0][1], len(rank)), kv[0][1])
    ):
        if flops > 0 and nbytes > 0 and seconds > 0:
            points.append(
                {
                    "kind": kind,
                    "phase": phase,
                    "intensity_flop_per_byte": flops / nbytes,
                    "attained_flops_per_s": flops / seconds,
                    "flops": flops,
                    "bytes": nbytes,
                    "seconds": seconds,
                    "count": count,
                }
            )
    if not points:
        nbytes = sum(run.bytes_by_memory.values())
        if run.flops > 0 and nbytes > 0 and run.latency_s > 0 and _finite(run.latency_s) is not None:
            points.append(
                {
                    "kind": "whole run",
                    "phase": "all",
                    "intensity_flop_per_byte": run.flops / nbytes,
                    "attained_flops_per_s": run.flops / run.latency_s,
                    "flops": run.flops,
                    "bytes": nbytes,
                    "seconds": run.latency_s,
                    "count": run.operators,
                }
            )
    return points


def roofline(
    run: RunResult, *, peak_flops_per_s: float, bandwidth_bytes_per_s: float, memory: str | None = None
) -> Figure:
    """Roofline chart: each operator kind, per phase, at its arithmetic intensity and attained rate, under the roofs.

    The roof is ``min(peak, intensity × bandwidth)``; the ridge (``peak / bandwidth`` FLOP/B)
    separates memory-bound points (left) from compute-bound ones (right). Colour = operator kind,
    marker = phase; marker area ∝ share of operator time. ``memory`` names the memory whose
    bandwidth is the slanted roof (shown in the legend).
    """
    if not peak_flops_per_s > 0 or not bandwidth_bytes_per_s > 0:
        raise ValueError(
            f"roofline needs positive roofs, got peak={peak_flops_per_s}, bandwidth={bandwidth_bytes_per_s}"
        )
    points = roofline_points(run)
    ridge = peak_flops_per_s / bandwidth_bytes_per_s
    fig = _new_figure(8.5, 5.2)
    ax = fig.add_subplot()
    _style_axes(ax)
    ax.set_title(text(f"Roofline — {run.architecture} · {run.workload}"))
    intensities = [float(p["intensity_flop_per_byte"]) for p in points] + [ridge]
    lo = 10 ** math.floor(math.log10(min(intensities)) - 1)
    hi = 10 ** math.ceil(math.log10(max(intensities)) + 1)
    xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    tflops = 1e12
    ax.plot(
        xs,
        [min(peak_flops_per_s, x * bandwidth_bytes_per_s) / tflops for x in xs],
        color=style.REFERENCE_COLOR,
        linewidth=2,
        label=text(
            f"roof: {peak_flops_per_s / tflops:.4g} TFLOP/s, {bandwidth_bytes_per_s / 1e9:.4g} GB/s"
            + (f" ({memory})" if memory else "")
        ),
    )
    ax.axvline(ridge, color=style.REFERENCE_COLOR, linestyle=":", linewidth=1)
    ax.text(
        ridge,
        0.02,
        f" ridge {ridge:.3g} FLOP/B",
        transform=ax.get_xaxis_transform(),
        fontsize=8,
        color=style.REFERENCE_COLOR,
        ha="left",
        va="bottom",
    )
    total_s = sum(float(p["seconds"]) for p in points) or 1.0
    placed: list[tuple[float, float]] = []
    handles: list[Any] = [Line2D([], [], color=style.REFERENCE_COLOR, linewidth=2, label=ax.lines[0].get_label())]
    for p in sorted(points, key=lambda q: -float(q["seconds"])):  # legend and labels: the biggest first
        kind, phase = str(p["kind"]), str(p["phase"])
        share = float(p["seconds"]) / total_s
        name = kind if phase == "all" else f"{kind} · {phase}"
        marker = PHASE_MARKERS.get(phase, "X")
        position = (float(p["intensity_flop_per_byte"]), float(p["attained_flops_per_s"]) / tflops)
        ax.scatter(
            [position[0]],
            [position[1]],
            s=30 + 400 * share,
            color=style.kind_color(kind),
            marker=marker,
            edgecolor="black",
            linewidth=0.5,
            zorder=3,
        )
        handles.append(
            Line2D(
                [],
                [],
                marker=marker,
                linestyle="",
                markersize=6,
                markerfacecolor=style.kind_color(kind),
                markeredgecolor="black",
                markeredgewidth=0.5,
                label=text(f"{name} ({100 * share:.0f}% of op time)" if share >= 0.005 else f"{name} (<1%)"),
            )
        )
        if share < LABEL_SHARE:  # small points are named in the legend only: labels would pile up
            continue
        crowd = sum(
            1 for q in placed if abs(math.log10(q[0] / position[0])) < 0.3 and abs(math.log10(q[1] / position[1])) < 0.3
        )
        placed.append(position)
        ax.annotate(text(name), position, xytext=(8, -4 - 11 * crowd), textcoords="offset points", fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("attained performance (TFLOP/s)")
    ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
    phases = list(dict.fromkeys(str(p["phase"]) for p in points if p["phase"] != "all"))
    if len(phases) > 1:  # say what the marker shapes mean
        handles += [
            Line2D([], [], marker=PHASE_MARKERS.get(ph, "X"), linestyle="", color="#777777", label=f"marker: {ph}")
            for ph in phases
        ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    if not points:
        ax.text(0.5, 0.5, "no operators with FLOPs and bytes", ha="center", transform=ax.transAxes)
    return fig


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------


def _ratio_bars(
    ax: Axes,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    xlabel: str,
    title: str,
    factor: float = 1.0,
    draw: bool = True,
) -> None:
    """Horizontal bars (one per run, top to bottom), each annotated with its value and ratio to the first run."""
    _style_axes(ax)
    ax.set_title(title, fontsize=10, loc="left")
    clean = [_finite(v) for v in values]
    base = next((v for v in clean if v is not None and v > 0), None)
    for y, value in enumerate(clean):
        if value is None:
            ax.annotate(
                "n/a", (0, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8, color="#888888"
            )
            continue
        if draw:
            ax.barh(y, value / factor, color=style.REFERENCE_COLOR, alpha=0.75, height=0.6)
        ratio = f"  ({fmt_ratio(value / base)})" if base and y > 0 else ""
        ax.annotate(
            f"{fmt_number(value / factor)}{ratio}",
            (value / factor, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.margins(x=0.25)


def comparison(result: ScenarioResult | Sequence[RunResult]) -> Figure:
    """Panels stacked top to bottom comparing runs: latency, energy (split by category), tokens/s and/or FPS.

    Runs are rows (horizontal bars, the same order in every panel), so the figure stays a fixed
    width however many runs there are. Every bar is annotated with its value and its ratio to the
    first run. Only the energy panel is coloured (by energy category, with its own legend); the
    other panels are one neutral colour, their rows named by run.
    """
    runs, scenario = _runs(result)
    labels = [text(label) for label in run_labels(runs)]
    panels = ["latency", "energy"]
    if any(r.tokens_per_s is not None for r in runs):
        panels.append("tokens")
    if any(r.fps is not None for r in runs):
        panels.append("fps")
    panel_height = 0.28 * max(len(runs), 1) + 1.3
    fig = _new_figure(9.0, min(panel_height * len(panels) + 0.6, 60.0))
    axes = fig.subplots(len(panels), 1)
    fig.suptitle(_title("Comparison (ratios to the first run)", scenario))
    if not runs:
        for ax in axes:
            _empty(ax, "no runs")
        return fig
    lat_f, lat_u = time_scale(_largest(r.latency_s for r in runs))
    _ratio_bars(
        axes[0],
        labels,
        [r.latency_s for r in runs],
        xlabel=f"latency ({lat_u})",
        title="end-to-end latency (lower is better)",
        factor=lat_f,
    )
    en_f, en_u = energy_scale(_largest(r.energy.total_j for r in runs))
    ax = axes[1]
    _ratio_bars(
        ax,
        labels,
        [r.energy.total_j for r in runs],
        xlabel=f"energy ({en_u})",
        title="energy (lower is better)",
        factor=en_f,
        draw=False,
    )
    for y, run in enumerate(runs):
        if _finite(run.energy.total_j) is None:
            continue
        left = 0.0
        for cat in ENERGY_CATEGORIES:
            value = getattr(run.energy, f"{cat}_j") / en_f
            ax.barh(
                y,
                value,
                left=left,
                color=style.category_color(cat),
                height=0.6,
                edgecolor="white",
                linewidth=0.5,
                label=style.CATEGORY_LABELS[cat] if y == 0 else None,
            )
            left += value
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="energy category")
    index = 2
    if "tokens" in panels:
        _ratio_bars(
            axes[index],
            labels,
            [r.tokens_per_s for r in runs],
            xlabel="throughput (tokens/s)",
            title="tokens/s (higher is better)",
        )
        index += 1
    if "fps" in panels:
        _ratio_bars(
            axes[index], labels, [r.fps for r in runs], xlabel="throughput (frames/s)", title="FPS (higher is better)"
        )
    return fig


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def figure_bytes(fig: Figure, fmt: str = "png") -> bytes:
    """``fig`` rendered as ``png`` or ``svg`` (no creation date: the same result gives identical bytes)."""
    buffer = io.BytesIO()
    metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {}
    fig.savefig(buffer, format=fmt, dpi=DPI if fmt == "png" else None, metadata=metadata)
    return buffer.getvalue()


def save_figure(fig: Figure, path_stem: str | Path, formats: Iterable[str] = ("png",)) -> list[Path]:
    """Write ``fig`` as ``<path_stem>.<format>`` per format, safely (:mod:`simulator.outputs`); returns the paths."""
    from simulator.outputs import OutputFolder

    stem = Path(path_stem)
    with OutputFolder(stem.parent) as folder:
        for fmt in formats:
            folder.write_bytes(f"{stem.name}.{fmt}", figure_bytes(fig, fmt))
    return folder.written


def standard_figures(result: ScenarioResult) -> dict[str, Figure]:
    """The standard figure set of a scenario, by file stem; built once, for the plot files and the report.

    ``energy``, ``latency``; ``comparison`` when there are several runs; per run with a kept
    timeline ``gantt-<run>``; per run whose hardware gives its roofs ``roofline-<run>``. (Serving runs
    add ``knee`` and ``batches-<run>``, from :mod:`simulator.serving.plots`, written by the runner.)
    """
    figures: dict[str, Figure] = {}
    if not result.runs:
        return figures
    figures["energy"] = energy_breakdown(result)
    figures["latency"] = latency_breakdown(result)
    if len(result.runs) > 1:
        figures["comparison"] = comparison(result)
    for run, label in zip(result.runs, run_labels(result.runs, sep="-"), strict=True):
        name = slug(label)
        if run.timeline or run.flow_timeline:
            figures[f"gantt-{name}"] = gantt(run)
        roofs = run_roofs(run)
        if roofs is not None:
            figures[f"roofline-{name}"] = roofline(
                run, peak_flops_per_s=roofs[0], bandwidth_bytes_per_s=roofs[1], memory=roofs[2]
            )
    return figures
