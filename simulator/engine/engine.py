"""Trace replay: the host issues operators, units run them in issue order, flows share bandwidth.

:func:`simulate` wires the engine's parts together, one concept per module:

- :mod:`~simulator.engine.host`: *when* operators are issued (runtime issue cost, sync points,
  the launch-queue bound) and the run's progress reports;
- :mod:`~simulator.engine.signatures`: *where* and at what cost (the cached cost per operator
  signature, the ``auto`` unit choice, checks of the cost);
- :mod:`~simulator.engine.execution`: per-unit queues, dependencies, start and finish;
- :mod:`~simulator.engine.flows`: bandwidth sharing between the transfers of running operators;
- :mod:`~simulator.engine.capacity`: memory occupancy and overflow;
- :mod:`~simulator.engine.attribution`: the critical path's split into latency categories;
- :mod:`~simulator.engine.results`: running totals and the :class:`RunResult`;
- :mod:`~simulator.engine.steps`: the step fast path (repeated decode steps in closed form).

SimPy sees one completion event per operator plus the network's wakeups (and, for a runtime with a
host issue cost ``per_kernel_overhead``, one timeout per issue).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from typing import Any

import simpy

from simulator.config.architecture import ArchitectureSpec, RuntimeSpec
from simulator.engine.capacity import Capacity
from simulator.engine.events import CountingEnvironment
from simulator.engine.execution import Execution
from simulator.engine.flows import FlowNetwork
from simulator.engine.host import MAX_OUTSTANDING, EngineProgress, Host, HostProfile, RunProgress, with_progress
from simulator.engine.mapping import Mapper
from simulator.engine.results import RunTotals
from simulator.engine.signatures import SignatureCache
from simulator.engine.steps import FallBack, StepFastPath
from simulator.hardware.system import System
from simulator.metrics.ledger import Ledger
from simulator.metrics.result import RunResult
from simulator.metrics.window import TimelineRecorder
from workloads.trace import Operator, Trace


class Engine:
    """One replay of a trace on a system; use :func:`simulate`."""

    def __init__(
        self,
        arch: ArchitectureSpec,
        runtime: RuntimeSpec | None,
        mapping: Mapping[str, str] | None,
        timeline_limit: int,
        max_outstanding: int = MAX_OUTSTANDING,
        recorder: TimelineRecorder | None = None,
    ) -> None:
        self.arch = arch
        self.system = System(arch)
        profile = HostProfile(runtime)
        self.mapper = Mapper(self.system, mapping, profile)
        self.env = CountingEnvironment()
        self.ledger = Ledger()
        self.capacity = Capacity(self.system)
        recorder = recorder if recorder is not None else TimelineRecorder(timeline_limit)
        self.totals = RunTotals(self.system, self.ledger, recorder)
        self.signatures = SignatureCache(self.mapper, self._evict)
        self.net = FlowNetwork(self.env, self.system.capacities)
        owner = {unit: d.index for d in self.system.devices for unit in (*d.units.values(), d.comm) if unit}
        self.execution = Execution(
            self.env,
            self.net,
            self.mapper.unit_names,
            self.signatures,
            self.capacity,
            self.totals,
            [owner.get(unit, -1) for unit in self.mapper.unit_names],
        )
        self.net.on_complete = self.execution.finish
        self.host = Host(self.env, profile, self.execution, max_outstanding)
        #: the step fast path of the last run (``None``: the run was replayed in full)
        self.fast: StepFastPath | None = None

    def _evict(self) -> None:
        """Fold every cached signature into the totals and forget them (operators in flight keep theirs)."""
        self.totals.fold(self.signatures.costs(), evict=True)
        self.signatures.clear()
        self.ledger.fold()
        self.net.forget_memo()

    def host_process(self, ops: Iterator[Operator]) -> Generator[simpy.Event, Any, None]:
        """The host's SimPy process over ``ops`` (see :class:`~simulator.engine.host.Host`)."""
        return self.host.process(ops)

    def run(self, trace: Trace, progress: EngineProgress | None = None, exact: bool = False) -> None:
        """Replay ``trace`` until every operator has finished; re-raises the host's failure unchanged.

        Unless ``exact``, a trace with a plan whose last item is a step run goes through the step
        fast path (:mod:`simulator.engine.steps`), which raises ``FallBack`` when it cannot vouch
        for the run (:func:`simulate` then replays it in full).
        """
        total = trace.header.get("tokens_per_sequence")
        tokens_total = float(total) if total else None
        execution = self.execution
        if progress is not None:
            report = progress
            self.host.wrap = lambda ops: with_progress(ops, execution, tokens_total, report)
        if trace.plan is not None and not exact:
            self.fast = StepFastPath(execution, self.host, self.mapper, self.system.capacities)
            self.env.process(self.host.process_plan(trace.plan(), self.fast))
        else:
            self.env.process(self.host_process(self.host.wrap(iter(trace))))
        enabled = gc.isenabled()
        gc.disable()  # see simulate(): the replay makes no cyclic garbage of its own
        try:
            self.env.run()
        finally:
            if enabled:
                gc.enable()
        if self.host.error is not None:
            raise self.host.error
        if progress is not None:
            finished = execution.issued - len(execution.inflight)
            progress(RunProgress(finished, self.totals.tokens, tokens_total, execution.makespan, done=True))

    def result(self, trace: Trace, workload: str, wall_start: float) -> RunResult:
        """Assemble the :class:`RunResult` after the environment has run dry."""
        execution = self.execution
        if execution.inflight:
            raise ValueError(f"{len(execution.inflight)} operators never finished (a dependency cycle?)")
        self.totals.fold(self.signatures.costs(), evict=False)
        return self.totals.assemble(
            arch=self.arch,
            trace=trace,
            workload=workload,
            makespan_s=execution.makespan,
            last_split=execution.last_split,
            busy_by_unit_s={name: execution.busy_s[i] for i, name in enumerate(self.mapper.unit_names)},
            capacity=self.capacity,
            events=self.env.processed,
            wall_start=wall_start,
        )


def simulate(
    arch: ArchitectureSpec,
    trace: Trace,
    runtime: RuntimeSpec | None = None,
    *,
    mapping: Mapping[str, str] | None = None,
    workload: str | None = None,
    timeline_limit: int = 0,
    timeline_window: str | Sequence[int] = "first",
    progress: EngineProgress | None = None,
    exact: bool = False,
) -> RunResult:
    """Replay ``trace`` on ``arch`` under ``runtime`` (``None``: ideal, no host cost).

    Args:
        arch: the hardware.
        trace: the operators (streamed once).
        runtime: the software stack's host issue cost, sync points and device-side kernel launch time;
            ``None`` means an ideal runtime.
        mapping: scenario overrides of ``arch.mapping`` (kind -> unit or ``'auto'``; ``'*'`` default).
        workload: label for the result (default ``trace.header['workload']``).
        timeline_limit: keep per-operator and per-link records of up to N operators (per kept step
            unless the window is ``first``); 0 keeps none.
        timeline_window: which operators (:class:`~simulator.metrics.window.TimelineRecorder`):
            ``first`` (the first N), ``auto`` (step 0 and a step from the middle of the run) or a
            list of step numbers.
        progress: called with a :class:`~simulator.engine.host.RunProgress` a few times per second
            of wall time while the run replays, and once at the end (``None``: no reports, no cost).
        exact: replay every operator with the full discrete-event simulation. By default a run of
            repeated decode steps at the end of the trace (a ``StepRun`` of the trace's plan) is
            checked on a few steps and advanced in closed form (:mod:`simulator.engine.steps`),
            with the same results to ~1e-12; anything it cannot check is replayed in full.

    Raises:
        UserError: an operator no mapped unit can run, an unreachable memory, a missing placement,
            an operator whose duration is not finite.
        CapacityError: a memory level overflows.
        ValueError: an inconsistent trace (ids not increasing).

    Exceptions raised by the trace's operator stream (e.g. ``TraceFormatError``) propagate unchanged.

    Automatic garbage collection is paused while the trace replays (and restored after): the
    engine's state makes no reference cycles per operator, but it holds ~10^5 live tracked objects
    (finish times, critical-path splits, cached costs) that full collections would walk again and
    again; the young generations are still collected every ``GC_EVERY`` operators, so a trace
    generator that does make cycles keeps bounded memory.

    """
    wall_start = time.perf_counter()
    steps: tuple[int, ...] = ()
    if isinstance(timeline_window, str):
        mode = timeline_window
    else:
        mode, steps = "steps", tuple(timeline_window)
    engine = Engine(arch, runtime, mapping, timeline_limit, recorder=TimelineRecorder(timeline_limit, mode, steps))
    try:
        engine.run(trace, progress, exact)
    except FallBack:
        recorder = TimelineRecorder(timeline_limit, mode, steps)
        engine = Engine(arch, runtime, mapping, timeline_limit, recorder=recorder)
        engine.run(trace, progress, exact=True)
    label = workload if workload is not None else str(trace.header.get("workload", ""))
    return engine.result(trace, label, wall_start)
