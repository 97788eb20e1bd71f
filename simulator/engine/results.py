"""Result assembly: the run's running totals while it replays, and the :class:`RunResult` at the end.

Per finished operator the engine calls :meth:`RunTotals.finished` (kind statistics, energy count,
phase span, first token, timeline records). Totals that depend only on the operator's signature
(operators, FLOPs, roofline terms, bytes per memory) are counted on the signature's cached cost
(``cost.runs``) and multiplied out when the cache is folded (:meth:`RunTotals.fold`), so they cost
nothing per operator.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from simulator.engine.attribution import LatencySplit, by_category
from simulator.engine.capacity import Capacity
from simulator.engine.mapping import OpCost
from simulator.hardware.system import System
from simulator.metrics.devices import device_metrics, inter_device_energy_j
from simulator.metrics.hardware import hardware_facts
from simulator.metrics.ledger import Ledger
from simulator.metrics.result import FlowRecord, OpRecord, OpStats, RunResult
from simulator.metrics.window import TimelineRecorder
from workloads.trace import Operator, Trace

if TYPE_CHECKING:
    from simulator.config.architecture import ArchitectureSpec


class Span:
    """A contiguous run of one phase's operators: its first start and last finish."""

    __slots__ = ("end_s", "phase", "start_s")

    def __init__(self, phase: str) -> None:
        self.phase = phase
        self.start_s = float("inf")
        self.end_s = 0.0


class RunTotals:
    """What a run accumulates for its result: counts, energy, phases, tokens, timeline."""

    def __init__(self, system: System, ledger: Ledger, recorder: TimelineRecorder) -> None:
        self.system = system
        self.ledger = ledger
        self.operators = 0
        self.flops = 0.0
        self.roof_compute_s = 0.0
        self.roof_bytes: dict[str, float] = {}
        self.mem_bytes: dict[str, float] = {}
        self.link_bytes: dict[str, float] = {}
        #: (phase, kind, unit, dtype) -> [count, flops, bytes moved, busy seconds]
        self.kind_stats: dict[tuple[str, str, str, str], list[float]] = {}
        self.tokens = 0.0
        self.first_token_id: int | None = None
        self.first_tokens = 0.0
        self.ttft: float | None = None
        self.spans: list[Span] = []
        self.phase: str | None = None
        #: which operators keep timeline records (the timeline window)
        self.recorder = recorder

    # -- while issuing -----------------------------------------------------------------------

    def span_of(self, op: Operator) -> Span:
        """The phase span an issued operator belongs to (a new one when the phase changes)."""
        if op.phase != self.phase:
            self.phase = op.phase
            self.spans.append(Span(op.phase))
        return self.spans[-1]

    def issued_tokens(self, op: Operator) -> None:
        """Count an issued operator's output tokens (the first one marks time to first token)."""
        self.tokens += op.tokens
        if self.first_token_id is None:
            self.first_token_id = op.id
            self.first_tokens = op.tokens

    # -- per finished operator ---------------------------------------------------------------

    def finished(self, op: Operator, cost: OpCost, start_s: float, now: float) -> None:
        """Account one finished operator: kind statistics, energy count, signature totals, phase end."""
        stats_key = (op.phase, op.kind, cost.unit, op.dtype)
        ks = self.kind_stats.get(stats_key)
        if ks is None:
            ks = self.kind_stats[stats_key] = [0.0, 0.0, 0.0, 0.0]
        ks[0] += 1
        ks[1] += cost.flops
        ks[2] += cost.transfer_bytes
        ks[3] += now - start_s
        counts = self.ledger.counts  # energy: counted per (signature energy, phase), in joules at the end
        key = (cost.energy, op.phase)
        counts[key] = counts.get(key, 0) + 1
        if cost.evicted:
            self.tally(cost, 1)
        else:
            cost.runs += 1
        if op.id == self.first_token_id:
            self.ttft = now

    def record(
        self,
        op: Operator,
        cost: OpCost,
        host_s: float,
        records: list[tuple[tuple[int, ...], float, float, float]],
        transfer_s: float,
        start_s: float,
        now: float,
    ) -> None:
        """Hand the timeline records of a finished operator and of its flows over links to the window."""
        record = OpRecord(
            op.id,
            op.name,
            op.kind,
            op.phase,
            op.step,
            cost.unit,
            start_s,
            now,
            cost.compute_s,
            transfer_s,
            host_s,
            op.flops,
            cost.transfer_bytes,
        )
        names = self.system.resource_names
        flows = [
            FlowRecord(op.id, names[r], start, end, nbytes)
            for resources, start, end, nbytes in records
            for r in resources
            if "->" in names[r]
        ]
        self.recorder.add(record, flows)

    # -- signature totals --------------------------------------------------------------------

    def tally(self, cost: OpCost, n: int) -> None:
        """Add ``n`` finished operators of ``cost`` to the run's totals."""
        if not n:
            return
        self.operators += n
        self.flops += cost.flops * n
        self.roof_compute_s += cost.roofline_compute_s * n
        for mem, b in cost.roofline_bytes:
            self.roof_bytes[mem] = self.roof_bytes.get(mem, 0.0) + b * n
        for mem, b in cost.memory_bytes:
            self.mem_bytes[mem] = self.mem_bytes.get(mem, 0.0) + b * n
        for link, b in cost.link_bytes:
            self.link_bytes[link] = self.link_bytes.get(link, 0.0) + b * n

    def fold(self, costs: Iterable[OpCost], evict: bool) -> None:
        """Tally the finished runs of ``costs``; ``evict`` also marks them evicted (tallied as they finish)."""
        for cost in costs:
            self.tally(cost, cost.runs)
            cost.runs = 0
            if evict:
                cost.evicted = True

    # -- the result --------------------------------------------------------------------------

    def assemble(
        self,
        *,
        arch: ArchitectureSpec,
        trace: Trace,
        workload: str,
        makespan_s: float,
        last_split: LatencySplit,
        busy_by_unit_s: dict[str, float],
        capacity: Capacity,
        events: int,
        wall_start: float,
    ) -> RunResult:
        """The :class:`RunResult` of a finished replay (every signature already folded)."""
        system = self.system
        latency = makespan_s
        for name, unit in system.units.items():
            self.ledger.add_static(name, unit.static_power_w)
        for name, memory in system.memories.items():
            self.ledger.add_static(name, memory.static_power_w)
        for name, power in system.uncore_w.items():  # the architecture's uncore; per device on a system of chips
            self.ledger.add_static(name, power)
        # the clocked-up state's power for the whole run, busy or waiting: on an H200 a chain of tiny kernels draws
        # what an idle context at the same clock draws (129 W vs 125 W, floor 81 W; docs/references.md#h200-measured)
        for device in system.devices:
            name = f"{device.name}.active_idle" if device.name else "active_idle"
            self.ledger.add_idle(name, device.active_idle_w, latency)
        phase_time: dict[str, float] = {}
        for span in self.spans:
            if span.end_s >= span.start_s:
                phase_time[span.phase] = phase_time.get(span.phase, 0.0) + (span.end_s - span.start_s)
        hardware = hardware_facts(system)
        views = self.ledger.views(latency, phase_time, hardware.data_movement_levels())
        roofline = self.roof_compute_s
        for mem, b in self.roof_bytes.items():
            roofline = max(roofline, b / system.memories[mem].bandwidth_bytes_per_s)
        header = dict(trace.header)
        batch = int(header.get("batch", 1))
        tokens = self.tokens
        ttft = self.ttft
        tpot = None
        if ttft is not None and tokens - self.first_tokens > 0:
            tpot = (latency - ttft) / (tokens - self.first_tokens)
        tokens_per_s = batch * tokens / latency if tokens > 0 and latency > 0 else None
        fps = float(header["frames"]) / latency if "frames" in header and latency > 0 else None
        by_kind: dict[str, dict[str, float]] = {}
        for (_phase, kind, _unit, _dtype), s in sorted(self.kind_stats.items(), key=lambda kv: kv[0][1]):
            k = by_kind.setdefault(kind, {"count": 0.0, "flops": 0.0, "bytes": 0.0, "busy_s": 0.0})
            k["count"] += s[0]
            k["flops"] += s[1]
            k["bytes"] += s[2]
            k["busy_s"] += s[3]
        timeline, flow_timeline, window = self.recorder.result(self.operators)
        return RunResult(
            architecture=arch.name,
            workload=workload,
            kind=str(header.get("workload", "")),
            latency_s=latency,
            ttft_s=ttft,
            tpot_s=tpot,
            tokens_per_s=tokens_per_s,
            fps=fps,
            energy=views.energy,
            energy_by_component_j=views.by_component,
            energy_by_phase_j=views.by_phase,
            energy_by_kind_j=views.by_kind,
            energy_by_level_j=views.by_level,
            latency_by_category_s=by_category(last_split, latency),
            latency_by_phase_s=dict(sorted(phase_time.items())),
            busy_by_unit_s=busy_by_unit_s,
            peak_memory_bytes=capacity.view(),
            bytes_by_memory=dict(sorted(self.mem_bytes.items())),
            roofline_latency_s=roofline,
            flops=self.flops,
            operators=self.operators,
            events=events,
            wall_s=time.perf_counter() - wall_start,
            batch=batch,
            tokens_per_sequence=tokens,
            header=header,
            by_kind=by_kind,
            op_stats=tuple(
                OpStats(phase, kind, unit, dtype, int(s[0]), s[1], s[2], s[3])
                for (phase, kind, unit, dtype), s in sorted(self.kind_stats.items())
            ),
            timeline=timeline,
            flow_timeline=flow_timeline,
            timeline_window=window,
            hardware=hardware,
            bytes_by_link=dict(sorted(self.link_bytes.items())),
            devices=device_metrics(
                system, latency, list(busy_by_unit_s.values()), list(busy_by_unit_s), views.by_component
            ),
            energy_inter_device_j=inter_device_energy_j(system, views.by_component),
        )
