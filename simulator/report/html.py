"""A self-contained ``report.html``: summary, comparison, per-run breakdowns, model assumptions, resolved scenario.

One file, viewable offline: the CSS is inline and every plot is embedded as a base64 PNG
(``data:`` URI); nothing is fetched from the network. The model-assumptions section states the
energy model and lists, per architecture, which components carry energy numbers and the sources
those numbers come from (the resolved architectures' ``sources``).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from matplotlib.figure import Figure

from simulator.metrics.result import LATENCY_CATEGORIES, RunResult, ScenarioResult
from simulator.report import plots
from simulator.report.compare import comparison_columns, comparison_table, format_value, ratio_verdict
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


def figure_data_uri(fig: Figure, *, dpi: int = 110) -> str:
    """``data:image/png;base64,...`` of a figure, for embedding without external files."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(fig: Figure, alt: str) -> str:
    return f'<img src="{figure_data_uri(fig)}" alt="{_e(alt)}">'


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
    return "—" if value is None else format_quantity(value, "time")


def _j(value: float | None) -> str:
    if value is None:
        return "—"
    return "0 J" if value == 0 else format_quantity(value, "energy")


def _n(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{plots.fmt_number(value)}{(' ' + unit) if unit else ''}"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole > 0 else "—"


def summary_rows(result: ScenarioResult) -> list[list[str]]:
    """One row per run for the summary table (display strings)."""
    rows = []
    for run in result.runs:
        e = run.energy
        rows.append(
            [
                run.architecture,
                run.workload,
                run.kind,
                _t(run.latency_s),
                _t(run.ttft_s),
                _t(run.tpot_s),
                _n(run.tokens_per_s),
                _n(run.fps),
                _j(e.total_j),
                _pct(e.compute_j, e.total_j),
                _pct(e.data_movement_j, e.total_j),
                _pct(e.static_j, e.total_j),
                f"{run.roofline_latency_s / run.latency_s:.2f}" if run.latency_s > 0 else "—",
            ]
        )
    return rows


_SUMMARY_HEADERS = [
    "architecture",
    "workload",
    "kind",
    "latency",
    "TTFT",
    "TPOT",
    "tokens/s",
    "FPS",
    "energy",
    "compute",
    "data movement",
    "static",
    "roofline / latency",
]


def _comparison_html(result: ScenarioResult) -> str:
    columns = comparison_columns(result)
    rows = []
    for row in comparison_table(result):
        cells = [_e(row["label"])]
        for i, (value, ratio) in enumerate(zip(row["values"], row["ratios"], strict=True)):
            text = _e(format_value(value, row["unit"]))
            if i > 0 and ratio is not None:
                cls = ratio_verdict(ratio, row["better"]) or "muted"
                text += f' <span class="{cls}">({plots.fmt_ratio(ratio)})</span>'
            cells.append(text)
        rows.append(cells)
    return _table(["metric", *(c["label"] for c in columns)], rows, raw=True)


def _run_section(run: RunResult, label: str, result: ScenarioResult, figures: Mapping[str, Figure]) -> str:
    parts = [f'<h3 id="{_e(plots.slug(label))}">{_e(run.architecture)} × {_e(run.workload)}</h3>']
    kinds = plots.component_kinds(run, result.resolved)
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
    util_rows = [[u, _t(run.busy_by_unit_s.get(u, 0.0)), f"{100 * f:.1f}%"] for u, f in run.utilisation.items()]
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
    parts.append("<h4>Compute-unit utilisation</h4>")
    parts.append(_table(["unit", "busy", "utilisation"], util_rows))
    if mem_rows:
        parts.append("<h4>Peak memory</h4>")
        parts.append(_table(["memory", "peak", "by tensor class"], mem_rows))
    parts.append(
        f'<p class="muted">{run.operators:,} operators, {plots.fmt_number(run.flops)} FLOPs, '
        f"{run.events:,} events, simulated in {run.wall_s:.2f} s wall.</p>"
    )
    parts.append("</div></div>")
    stem = plots.slug(label)
    for prefix, what in (("gantt", "timeline window"), ("roofline", "roofline")):
        fig = figures.get(f"{prefix}-{stem}")
        if fig is not None:
            parts.append(_img(fig, f"{what} of {label}"))
    return "\n".join(parts)


def _energy_numbers(kind: str, spec: Mapping[str, Any]) -> str:
    bits = []
    if kind == "unit":
        table = spec.get("energy_per_flop") or spec.get("energy_per_flop_j") or {}
        if isinstance(table, Mapping):
            bits.append("per FLOP: " + ", ".join(f"{k} {v}" for k, v in table.items()))
    elif kind == "memory":
        for key in ("read_energy", "write_energy"):
            if spec.get(key) is not None:
                bits.append(f"{key.replace('_', ' ')} {spec[key]}")
    elif kind == "link" and spec.get("energy") is not None:
        bits.append(f"energy {spec['energy']}")
    if spec.get("static_power") not in (None, 0, "0 W"):
        bits.append(f"static {spec['static_power']}")
    return "; ".join(bits) or "—"


def assumptions_html(result: ScenarioResult) -> str:
    """The model-assumptions section: the energy model and each architecture's energy numbers with sources."""
    parts = ["<ul>" + "".join(f"<li>{item}</li>" for item in _ENERGY_MODEL) + "</ul>"]
    resolved = result.resolved or {}
    archs = resolved.get("architectures") or []
    used = {run.architecture for run in result.runs}
    for arch in archs:
        if not isinstance(arch, Mapping) or (used and arch.get("name") not in used):
            continue
        parts.append(f"<h3>{_e(arch.get('name', '?'))}</h3>")
        if arch.get("description"):
            parts.append(f"<p>{_e(arch['description'])}</p>")
        rows = []
        for name, spec in (arch.get("compute_units") or {}).items():
            if isinstance(spec, Mapping):
                rows.append([name, f"compute unit ({spec.get('kind', '?')})", _energy_numbers("unit", spec)])
        for name, spec in (arch.get("memories") or {}).items():
            if isinstance(spec, Mapping):
                rows.append([name, f"memory ({spec.get('level', '?')})", _energy_numbers("memory", spec)])
        for spec in arch.get("links") or ():
            if isinstance(spec, Mapping):
                between = spec.get("between") or ("?", "?")
                rows.append([f"{between[0]} ↔ {between[1]}", "link", _energy_numbers("link", spec)])
        if arch.get("static_power") not in (None, 0, "0 W"):
            rows.append(["system", "uncore / board", f"static {arch['static_power']}"])
        parts.append(_table(["component", "kind", "energy numbers"], rows, left=3))
        sources = arch.get("sources") or []
        if sources:
            parts.append("<p><b>Sources</b></p><ol>" + "".join(f"<li>{_e(s)}</li>" for s in sources) + "</ol>")
        else:
            parts.append('<p class="bad">No sources given for this architecture\'s numbers.</p>')
    runtime = resolved.get("runtime")
    if isinstance(runtime, Mapping):
        parts.append(f"<h3>Runtime: {_e(runtime.get('name', '?'))}</h3>")
        if runtime.get("description"):
            parts.append(f"<p>{_e(runtime['description'])}</p>")
        parts.append(f"<p>per-kernel overhead: {_e(runtime.get('per_kernel_overhead', 0))}</p>")
        if runtime.get("sources"):
            parts.append("<ol>" + "".join(f"<li>{_e(s)}</li>" for s in runtime["sources"]) + "</ol>")
    if not archs:
        parts.append('<p class="muted">The resolved scenario lists no architectures.</p>')
    return "\n".join(parts)


def render_html(result: ScenarioResult, *, figures: Mapping[str, Figure] | None = None) -> str:
    """The report as one HTML string (figures default to :func:`simulator.report.plots.standard_figures`)."""
    figures = plots.standard_figures(result) if figures is None else figures
    title = f"hetsim report — {result.scenario}"
    description = (result.resolved or {}).get("description", "")
    labels = plots.run_labels(result.runs)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    if description:
        out.append(f"<p>{_e(description)}</p>")
    out.append(
        f'<p class="muted">hetsim {_e(result.hetsim_version)} · {len(result.runs)} run(s)</p>'
        '<nav><a href="#summary">Summary</a>'
        + ('<a href="#comparison">Comparison</a>' if len(result.runs) > 1 else "")
        + '<a href="#runs">Runs</a><a href="#assumptions">Model assumptions</a>'
        '<a href="#scenario">Resolved scenario</a></nav>'
    )
    out.append('<h2 id="summary">Summary</h2>')
    out.append(_table(_SUMMARY_HEADERS, summary_rows(result), left=3))
    out.append(
        '<p class="muted">Energy shares are of each run\'s total; roofline / latency is how close the run '
        "comes to its roofline bound (1.00 = at the bound).</p>"
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
    for run, label in zip(result.runs, plots.run_labels(result.runs, sep="-"), strict=True):
        out.append(_run_section(run, label, result, figures))
    out.append('<h2 id="assumptions">Model assumptions</h2>')
    out.append(assumptions_html(result))
    out.append('<h2 id="scenario">Resolved scenario</h2>')
    out.append('<p class="muted">Every default filled in; this YAML loads again and gives the same runs.</p>')
    text = yaml.safe_dump(dict(result.resolved), sort_keys=False, allow_unicode=True) if result.resolved else "{}\n"
    out.append(f"<pre>{_e(text)}</pre>")
    out.append("</body></html>")
    return "\n".join(out)


def write_html(result: ScenarioResult, path: str | Path, *, figures: Mapping[str, Figure] | None = None) -> Path:
    """Write :func:`render_html` to ``path`` (creating the folder); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(result, figures=figures), encoding="utf-8")
    return out


def write_report(result: ScenarioResult, out_dir: str | Path) -> Path:
    """Write ``<out_dir>/report.html`` (the runner's ``report`` output); returns the path."""
    return write_html(result, Path(out_dir) / "report.html")
