"""The result of one run: metrics, the energy ledger's views and (optionally) a timeline.

Plain frozen data, no behaviour beyond JSON conversion: writers, plots and comparisons read it.
Time is in seconds, energy in joules, memory in bytes (names say so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
    #: link -> bytes that crossed it (both directions, after reuse), whole run
    bytes_by_link: Mapping[str, float] = field(default_factory=dict)
    #: device -> {"busy_s", "utilisation", "comm_s", "energy_j"} (systems of chips only)
    devices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: data-movement energy on links between chips (part of ``energy.data_movement_j``)
    energy_inter_device_j: float = 0.0

    @property
    def utilisation(self) -> dict[str, float]:
        """Busy fraction of the makespan per compute unit."""
        if self.latency_s <= 0:
            return {unit: 0.0 for unit in self.busy_by_unit_s}
        return {unit: busy / self.latency_s for unit, busy in self.busy_by_unit_s.items()}

    def flat_metrics(self) -> dict[str, Any]:
        """Identity and scalar metrics in one flat mapping (rows of CSV files, sweep stores, goldens).

        ``None`` where a metric does not apply (TPOT of a CNN); ``peak_memory_bytes`` is the sum of
        every memory's peak total.
        """
        e = self.energy
        return {
            "architecture": self.architecture,
            "workload": self.workload,
            "kind": self.kind,
            "latency_s": self.latency_s,
            "ttft_s": self.ttft_s,
            "tpot_s": self.tpot_s,
            "tokens_per_s": self.tokens_per_s,
            "fps": self.fps,
            "energy_total_j": e.total_j,
            "energy_compute_j": e.compute_j,
            "energy_data_movement_j": e.data_movement_j,
            "energy_static_j": e.static_j,
            "energy_inter_device_j": self.energy_inter_device_j,
            "peak_memory_bytes": float(sum(m.get("total", 0) for m in self.peak_memory_bytes.values())),
            "roofline_latency_s": self.roofline_latency_s,
            "flops": self.flops,
            "operators": self.operators,
            "events": self.events,
            "wall_s": self.wall_s,
        }

    def to_json(self) -> dict[str, Any]:
        """The ``results.json`` form of one run (timelines are written separately)."""
        return {
            "architecture": self.architecture,
            "workload": self.workload,
            "kind": self.kind,
            "latency_s": self.latency_s,
            "ttft_s": self.ttft_s,
            "tpot_s": self.tpot_s,
            "tokens_per_s": self.tokens_per_s,
            "fps": self.fps,
            "energy_j": self.energy.to_json(),
            "energy_by_component_j": _plain(self.energy_by_component_j),
            "energy_by_phase_j": _plain(self.energy_by_phase_j),
            "energy_by_kind_j": _plain(self.energy_by_kind_j),
            "energy_by_level_j": dict(self.energy_by_level_j),
            "latency_by_category_s": dict(self.latency_by_category_s),
            "latency_by_phase_s": dict(self.latency_by_phase_s),
            "utilisation": self.utilisation,
            "busy_by_unit_s": dict(self.busy_by_unit_s),
            "peak_memory_bytes": _plain(self.peak_memory_bytes),
            "bytes_by_memory": dict(self.bytes_by_memory),
            "bytes_by_link": dict(self.bytes_by_link),
            "devices": _plain(self.devices),
            "energy_inter_device_j": self.energy_inter_device_j,
            "roofline_latency_s": self.roofline_latency_s,
            "flops": self.flops,
            "operators": self.operators,
            "events": self.events,
            "wall_s": self.wall_s,
            "batch": self.batch,
            "tokens_per_sequence": self.tokens_per_sequence,
            "by_kind": _plain(self.by_kind),
            "trace_header": dict(self.header),
        }


def _plain(nested: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {key: dict(value) for key, value in nested.items()}


@dataclass(frozen=True)
class ScenarioResult:
    """All runs of one scenario, with the resolved scenario (every default filled in) for the record."""

    scenario: str
    runs: tuple[RunResult, ...]
    resolved: Mapping[str, Any] = field(default_factory=dict)
    hetsim_version: str = __version__

    def to_json(self) -> dict[str, Any]:
        """The ``results.json`` document."""
        return {
            "hetsim_version": self.hetsim_version,
            "scenario": self.scenario,
            "runs": [run.to_json() for run in self.runs],
        }
