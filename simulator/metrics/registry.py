"""The metrics registry: the single typed contract between a run's result and everything downstream.

Each scalar metric of a :class:`~simulator.metrics.result.RunResult` is one :class:`Metric`
descriptor here: its column name (which carries its unit), a label, the unit, how to read it from
a run, which direction is better, a description, and whether it scales with the work done (then it
can be divided per output token or per frame). ``results.json``, ``results.csv``, the terminal and
HTML summary tables, ``hetsim compare``, the sweep's columns and Parquet export, the golden tests
and ``docs/metrics.md`` all iterate :data:`METRICS`. Adding a metric is one descriptor (plus its
computation, if the run does not already hold it).

Values are SI floats, or ``None`` where a metric does not apply (the TPOT of a CNN). Non-finite
values (a ``1e308 s`` latency divided by zero work) are never displayed as ``inf``/``nan%``:
:func:`format_value` shows them as ``—``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from simulator.units import format_quantity

if TYPE_CHECKING:
    from simulator.metrics.result import RunResult

Better = Literal["lower", "higher"] | None
#: What an extensive metric can be divided by: each output token (batch × tokens per sequence) or each frame.
Per = Literal["run", "token", "frame"]
PER_CHOICES: tuple[Per, ...] = ("run", "token", "frame")

#: Identity columns that precede the metrics in every flat row (CSV, sweep, Parquet).
IDENTITY_COLUMNS: tuple[str, ...] = ("architecture", "workload", "kind")

#: Tags of a metric. ``summary``: a column of the terminal and HTML summary tables; ``compare``: a
#: row of ``hetsim compare``; ``simulator``: about the simulator's own run (wall time, events), not
#: the modelled system; such metrics are not deterministic or not part of the model's answer.
Tag = Literal["summary", "compare", "simulator"]


@dataclass(frozen=True)
class Metric:
    """One scalar metric of a run: how to name, read, order, normalise and display it."""

    name: str
    label: str
    unit: str
    read: Callable[[RunResult], float | None]
    better: Better
    description: str
    #: dimension for :func:`simulator.units.format_quantity` (``time``, ``energy``, ``power``, ``size``)
    dimension: str | None = None
    #: scales with the work a run does (whole-run energy, latency, FLOPs): divisible per token or frame
    extensive: bool = False
    tags: frozenset[Tag] = frozenset({"compare"})
    #: short header for the summary tables
    short: str = ""
    #: already divided by this (``energy_per_token_j``): left out of a comparison normalised the same way
    normalised: Per = "run"

    @property
    def header(self) -> str:
        """The column header of a summary table."""
        return self.short or self.label

    def value(self, run: RunResult, per: Per = "run") -> float | None:
        """The metric of ``run``, divided by the run's output tokens or frames when ``per`` asks (extensive ones).

        ``None`` when the metric does not apply, or when ``per`` does not apply to the run (frames of an
        LLM run). An intensive metric (TPOT, a share) is returned as is for any ``per``.
        """
        value = self.read(run)
        if value is None or per == "run" or not self.extensive:
            return value
        units = work_units(run, per)
        return None if units is None else value / units


def row_value(row: Mapping[str, Any], name: str, per: Per = "run") -> float | None:
    """Metric ``name`` of a flat row (:func:`flat_row`, a sweep row), divided per token or frame when asked.

    The row's ``output_tokens``/``frames`` columns are the divisors; ``None`` when the value or the
    divisor is missing, or the value is not a finite number.
    """
    m = metric(name)
    value = row.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return None
    if per == "run" or not m.extensive:
        return float(value)
    units = row.get("output_tokens" if per == "token" else "frames")
    if not isinstance(units, int | float) or not units > 0:
        return None
    return float(value) / float(units)


def work_units(run: RunResult, per: Per) -> float | None:
    """Output tokens (batch × tokens per sequence) or frames of a run; ``None`` when the run has none."""
    if per == "token":
        tokens = run.batch * run.tokens_per_sequence
        return tokens if run.tokens_per_s is not None and tokens > 0 else None
    if per == "frame":
        if run.fps is None or not run.fps > 0 or not run.latency_s > 0:
            return None
        frames = run.fps * run.latency_s
        return frames if math.isfinite(frames) and frames > 0 else None
    return 1.0


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 and math.isfinite(num) and math.isfinite(den) else None


def _peak_memory(run: RunResult) -> float:
    return float(sum(m.get("total", 0) for m in run.peak_memory_bytes.values()))


def _serving(key: str) -> Callable[[RunResult], float | None]:
    """A reader of one serving metric (``None`` for runs that are not ``kind: serving``)."""

    def read(run: RunResult) -> float | None:
        value = run.serving.get(key) if run.serving is not None else None
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    return read


_S: frozenset[Tag] = frozenset({"summary", "compare"})
_C: frozenset[Tag] = frozenset({"compare"})
_SIM: frozenset[Tag] = frozenset({"simulator"})

#: Every scalar metric, in column order.
METRICS: tuple[Metric, ...] = (
    Metric(
        "latency_s", "latency", "s", lambda r: r.latency_s, "lower",
        "end-to-end simulated time of the run, first issue to last operator finish",
        "time", extensive=True, tags=_S,
    ),
    Metric(
        "ttft_s", "time to first token", "s", lambda r: r.ttft_s, "lower",
        "time until the first output token is sampled (LLM workloads)", "time", tags=_S, short="TTFT",
    ),
    Metric(
        "tpot_s", "time per output token", "s", lambda r: r.tpot_s, "lower",
        "(latency - TTFT) / tokens generated after the first (LLM workloads)", "time", tags=_S, short="TPOT",
    ),
    Metric(
        "tokens_per_s", "tokens/s", "tokens/s", lambda r: r.tokens_per_s, "higher",
        "batch × tokens per sequence / latency (LLM workloads)", tags=_S,
    ),
    Metric(
        "fps", "frames/s", "frames/s", lambda r: r.fps, "higher",
        "frames / latency (CNN workloads)", tags=_S, short="FPS",
    ),
    Metric(
        "energy_total_j", "energy total", "J", lambda r: r.energy.total_j, "lower",
        "all energy of the run: compute + data movement + static", "energy", extensive=True, tags=_S,
        short="energy",
    ),
    Metric(
        "energy_compute_j", "energy compute", "J", lambda r: r.energy.compute_j, "lower",
        "FLOPs × energy per FLOP of the unit and dtype", "energy", extensive=True,
    ),
    Metric(
        "energy_data_movement_j", "energy data movement", "J", lambda r: r.energy.data_movement_j, "lower",
        "bytes × (home memory read/write energy per byte + link energy per byte on the route)", "energy",
        extensive=True,
    ),
    Metric(
        "energy_static_j", "energy static", "J", lambda r: r.energy.static_j, "lower",
        "static power of every component and the uncore × latency", "energy", extensive=True,
    ),
    Metric(
        "energy_inter_device_j", "energy between chips", "J", lambda r: r.energy_inter_device_j, "lower",
        "data-movement energy on the links between chips (NVLink, NVSwitch ports, PCIe, NVLink-C2C): bytes × "
        "energy per byte of each system-level link crossed; part of energy data movement", "energy",
        extensive=True,
    ),
    Metric(
        "data_movement_share", "data movement share of energy", "fraction",
        lambda r: _ratio(r.energy.data_movement_j, r.energy.total_j), None,
        "data-movement energy / total energy", tags=_S, short="DM share",
    ),
    Metric(
        "energy_per_token_j", "energy per token", "J",
        lambda r: _ratio(r.energy.total_j, work_units(r, "token") or 0.0), "lower",
        "total energy / (batch × tokens per sequence) (LLM workloads)", "energy", normalised="token",
    ),
    Metric(
        "energy_per_frame_j", "energy per frame", "J",
        lambda r: _ratio(r.energy.total_j, work_units(r, "frame") or 0.0), "lower",
        "total energy / frames (CNN workloads)", "energy", normalised="frame",
    ),
    Metric(
        "avg_power_w", "average power", "W", lambda r: _ratio(r.energy.total_j, r.latency_s), "lower",
        "total energy / latency: the mean power the run draws", "power",
    ),
    Metric(
        "peak_memory_bytes", "peak memory", "B", _peak_memory, "lower",
        "sum over memories of each memory's peak resident bytes (weights, KV cache, activations)", "size",
    ),
    Metric(
        "roofline_latency_s", "roofline latency bound", "s", lambda r: r.roofline_latency_s, "lower",
        "max(FLOPs / peak of the capable units, compulsory off-chip bytes / bandwidth): no run is faster",
        "time", extensive=True,
    ),
    Metric(
        "roofline_fraction", "roofline fraction", "fraction",
        lambda r: _ratio(r.roofline_latency_s, r.latency_s), "higher",
        "roofline latency bound / latency: 100 % means the run reaches its bound", tags=_S, short="of roofline",
    ),
    Metric(
        "flops", "FLOPs", "FLOP", lambda r: r.flops, None,
        "floating-point operations of the run (a multiply-accumulate is two)", extensive=True,
    ),
    Metric(
        "output_tokens", "output tokens", "tokens", lambda r: work_units(r, "token"), None,
        "batch × tokens per sequence: the tokens the run produced (LLM workloads)",
    ),
    Metric(
        "frames", "frames", "frames", lambda r: work_units(r, "frame"), None,
        "frames processed (CNN workloads)",
    ),
    # serving runs (kind: serving, docs/serving.md): requests arriving at a batching engine
    Metric(
        "requests_per_s", "requests/s", "requests/s", _serving("requests_per_s"), "higher",
        "completed requests / span (time 0 to the last completion) of a serving run",
    ),
    *(
        Metric(
            f"{what}_p{q}_s", f"{label} p{q}", "s", _serving(f"{what}_p{q}_s"), "lower",
            f"{q}th percentile over a serving run's requests of {text}", "time", short=f"{what.upper()} p{q}",
        )
        for what, label, text in (
            ("ttft", "time to first token", "first token − arrival"),
            ("tpot", "time per output token", "(finish − first token) / (output tokens − 1)"),
            ("e2e", "end-to-end latency", "finish − arrival"),
        )
        for q in (50, 90, 99)
    ),
    Metric(
        "goodput_requests_per_s", "goodput", "requests/s", _serving("goodput_requests_per_s"), "higher",
        "requests meeting both SLO targets (slo.ttft, slo.tpot) / span of a serving run",
    ),
    Metric(
        "slo_attainment", "SLO attainment", "fraction", _serving("slo_attainment"), "higher",
        "share of a serving run's completed requests meeting both SLO targets",
    ),
    Metric(
        "offered_rate_per_s", "offered load", "requests/s", _serving("offered_rate_per_s"), None,
        "arrival rate of a serving run (the process's rate, or requests / last arrival of a trace)",
    ),
    Metric(
        "completed_requests", "completed requests", "requests", _serving("completed_requests"), None,
        "requests a serving run completed",
    ),
    Metric(
        "rejected_requests", "rejected requests", "requests", _serving("rejected_requests"), "lower",
        "requests a serving run turned away because they could never fit (reasons in results.json)",
    ),
    Metric(
        "preemptions", "preemptions", "", _serving("preemptions"), "lower",
        "sequences a serving run preempted when KV-cache blocks ran out (recompute or swap)",
    ),
    Metric(
        "mean_batch_sequences", "mean batch", "sequences", _serving("mean_batch_sequences"), None,
        "sequences per step of a serving run, time-weighted over its span (idle time counts as 0)",
    ),
    Metric(
        "max_batch_sequences", "max batch", "sequences", _serving("max_batch_sequences"), None,
        "most sequences in one step of a serving run",
    ),
    Metric(
        "mean_kv_occupancy", "mean KV-cache occupancy", "fraction", _serving("mean_kv_occupancy"), None,
        "KV-cache blocks in use / the pool, time-weighted over a serving run's span",
    ),
    Metric(
        "peak_kv_occupancy", "peak KV-cache occupancy", "fraction", _serving("peak_kv_occupancy"), None,
        "most KV-cache blocks in use at once / the pool, in a serving run",
    ),
    Metric(
        "busy_fraction", "busy fraction", "fraction", _serving("busy_fraction"), None,
        "share of a serving run's span spent running steps (the rest: waiting for requests or swaps)",
    ),
    Metric(
        "operators", "operators", "", lambda r: float(r.operators), None,
        "operators simulated", tags=_SIM,
    ),
    Metric(
        "events", "SimPy events", "", lambda r: float(r.events), None,
        "discrete events the simulator processed", tags=_SIM,
    ),
    Metric(
        "wall_s", "simulator wall time", "s", lambda r: r.wall_s, "lower",
        "wall-clock time the simulation took (not simulated time)", "time", tags=_SIM,
    ),
)  # fmt: skip

BY_NAME: Mapping[str, Metric] = {m.name: m for m in METRICS}


def metric(name: str) -> Metric:
    """The descriptor called ``name`` (``KeyError`` naming the known ones otherwise)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(BY_NAME)}") from None


def tagged(tag: Tag) -> tuple[Metric, ...]:
    """The metrics carrying ``tag``, in column order."""
    return tuple(m for m in METRICS if tag in m.tags)


def model_metrics() -> tuple[Metric, ...]:
    """Metrics of the modelled system (deterministic): every metric not tagged ``simulator``."""
    return tuple(m for m in METRICS if "simulator" not in m.tags)


def flat_columns() -> tuple[str, ...]:
    """Columns of a flat row (``results.csv``, sweep rows, Parquet): identity then every metric."""
    return (*IDENTITY_COLUMNS, *(m.name for m in METRICS))


def sweep_columns() -> tuple[str, ...]:
    """Metric columns a sweep stores and exports per run, in order (identity columns excluded)."""
    return tuple(m.name for m in METRICS)


def flat_row(run: RunResult) -> dict[str, Any]:
    """Identity and every metric of ``run`` in one flat mapping (``None`` where a metric does not apply)."""
    row: dict[str, Any] = {"architecture": run.architecture, "workload": run.workload, "kind": run.kind}
    for m in METRICS:
        row[m.name] = m.read(run)
    return row


def fmt_number(value: float) -> str:
    """A compact, readable number: ``1234`` → ``1,234``, ``0.01234`` → ``0.0123``."""
    if value == 0:
        return "0"
    if 1000 <= abs(value) < 1e7:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def fmt_ratio(ratio: float) -> str:
    """A ratio between two runs: ``0.5`` → ``0.50×``; below 0.1, two significant digits."""
    if not math.isfinite(ratio):
        return "—"
    return f"{ratio:.2f}×" if ratio == 0 or abs(ratio) >= 0.1 else f"{ratio:.2g}×"


def format_value(m: Metric, value: float | None, *, digits: int = 4) -> str:
    """A metric value for display: readable prefixes, fractions as percentages, ``—`` when absent or not finite."""
    if value is None or not math.isfinite(value):
        return "—"
    if m.unit == "fraction":
        return f"{100 * value:.1f}%"
    if m.dimension is not None:
        return f"0 {m.unit}" if value == 0 else format_quantity(value, m.dimension, digits=digits)
    return f"{fmt_number(value)} {m.unit}".rstrip()


def unit_label(m: Metric, per: Per = "run") -> str:
    """The unit as a header shows it, e.g. ``J/token`` for a whole-run energy divided per token."""
    unit = "%" if m.unit == "fraction" else m.unit
    if per != "run" and m.extensive:
        return f"{unit}/{per}" if unit else f"per {per}"
    return unit


def markdown_table(metrics: Iterable[Metric] = METRICS) -> str:
    """The metrics as a Markdown table (``docs/metrics.md`` is generated from it)."""
    lines = [
        "| column | unit | better | per token / frame | description |",
        "|---|---|---|---|---|",
    ]
    for m in metrics:
        unit = "1 (fraction)" if m.unit == "fraction" else (m.unit or "count")
        per = "yes" if m.extensive else ""
        lines.append(f"| `{m.name}` | {unit} | {m.better or ''} | {per} | {m.description} |")
    return "\n".join(lines) + "\n"


def parquet_field_docs() -> dict[str, str]:
    """Column name -> ``"<description> [unit]"``, for Parquet schema metadata."""
    docs = {
        "architecture": "architecture name",
        "workload": "workload label",
        "kind": "workload kind (baseline, medusa, snapkv, skynet, ...)",
    }
    for m in METRICS:
        docs[m.name] = f"{m.description} [{'fraction' if m.unit == 'fraction' else m.unit or 'count'}]"
    return docs


_PAGE_HEADER = """\
# Metrics

<!-- GENERATED by `python -m tools.docsgen` from simulator/metrics/registry.py: do not edit by hand. -->

Every scalar metric hetsim reports for a run, from one registry (`simulator/metrics/registry.py`). The
same list, in this order, is the columns of `results.csv`, the scalar keys of each run in `results.json`,
the per-run columns of a sweep (`sweep.csv`, the sweep store, Parquet export), the rows of
`hetsim compare`, and (the `summary` ones) the columns of the summary tables in the terminal and in
`report.html`. Column names carry their unit. An empty cell (`null` in JSON) means the metric does not
apply to the run (TPOT of a CNN) or is not a finite number.

- **better**: which direction is an improvement (`hetsim compare` colours ratios by it).
- **per token / frame**: the metric scales with the work the run does. `hetsim compare --per token`
  (or `--per frame`) divides it by the run's output tokens (batch × tokens per sequence) or frames,
  so a bigger batch is not made to look worse for doing more work; the Pareto front of a sweep can be
  normalised the same way.
- Fractions (`1 (fraction)`) are shown as percentages; `roofline_fraction` is the one way the
  distance to the roofline bound is shown (100 % = the run reaches its bound).

Besides these scalars, `results.json` holds per run the breakdowns (energy by component, phase and
operator kind, latency by critical-path category and phase, busy time per unit, peak memory per
memory and tensor class, per (phase, kind, unit, dtype) operator totals, the timeline window kept)
and the simulated hardware's facts (peaks, bandwidths, energies, link names) the reports use.

Adding a metric: one `Metric(...)` descriptor in `METRICS` (plus its computation, if the run does
not already hold it), then `make docs`.

"""


def metrics_page() -> str:
    """The text of ``docs/metrics.md``: the page's introduction and :func:`markdown_table`."""
    summary = ", ".join(f"`{m.name}`" for m in tagged("summary"))
    return _PAGE_HEADER + markdown_table() + f"\nSummary-table metrics: {summary}.\n"
