"""The result of one run: metrics, the energy ledger's views and (optionally) a timeline.

Plain frozen data, no behaviour beyond JSON conversion: writers, plots and comparisons read it.
Time is in seconds, energy in joules, memory in bytes (names say so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simulator.metrics.hardware import HardwareFacts, RuntimeFacts
from simulator.version import __version__

#: Energy categories of the ledger. Every joule is in exactly one.
ENERGY_CATEGORIES = ("compute", "data_movement", "static")
#: Latency categories along the critical path; they sum to the run's latency.
LATENCY_CATEGORIES = ("compute", "data_movement", "runtime_overhead", "idle")


@dataclass(frozen=True)
class EnergySplit:
    """Total energy and its three parts (J); the parts sum to the total."""

    compute_j: float
    data_movement_j: float
    static_j: float

    @property
    def total_j(self) -> float:
        """Sum of the parts."""
        return self.compute_j + self.data_movement_j + self.static_j

    def to_json(self) -> dict[str, float]:
        """``{"total", "compute", "data_movement", "static"}`` in joules."""
        return {
            "total": self.total_j,
            "compute": self.compute_j,
            "data_movement": self.data_movement_j,
            "static": self.static_j,
        }


@dataclass(frozen=True, slots=True)
class OpRecord:
    """One executed operator, for timelines and Gantt charts (kept only when asked for)."""

    op_id: int
    name: str
    kind: str
    phase: str
    step: int
    unit: str
    start_s: float
    end_s: float
    compute_s: float
    transfer_s: float
    host_s: float
    flops: float
    bytes: float


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """One transfer over one link, for per-link timeline tracks (kept only when asked for)."""

    op_id: int
    link: str
    start_s: float
    end_s: float
    bytes: float


@dataclass(frozen=True, slots=True)
class OpStats:
    """Whole-run totals of the operators of one phase and kind that ran on one unit in one dtype."""

    phase: str
    kind: str
    unit: str
    dtype: str
    count: int
    flops: float
    #: bytes moved after on-chip reuse
    bytes: float
    #: summed operator durations (operators of one unit never overlap)
    busy_s: float

    def to_json(self) -> dict[str, Any]:
        """A plain mapping of the fields."""
        return {
            "phase": self.phase,
            "kind": self.kind,
            "unit": self.unit,
            "dtype": self.dtype,
            "count": self.count,
            "flops": self.flops,
            "bytes": self.bytes,
            "busy_s": self.busy_s,
        }


@dataclass(frozen=True)
class TimelineWindow:
    """Which operators a run's timeline kept, in words and numbers (stated in every timeline file)."""

    #: ``none``, ``first`` (the first ``limit`` operators), ``steps`` (the steps named in ``steps``) or ``auto``
    mode: str = "none"
    #: the most operators kept per kept step (per run for ``first``)
    limit: int = 0
    #: the steps kept (empty for ``first``/``none``)
    steps: tuple[int, ...] = ()
    #: operators kept in all
    operators: int = 0
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        """A plain mapping of the fields."""
        return {
            "mode": self.mode,
            "limit": self.limit,
            "steps": list(self.steps),
            "operators": self.operators,
            "description": self.description,
        }


@dataclass(frozen=True)
class RunResult:
    """Everything one (architecture, workload) run measured."""

    architecture: str
    workload: str
    kind: str
    latency_s: float
    ttft_s: float | None
    tpot_s: float | None
    tokens_per_s: float | None
    fps: float | None
    energy: EnergySplit
    #: component (unit, memory, link, "system") -> category -> J
    energy_by_component_j: Mapping[str, Mapping[str, float]]
    #: phase -> category -> J (static energy is attributed to phases by their share of time)
    energy_by_phase_j: Mapping[str, Mapping[str, float]]
    #: operator kind -> category -> J (dynamic energy only)
    energy_by_kind_j: Mapping[str, Mapping[str, float]]
    #: critical-path attribution; the values sum to ``latency_s``
    latency_by_category_s: Mapping[str, float]
    #: wall time from each phase's first operator start to its last end, summed over its spans
    latency_by_phase_s: Mapping[str, float]
    #: compute unit -> busy seconds (never more than ``latency_s``)
    busy_by_unit_s: Mapping[str, float]
    #: memory -> tensor class -> peak bytes resident, plus "total"
    peak_memory_bytes: Mapping[str, Mapping[str, int]]
    #: memory -> bytes read and written there
    bytes_by_memory: Mapping[str, float]
    roofline_latency_s: float
    flops: float
    operators: int
    events: int
    wall_s: float
    batch: int
    tokens_per_sequence: float
    header: Mapping[str, Any] = field(default_factory=dict)
    #: operator kind -> {"count", "flops", "bytes" (moved, after reuse), "busy_s" (summed durations)}, whole run
    by_kind: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: level the energy was spent at -> J (register, sram, cache, hbm/dram, link; compute; static); sums to the total
    energy_by_level_j: Mapping[str, float] = field(default_factory=dict)
    timeline: tuple[OpRecord, ...] = ()
    flow_timeline: tuple[FlowRecord, ...] = ()
    #: whole-run totals per (phase, kind, unit, dtype); the roofline per phase and achieved FLOP/s per unit
    op_stats: tuple[OpStats, ...] = ()
    #: what the timeline kept (see :class:`TimelineWindow`)
    timeline_window: TimelineWindow = field(default_factory=TimelineWindow)
    #: the simulated hardware, typed (peaks, roofs, component kinds, link names): reports read this, never YAML
    hardware: HardwareFacts = field(default_factory=HardwareFacts)
    #: link -> bytes that crossed it (both directions, after reuse), whole run
    bytes_by_link: Mapping[str, float] = field(default_factory=dict)
    #: device -> {"busy_s", "utilisation", "comm_s", "energy_j"} (systems of chips only)
    devices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: data-movement energy on links between chips (part of ``energy.data_movement_j``)
    energy_inter_device_j: float = 0.0
    #: serving runs only (``kind: serving``): the serving metrics (``requests_per_s``, ``ttft_p50_s``, …, read by
    #: the registry, see :mod:`simulator.serving.metrics`), plus ``series`` (per-step time series) and
    #: ``rejections`` (why requests were turned away)
    serving: Mapping[str, Any] | None = None

    @property
    def utilisation(self) -> dict[str, float]:
        """Busy fraction of the makespan per compute unit: time busy, not FLOPs against peak.

        A memory-bound operator keeps its unit busy while it waits for bytes, so a unit can be 100 %
        busy at 1 % of its peak FLOP/s: see :meth:`achieved_flops_per_s`.
        """
        if self.latency_s <= 0:
            return {unit: 0.0 for unit in self.busy_by_unit_s}
        return {unit: busy / self.latency_s for unit, busy in self.busy_by_unit_s.items()}

    @property
    def flops_by_unit(self) -> dict[str, float]:
        """FLOPs each compute unit executed (from :attr:`op_stats`; empty when the engine kept none)."""
        out: dict[str, float] = {}
        for s in self.op_stats:
            out[s.unit] = out.get(s.unit, 0.0) + s.flops
        return out

    def achieved_flops_per_s(self) -> dict[str, float]:
        """Per unit, FLOPs / busy time: the rate the unit ran at while busy (compare with its peak)."""
        return {
            unit: flops / self.busy_by_unit_s[unit]
            for unit, flops in self.flops_by_unit.items()
            if self.busy_by_unit_s.get(unit, 0.0) > 0
        }

    def flat_metrics(self) -> dict[str, Any]:
        """Identity and every registry metric in one flat mapping (rows of CSV files, sweep stores, goldens).

        The columns are :func:`simulator.metrics.registry.flat_columns`; ``None`` where a metric does
        not apply (TPOT of a CNN).
        """
        from simulator.metrics.registry import flat_row

        return flat_row(self)

    def to_json(self) -> dict[str, Any]:
        """The ``results.json`` form of one run: identity, every registry metric, then the breakdowns."""
        return {
            **self.flat_metrics(),
            "energy_j": self.energy.to_json(),
            "energy_by_component_j": _plain(self.energy_by_component_j),
            "energy_by_phase_j": _plain(self.energy_by_phase_j),
            "energy_by_kind_j": _plain(self.energy_by_kind_j),
            "energy_by_level_j": dict(self.energy_by_level_j),
            "latency_by_category_s": dict(self.latency_by_category_s),
            "latency_by_phase_s": dict(self.latency_by_phase_s),
            "utilisation": self.utilisation,
            "busy_by_unit_s": dict(self.busy_by_unit_s),
            "peak_memory_bytes_by_memory": _plain(self.peak_memory_bytes),
            "bytes_by_memory": dict(self.bytes_by_memory),
            "bytes_by_link": dict(self.bytes_by_link),
            "devices": _plain(self.devices),
            "batch": self.batch,
            "tokens_per_sequence": self.tokens_per_sequence,
            "by_kind": _plain(self.by_kind),
            "op_stats": [s.to_json() for s in self.op_stats],
            "timeline_window": self.timeline_window.to_json(),
            "hardware": self.hardware.to_json(),
            "trace_header": dict(self.header),
            **self._serving_json(),
        }

    def _serving_json(self) -> dict[str, Any]:
        """A serving run's time series and rejections (its scalar metrics are registry columns)."""
        if self.serving is None:
            return {}
        return {"serving": {k: v for k, v in self.serving.items() if isinstance(v, Mapping | list | tuple)}}


def _plain(nested: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {key: dict(value) for key, value in nested.items()}


@dataclass(frozen=True)
class ScenarioResult:
    """All runs of one scenario, with the resolved scenario (every default filled in) for the record.

    ``resolved`` is kept to be written back (``scenario.resolved.yaml``) and shown verbatim; reports
    read the typed fields (each run's :attr:`RunResult.hardware`, :attr:`runtime`), never its keys.
    """

    scenario: str
    runs: tuple[RunResult, ...]
    resolved: Mapping[str, Any] = field(default_factory=dict)
    hetsim_version: str = __version__
    #: what the scenario teaches (its ``description``)
    description: str = ""
    #: the runtime profile every run used (``None``: a bare ideal runtime)
    runtime: RuntimeFacts | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``results.json`` document."""
        return {
            "hetsim_version": self.hetsim_version,
            "scenario": self.scenario,
            "runs": [run.to_json() for run in self.runs],
        }
