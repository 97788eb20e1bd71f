"""Plots of results: pure functions from :class:`RunResult`/:class:`ScenarioResult` to matplotlib Figures.

Every function builds a :class:`matplotlib.figure.Figure` directly (no ``pyplot``, so no global
figure registry and no state shared between calls) and returns it; :func:`save_figure` writes a
figure as PNG and SVG, and :func:`write_plots` renders the standard set for a scenario. Colours
come from :mod:`simulator.report.style`, so a category, phase or operator kind looks the same in
every figure. Figures render through the Agg canvas directly (headless, no backend switch). Axes
carry units; times and energies are scaled to a readable prefix.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from simulator.metrics.result import (
    ENERGY_CATEGORIES,
    LATENCY_CATEGORIES,
    RunResult,
    ScenarioResult,
)
from simulator.report import style
from simulator.units import UnitError, parse_quantity

#: Default number of operators drawn in a Gantt chart when no window is given.
GANTT_MAX_OPS = 500

_TIME_SCALES = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
_ENERGY_SCALES = ((1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ"), (1e-12, "pJ"))


# --------------------------------------------------------------------------------------------
# Helpers shared with the HTML report and comparisons
# --------------------------------------------------------------------------------------------


def scale_for(value: float, scales: Sequence[tuple[float, str]]) -> tuple[float, str]:
    """The (factor, unit) of ``scales`` that shows ``value`` as a number ≥ 1 (the smallest one otherwise)."""
    value = abs(value)
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


def run_labels(runs: Sequence[RunResult], *, sep: str = " · ") -> list[str]:
    """Short, unique labels for runs: the part that varies (architecture, workload or both)."""
    archs = {r.architecture for r in runs}
    works = {r.workload for r in runs}
    if len(runs) > 1 and len(archs) == 1 and len(works) == len(runs):
        labels = [r.workload for r in runs]
    elif len(runs) > 1 and len(works) == 1 and len(archs) == len(runs):
        labels = [r.architecture for r in runs]
    else:
        labels = [f"{r.architecture}{sep}{r.workload}" for r in runs]
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return unique


def slug(text: str) -> str:
    """A file-name-safe form of ``text``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "run"


def find_architecture(resolved: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """The resolved architecture mapping called ``name`` in a resolved scenario, if present."""
    archs = resolved.get("architectures") if isinstance(resolved, Mapping) else None
    if not isinstance(archs, Sequence) or isinstance(archs, str):
        return None
    for arch in archs:
        if isinstance(arch, Mapping) and arch.get("name") == name:
            return arch
    return None


def _si(value: Any, dimension: str) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return parse_quantity(value, dimension)
    except (UnitError, KeyError):
        return None


def _field(spec: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in spec:
            return spec[name]
    return None


def _link_names(link: Mapping[str, Any]) -> set[str]:
    """Names the ledger gives a link's component: ``a-b`` for ``between: [a, b]`` (either order)."""
    between = link.get("between")
    if isinstance(between, Sequence) and not isinstance(between, str) and len(between) == 2:
        a, b = str(between[0]), str(between[1])
        return {f"{a}-{b}", f"{b}-{a}"}
    return set()


def component_kinds(run: RunResult, resolved: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Kind of every component in ``run.energy_by_component_j``: ``unit``, a memory level, ``link`` or ``system``.

    Uses the resolved architecture when present; otherwise a component with compute energy is a
    unit, ``system`` is the uncore, a name joining two names with an arrow or dash is a link and
    anything else carrying data-movement energy is a memory.
    """
    arch = find_architecture(resolved or {}, run.architecture) or {}
    units = arch.get("compute_units") or {}
    memories = arch.get("memories") or {}
    link_names: set[str] = set()
    for link in arch.get("links") or ():
        if isinstance(link, Mapping):
            link_names |= _link_names(link)
    kinds: dict[str, str] = {}
    for component, cats in run.energy_by_component_j.items():
        if component in units:
            kinds[component] = "unit"
        elif component in memories and isinstance(memories[component], Mapping):
            kinds[component] = str(memories[component].get("level", "memory"))
        elif component in link_names:
            kinds[component] = "link"
        elif component in ("system", "active_idle"):
            kinds[component] = "system"
        elif component.endswith(".sram"):  # a unit's own SRAM (shared memory/L1, BRAM tiles)
            kinds[component] = "sram"
        elif component.endswith(".registers"):  # a unit's register files
            kinds[component] = "register"
        elif cats.get("compute", 0.0) > 0:
            kinds[component] = "unit"
        elif re.search(r"<->|->|↔|—|--", component):
            kinds[component] = "link"
        else:
            kinds[component] = "memory"
    return kinds


def architecture_roofs(resolved: Mapping[str, Any], run: RunResult) -> tuple[float, float] | None:
    """(peak FLOP/s, bandwidth bytes/s) for a run's roofline, from the resolved architecture.

    Peak: the fastest unit's peak for the trace's dtype (any dtype when the header names none).
    Bandwidth: the sustained bandwidth (peak × efficiency) of the fastest off-chip memory
    (``hbm``/``dram``), else of the memory holding the weights. ``None`` when the resolved
    scenario does not say. :func:`roof_memory` names the memory.
    """
    roofs = _roofs(resolved, run)
    return None if roofs is None else (roofs[0], roofs[1])


def roof_memory(resolved: Mapping[str, Any], run: RunResult) -> str | None:
    """The memory whose bandwidth :func:`architecture_roofs` uses."""
    roofs = _roofs(resolved, run)
    return None if roofs is None else roofs[2]


def _roofs(resolved: Mapping[str, Any], run: RunResult) -> tuple[float, float, str] | None:
    arch = find_architecture(resolved, run.architecture)
    if arch is None:
        return None
    dtype = run.header.get("dtype") if isinstance(run.header, Mapping) else None
    peaks: list[float] = []
    for unit in (arch.get("compute_units") or {}).values():
        if not isinstance(unit, Mapping):
            continue
        table = _field(unit, "peak", "peak_flops_per_s") or {}
        if not isinstance(table, Mapping):
            continue
        values = [table[dtype]] if dtype in table else list(table.values())
        peaks += [v for v in (_si(x, "flop_rate") for x in values) if v]
    memories = {k: v for k, v in (arch.get("memories") or {}).items() if isinstance(v, Mapping)}

    def sustained(mem: Mapping[str, Any]) -> float:
        bw = _si(_field(mem, "bandwidth", "bandwidth_bytes_per_s"), "bandwidth") or 0.0
        eff = mem.get("efficiency", 1.0)
        return bw * (float(eff) if isinstance(eff, int | float) else 1.0)

    off_chip = {name: sustained(m) for name, m in memories.items() if m.get("level") in ("hbm", "dram")}
    placement = arch.get("placement") or {}
    home = placement.get("weight") if isinstance(placement, Mapping) else None
    if off_chip:
        memory = max(off_chip, key=lambda name: off_chip[name])
    elif home in memories:
        memory = str(home)
    else:
        return None
    bandwidth = sustained(memories[memory])
    if not peaks or bandwidth <= 0:
        return None
    return max(peaks), bandwidth, memory


def _runs(result: ScenarioResult | Sequence[RunResult]) -> tuple[Sequence[RunResult], Mapping[str, Any], str]:
    if isinstance(result, ScenarioResult):
        return result.runs, result.resolved, result.scenario
    return tuple(result), {}, ""


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
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


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])


# --------------------------------------------------------------------------------------------
# Energy
# --------------------------------------------------------------------------------------------


def energy_segments(run: RunResult, resolved: Mapping[str, Any] | None = None) -> list[tuple[str, str, float]]:
    """Stack segments of a run's energy: ``(label, colour, joules)``.

    Compute energy is one segment; data-movement energy is one segment per memory level and link
    (named ``DM · <component>``, coloured by its level); static energy is one segment. The
    segments sum to the run's total energy as the ledger attributes it per component.
    """
    kinds = component_kinds(run, resolved)
    compute = sum(c.get("compute", 0.0) for c in run.energy_by_component_j.values())
    static = sum(c.get("static", 0.0) for c in run.energy_by_component_j.values())
    segments: list[tuple[str, str, float]] = [("compute", style.category_color("compute"), compute)]
    order = ("register", "sram", "cache", "memory", "dram", "hbm", "link", "unit", "system")
    movers = [
        (order.index(kinds[name]) if kinds[name] in order else len(order), name, cats.get("data_movement", 0.0))
        for name, cats in run.energy_by_component_j.items()
        if cats.get("data_movement", 0.0) > 0
    ]
    for _, name, joules in sorted(movers):
        label = f"DM · {name}" if name == kinds[name] else f"DM · {name} ({kinds[name]})"
        segments.append((label, style.component_kind_color(kinds[name]), joules))
    segments.append(("static", style.category_color("static"), static))
    return segments


def energy_breakdown(result: ScenarioResult | Sequence[RunResult]) -> Figure:
    """Stacked bars, one per run: compute, data movement per memory level and link, static energy."""
    runs, resolved, scenario = _runs(result)
    labels = run_labels(runs, sep="\n")
    fig = _new_figure(max(6.0, 1.3 * len(runs) + 4.5), 4.8)
    ax = fig.add_subplot()
    _style_axes(ax)
    title = "Energy breakdown" + (f" — {scenario}" if scenario else "")
    ax.set_title(title)
    if not runs:
        _empty(ax, "no runs")
        return fig
    all_segments = [energy_segments(run, resolved) for run in runs]
    factor, unit = energy_scale(max(run.energy.total_j for run in runs) or 1.0)
    seen: dict[str, str] = {}  # legend entries in stack order: compute, data movement, static
    for segments in all_segments:
        for label, color, joules in segments[:-1]:
            if joules > 0:
                seen.setdefault(label, color)
    for x, segments in enumerate(all_segments):
        bottom = 0.0
        for label, color, joules in segments:
            if joules <= 0:
                continue
            ax.bar(x, joules / factor, bottom=bottom, color=color, edgecolor="white", linewidth=0.6, width=0.6)
            bottom += joules / factor
            seen.setdefault(label, color)  # static last
        total = sum(s[2] for s in segments)
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
    ax.set_xticks(range(len(runs)), labels, fontsize=8)
    ax.set_ylabel(f"energy ({unit})")
    ax.margins(y=0.15)
    handles = [Patch(facecolor=c, label=lab) for lab, c in seen.items()]
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
    runs, _, scenario = _runs(result)
    labels = run_labels(runs)
    fig = _new_figure(10.0, max(3.2, 0.55 * len(runs) + 2.2) * 2 / 1.4)
    axes = fig.subplots(2, 1)
    fig.suptitle("Latency breakdown" + (f" — {scenario}" if scenario else ""))
    if not runs:
        for ax in axes:
            _empty(ax, "no runs")
        return fig
    factor, unit = time_scale(max(run.latency_s for run in runs) or 1.0)
    ax = axes[0]
    _style_axes(ax)
    ax.set_title("by category (critical path)", fontsize=10)
    categories = list(LATENCY_CATEGORIES) + sorted(
        {c for run in runs for c in run.latency_by_category_s} - set(LATENCY_CATEGORIES)
    )
    for y, run in enumerate(runs):
        left = 0.0
        for cat in categories:
            value = run.latency_by_category_s.get(cat, 0.0) / factor
            if value > 0:
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
    ax.set_xlim(0, max(run.latency_s for run in runs) / factor * 1.15)  # room for the value labels
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
            if value > 0:
                ax.barh(y, value, left=left, color=style.phase_color(phase), edgecolor="white", height=0.6)
                left += value
        latency = run.latency_s / factor
        ax.plot([latency, latency], [y - 0.4, y + 0.4], color="black", linewidth=1.5)
    ax.set_yticks(range(len(runs)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"time in phase ({unit})")
    ax.margins(x=0.12)
    _legend_outside(ax, [Patch(facecolor=style.phase_color(p), label=p) for p in phases], "phase")
    return fig


# --------------------------------------------------------------------------------------------
# Gantt
# --------------------------------------------------------------------------------------------


def default_window(run: RunResult, max_ops: int = GANTT_MAX_OPS) -> tuple[float, float]:
    """The time window a Gantt chart shows by default: the kept timeline, cut to its first ``max_ops`` operators."""
    ops = sorted(run.timeline, key=lambda op: (op.start_s, op.op_id))
    if not ops:
        flows = run.flow_timeline
        if not flows:
            return (0.0, run.latency_s)
        return (min(f.start_s for f in flows), max(f.end_s for f in flows))
    kept = ops[:max_ops]
    return (kept[0].start_s, max(op.end_s for op in kept))


def gantt(run: RunResult, *, window: tuple[float, float] | None = None, max_ops: int = GANTT_MAX_OPS) -> Figure:
    """Per-unit Gantt chart of a window of the run: one row per compute unit and per link, ops coloured by kind.

    ``window`` is ``(start_s, end_s)``; by default the first ``max_ops`` operators of the kept
    timeline. Link rows show each transfer (flow) as a bar.
    """
    start, end = window if window is not None else default_window(run, max_ops)
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
        f"Timeline — {run.architecture} · {run.workload}"
        f" ({len(ops)} ops, {start / factor:.4g}–{end / factor:.4g} {unit})"
    )
    if not rows:
        _empty(ax, "no timeline kept (set the scenario's timeline option)")
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
    ax.set_yticks(range(len(rows)), [*units, *(f"link {name}" for name in links)], fontsize=8)
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


def roofline_points(run: RunResult) -> list[dict[str, float | str]]:
    """Operator kinds on the roofline: arithmetic intensity (FLOP/B) and attained FLOP/s, aggregated per kind.

    Intensity = Σ FLOPs / Σ bytes of the kind's operators; attained = Σ FLOPs / Σ operator
    durations. From the whole run's per-kind totals (``RunResult.by_kind``), else from the kept
    timeline window; without either, a single ``whole run`` point from the run's FLOPs, its bytes
    at every memory and its latency.
    """
    agg: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    if run.by_kind:
        for kind, stats in run.by_kind.items():
            agg[kind] = [stats["flops"], stats["bytes"], stats["busy_s"], stats["count"]]
    for op in () if run.by_kind else run.timeline:
        a = agg[op.kind]
        a[0] += op.flops
        a[1] += op.bytes
        a[2] += max(op.end_s - op.start_s, 0.0)
        a[3] += 1
    points: list[dict[str, float | str]] = []
    for kind, (flops, nbytes, seconds, count) in sorted(agg.items()):
        if flops > 0 and nbytes > 0 and seconds > 0:
            points.append(
                {
                    "kind": kind,
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
        if run.flops > 0 and nbytes > 0 and run.latency_s > 0:
            points.append(
                {
                    "kind": "whole run",
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
    """Roofline chart: each operator kind at its arithmetic intensity and attained rate, under the roofs.

    The roof is ``min(peak, intensity × bandwidth)``; the ridge (``peak / bandwidth`` FLOP/B)
    separates memory-bound kinds (left) from compute-bound ones (right). Marker area ∝ time share.
    ``memory`` names the memory whose bandwidth is the slanted roof (shown in the legend).
    """
    if peak_flops_per_s <= 0 or bandwidth_bytes_per_s <= 0:
        raise ValueError(
            f"roofline needs positive roofs, got peak={peak_flops_per_s}, bandwidth={bandwidth_bytes_per_s}"
        )
    points = roofline_points(run)
    ridge = peak_flops_per_s / bandwidth_bytes_per_s
    fig = _new_figure(8.5, 5.2)
    ax = fig.add_subplot()
    _style_axes(ax)
    ax.set_title(f"Roofline — {run.architecture} · {run.workload}")
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
        label=f"roof: {peak_flops_per_s / tflops:.4g} TFLOP/s, {bandwidth_bytes_per_s / 1e9:.4g} GB/s"
        + (f" ({memory})" if memory else ""),
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
    for p in points:
        kind = str(p["kind"])
        share = float(p["seconds"]) / total_s
        ax.scatter(
            [float(p["intensity_flop_per_byte"])],
            [float(p["attained_flops_per_s"]) / tflops],
            s=30 + 400 * share,
            color=style.kind_color(kind),
            edgecolor="black",
            linewidth=0.5,
            zorder=3,
            label=f"{kind} ({100 * share:.0f}% of op time)",
        )
        position = (float(p["intensity_flop_per_byte"]), float(p["attained_flops_per_s"]) / tflops)
        crowd = sum(
            1
            for q in placed
            if abs(math.log10(q[0] / position[0])) < 0.15 and abs(math.log10(q[1] / position[1])) < 0.15
        )
        placed.append(position)
        ax.annotate(
            kind,
            position,
            xytext=(6, 4 + 10 * crowd),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("attained performance (TFLOP/s)")
    ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    if not points:
        ax.text(0.5, 0.5, "no operators with FLOPs and bytes", ha="center", transform=ax.transAxes)
    return fig


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------


def fmt_number(value: float) -> str:
    """A compact, readable number: ``1234`` → ``1,234``, ``0.01234`` → ``0.0123``."""
    if value == 0:
        return "0"
    if abs(value) >= 1000 and abs(value) < 1e7:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def fmt_ratio(ratio: float) -> str:
    """A ratio for display: ``0.5`` → ``0.50×``; below 0.1, two significant digits (``0.0009`` → ``0.0009×``)."""
    return f"{ratio:.2f}×" if ratio == 0 or abs(ratio) >= 0.1 else f"{ratio:.2g}×"


def _ratio_bars(
    ax: Axes,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    ylabel: str,
    title: str,
    colors: Sequence[str],
    factor: float = 1.0,
) -> None:
    _style_axes(ax)
    ax.set_title(title, fontsize=10)
    base = next((v for v in values if v is not None and v > 0), None)
    for x, value in enumerate(values):
        if value is None:
            ax.annotate(
                "n/a", (x, 0), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8, color="#888888"
            )
            continue
        ax.bar(x, value / factor, color=colors[x], width=0.6)
        ratio = fmt_ratio(value / base) if base else ""
        ax.annotate(
            f"{fmt_number(value / factor)}\n{ratio}",
            (x, value / factor),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(
        range(len(labels)),
        labels,
        fontsize=8,
        rotation=20 if len(labels) > 3 else 0,
        ha="right" if len(labels) > 3 else "center",
    )
    ax.set_ylabel(ylabel)
    ax.margins(y=0.25)


def comparison(result: ScenarioResult | Sequence[RunResult]) -> Figure:
    """Grouped bars comparing runs: latency, energy (split by category), and tokens/s and/or FPS.

    Each bar is annotated with its value and its ratio to the first run that has the metric.
    """
    runs, _, scenario = _runs(result)
    labels = run_labels(runs, sep="\n")
    colors = [style.run_color(i) for i in range(len(runs))]
    panels = ["latency", "energy"]
    if any(r.tokens_per_s is not None for r in runs):
        panels.append("tokens")
    if any(r.fps is not None for r in runs):
        panels.append("fps")
    fig = _new_figure(max(9.0, 1.0 * len(runs) * len(panels) + 2.0), 4.6)
    axes = fig.subplots(1, len(panels))
    fig.suptitle("Comparison (ratios to the first run)" + (f" — {scenario}" if scenario else ""))
    if not runs:
        for ax in axes:
            _empty(ax, "no runs")
        return fig
    lat_f, lat_u = time_scale(max(r.latency_s for r in runs) or 1.0)
    _ratio_bars(
        axes[0],
        labels,
        [r.latency_s for r in runs],
        ylabel=f"latency ({lat_u})",
        title="end-to-end latency (lower is better)",
        colors=colors,
        factor=lat_f,
    )
    en_f, en_u = energy_scale(max(r.energy.total_j for r in runs) or 1.0)
    ax = axes[1]
    _ratio_bars(
        ax,
        labels,
        [r.energy.total_j for r in runs],
        ylabel=f"energy ({en_u})",
        title="energy (lower is better)",
        colors=["none"] * len(runs),
        factor=en_f,
    )
    for x, run in enumerate(runs):
        bottom = 0.0
        for cat in ENERGY_CATEGORIES:
            value = getattr(run.energy, f"{cat}_j") / en_f
            ax.bar(
                x,
                value,
                bottom=bottom,
                color=style.category_color(cat),
                width=0.6,
                edgecolor="white",
                linewidth=0.5,
                label=style.CATEGORY_LABELS[cat] if x == 0 else None,
            )
            bottom += value
    ax.legend(fontsize=7, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.08), ncols=3)
    index = 2
    if "tokens" in panels:
        _ratio_bars(
            axes[index],
            labels,
            [r.tokens_per_s for r in runs],
            ylabel="throughput (tokens/s)",
            title="tokens/s (higher is better)",
            colors=colors,
        )
        index += 1
    if "fps" in panels:
        _ratio_bars(
            axes[index],
            labels,
            [r.fps for r in runs],
            ylabel="throughput (frames/s)",
            title="FPS (higher is better)",
            colors=colors,
        )
    return fig


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------


def save_figure(fig: Figure, path_stem: str | Path, formats: Iterable[str] = ("png", "svg")) -> list[Path]:
    """Write ``fig`` as ``<path_stem>.png`` and ``<path_stem>.svg`` (creating the folder); returns the paths."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(path, format=fmt, dpi=110 if fmt == "png" else None, metadata=_metadata(fmt))
        paths.append(path)
    return paths


def _metadata(fmt: str) -> dict[str, Any]:
    # No creation date: the same result gives byte-identical files.
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {}


def standard_figures(result: ScenarioResult) -> dict[str, Figure]:
    """The standard figure set of a scenario, by file stem.

    ``energy``, ``latency``; ``comparison`` when there are several runs; per run with a kept
    timeline ``gantt-<run>``; per run whose architecture gives its roofs ``roofline-<run>``.
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
        roofs = _roofs(result.resolved, run)
        if roofs is not None:
            figures[f"roofline-{name}"] = roofline(
                run, peak_flops_per_s=roofs[0], bandwidth_bytes_per_s=roofs[1], memory=roofs[2]
            )
    return figures


def write_plots(result: ScenarioResult, out_dir: str | Path) -> list[Path]:
    """Render :func:`standard_figures` into ``out_dir`` as PNG and SVG; returns the written paths."""
    out = Path(out_dir)
    paths: list[Path] = []
    for stem, fig in standard_figures(result).items():
        paths += save_figure(fig, out / stem)
    return paths
