"""Fluid flow network: transfers share links and memory ports max-min fairly.

A *flow* moves a number of bytes over a list of resources (memory ports, directed links), each
with a capacity in bytes/s. Flows are grouped per operator (a :class:`FlowGroup`). Rates are the
max-min fair allocation over **all** active flows, computed by progressive filling
(:func:`max_min_rates`) and recomputed only when a flow starts or ends; between those instants
every rate is constant, so remaining bytes fall linearly.

Event economy (SimPy sees O(1) events per operator):

- the network keeps one wakeup timeout, at the earliest projected flow completion; stale wakeups
  (superseded by an earlier one) are ignored through a generation counter; flows that finish
  together, or inside a group before the others, are retired in plain Python;
- a group completes at ``max(start + min_duration, last flow end) + latency``: when that instant
  is known its :class:`GroupDone` event schedules itself for it (like a ``Timeout``), so each
  operator costs one completion event plus its share of network wakeups.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import simpy

#: A flow as given to :meth:`FlowNetwork.start_group`: (resource indices, bytes).
FlowSpec = tuple[tuple[int, ...], float]

#: Entries kept in each memo (rate solutions, lone-group schedules): bounds memory, not results.
MEMO_LIMIT = 65536


def max_min_rates(capacities: Sequence[float], flows: Sequence[Sequence[int]]) -> list[float]:
    """Max-min fair rates of ``flows`` (each a sequence of resource indices) by progressive filling.

    Repeatedly the resource with the smallest fair share (remaining capacity / unfrozen flows
    crossing it; ties by lowest index) is saturated: its unfrozen flows get that share and are
    frozen, and their rate is taken off every resource they cross. A flow crossing no resource is
    unconstrained (``inf``).
    """
    n = len(flows)
    if n == 1:
        res = flows[0]
        return [min([capacities[r] for r in res]) if res else float("inf")]
    remaining = list(capacities)
    count = [0] * len(capacities)
    rates = [-1.0] * n
    for i, res in enumerate(flows):
        if not res:
            rates[i] = float("inf")
        for r in res:
            count[r] += 1
    used = [r for r, c in enumerate(count) if c]
    while used:
        best_r = used[0]
        best_share = remaining[best_r] / count[best_r]
        for r in used:
            share = remaining[r] / count[r]
            if share < best_share:
                best_r, best_share = r, share
        if best_share < 0.0:
            best_share = 0.0
        for i in range(n):
            if rates[i] >= 0.0:
                continue
            res = flows[i]
            if best_r in res:
                rates[i] = best_share
                for r in res:
                    remaining[r] -= best_share
                    count[r] -= 1
        used = [r for r in used if count[r]]
    return rates


class Flow:
    """One active transfer: bytes left, current rate (bytes/s), resources crossed, owning group."""

    __slots__ = ("bytes", "group", "rate", "remaining", "resources", "start_s")

    def __init__(self, resources: tuple[int, ...], nbytes: float, group: FlowGroup, start_s: float) -> None:
        self.resources = resources
        self.bytes = nbytes
        self.remaining = nbytes
        self.rate = 0.0
        self.group = group
        self.start_s = start_s


class FlowGroup:
    """An operator's flows: it completes at ``max(start + min_duration, last flow end) + latency``.

    ``records`` (when asked for) collects ``(resources, start_s, end_s, bytes)`` per finished flow.
    """

    __slots__ = ("active", "last_flow_end_s", "latency_s", "min_end_s", "payload", "records", "start_s")

    def __init__(self, start_s: float, min_end_s: float, latency_s: float, payload: Any, record: bool) -> None:
        self.start_s = start_s
        self.min_end_s = min_end_s
        self.latency_s = latency_s
        self.last_flow_end_s = start_s
        self.active = 0
        self.payload = payload
        self.records: list[tuple[tuple[int, ...], float, float, float]] | None = [] if record else None

    @property
    def transfer_s(self) -> float:
        """Seconds from the group's start to its last flow's end, plus its latency."""
        return self.last_flow_end_s - self.start_s + self.latency_s


#: One planned breakpoint: (time, flows finishing then, flows left, their bytes left, their new rates).
_Step = tuple[float, list[Flow], list[Flow], list[float], list[float]]


#: A lone group's schedule: (time until its flows are done, each flow's finish offset,
#: segments (begin offset, end offset, rate of every flow)).
SoloSchedule = tuple[float, list[float], list[tuple[float, float, list[float]]]]


def solo_schedule(capacities: Sequence[float], specs: Sequence[FlowSpec]) -> SoloSchedule:
    """Schedule of flows alone on the network: retire in order of completion, re-solving after each.

    Public because the step fast path (:mod:`simulator.engine.steps`) costs a lone group with it.
    """
    n = len(specs)
    remaining = [b for _, b in specs]
    finish = [0.0] * n
    segments: list[tuple[float, float, list[float]]] = []
    active = list(range(n))
    t = 0.0
    while active:
        solved = max_min_rates(capacities, [specs[i][0] for i in active])
        rates = [0.0] * n
        for i, q in zip(active, solved, strict=True):
            rates[i] = q
        dt = min(remaining[i] / rates[i] for i in active)
        end = t + dt
        tol = _tol(end)
        left = []
        for i in active:
            remaining[i] -= rates[i] * dt
            if remaining[i] <= rates[i] * tol:
                finish[i] = end
            else:
                left.append(i)
        if len(left) == len(active):  # rounding: retire the one that was due
            due = min(active, key=lambda i: (remaining[i] / rates[i], i))
            finish[due] = end
            left.remove(due)
        segments.append((t, end, rates))
        active = left
        t = end
    return t, finish, segments


def _tol(t: float) -> float:
    """Time tolerance at ``t``: far below any modelled duration, above float rounding of ``t``."""
    return 1e-12 * (t if t > 1.0 else 1.0)


class FlowNetwork:
    """Active flows over resources of fixed capacity, advanced in a SimPy environment.

    ``on_complete(group)`` is called (inside the SimPy event that marks the instant) when a
    group completes; it may start new groups. Between arrivals the network *plans* ahead in plain
    Python: it retires flows in order of projected completion, re-solving rates after each, up to
    the first instant a whole group's flows are done, and sleeps until then (or until an earlier
    pending group completion). An arrival consumes the plan up to now and replans.

    Args:
        env: the SimPy environment.
        capacities: bytes/s of each resource, by index.
        on_complete: called with each completed :class:`FlowGroup`.

    """

    def __init__(
        self,
        env: simpy.Environment,
        capacities: Sequence[float],
        on_complete: Callable[[FlowGroup], None] | None = None,
    ) -> None:
        for i, cap in enumerate(capacities):
            if not cap > 0:
                raise ValueError(f"capacity[{i}](={cap}) must be > 0")
        self.env = env
        self.capacities = list(capacities)
        self.on_complete = on_complete
        self.flows: list[Flow] = []
        self._plan: list[_Step] = []
        self._plan_pos = 0
        self._pending: list[tuple[float, int, FlowGroup]] = []  # (completion time, seq, group)
        self._seq = 0
        self._last_s = 0.0
        self._gen = 0
        self._wakeup_at: float | None = None
        self._in_wakeup = False
        self._dirty = False
        self._solutions: dict[tuple[tuple[int, ...], ...], list[float]] = {}
        # the lone group (no other flows active) runs on a precomputed schedule
        self._solo: FlowGroup | None = None
        self._solo_end = 0.0
        self._solo_specs: list[FlowSpec] = []
        self._solo_sched: SoloSchedule = (0.0, [], [])
        self._solo_plans: dict[Hashable, tuple[list[FlowSpec], SoloSchedule]] = {}

    def start_group(
        self,
        flows: Sequence[FlowSpec],
        min_duration_s: float = 0.0,
        latency_s: float = 0.0,
        payload: Any = None,
        record: bool = False,
        key: Hashable | None = None,
    ) -> FlowGroup:
        """Start an operator's flows now; ``on_complete`` gets the group when it completes.

        ``key`` (optional) identifies ``flows`` for memoising the group's stand-alone schedule:
        groups started with the same key must have the same flows.
        """
        now = self.env.now
        group = FlowGroup(now, now + min_duration_s, latency_s, payload, record)
        memo = self._solo_plans.get(key) if key is not None else None
        if memo is not None:
            specs, solo = memo
        else:
            specs = [(res, b) for res, b in flows if b > 0 and res]
            solo = None
        if not specs:
            self._seq += 1
            heapq.heappush(self._pending, (group.min_end_s + latency_s, self._seq, group))
        elif not self.flows and self._solo is None:
            # alone on the network: its schedule is known until the next arrival; no Flow objects
            if solo is None:
                solo = solo_schedule(self.capacities, specs)
                if key is not None and len(self._solo_plans) < MEMO_LIMIT:
                    self._solo_plans[key] = (specs, solo)
            group.active = len(specs)
            self._solo = group
            self._solo_specs = specs
            self._solo_sched = solo
            flows_done = now + solo[0]
            self._solo_end = (group.min_end_s if group.min_end_s > flows_done else flows_done) + latency_s
        else:
            if self._solo is not None:
                self._materialise(now)
            self._advance(now)
            group.active = len(specs)
            self.flows.extend([Flow(res, b, group, now) for res, b in specs])
            self._dirty = True
        if not self._in_wakeup:
            self._settle(now)
        return group

    def _materialise(self, now: float) -> None:
        """Turn the lone group's known schedule into Flow objects at ``now`` (another group arrives)."""
        group = self._solo
        assert group is not None
        self._solo = None
        _, finish, segments = self._solo_sched
        elapsed = now - group.start_s
        tol = _tol(now)
        flows: list[Flow] = []
        for i, (res, nbytes) in enumerate(self._solo_specs):
            if finish[i] <= elapsed + tol:
                self._retire(group, res, nbytes, group.start_s, group.start_s + finish[i])
                continue
            moved = 0.0
            for begin, end, rates in segments:
                if begin >= elapsed:
                    break
                moved += rates[i] * ((end if end < elapsed else elapsed) - begin)
            flow = Flow(res, nbytes, group, group.start_s)
            flow.remaining = nbytes - moved
            flows.append(flow)
        self.flows = flows
        self._plan = []
        self._plan_pos = 0
        self._last_s = now
        self._dirty = True

    def _retire(self, group: FlowGroup, res: tuple[int, ...], nbytes: float, start: float, t: float) -> None:
        """A flow of ``group`` ended at ``t``; a group with no flows left is queued for completion."""
        group.active -= 1
        if t > group.last_flow_end_s:
            group.last_flow_end_s = t
        if group.records is not None:
            group.records.append((res, start, t, nbytes))
        if not group.active:
            # the latest flow end, not ``t``: a lone group's finished flows are retired in list order
            last = group.last_flow_end_s
            end = (group.min_end_s if group.min_end_s > last else last) + group.latency_s
            self._seq += 1
            heapq.heappush(self._pending, (end, self._seq, group))

    # -- time advance ----------------------------------------------------------------------

    def _solve(self, flows: list[Flow]) -> list[float]:
        """Max-min rates of ``flows``; memoised on their routes (capacities never change)."""
        key = tuple([f.resources for f in flows])
        rates = self._solutions.get(key)
        if rates is None:
            rates = max_min_rates(self.capacities, key)
            if len(self._solutions) < MEMO_LIMIT:
                self._solutions[key] = rates
        return rates

    def _replan(self) -> None:
        """Plan retirements from the current state up to the first instant a group's flows are done."""
        plan: list[_Step] = []
        flows = self.flows
        rem = [f.remaining for f in flows]
        rates = [f.rate for f in flows]
        t = self._last_s
        left: dict[FlowGroup, int] = {}
        while flows:
            best = 0
            dt = float("inf")
            for i, (r, q) in enumerate(zip(rem, rates, strict=True)):
                d = r / q if q > 0 else float("inf")
                if d < dt:
                    best, dt = i, d
            if dt == float("inf"):
                break  # nothing moves (cannot happen with positive capacities)
            t += dt
            tol = _tol(t)
            done: list[Flow] = []
            kept: list[Flow] = []
            kept_rem: list[float] = []
            group_done = False
            for i, f in enumerate(flows):
                r = rem[i] - rates[i] * dt
                if i == best or r <= rates[i] * tol:
                    done.append(f)
                    g = f.group
                    n = left.get(g, g.active) - 1
                    left[g] = n
                    if not n:
                        group_done = True
                else:
                    kept.append(f)
                    kept_rem.append(r)
            rates = self._solve(kept) if kept else []
            plan.append((t, done, kept, kept_rem, rates))
            if group_done:
                break
            flows, rem = kept, kept_rem
        self._plan = plan
        self._plan_pos = 0

    def _advance(self, now: float) -> None:
        """Apply planned breakpoints up to ``now`` and move the remaining flows to ``now``."""
        plan = self._plan
        tol = _tol(now)
        while self._plan_pos < len(plan) and plan[self._plan_pos][0] <= now + tol:
            t, done, kept, kept_rem, rates = plan[self._plan_pos]
            self._plan_pos += 1
            for f in done:
                self._retire(f.group, f.resources, f.bytes, f.start_s, t)
            for f, r, q in zip(kept, kept_rem, rates, strict=True):
                f.remaining = r
                f.rate = q
            self.flows = kept
            self._last_s = t
        dt = now - self._last_s
        if dt > 0.0:
            for f in self.flows:
                f.remaining -= f.rate * dt
            self._last_s = now

    def _settle(self, now: float) -> None:
        """After a change: re-solve if flows were added, replan if needed, set the wakeup."""
        if self._dirty:
            self._dirty = False
            for f, q in zip(self.flows, self._solve(self.flows), strict=True):
                f.rate = q
            self._replan()
        elif self._plan_pos >= len(self._plan) and self.flows:
            self._replan()
        at = self._plan[-1][0] if self._plan_pos < len(self._plan) else float("inf")
        if self._pending and self._pending[0][0] < at:
            at = self._pending[0][0]
        if self._solo is not None and self._solo_end < at:
            at = self._solo_end
        if at == float("inf"):
            return
        if self._wakeup_at is not None and self._wakeup_at <= at:
            return  # the pending wakeup comes first; it will replan
        self._gen += 1
        self._wakeup_at = at
        delay = at - now
        simpy.Timeout(self.env, delay if delay > 0.0 else 0.0, self._gen).callbacks.append(self._on_wakeup)

    def _on_wakeup(self, event: simpy.Event) -> None:
        if event.value != self._gen:
            return  # stale: an earlier wakeup replaced this one
        self._wakeup_at = None
        now = self.env.now
        self._advance(now)
        pending = self._pending
        limit = now + _tol(now)
        group = self._solo
        if group is not None and self._solo_end <= limit:
            self._solo = None
            duration, finish, _ = self._solo_sched
            start = group.start_s
            group.active = 0
            group.last_flow_end_s = start + duration
            if group.records is not None:
                for i, (res, nbytes) in enumerate(self._solo_specs):
                    group.records.append((res, start, start + finish[i], nbytes))
            self._seq += 1
            heapq.heappush(pending, (self._solo_end, self._seq, group))
        self._in_wakeup = True
        try:
            while pending and pending[0][0] <= limit:
                group = heapq.heappop(pending)[2]
                if self.on_complete is not None:
                    self.on_complete(group)
        finally:
            self._in_wakeup = False
        self._settle(now)

    def forget_memo(self) -> None:
        """Drop memoised lone-group schedules and rate solutions (keeps memory bounded)."""
        self._solo_plans.clear()
        self._solutions.clear()

    def rates(self) -> list[float]:
        """Current rates of active flows, in start order (for tests and inspection)."""
        return [f.rate for f in self.flows]
