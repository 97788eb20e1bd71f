"""Trace replay: the host issues operators, units run them in issue order, flows share bandwidth.

An operator starts when it has been issued, every dependency has finished and its unit is free
(each unit runs its operators in issue order, like a stream). Starting it starts its flow group in
the :class:`~simulator.engine.flows.FlowNetwork`; the group's completion event finishes it, which
frees its unit and wakes its dependants, all in plain Python callbacks: SimPy sees one completion
event per operator plus the network's wakeups (and, for a runtime with a host issue cost
``per_kernel_overhead``, one timeout per issue).

The trace is streamed: state is kept only for issued, unfinished operators (at most
``max_outstanding``) and for the finish times of the most recent ``keep_done`` finished ones
(dependencies older than that are finished long ago and cannot be critical in practice).

Latency attribution runs forward: every operator carries the category split of its critical
path (4 floats summing to its finish time). Its start is the latest of its issue (the host's
split), its dependencies' finishes and its unit's previous finish; it inherits that predecessor's
split and adds its own duration to its bottleneck (``compute`` if its compute time is at least its
transfer time, else ``data_movement``). The run's split is that of the last operator to finish.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Generator, Iterator, Mapping
from typing import Any

import simpy

from simulator.config.architecture import ArchitectureSpec, RuntimeSpec
from simulator.engine.events import CountingEnvironment
from simulator.engine.flows import FlowGroup, FlowNetwork
from simulator.engine.host import MAX_OUTSTANDING, ZERO_CAT, Cat, HostProfile
from simulator.engine.mapping import Mapper, OpCost
from simulator.errors import CapacityError, UserError
from simulator.hardware.system import System
from simulator.metrics.ledger import Ledger
from simulator.metrics.result import FlowRecord, OpRecord, RunResult
from simulator.units import format_quantity
from workloads.trace import Operator, Trace

#: Cached operator signatures before the cache is folded into totals and cleared (bounded state).
SIG_LIMIT = 16384

#: Finished operators whose finish time and critical-path split are kept for dependants.
KEEP_DONE = 65536


class _Span:
    """A contiguous run of one phase's operators: its first start and last finish."""

    __slots__ = ("end_s", "phase", "start_s")

    def __init__(self, phase: str) -> None:
        self.phase = phase
        self.start_s = float("inf")
        self.end_s = 0.0


class _OpState:
    """An issued, unfinished operator."""

    __slots__ = (
        "cost",
        "crit_cat",
        "crit_s",
        "est_end_s",
        "host_s",
        "op",
        "pending",
        "record",
        "span",
        "sync",
        "waiters",
    )

    def __init__(self, op: Operator, cost: OpCost, issue_s: float, host_cat: Cat, host_s: float, span: _Span) -> None:
        self.op = op
        self.cost = cost
        self.pending = 0
        self.crit_s = issue_s
        self.crit_cat = host_cat
        self.host_s = host_s
        self.waiters: list[_OpState] = []
        self.sync: simpy.Event | None = None
        self.span = span
        self.record = False
        self.est_end_s = 0.0


def capacity_message(memory: str, capacity: float, cls: str, adding: float, occupancy: Mapping[str, float]) -> str:
    """A capacity overflow in human units: memory, class, sizes, and what is already resident."""

    def size(nbytes: float) -> str:
        return format_quantity(nbytes, "size")

    resident = ", ".join(f"{c} {size(b)}" for c, b in sorted(occupancy.items()) if b)
    return (
        f"memory '{memory}' ({size(capacity)}) overflows: {cls} needs {size(adding)} more "
        f"with {size(sum(occupancy.values()))} already resident ({resident or 'nothing'})"
    )


class _Capacity:
    """Occupancy per (memory, tensor class) with peaks; raises CapacityError on overflow."""

    def __init__(self, system: System) -> None:
        self.capacity = {name: mem.capacity_bytes for name, mem in system.memories.items()}
        self.occ: dict[str, dict[str, int]] = {m: {"weight": 0, "kv_cache": 0, "activation": 0} for m in self.capacity}
        self.total: dict[str, int] = dict.fromkeys(self.capacity, 0)
        self.peak: dict[str, dict[str, int]] = {m: {} for m in self.capacity}
        self.peak_total: dict[str, int] = dict.fromkeys(self.capacity, 0)
        self.seen_weights: set[str] = set()
        self.kv: dict[str, tuple[str, int]] = {}

    def add(self, mem: str, cls: str, nbytes: int, op: Operator) -> None:
        occ = self.occ[mem]
        total = self.total[mem] + nbytes
        if total > self.capacity[mem]:
            raise CapacityError(
                f"operator {op.id} ({op.name}): " + capacity_message(mem, self.capacity[mem], cls, nbytes, occ)
            )
        value = occ[cls] + nbytes
        occ[cls] = value
        self.total[mem] = total
        peak = self.peak[mem]
        if value > peak.get(cls, 0):
            peak[cls] = value
        if total > self.peak_total[mem]:
            self.peak_total[mem] = total

    def release(self, mem: str, cls: str, nbytes: int) -> None:
        self.occ[mem][cls] -= nbytes
        self.total[mem] -= nbytes

    def view(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for mem in sorted(self.capacity):
            if self.peak_total[mem]:
                out[mem] = {**dict(sorted(self.peak[mem].items())), "total": self.peak_total[mem]}
        return out


class Engine:
    """One replay of a trace on a system; use :func:`simulate`."""

    def __init__(
        self,
        arch: ArchitectureSpec,
        runtime: RuntimeSpec | None,
        mapping: Mapping[str, str] | None,
        timeline_limit: int,
        max_outstanding: int = MAX_OUTSTANDING,
    ) -> None:
        if max_outstanding < 1:
            raise ValueError(f"max_outstanding(={max_outstanding}) must be >= 1")
        self.arch = arch
        self.system = System(arch)
        self.host = HostProfile(runtime)
        self.mapper = Mapper(self.system, mapping, self.host.launch_cost_s)
        self.env = CountingEnvironment()
        self.net = FlowNetwork(self.env, self.system.capacities, self._finish)
        self.ledger = Ledger()
        self.capacity = _Capacity(self.system)
        n = len(self.mapper.unit_names)
        self.queues: list[deque[_OpState]] = [deque() for _ in range(n)]
        self.busy = [False] * n
        self.unit_end_s = [0.0] * n
        self.unit_end_cat: list[Cat] = [ZERO_CAT] * n
        self.unit_est_free = [0.0] * n
        self.busy_s = [0.0] * n
        self.inflight: dict[int, _OpState] = {}
        self.done_end: dict[int, tuple[float, Cat]] = {}
        self.done_order: deque[int] = deque()
        self.sigs: dict[tuple[Any, ...], tuple[tuple[OpCost, ...], OpCost | None]] = {}
        self.max_outstanding = max_outstanding
        self.resume_outstanding = max(0, max_outstanding - max(1, max_outstanding // 8))
        self.window: simpy.Event | None = None
        self.timeline_limit = timeline_limit
        self.timeline: list[OpRecord] = []
        self.flow_timeline: list[FlowRecord] = []
        self.issued = 0
        self.last_id = -1
        self.makespan = 0.0
        self.last_cat: Cat = ZERO_CAT
        self.tokens = 0.0
        self.first_token_id: int | None = None
        self.first_tokens = 0.0
        self.ttft: float | None = None
        self.spans: list[_Span] = []
        self.phase: str | None = None
        self.host_cat: Cat = ZERO_CAT
        self.sig_limit = SIG_LIMIT
        self.operators = 0
        self.flops = 0.0
        self.roof_compute_s = 0.0
        self.roof_bytes: dict[str, float] = {}
        self.mem_bytes: dict[str, float] = {}
        #: kind -> [count, flops, bytes moved, busy seconds]
        self.kind_stats: dict[str, list[float]] = {}

    def _tally(self, cost: OpCost, n: int) -> None:
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

    def _fold_sigs(self, evict: bool) -> None:
        """Tally the finished runs of every cached signature; ``evict`` also marks them evicted."""
        for costs, _ in self.sigs.values():
            for cost in costs:
                self._tally(cost, cost.runs)
                cost.runs = 0
                if evict:
                    cost.evicted = True

    def _evict(self) -> None:
        """Fold every cached signature into the totals and forget them (operators in flight keep theirs)."""
        self._fold_sigs(evict=True)
        self.sigs.clear()
        self.ledger.fold()
        self.net.forget_memo()

    # -- issue -------------------------------------------------------------------------------

    def _cost(self, op: Operator, ready_est: float) -> OpCost:
        """The operator's cost on its unit: the pinned one, or under ``auto`` the earliest estimated finish.

        The estimate starts an operator at the latest of now, its unit's estimated free time and
        its unfinished dependencies' estimated finishes, and runs it for its stand-alone time.
        """
        # exact signature: everything the cost depends on (tensor names matter for capacity)
        dims = op.dims
        key = (op.kind, op.dtype, op.flops, op.reads, op.writes, tuple(dims.items()) if dims else ())
        entry = self.sigs.get(key)
        if entry is None:
            if len(self.sigs) >= self.sig_limit:
                self._evict()
            units = self.mapper.candidates(op)
            costs = tuple(self.mapper.cost(op, u) for u in units)
            entry = (costs, costs[0] if len(costs) == 1 else None)
            self.sigs[key] = entry
        est_free = self.unit_est_free
        fixed = entry[1]
        if fixed is not None:
            free = est_free[fixed.unit_index]
            est_free[fixed.unit_index] = (free if free > ready_est else ready_est) + fixed.standalone_s
            return fixed
        best = entry[0][0]
        best_t = float("inf")
        for cost in entry[0]:  # sorted by unit name: ties go to the first
            free = est_free[cost.unit_index]
            t = (free if free > ready_est else ready_est) + cost.standalone_s
            if t < best_t:
                best, best_t = cost, t
        est_free[best.unit_index] = best_t
        return best

    def _issue(self, op: Operator, host_s: float) -> _OpState:
        if op.id <= self.last_id:
            raise ValueError(f"operator ids must increase along the trace: {op.id} after {self.last_id}")
        self.last_id = op.id
        now = self.env.now
        inflight = self.inflight
        done_end = self.done_end
        crit_s = now
        crit_cat = self.host_cat
        ready_est = now
        waiting: list[_OpState] = []
        for d in op.deps:
            dep = inflight.get(d)
            if dep is not None:
                waiting.append(dep)
                if dep.est_end_s > ready_est:
                    ready_est = dep.est_end_s
            else:
                done = done_end.get(d)
                if done is not None and done[0] >= crit_s:
                    crit_s, crit_cat = done
        cost = self._cost(op, ready_est)
        if op.phase != self.phase:
            self.phase = op.phase
            self.spans.append(_Span(op.phase))
        st = _OpState(op, cost, crit_s, crit_cat, host_s, self.spans[-1])
        st.est_end_s = self.unit_est_free[cost.unit_index]
        for dep in waiting:
            st.pending += 1
            dep.waiters.append(st)
        inflight[op.id] = st
        st.record = self.issued < self.timeline_limit
        self.issued += 1
        if op.tokens > 0:
            self.tokens += op.tokens
            if self.first_token_id is None:
                self.first_token_id = op.id
                self.first_tokens = op.tokens
        u = cost.unit_index
        q = self.queues[u]
        q.append(st)
        if len(q) == 1 and not self.busy[u] and not st.pending:
            self._start(st)
        return st

    def host_process(self, ops: Iterator[Operator]) -> Generator[simpy.Event, Any, None]:
        """The host: issue every operator in order (see :mod:`simulator.engine.host`)."""
        env = self.env
        host = self.host
        sync_on = host.sync_on
        free = host.per_kernel_s == 0.0
        for op in ops:
            cost_s = 0.0 if free else host.issue_cost_s(op.kind)
            if cost_s > 0:
                yield env.timeout(cost_s)
                c = self.host_cat
                self.host_cat = (c[0], c[1], c[2] + cost_s, c[3])
            if len(self.inflight) >= self.max_outstanding:
                self.window = env.event()
                cat = yield self.window
                self.host_cat = cat
            st = self._issue(op, cost_s)
            if op.kind in sync_on and op.id in self.inflight:
                st.sync = env.event()
                cat = yield st.sync
                self.host_cat = cat

    # -- run ---------------------------------------------------------------------------------

    def _start(self, st: _OpState) -> None:
        now = self.env.now
        cost = st.cost
        u = cost.unit_index
        self.busy[u] = True
        if self.unit_end_s[u] >= st.crit_s:
            st.crit_s = self.unit_end_s[u]
            st.crit_cat = self.unit_end_cat[u]
        op = st.op
        cap = self.capacity
        for mem, nbytes in cost.activations:
            cap.add(mem, "activation", nbytes, op)
        if cost.weights:
            seen = cap.seen_weights
            for name, mem, nbytes in cost.weights:
                if name not in seen:
                    seen.add(name)
                    cap.add(mem, "weight", nbytes, op)
        for name, mem, nbytes in cost.kv_writes:
            old = cap.kv.get(name)
            cap.kv[name] = (mem, (old[1] if old else 0) + nbytes)
            cap.add(mem, "kv_cache", nbytes, op)
        span = st.span
        if now < span.start_s:
            span.start_s = now
        self.net.start_group(cost.flows, cost.compute_s, cost.latency_s, st, st.record, cost)

    def _finish(self, group: FlowGroup) -> None:
        st: _OpState = group.payload
        now = self.env.now
        op = st.op
        cost = st.cost
        u = cost.unit_index
        start_s = group.start_s
        dur = now - start_s
        gap = start_s - st.crit_s
        c = st.crit_cat
        launch = cost.launch_s
        body = dur - launch
        if cost.compute_s >= group.transfer_s - launch:
            cat: Cat = (c[0] + body, c[1], c[2] + launch, c[3] + gap)
        else:
            cat = (c[0], c[1] + body, c[2] + launch, c[3] + gap)
        self.busy_s[u] += dur
        self.busy[u] = False
        ks = self.kind_stats.get(op.kind)
        if ks is None:
            ks = self.kind_stats[op.kind] = [0.0, 0.0, 0.0, 0.0]
        ks[0] += 1
        ks[1] += cost.flops
        ks[2] += cost.transfer_bytes
        ks[3] += dur
        self.unit_end_s[u] = now
        self.unit_end_cat[u] = cat
        if now >= self.makespan:
            self.makespan = now
            self.last_cat = cat
        if cost.activations or op.frees:
            cap = self.capacity
            for mem, nbytes in cost.activations:
                cap.release(mem, "activation", nbytes)
            for name in op.frees:
                held = cap.kv.pop(name, None)
                if held is not None:
                    cap.release(held[0], "kv_cache", held[1])
        counts = self.ledger.counts
        key = (cost.energy, op.phase)
        counts[key] = counts.get(key, 0) + 1
        if cost.evicted:
            self._tally(cost, 1)
        else:
            cost.runs += 1
        span = st.span
        if now > span.end_s:
            span.end_s = now
        if op.id == self.first_token_id:
            self.ttft = now
        if group.records is not None:
            self._record(st, group.records, group.transfer_s, start_s, now)
        # bookkeeping of finished operators
        op_id = op.id
        del self.inflight[op_id]
        self.done_end[op_id] = (now, cat)
        done_order = self.done_order
        done_order.append(op_id)
        if len(done_order) > KEEP_DONE:
            del self.done_end[done_order.popleft()]
        if st.sync is not None:
            st.sync.succeed(cat)
        if self.window is not None and len(self.inflight) <= self.resume_outstanding:
            self.window.succeed(cat)
            self.window = None
        queues = self.queues
        busy = self.busy
        q = queues[u]
        q.popleft()
        for w in st.waiters:
            w.pending -= 1
            if now >= w.crit_s:
                w.crit_s = now
                w.crit_cat = cat
            if not w.pending:
                wu = w.cost.unit_index
                if not busy[wu] and queues[wu][0] is w:
                    self._start(w)
        if q and not busy[u] and not q[0].pending:
            self._start(q[0])

    def _record(
        self,
        st: _OpState,
        records: list[tuple[tuple[int, ...], float, float, float]],
        transfer_s: float,
        start_s: float,
        now: float,
    ) -> None:
        """Keep the timeline records of a finished operator and of its flows over links."""
        op = st.op
        cost = st.cost
        self.timeline.append(
            OpRecord(
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
                st.host_s,
                op.flops,
                cost.transfer_bytes,
            )
        )
        names = self.system.resource_names
        for resources, start, end, nbytes in records:
            for r in resources:
                if "->" in names[r]:
                    self.flow_timeline.append(FlowRecord(op.id, names[r], start, end, nbytes))

    # -- result ------------------------------------------------------------------------------

    def result(self, trace: Trace, workload: str, wall_start: float) -> RunResult:
        """Assemble the :class:`RunResult` after the environment has run dry."""
        if self.inflight:
            raise ValueError(f"{len(self.inflight)} operators never finished (a dependency cycle?)")
        system = self.system
        latency = self.makespan
        for name, unit in system.units.items():
            self.ledger.add_static(name, unit.static_power_w)
        for name, memory in system.memories.items():
            self.ledger.add_static(name, memory.static_power_w)
        self.ledger.add_static("system", self.arch.static_power_w)
        phase_time: dict[str, float] = {}
        for span in self.spans:
            if span.end_s >= span.start_s:
                phase_time[span.phase] = phase_time.get(span.phase, 0.0) + (span.end_s - span.start_s)
        views = self.ledger.views(latency, phase_time)
        self._fold_sigs(evict=False)
        roofline = self.roof_compute_s
        for mem, b in self.roof_bytes.items():
            roofline = max(roofline, b / system.memories[mem].bandwidth_bytes_per_s)
        c = self.last_cat
        residual = latency - (c[0] + c[1] + c[2] + c[3])  # float rounding only
        idle = c[3] + residual
        if idle < 0.0 and idle > -1e-9 * latency:
            idle = 0.0
        by_cat = {
            "compute": c[0],
            "data_movement": c[1],
            "runtime_overhead": c[2],
            "idle": idle,
        }
        header = dict(trace.header)
        batch = int(header.get("batch", 1))
        tokens = self.tokens
        ttft = self.ttft
        tpot = None
        if ttft is not None and tokens - self.first_tokens > 0:
            tpot = (latency - ttft) / (tokens - self.first_tokens)
        tokens_per_s = batch * tokens / latency if tokens > 0 and latency > 0 else None
        fps = float(header["frames"]) / latency if "frames" in header and latency > 0 else None
        return RunResult(
            architecture=self.arch.name,
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
            latency_by_category_s=by_cat,
            latency_by_phase_s=dict(sorted(phase_time.items())),
            busy_by_unit_s={name: self.busy_s[i] for i, name in enumerate(self.mapper.unit_names)},
            peak_memory_bytes=self.capacity.view(),
            bytes_by_memory=dict(sorted(self.mem_bytes.items())),
            roofline_latency_s=roofline,
            flops=self.flops,
            operators=self.operators,
            events=self.env.processed,
            wall_s=time.perf_counter() - wall_start,
            batch=batch,
            tokens_per_sequence=tokens,
            header=header,
            by_kind={
                kind: {"count": s[0], "flops": s[1], "bytes": s[2], "busy_s": s[3]}
                for kind, s in sorted(self.kind_stats.items())
            },
            timeline=tuple(self.timeline),
            flow_timeline=tuple(self.flow_timeline),
        )


def simulate(
    arch: ArchitectureSpec,
    trace: Trace,
    runtime: RuntimeSpec | None = None,
    *,
    mapping: Mapping[str, str] | None = None,
    workload: str | None = None,
    timeline_limit: int = 0,
) -> RunResult:
    """Replay ``trace`` on ``arch`` under ``runtime`` (``None``: ideal, no host cost).

    Args:
        arch: the hardware.
        trace: the operators (streamed once).
        runtime: the software stack's host issue cost, sync points and device-side kernel launch time;
            ``None`` means an ideal runtime.
        mapping: scenario overrides of ``arch.mapping`` (kind -> unit or ``'auto'``; ``'*'`` default).
        workload: label for the result (default ``trace.header['workload']``).
        timeline_limit: keep per-operator and per-link records for the first N operators.

    Raises:
        UserError: an operator no mapped unit can run, an unreachable memory, a missing placement.
        CapacityError: a memory level overflows.
        ValueError: an inconsistent trace (ids not increasing).

    """
    wall_start = time.perf_counter()
    engine = Engine(arch, runtime, mapping, timeline_limit)
    engine.env.process(engine.host_process(iter(trace)))
    try:
        engine.env.run()
    except UserError as exc:  # SimPy re-raises a failed process's exception as a copy
        if isinstance(exc.__cause__, UserError):
            raise exc.__cause__ from None
        raise
    label = workload if workload is not None else str(trace.header.get("workload", ""))
    return engine.result(trace, label, wall_start)
