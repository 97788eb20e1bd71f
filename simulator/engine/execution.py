"""Per-unit execution: issued operators wait for their dependencies and their unit, run, and finish.

An operator starts when it has been issued, every dependency has finished and its unit is free
(each unit runs its operators in issue order, like a stream). Starting it charges its capacity and
starts its flow group in the :class:`~simulator.engine.flows.FlowNetwork`; the group's completion
finishes it, which frees its unit and wakes its dependants, all in plain Python callbacks.

State is kept only for issued, unfinished operators (:class:`OpState`, at most the host's
``max_outstanding``) and for the finish times of the most recent :data:`KEEP_DONE` finished ones
(dependencies older than that are finished long ago and cannot be critical in practice).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import simpy

from simulator.engine.attribution import ZERO_SPLIT, LatencySplit, after_operator
from simulator.engine.capacity import Capacity
from simulator.engine.flows import FlowGroup, FlowNetwork
from simulator.engine.mapping import OpCost
from simulator.engine.results import RunTotals, Span
from simulator.engine.signatures import SignatureCache
from workloads.trace import Operator

if TYPE_CHECKING:
    from simulator.engine.host import Host

#: Finished operators whose finish time and critical-path split are kept for dependants.
KEEP_DONE = 65536


class OpState:
    """An issued, unfinished operator: its cost, pending dependencies, critical predecessor, waiters."""

    __slots__ = (
        "cost",
        "crit_s",
        "crit_split",
        "est_end_s",
        "host_s",
        "op",
        "pending",
        "record",
        "span",
        "sync",
        "waiters",
    )

    def __init__(
        self, op: Operator, cost: OpCost, issue_s: float, host_split: LatencySplit, host_s: float, span: Span
    ) -> None:
        self.op = op
        self.cost = cost
        self.pending = 0
        self.crit_s = issue_s
        self.crit_split = host_split
        self.host_s = host_s
        self.waiters: list[OpState] = []
        self.sync: simpy.Event | None = None
        self.span = span
        self.record = False
        self.est_end_s = 0.0


class Execution:
    """Units with their issue-order queues, the operators in flight, and the run's critical path."""

    def __init__(
        self,
        env: simpy.Environment,
        net: FlowNetwork,
        units: list[str],
        signatures: SignatureCache,
        capacity: Capacity,
        totals: RunTotals,
        unit_device: list[int] | None = None,
    ) -> None:
        self.env = env
        self.net = net
        self.signatures = signatures
        self.capacity = capacity
        self.totals = totals
        self.host: Host | None = None  # set by the host: finishing may resume it
        n = len(units)
        self.queues: list[deque[OpState]] = [deque() for _ in range(n)]
        self.busy = [False] * n
        self.unit_end_s = [0.0] * n
        self.unit_end_split: list[LatencySplit] = [ZERO_SPLIT] * n
        self.unit_est_free = [0.0] * n
        self.busy_s = [0.0] * n
        self.inflight: dict[int, OpState] = {}
        self.done_end: dict[int, tuple[float, LatencySplit]] = {}
        self.done_order: deque[int] = deque()
        self.issued = 0
        self.last_id = -1
        self.makespan = 0.0
        self.last_split: LatencySplit = ZERO_SPLIT
        #: per device: units running an operator now, since when any has been, and the union of busy time
        #: so far (the device's active time; the rest of the makespan it waits, at active-idle power).
        #: ``unit_device`` gives each unit's device (-1: a unit outside every device, a host CPU)
        self.unit_device = unit_device if unit_device is not None else [0] * n
        devices = max(self.unit_device, default=0) + 1
        self.running = [0] * devices
        self.running_since = [0.0] * devices
        self.device_busy_s = [0.0] * devices
        #: when set, every finished operator is appended as (state, start, end, split) (the step fast path)
        self.observer: list[tuple[OpState, float, float, LatencySplit]] | None = None

    def issue(self, op: Operator, host_s: float, host_split: LatencySplit) -> OpState:
        """Issue ``op`` now (the host spent ``host_s`` on it): choose its unit, queue it, start it if it can."""
        if op.id <= self.last_id:
            raise ValueError(f"operator ids must increase along the trace: {op.id} after {self.last_id}")
        self.last_id = op.id
        now = self.env.now
        inflight = self.inflight
        done_end = self.done_end
        crit_s = now
        crit_split = host_split
        ready_est = now
        waiting: list[OpState] = []
        for d in op.deps:
            dep = inflight.get(d)
            if dep is not None:
                waiting.append(dep)
                if dep.est_end_s > ready_est:
                    ready_est = dep.est_end_s
            else:
                done = done_end.get(d)
                if done is not None and done[0] >= crit_s:
                    crit_s, crit_split = done
        cost = self.signatures.choose(op, ready_est, self.unit_est_free)
        totals = self.totals
        st = OpState(op, cost, crit_s, crit_split, host_s, totals.span_of(op))
        st.est_end_s = self.unit_est_free[cost.unit_index]
        for dep in waiting:
            st.pending += 1
            dep.waiters.append(st)
        inflight[op.id] = st
        st.record = totals.recorder.wants(op.step)
        self.issued += 1
        if op.tokens > 0:
            totals.issued_tokens(op)
        u = cost.unit_index
        q = self.queues[u]
        q.append(st)
        if len(q) == 1 and not self.busy[u] and not st.pending:
            self.start(st)
        return st

    def start(self, st: OpState) -> None:
        """Start a ready operator at the head of its free unit's queue."""
        now = self.env.now
        cost = st.cost
        u = cost.unit_index
        self.busy[u] = True
        if self.unit_end_s[u] >= st.crit_s:
            st.crit_s = self.unit_end_s[u]
            st.crit_split = self.unit_end_split[u]
        self.capacity.start(cost, st.op)
        span = st.span
        if now < span.start_s:
            span.start_s = now
        d = self.unit_device[u]
        if d >= 0:
            if not self.running[d]:
                self.running_since[d] = now
            self.running[d] += 1
        self.net.start_group(cost.flows, cost.compute_s, cost.latency_s, st, st.record, cost)

    def finish(self, group: FlowGroup) -> None:
        """An operator's flow group completed: account it, free its unit, wake its dependants."""
        st: OpState = group.payload
        now = self.env.now
        op = st.op
        cost = st.cost
        u = cost.unit_index
        start_s = group.start_s
        launch = cost.launch_s
        split = after_operator(
            st.crit_split,
            start_s - st.crit_s,
            launch,
            now - start_s - launch,
            cost.compute_s >= group.transfer_s - launch,
        )
        self.busy_s[u] += now - start_s
        self.busy[u] = False
        d = self.unit_device[u]
        if d >= 0:
            self.running[d] -= 1
            if not self.running[d]:
                self.device_busy_s[d] += now - self.running_since[d]
        self.unit_end_s[u] = now
        self.unit_end_split[u] = split
        if now >= self.makespan:
            self.makespan = now
            self.last_split = split
        if self.observer is not None:
            self.observer.append((st, start_s, now, split))
        if cost.activations or op.frees:
            self.capacity.finish(cost, op)
        totals = self.totals
        totals.finished(op, cost, start_s, now)
        span = st.span
        if now > span.end_s:
            span.end_s = now
        if group.records is not None:
            totals.record(op, cost, st.host_s, group.records, group.transfer_s, start_s, now)
        # bookkeeping of finished operators
        op_id = op.id
        del self.inflight[op_id]
        self.done_end[op_id] = (now, split)
        done_order = self.done_order
        done_order.append(op_id)
        if len(done_order) > KEEP_DONE:
            del self.done_end[done_order.popleft()]
        if st.sync is not None:
            st.sync.succeed(split)
        host = self.host
        if host is not None and host.window is not None and len(self.inflight) <= host.resume_outstanding:
            host.window.succeed(split)
            host.window = None
        queues = self.queues
        busy = self.busy
        q = queues[u]
        q.popleft()
        for w in st.waiters:
            w.pending -= 1
            if now >= w.crit_s:
                w.crit_s = now
                w.crit_split = split
            if not w.pending:
                wu = w.cost.unit_index
                if not busy[wu] and queues[wu][0] is w:
                    self.start(w)
        if q and not busy[u] and not q[0].pending:
            self.start(q[0])
