"""A self-contained ``report.html``: summary, comparison, per-run breakdowns, model assumptions, resolved scenario.

One file, viewable offline: the CSS is inline and every plot is embedded as a base64 PNG
(``data:`` URI); nothing is fetched from the network. The PNGs are the ones the plot files hold
(rendered once). The model-assumptions section states the energy model and lists, per
architecture, the energy numbers every component carries and the sources they come from, from
each run's typed hardware facts. The summary columns are the metrics registry's ``summary`` metrics.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from simulator.metrics.hardware import HardwareFacts
from simulator.metrics.registry import fmt_number, fmt_ratio, format_value
from simulator.metrics.result import LATENCY_CATEGORIES, RunResult, ScenarioResult
from simulator.report import plots
from simulator.report.compare import cell_text, comparison_columns, comparison_table, ratio_verdict
from simulator.report.labels import run_labels, slug
from simulator.report.tables import summary_metrics
from simulator.units import format_quantity

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:1.5em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{margin-top:1.5em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:right;vertical-align:top}
th{background:#f4f4f4}td.l,th.l{text-align:left}
tr:nth-child(even) td{background:#fafafa}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.5em 0}
pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:.85em;border:1px solid #e1e4e8}
.good{color:#1a7f37}.bad{color:#cf222e}.muted{color:#777}
nav a{margin-right:1em}
.grid{display:flex;flex-wrap:wrap;gap:1em}.grid>div{flex:1 1 420px}
"""

_ENERGY_MODEL = [
    "<b>compute</b>: FLOPs × energy per FLOP of the unit for the operator's dtype.",
    "<b>data movement</b>: bytes × (memory read or write energy per byte + Σ link energy per byte along the "
    "route); memories passed through on the route are not charged again.",
    "<b>static</b>: static power × makespan, for every component and the system's uncore power.",
    "Latency is attributed along the critical path to compute, data movement, host overhead and idle; the "
    "categories sum to the run's latency.",
]


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` of a rendered PNG, for embedding without external files."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _img(png: bytes, alt: str) -> str:
    return f'<img src="{png_data_uri(png)}" alt="{_e(alt)}">'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1, raw: bool = False) -> str:
    """An HTML table; the first ``left`` columns are left-aligned; cells are escaped unless ``raw``."""
    head = "".join(f'<th class="{"l" if i < left else ""}">{_e(h)}</th>' for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="{"l" if i < left else ""}">{cell if raw else _e(cell)}</td>' for i, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _t(value: float | None) -> str:
    return "—" if value is None or not _ok(value) else format_quantity(value, "time")


def _j(value: float | None) -> str:
    if value is None or not _ok(value):
        return "—"
    return "0 J" if value == 0 else format_quantity(value, "energy")


def _ok(value: float) -> bool:
    return value == value and abs(value) != float("inf")


def _pct(part: float, whole: float) -> str:
    share = part / whole if whole > 0 and _ok(whole) and _ok(part) else None
    return "—" if share is None else f"{100 * share:.1f}%"


def _rate(flops_per_s: float | None) -> str:
    return "—" if flops_per_s is None or not _ok(flops_per_s) else format_quantity(flops_per_s, "flop_rate")


def summary_headers(result: ScenarioResult) -> list[str]:
    """Headers of the summary table: identity columns, then the registry's summary metrics with values."""
    return ["architecture", "workload", "kind", *(m.header for m in summary_metrics(result))]


def summary_rows(result: ScenarioResult) -> list[list[str]]:
    """One row per run for the summary table (display strings)."""
    metrics = summary_metrics(result)
    return [
        [run.architecture, run.workload, run.kind, *(format_value(m, m.read(run)) for m in metrics)]
        for run in result.runs
    ]


def _comparison_html(result: ScenarioResult) -> str:
    columns = comparison_columns(result)
    rows = []
    for row in comparison_table(result):
        cells = [_e(row["label"])]
        for i, (value, ratio) in enumerate(zip(row["values"], row["ratios"], strict=True)):
            text = _e(cell_text(row, value))
            if i > 0 and ratio is not None:
                cls = ratio_verdict(ratio, row["better"]) or "muted"
                text += f' <span class="{cls}">({_e(fmt_ratio(ratio))})</span>'
            cells.append(text)
        rows.append(cells)
    return _table(["metric", *(c["label"] for c in columns)], rows, raw=True)


def _unit_rows(run: RunResult) -> list[list[str]]:
    """Per compute unit: busy time, busy share, and achieved FLOP/s against the unit's peak."""
    achieved = run.achieved_flops_per_s()
    dtype_flops: dict[tuple[str, str], float] = {}
    for s in run.op_stats:
        dtype_flops[(s.unit, s.dtype)] = dtype_flops.get((s.unit, s.dtype), 0.0) + s.flops
    rows = []
    for unit, share in run.utilisation.items():
        facts = run.hardware.units.get(unit)
        dtypes = sorted((d for (u, d) in dtype_flops if u == unit), key=lambda d: -dtype_flops[(unit, d)])
        peak = None
        if facts is not None and facts.peak_flops_per_s:
            dtype = dtypes[0] if dtypes and dtypes[0] in facts.peak_flops_per_s else None
            peak = facts.peak_flops_per_s[dtype] if dtype else max(facts.peak_flops_per_s.values())
            peak_text = f"{_rate(peak)}" + (f" ({dtype})" if dtype else "")
        else:
            peak_text = "—"
        rate = achieved.get(unit)
        rows.append(
            [
                unit,
                _t(run.busy_by_unit_s.get(unit, 0.0)),
                f"{100 * share:.1f}%" if _ok(share) else "—",
                _rate(rate),
                peak_text,
                _pct(rate, peak) if rate is not None and peak else "—",
            ]
        )
    return rows


def _run_section(run: RunResult, label: str, figures: Mapping[str, bytes]) -> str:
    parts = [f'<h3 id="{_e(slug(label))}">{_e(run.architecture)} × {_e(run.workload)}</h3>']
    kinds = plots.component_kinds(run)
    comp_rows = []
    for name, cats in sorted(run.energy_by_component_j.items(), key=lambda kv: -sum(kv[1].values())):
        total = sum(cats.values())
        comp_rows.append(
            [
                name,
                kinds.get(name, ""),
                _j(cats.get("compute", 0.0)),
                _j(cats.get("data_movement", 0.0)),
                _j(cats.get("static", 0.0)),
                _j(total),
                _pct(total, run.energy.total_j),
            ]
        )
    lat_rows = [
        [cat, _t(run.latency_by_category_s.get(cat, 0.0)), _pct(run.latency_by_category_s.get(cat, 0.0), run.latency_s)]
        for cat in [*LATENCY_CATEGORIES, *sorted(set(run.latency_by_category_s) - set(LATENCY_CATEGORIES))]
    ]
    phase_rows = [[p, _t(s), _pct(s, run.latency_s)] for p, s in plots.latency_by_phase_family(run).items()]
    mem_rows = [
        [
            mem,
            *(format_quantity(float(v), "size") for v in [classes.get("total", sum(classes.values()))]),
            ", ".join(f"{k}: {format_quantity(float(v), 'size')}" for k, v in classes.items() if k != "total"),
        ]
        for mem, classes in run.peak_memory_bytes.items()
    ]
    parts.append('<div class="grid"><div>')
    parts.append("<h4>Energy by component</h4>")
    parts.append(
        _table(["component", "kind", "compute", "data movement", "static", "total", "share"], comp_rows, left=2)
    )
    parts.append("</div><div>")
    parts.append("<h4>Latency by category (critical path)</h4>")
    parts.append(_table(["category", "time", "share"], lat_rows))
    parts.append("<h4>Time by phase</h4>")
    parts.append(_table(["phase", "time", "share of latency"], phase_rows))
    parts.append("</div><div>")
    parts.append("<h4>Compute units: busy time and achieved FLOP/s</h4>")
    parts.append(
        _table(["unit", "busy", "busy share of latency", "achieved FLOP/s (busy)", "peak", "of peak"], _unit_rows(run))
    )
    parts.append(
        '<p class="muted">Busy share is the fraction of the latency a unit was running an operator - time, not '
        "FLOPs: a memory-bound operator keeps its unit busy while it waits for bytes. Achieved FLOP/s is the "
        "unit's FLOPs / its busy time, against its peak in the dtype it ran most.</p>"
    )
    if mem_rows:
        parts.append("<h4>Peak memory</h4>")
        parts.append(_table(["memory", "peak", "by tensor class"], mem_rows))
    parts.append(
        f'<p class="muted">{run.operators:,} operators, {fmt_number(run.flops)} FLOPs, '
        f"{run.events:,} events, simulated in {run.wall_s:.2f} s wall.</p>"
    )
    parts.append("</div></div>")
    stem = slug(label)
    if run.timeline_window.description:
        parts.append(f'<p class="muted">Timeline kept: {_e(run.timeline_window.description)}.</p>')
    for prefix, what in (("gantt", "timeline window"), ("roofline", "roofline")):
        png = figures.get(f"{prefix}-{stem}")
        if png is not None:
            parts.append(_img(png, f"{what} of {label}"))
    return "\n".join(parts)


def _hardware_rows(hw: HardwareFacts) -> list[list[str]]:
    def per_flop(value: float) -> str:
        return format_quantity(value, "energy_per_flop")

    def per_byte(value: float) -> str:
        return format_quantity(value, "energy_per_byte")

    def static(watts: float) -> str:
        return f"; static {format_quantity(watts, 'power')}" if watts else ""

    rows = []
    for name, unit in hw.units.items():
        energy = ", ".join(f"{d} {per_flop(v)}" for d, v in unit.energy_per_flop_j.items())
        if unit.register_energy_j_per_flop:
            energy += "; registers " + ", ".join(
                f"{d} {per_flop(v)}" for d, v in unit.register_energy_j_per_flop.items()
            )
        if unit.sram_energy_j_per_byte:
            energy += f"; own SRAM {per_byte(unit.sram_energy_j_per_byte)}"
        rows.append([name, f"compute unit ({unit.kind})", f"per FLOP: {energy}{static(unit.static_power_w)}"])
    for name, mem in hw.memories.items():
        rows.append(
            [
                name,
                f"memory ({mem.level})",
                f"read {per_byte(mem.read_energy_j_per_byte)}, write {per_byte(mem.write_energy_j_per_byte)}"
                + static(mem.static_power_w),
            ]
        )
    for link in hw.links:
        rows.append([f"{link.between[0]} ↔ {link.between[1]}", "link", f"energy {per_byte(link.energy_j_per_byte)}"])
    if hw.static_power_w:
        rows.append(["system", "uncore / board", f"static {format_quantity(hw.static_power_w, 'power')}"])
    if hw.active_idle_power_w:
        idle = format_quantity(hw.active_idle_power_w, "power")
        rows.append(["active_idle", "clocked up, the whole run", f"power {idle}"])
    return rows


def assumptions_html(result: ScenarioResult) -> str:
    """The model-assumptions section: the energy model and each architecture's energy numbers with sources."""
    parts = ["<ul>" + "".join(f"<li>{item}</li>" for item in _ENERGY_MODEL) + "</ul>"]
    shown: set[str] = set()
    for run in result.runs:
        hw = run.hardware
        if not hw.name or hw.name in shown:
            continue
        shown.add(hw.name)
        parts.append(f"<h3>{_e(hw.name)}</h3>")
        if hw.description:
            parts.append(f"<p>{_e(hw.description)}</p>")
        parts.append(_table(["component", "kind", "energy numbers"], _hardware_rows(hw), left=3))
        if hw.sources:
            parts.append("<p><b>Sources</b></p><ol>" + "".join(f"<li>{_e(s)}</li>" for s in hw.sources) + "</ol>")
        else:
            parts.append('<p class="bad">No sources given for this architecture\'s numbers.</p>')
    runtime = result.runtime
    if runtime is not None:
        parts.append(f"<h3>Runtime: {_e(runtime.name)}</h3>")
        if runtime.description:
            parts.append(f"<p>{_e(runtime.description)}</p>")
        parts.append(
            f"<p>per-kernel overhead (host): {_e(_t(runtime.per_kernel_overhead_s))}; kernel launch (device): "
            f"{_e(_t(runtime.kernel_launch_latency_s))}</p>"
        )
        if runtime.sources:
            parts.append("<ol>" + "".join(f"<li>{_e(s)}</li>" for s in runtime.sources) + "</ol>")
    if not shown:
        parts.append('<p class="muted">No run carries hardware facts.</p>')
    return "\n".join(parts)


def render_html(result: ScenarioResult, *, figures: Mapping[str, bytes] | None = None) -> str:
    """The report as one HTML string; ``figures`` are PNG bytes by stem (default: the standard figures, rendered)."""
    if figures is None:
        figures = {stem: plots.figure_bytes(fig) for stem, fig in plots.standard_figures(result).items()}
    title = f"hetsim report — {result.scenario}"
    labels = run_labels(result.runs)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    if result.description:
        out.append(f"<p>{_e(result.description)}</p>")
    out.append(
        f'<p class="muted">hetsim {_e(result.hetsim_version)} · {len(result.runs)} run(s)</p>'
        '<nav><a href="#summary">Summary</a>'
        + ('<a href="#comparison">Comparison</a>' if len(result.runs) > 1 else "")
        + '<a href="#runs">Runs</a><a href="#assumptions">Model assumptions</a>'
        '<a href="#scenario">Resolved scenario</a></nav>'
    )
    out.append('<h2 id="summary">Summary</h2>')
    out.append(_table(summary_headers(result), summary_rows(result), left=3))
    out.append(
        '<p class="muted">DM share: data-movement share of each run\'s energy; of roofline: the roofline '
        "latency bound / latency (100% = the run reaches its bound).</p>"
    )
    for stem, alt in (("energy", "energy breakdown"), ("latency", "latency breakdown")):
        if stem in figures:
            out.append(_img(figures[stem], alt))
    if len(result.runs) > 1:
        out.append('<h2 id="comparison">Comparison</h2>')
        out.append(f"<p>Ratios are to the first run, <b>{_e(labels[0])}</b>.</p>")
        out.append(_comparison_html(result))
        if "comparison" in figures:
            out.append(_img(figures["comparison"], "comparison"))
    out.append('<h2 id="runs">Runs</h2>')
    for run, label in zip(result.runs, run_labels(result.runs, sep="-"), strict=True):
        out.append(_run_section(run, label, figures))
    out.append('<h2 id="assumptions">Model assumptions</h2>')
    out.append(assumptions_html(result))
    out.append('<h2 id="scenario">Resolved scenario</h2>')
    out.append('<p class="muted">Every default filled in; this YAML loads again and gives the same runs.</p>')
    text = yaml.safe_dump(dict(result.resolved), sort_keys=False, allow_unicode=True) if result.resolved else "{}\n"
    out.append(f"<pre>{_e(text)}</pre>")
    out.append("</body></html>")
    return "\n".join(out)


def write_html(result: ScenarioResult, path: str | Path, *, figures: Mapping[str, bytes] | None = None) -> Path:
    """Write :func:`render_html` to ``path`` safely (:mod:`simulator.outputs`); returns the path."""
    from simulator.outputs import OutputFolder

    target = Path(path)
    with OutputFolder(target.parent) as folder:
        return folder.write_text(target.name, render_html(result, figures=figures))
