"""The host: issues operators in trace order at the runtime's cost, running ahead of the device.

An operator costs ``per_kernel_overhead_s × kernels`` + ``per_host_op_overhead_s × host_ops`` of
host time before it is issued, where ``kernels`` and ``host_ops`` come from the runtime's
``kernels_per_op`` (default 1) and ``host_ops_per_op`` (default 0) for its kind, or from the dims
of a ``host`` operator (per-step framework bookkeeping: ``kernels``, ``host_ops``, ``syncs``).
Under ``host_device: overlap`` the host does not wait for the device, except after an operator
whose kind is in ``sync_on`` or a ``host`` operator with ``syncs`` (it waits for that operator to
finish) and when ``max_outstanding`` operators are issued but unfinished (a bounded launch queue;
it resumes when the count falls to ``resume_outstanding``). Under ``serialise`` it waits after
every operator: host time then adds to device time, as in a timing loop that synchronizes per call.

The runtime's kernel library also sets what kernels achieve: ``kernel_efficiency`` per dtype scales
a matrix unit's rate, and ``attention_efficiency`` (a published curve over sequence length)
replaces the unit's GEMM efficiency and shape utilisation for ``attention`` on a matrix unit.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import math
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import simpy
from simpy.core import StopSimulation

from simulator.config.architecture import ComputeUnitSpec, RuntimeSpec
from simulator.engine.attribution import ZERO_SPLIT, LatencySplit, after_host_cost
from simulator.engine.execution import Execution

if TYPE_CHECKING:
    from simulator.engine.steps import StepFastPath
from workloads.trace import Operator, PlanItem, StepRun

#: Default bound on issued-but-unfinished operators (a launch queue; CUDA's is about 1024 deep).
MAX_OUTSTANDING = 8192

#: The operator kind a workload uses for framework bookkeeping on the host.
HOST_KIND = "host"

#: Operators issued between two collections of the young garbage-collector generations (see
#: :func:`simulator.engine.engine.simulate`: automatic collection is paused during a replay).
GC_EVERY = 1 << 16

#: Seconds of wall time between two progress reports of one run.
PROGRESS_INTERVAL_S = 0.25


class RunProgress(NamedTuple):
    """How far one replay has got, for a progress bar (the host may run a launch queue ahead)."""

    #: operators finished
    operators: int
    #: output tokens per sequence issued so far
    tokens: float
    #: tokens per sequence the trace's header announces (``None``: not a token-generating workload)
    tokens_total: float | None
    #: simulated seconds so far
    simulated_s: float
    #: the run has finished (the last report of a run)
    done: bool = False


#: ``progress(RunProgress)``: called a few times per second of wall time while a run replays.
EngineProgress = Callable[[RunProgress], None]


class HostProfile:
    """Per-operator issue cost (s), sync points and kernel-library efficiencies of a runtime."""

    def __init__(self, runtime: RuntimeSpec | None) -> None:
        self.per_kernel_s = runtime.per_kernel_overhead_s if runtime else 0.0
        self.per_host_op_s = runtime.per_host_op_overhead_s if runtime else 0.0
        self.kernels_per_op = dict(runtime.kernels_per_op) if runtime else {}
        self.host_ops_per_op = dict(runtime.host_ops_per_op) if runtime else {}
        self.sync_on = frozenset(runtime.sync_on) if runtime else frozenset()
        self.serialise = runtime is not None and runtime.host_device == "serialise"
        self.launch_s = runtime.kernel_launch_latency_s if runtime else 0.0
        self.kernel_eff = dict(runtime.kernel_efficiency) if runtime else {}
        curve = sorted((p.keys, p.efficiency) for p in runtime.attention_efficiency) if runtime else []
        self._att_keys = [math.log(k) for k, _ in curve]
        self._att_eff = [e for _, e in curve]
        #: no host time at all: the engine skips the per-issue timeout
        self.free = self.per_kernel_s == 0.0 and self.per_host_op_s == 0.0
        self._cost: dict[str, float] = {}

    def kernels(self, op: Operator) -> int:
        """Kernels ``op`` launches."""
        if op.kind == HOST_KIND:
            return int(op.dims.get("kernels", 0))
        return self.kernels_per_op.get(op.kind, 1)

    def issue_cost_s(self, op: Operator) -> float:
        """Host seconds to issue ``op``."""
        if op.kind == HOST_KIND:
            dims = op.dims
            return self.per_kernel_s * dims.get("kernels", 0) + self.per_host_op_s * dims.get("host_ops", 0)
        cost = self._cost.get(op.kind)
        if cost is None:
            cost = self.per_kernel_s * self.kernels_per_op.get(op.kind, 1)
            cost += self.per_host_op_s * self.host_ops_per_op.get(op.kind, 0)
            self._cost[op.kind] = cost
        return cost

    def waits_after(self, op: Operator) -> bool:
        """Whether the host waits for ``op`` to finish before issuing the next operator."""
        if self.serialise or op.kind in self.sync_on:
            return True
        return op.kind == HOST_KIND and op.dims.get("syncs", 0) > 0

    def launch_cost_s(self, op: Operator) -> float:
        """Device seconds ``op`` spends launching its kernels (on its unit)."""
        return self.launch_s * self.kernels(op)

    def rate_factor(self, op: Operator, unit: ComputeUnitSpec, shape_utilisation: float) -> float:
        """Fraction of the unit's peak ``op`` achieves: chip efficiency × shape utilisation × kernel library.

        On a matrix unit, ``attention`` with a published curve uses the curve alone (it is measured
        against peak and already includes tiling losses); other kinds get the unit's measured
        efficiency and shape utilisation times ``kernel_efficiency`` of the op's dtype.
        """
        matrix = unit.kind in ("matrix", "fabric")
        if matrix and op.kind == "attention" and self._att_eff:
            return self.attention_efficiency(int(op.dims.get("N", 1)))
        factor = unit.efficiency * shape_utilisation
        if matrix:
            factor *= self.kernel_eff.get(op.dtype, 1.0)
        return factor

    def attention_efficiency(self, keys: int) -> float:
        """The attention curve at ``keys`` keys per query: log-linear between points, flat beyond the ends."""
        xs, ys = self._att_keys, self._att_eff
        x = math.log(max(1, keys))
        if x <= xs[0]:
            return ys[0]
        if x >= xs[-1]:
            return ys[-1]
        i = bisect.bisect_right(xs, x)
        t = (x - xs[i - 1]) / (xs[i] - xs[i - 1])
        return ys[i - 1] + t * (ys[i] - ys[i - 1])


class Host:
    """The host as a SimPy process: issues every operator into ``execution`` in trace order.

    A failure while issuing (a bad trace line, an operator no unit can run, a capacity overflow)
    is kept in :attr:`error` and stops the simulation, so that the caller can raise the original
    exception: SimPy would re-create it as ``type(e)(*e.args)``, which loses its fields (and fails
    for an exception whose constructor takes other arguments than its ``args``).
    """

    def __init__(
        self, env: simpy.Environment, profile: HostProfile, execution: Execution, max_outstanding: int
    ) -> None:
        if max_outstanding < 1:
            raise ValueError(f"max_outstanding(={max_outstanding}) must be >= 1")
        self.env = env
        self.profile = profile
        self.execution = execution
        self.max_outstanding = max_outstanding
        self.resume_outstanding = max(0, max_outstanding - max(1, max_outstanding // 8))
        #: the event the host waits on while the launch queue is full (succeeded by the execution)
        self.window: simpy.Event | None = None
        self.split: LatencySplit = ZERO_SPLIT
        self.error: BaseException | None = None
        #: wraps each stream of operators before it is issued (progress reports); identity by default
        self.wrap: Callable[[Iterator[Operator]], Iterator[Operator]] = lambda ops: ops
        execution.host = self

    def process(self, ops: Iterator[Operator]) -> Generator[simpy.Event, Any, None]:
        """Issue every operator of ``ops``; a failure is kept in :attr:`error` (see the class)."""
        try:
            yield from self.issue_all(ops)
        except Exception as exc:  # re-raised unchanged by the caller
            self.error = exc
            raise StopSimulation(None) from None  # ends env.run() now: operators in flight are moot

    def process_plan(self, plan: Iterable[PlanItem], steps: StepFastPath | None) -> Generator[simpy.Event, Any, None]:
        """Issue a trace's plan: operators as :meth:`process`; a trailing step run through ``steps``."""
        try:
            yield from self._issue_plan(iter(plan), steps)
        except Exception as exc:  # re-raised unchanged by the caller
            self.error = exc
            raise StopSimulation(None) from None

    def _issue_plan(self, items: Iterator[PlanItem], steps: StepFastPath | None) -> Generator[simpy.Event, Any, None]:
        runs: list[StepRun] = []

        def operators() -> Iterator[Operator]:
            for item in items:
                if isinstance(item, StepRun):
                    runs.append(item)
                    return
                yield item

        while True:
            yield from self.issue_all(self.wrap(operators()))
            if not runs:
                return
            run = runs.pop()
            following = next(items, None)
            if following is None and steps is not None:
                yield from steps.process(run)
                return
            yield from self.issue_all(self.wrap(run.operators()))
            if following is None:
                return
            items = itertools.chain([following], items)

    def drain(self) -> Generator[simpy.Event, Any, None]:
        """Wait until every issued operator has finished."""
        if self.execution.inflight:
            resume = self.resume_outstanding
            self.resume_outstanding = 0
            self.window = self.env.event()
            self.split = yield self.window
            self.resume_outstanding = resume

    def issue_all(self, ops: Iterator[Operator]) -> Generator[simpy.Event, Any, None]:
        """Issue ``ops`` in order at the runtime's cost (waiting on sync points and the launch-queue bound)."""
        env = self.env
        profile = self.profile
        free = profile.free
        execution = self.execution
        issue = execution.issue
        inflight = execution.inflight
        mask = GC_EVERY - 1
        for count, op in enumerate(ops, 1):
            if not count & mask:
                gc.collect(1)  # cycles made by the trace's generator, if any: memory stays bounded
            # every device has its own host process issuing the same sequence (SPMD): device 0's stands for all
            cost_s = 0.0 if free or op.device else profile.issue_cost_s(op)
            if cost_s > 0:
                yield env.timeout(cost_s)
                self.split = after_host_cost(self.split, cost_s)
            if len(inflight) >= self.max_outstanding:
                self.window = env.event()
                self.split = yield self.window
            st = issue(op, cost_s, self.split)
            if not op.device and profile.waits_after(op) and op.id in inflight:
                st.sync = env.event()
                self.split = yield st.sync


def with_progress(
    ops: Iterator[Operator], execution: Execution, tokens_total: float | None, progress: EngineProgress
) -> Iterator[Operator]:
    """``ops`` unchanged, calling ``progress`` at most every :data:`PROGRESS_INTERVAL_S` of wall time."""
    clock = time.monotonic
    last = clock()
    totals = execution.totals
    inflight = execution.inflight
    for i, op in enumerate(ops):
        if not i & 255:
            now = clock()
            if now - last >= PROGRESS_INTERVAL_S:
                last = now
                finished = execution.issued - len(inflight)
                progress(RunProgress(finished, totals.tokens, tokens_total, float(execution.env.now)))
        yield op
