"""The host: issues operators in trace order at the runtime's cost, running ahead of the device.

Each operator costs ``per_kernel_overhead_s × kernels_per_op.get(kind, 1)`` of host time before
it is issued. The host does not wait for the device, except after an operator whose kind is in
``sync_on`` (it waits for that operator to finish) and when ``max_outstanding`` operators are
issued but unfinished (a bounded launch queue; it resumes when the count falls to
``resume_outstanding``). The bound keeps the engine's state small for any trace length.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any, NamedTuple

import simpy
from simpy.core import StopSimulation

from simulator.config.architecture import RuntimeSpec
from simulator.engine.attribution import ZERO_SPLIT, LatencySplit, after_host_cost
from simulator.engine.execution import Execution
from workloads.trace import Operator

#: Default bound on issued-but-unfinished operators (a launch queue; CUDA's is about 1024 deep).
MAX_OUTSTANDING = 8192

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
    """Per-kind issue cost (s) and sync set of a runtime, with the per-kind cost cached."""

    def __init__(self, runtime: RuntimeSpec | None) -> None:
        self.per_kernel_s = runtime.per_kernel_overhead_s if runtime else 0.0
        self.kernels_per_op = dict(runtime.kernels_per_op) if runtime else {}
        self.sync_on = frozenset(runtime.sync_on) if runtime else frozenset()
        self.launch_s = runtime.kernel_launch_latency_s if runtime else 0.0
        self._cost: dict[str, float] = {}

    def issue_cost_s(self, kind: str) -> float:
        """Host seconds to issue one operator of ``kind``."""
        cost = self._cost.get(kind)
        if cost is None:
            cost = self.per_kernel_s * self.kernels_per_op.get(kind, 1)
            self._cost[kind] = cost
        return cost

    def launch_cost_s(self, kind: str) -> float:
        """Device seconds an operator of ``kind`` spends launching its kernels (on its unit)."""
        return self.launch_s * self.kernels_per_op.get(kind, 1)


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
        execution.host = self

    def process(self, ops: Iterator[Operator]) -> Generator[simpy.Event, Any, None]:
        """Issue every operator of ``ops``; a failure is kept in :attr:`error` (see the class)."""
        try:
            yield from self._issue_all(ops)
        except Exception as exc:  # re-raised unchanged by the caller
            self.error = exc
            raise StopSimulation(None) from None  # ends env.run() now: operators in flight are moot

    def _issue_all(self, ops: Iterator[Operator]) -> Generator[simpy.Event, Any, None]:
        env = self.env
        profile = self.profile
        sync_on = profile.sync_on
        free = profile.per_kernel_s == 0.0
        execution = self.execution
        issue = execution.issue
        inflight = execution.inflight
        mask = GC_EVERY - 1
        for count, op in enumerate(ops, 1):
            if not count & mask:
                gc.collect(1)  # cycles made by the trace's generator, if any: memory stays bounded
            # every device has its own host process issuing the same sequence (SPMD): device 0's stands for all
            cost_s = 0.0 if free or op.device else profile.issue_cost_s(op.kind)
            if cost_s > 0:
                yield env.timeout(cost_s)
                self.split = after_host_cost(self.split, cost_s)
            if len(inflight) >= self.max_outstanding:
                self.window = env.event()
                self.split = yield self.window
            st = issue(op, cost_s, self.split)
            if op.kind in sync_on and not op.device and op.id in inflight:
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
