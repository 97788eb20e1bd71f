"""The step-level fast path: a run of repeated decode steps advanced in closed form, per operator.

A trace may describe its decode steps as a :class:`~workloads.trace.StepRun` (same operators each
step, numeric fields affine in the step). When such a run ends the trace, the host
(:meth:`~simulator.engine.host.Host.process_plan`) hands it here:

1. **Warm-up, in full.** Steps ``first`` .. ``first + WARMUP`` are issued as usual (the host runs
   ahead), then the engine drains; one more step, the *reference* step ``R``, runs alone with the
   memory peaks of that step alone recorded.
2. **Checks.** On those steps: the operators keep their shape (kinds, tensors, dependency offsets)
   and their numeric fields are affine in the step; every unit is pinned; no step starts before the
   previous one ends; the operators whose fields vary (attention over a growing KV cache) run
   alone (no other operator overlaps them, so each lasts its stand-alone time); every other
   operator's start and end move by exactly the growth of the varying operators before it, and
   the critical-path split by exactly theirs; the varying operators do grow.
3. **Closed form.** For each later step, each varying operator is built from its affine fields,
   costed exactly (the same :class:`~simulator.engine.mapping.Mapper`), and checked: its memory
   effects must equal the reference's and its duration must not shrink (else the schedule could
   differ). The step lasts the reference step's fixed part plus the varying operators' durations;
   every total (energy counts, FLOPs, bytes, busy time, per-kind figures, tokens, memory peaks)
   advances by the reference step's fixed part plus the varying operators' own figures.

Any failed check, or a memory that the KV cache would overflow, raises :class:`FallBack`; the
engine then replays the whole trace with the full discrete-event simulation, so results never rest
on an unchecked assumption. ``RunResult.events`` counts the SimPy events actually processed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import simpy

from simulator.engine.attribution import LatencySplit
from simulator.engine.flows import solo_schedule
from simulator.engine.mapping import Mapper, OpCost
from simulator.engine.signatures import check_cost
from workloads.trace import Operator, StepRun, TensorRef

if TYPE_CHECKING:
    from simulator.engine.execution import Execution, OpState
    from simulator.engine.host import Host

#: Steps simulated in full before the reference step (the host runs ahead over them): each step
#: after the first gives one checked transition of the schedule.
WARMUP = 3

#: A run needs this many steps beyond the warm-up and the reference step to be worth advancing.
MIN_ADVANCED = 2

#: Tolerance of the schedule checks, relative to the reference step's duration.
REL_TOL = 1e-11


class FallBack(Exception):  # a signal, not an error: hence no 'Error' suffix
    """The fast path cannot vouch for a run: the engine replays the trace in full."""


#: One observed operator: its state, start, end, and critical-path split at its end.
Observed = tuple["OpState", float, float, LatencySplit]


class _Row(NamedTuple):
    """An observed operator with its place in finishing order."""

    st: OpState
    start: float
    end: float
    split: LatencySplit
    seq: int


def lone_duration(cost: OpCost, capacities: Sequence[float]) -> tuple[float, bool]:
    """Seconds an operator of ``cost`` takes alone on the network, and whether it is compute-bound.

    The flow network's lone-group rule: ``max(compute, flows done) + latency``.
    """
    specs = [(res, b) for res, b in cost.flows if b > 0 and res]
    done = solo_schedule(capacities, specs)[0] if specs else 0.0
    duration = (cost.compute_s if cost.compute_s > done else done) + cost.latency_s
    return duration, cost.compute_s >= done + cost.latency_s - cost.launch_s


def _split_of(body: float, compute_bound: bool) -> tuple[float, float]:
    return (body, 0.0) if compute_bound else (0.0, body)


def _numbers(op: Operator) -> list[float]:
    """The operator's numeric fields in a fixed order (FLOPs, tokens, tensor bytes, dims values)."""
    return [
        op.flops,
        op.tokens,
        *(t.bytes for t in op.reads),
        *(t.bytes for t in op.writes),
        *op.dims.values(),
    ]


def _shape(op: Operator, step_first_id: int, count: int) -> tuple[Any, ...]:
    """Everything about the operator that must not change from step to step.

    Dependencies inside its step or the previous one are kept as offsets, older ones as ids.
    """
    near = step_first_id - count
    deps = tuple(("rel", op.id - d) if d >= near else ("abs", d) for d in op.deps)
    return (
        op.kind,
        op.dtype,
        op.phase,
        tuple((t.tensor, t.cls) for t in op.reads),
        tuple((t.tensor, t.cls) for t in op.writes),
        tuple(op.dims),
        op.frees,
        deps,
    )


def _synth(ref: Operator, delta: Sequence[float], k: int, step: int) -> Operator:
    """``ref`` moved ``k`` steps on: every numeric field plus ``k`` times its per-step change."""
    values = [v + k * d for v, d in zip(_numbers(ref), delta, strict=True)]
    flops, tokens = values[0], values[1]
    at = 2
    reads = tuple(TensorRef(t.tensor, t.cls, int(values[at + i])) for i, t in enumerate(ref.reads))
    at += len(ref.reads)
    writes = tuple(TensorRef(t.tensor, t.cls, int(values[at + i])) for i, t in enumerate(ref.writes))
    at += len(ref.writes)
    dims = {key: int(values[at + i]) for i, key in enumerate(ref.dims)}
    return Operator(
        id=ref.id,
        name=ref.name,
        kind=ref.kind,
        phase=ref.phase,
        flops=flops,
        reads=reads,
        writes=writes,
        dtype=ref.dtype,
        dims=dims,
        step=step,
        tokens=tokens,
    )


def _memory_effects(cost: OpCost) -> tuple[Any, ...]:
    return (cost.unit, cost.activations, cost.weights, cost.kv_writes)


class StepFastPath:
    """Advances a trailing :class:`StepRun` in closed form after checking it (see the module)."""

    def __init__(self, execution: Execution, host: Host, mapper: Mapper, capacities: Sequence[float]) -> None:
        self.execution = execution
        self.host = host
        self.mapper = mapper
        self.capacities = list(capacities)
        #: steps advanced in closed form (0: the run was simulated in full)
        self.advanced = 0

    def usable(self, run: StepRun, first: Sequence[Operator]) -> bool:
        """Whether to try (``first``: the run's first step): checks that need no simulation.

        Issuing must cost no host time (the host's own timeline would be part of the schedule; sync
        points and ``host_device: serialise`` are allowed: with free issue they only hold later
        operators until an operator has finished, which the checks of the warm-up steps see), the run
        must be long enough, the timeline window (``first`` or ``steps``; not ``auto``, whose middle step
        would be advanced) must end in the steps simulated in full, and every unit
        must be pinned.
        """
        if not self.host.profile.free:
            return False
        if len(self.execution.device_busy_s) > 1 or any(op.device or op.group for op in first):
            return False  # a system of chips: simulated in full
        if run.last - run.first + 1 < WARMUP + 2 + MIN_ADVANCED:
            return False
        ex = self.execution
        recorder = ex.totals.recorder
        if recorder.mode == "auto":  # its middle step would be one advanced in closed form
            return False
        if recorder.mode == "first" and recorder.limit > ex.issued + len(first) * (WARMUP + 2):
            return False
        if recorder.mode == "steps" and max(recorder.steps, default=0) > run.first + WARMUP + 1:
            return False
        return all(not op.frees and len(self.mapper.candidates(op)) == 1 for op in first)

    def process(self, run: StepRun) -> Generator[simpy.Event, Any, None]:
        """Simulate the warm-up and reference steps in full, check them, advance the rest (the host's process)."""
        host = self.host
        ex = self.execution
        first = list(run.build(run.first))
        if not self.usable(run, first):
            yield from host.issue_all(host.wrap(run.operators()))
            return
        warm = [list(run.build(s)) for s in range(run.first, run.first + WARMUP + 1)]
        observed: list[Observed] = []
        ex.observer = observed
        for ops in warm:
            yield from host.issue_all(iter(ops))
        yield from host.drain()
        saved = ex.capacity.open_window()
        device_busy = ex.device_busy_s[0]  # the fast path runs single-device traces only
        ref_step = run.first + WARMUP + 1
        ref_ops = list(run.build(ref_step))
        yield from host.issue_all(iter(ref_ops))
        yield from host.drain()
        window = ex.capacity.close_window(saved)
        ex.observer = None
        self._advance(run, [*warm, ref_ops], observed, window, ex.device_busy_s[0] - device_busy)

    # -- checks and closed form ----------------------------------------------------------------

    def _advance(
        self,
        run: StepRun,
        steps: list[list[Operator]],
        observed: list[Observed],
        window: dict[str, tuple[int, int, int]],
        ref_device_busy: float,
    ) -> None:
        ex = self.execution
        by_id = {st.op.id: _Row(st, start, end, split, seq) for seq, (st, start, end, split) in enumerate(observed)}
        count = len(steps[0])
        if any(len(ops) != count for ops in steps) or any(op.id not in by_id for ops in steps for op in ops):
            raise FallBack("steps differ in length")
        rows = [[by_id[op.id] for op in ops] for ops in steps]
        for ops in steps:
            for op in ops:
                if op.frees or len(self.mapper.candidates(op)) != 1:
                    raise FallBack("frees or an unpinned unit")

        # shape and affine fields, per position
        varying: list[int] = []
        deltas: list[list[float]] = []
        for i in range(count):
            shapes = [_shape(ops[i], ops[0].id, count) for ops in steps]
            nums = [_numbers(ops[i]) for ops in steps]
            if any(sh != shapes[0] or len(n) != len(nums[0]) for sh, n in zip(shapes, nums, strict=True)):
                raise FallBack(f"operator {i} of a step changes shape")
            delta = [b - a for a, b in zip(nums[-2], nums[-1], strict=True)]
            for a, b in itertools.pairwise(nums):
                if [y - x for x, y in zip(a, b, strict=True)] != delta:
                    raise FallBack(f"operator {i} of a step is not affine in the step")
            if any(delta):
                varying.append(i)
                deltas.append(delta)
            elif any(_memory_effects(row[i][0].cost) != _memory_effects(rows[0][i][0].cost) for row in rows):
                raise FallBack("a fixed operator's cost changed")
        if not varying:
            raise FallBack("nothing varies: nothing to check the schedule against")

        ends = [max(r[2] for r in row) for row in rows]
        step_s = ends[-1] - ends[-2]
        tol = REL_TOL * step_s
        # isolation: no step starts before the previous one ends (the host ran ahead over the warm-up)
        for k in range(1, len(rows)):
            if min(r[1] for r in rows[k]) < ends[k - 1] - tol:
                raise FallBack("steps overlap")
        caps = self.capacities
        lone = [[lone_duration(rows[k][j][0].cost, caps) for j in varying] for k in range(len(rows))]
        for k, row in enumerate(rows):
            for n, j in enumerate(varying):
                _, start, end, _, _ = row[j]
                if abs((end - start) - lone[k][n][0]) > tol:
                    raise FallBack("a varying operator did not run alone")
                for i, (_, s2, e2, _, _) in enumerate(row):
                    if i != j and s2 < end - tol and e2 > start + tol:
                        raise FallBack("a varying operator overlaps another")
        grew = [False] * len(varying)
        split_fixed: list[tuple[float, ...]] = []
        for k in range(1, len(rows)):
            prev, cur = rows[k - 1], rows[k]
            base_prev, base_cur = (ends[k - 2] if k >= 2 else None), ends[k - 1]
            growth = [lone[k][n][0] - lone[k - 1][n][0] for n in range(len(varying))]
            for n, g in enumerate(growth):
                if g < -tol:
                    raise FallBack("a varying operator shrank")
                if g > tol:
                    grew[n] = True
            if base_prev is not None:
                for i in range(count):
                    for t_prev, t_cur in ((prev[i].start, cur[i].start), (prev[i].end, cur[i].end)):
                        shift = sum(g for n, g in enumerate(growth) if prev[varying[n]].end <= t_prev + tol)
                        if abs((t_cur - base_cur) - (t_prev - base_prev + shift)) > tol:
                            raise FallBack("the schedule does not shift with the varying operators")
            split_fixed.append(self._fixed_split(rows, k, varying, lone, ends))
        if not all(grew):
            raise FallBack("a varying operator does not grow over the warm-up: its effect is unchecked")
        for sf in split_fixed[1:]:
            if any(abs(a - b) > tol for a, b in zip(sf, split_fixed[0], strict=True)):
                raise FallBack("the critical-path split does not follow the varying operators")
        if any(st.op.phase != ex.totals.phase for st, *_ in rows[-1]):
            raise FallBack("a step spans several phases")

        self._closed_form(run, steps, rows, varying, deltas, lone[-1], ends, split_fixed[-1], window, ref_device_busy)

    @staticmethod
    def _last_split(row: list[_Row], end: float) -> LatencySplit:
        """The split of the step's last operator to finish (as the execution's ``last_split``: ties go to the later)."""
        last = max((r for r in row if r[2] >= end), key=lambda r: r[4])
        return last[3]

    def _fixed_split(
        self,
        rows: list[list[_Row]],
        k: int,
        varying: list[int],
        lone: list[list[tuple[float, bool]]],
        ends: list[float],
    ) -> tuple[float, ...]:
        """Step ``k``'s split increment less its varying operators' bodies (constant if the model holds)."""
        a, b = self._last_split(rows[k - 1], ends[k - 1]), self._last_split(rows[k], ends[k])
        inc = [y - x for x, y in zip(a, b, strict=True)]
        for n, j in enumerate(varying):
            cost = rows[k][j][0].cost
            duration, compute_bound = lone[k][n]
            c, d = _split_of(duration - cost.launch_s, compute_bound)
            inc[0] -= c
            inc[1] -= d
            inc[2] -= cost.launch_s
        return tuple(inc)

    def _closed_form(
        self,
        run: StepRun,
        steps: list[list[Operator]],
        rows: list[list[_Row]],
        varying: list[int],
        deltas: list[list[float]],
        ref_lone: list[tuple[float, bool]],
        ends: list[float],
        split_fixed: tuple[float, ...],
        window: dict[str, tuple[int, int, int]],
        ref_device_busy: float,
    ) -> None:
        ex = self.execution
        totals = ex.totals
        cap = ex.capacity
        ledger = totals.ledger
        ref_row = rows[-1]
        ref_ops = steps[-1]
        ref_step = run.first + len(steps) - 1
        n_steps = run.last - ref_step
        vset = set(varying)

        # the reference step's fixed part: everything but the varying operators
        step_fixed = (ends[-1] - ends[-2]) - sum(d for d, _ in ref_lone)
        # the varying operators run alone, so the device waits the same time in every step: advance that
        # (a difference of nearly equal times: kept as the difference, not rebuilt from two sums)
        device_idle = (ex.makespan - ex.device_busy_s[0]) + n_steps * ((ends[-1] - ends[-2]) - ref_device_busy)
        busy_fixed = [0.0] * len(ex.busy_s)
        kind_fixed: dict[tuple[str, str, str, str], list[float]] = {}
        tokens_fixed = 0.0
        kv_step: dict[str, int] = {}
        kv_names: dict[str, int] = {}
        for i, (st, start, end, _, _) in enumerate(ref_row):
            cost = st.cost
            for name, mem, nbytes in cost.kv_writes:
                kv_step[mem] = kv_step.get(mem, 0) + nbytes
                kv_names[name] = kv_names.get(name, 0) + nbytes
            if i in vset:
                continue
            op = st.op
            busy_fixed[cost.unit_index] += end - start
            ks = kind_fixed.setdefault((op.phase, op.kind, cost.unit, op.dtype), [0.0, 0.0, 0.0, 0.0])
            ks[0] += 1
            ks[1] += cost.flops
            ks[2] += cost.transfer_bytes
            ks[3] += end - start
            tokens_fixed += op.tokens

        # memory: the KV cache grows by the same bytes every step, so each step's peak is the reference's plus that
        for mem, (total_peak, _, _) in window.items():
            grown = total_peak + n_steps * kv_step.get(mem, 0)
            if grown > cap.capacity[mem]:
                raise FallBack(f"memory {mem!r} would overflow: the full simulation names the operator")

        # each later step: the varying operators exactly, the rest as in the reference step
        makespan = ex.makespan
        split = list(ex.last_split)
        busy = ex.busy_s
        kind_stats = totals.kind_stats
        counts = ledger.counts
        tokens = 0.0
        mapper = self.mapper
        caps = self.capacities
        # varying operators that differ only in the names of tensors they read (attention of each layer over
        # its own KV cache) have the same cost: cost one of them per step and count it for all
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for n, j in enumerate(varying):
            st = ref_row[j][0]
            op = ref_ops[j]
            key = (
                op.kind,
                op.dtype,
                op.phase,
                st.cost.unit,
                tuple(_numbers(op)),
                tuple(deltas[n]),
                tuple(t.cls for t in op.reads),
                tuple(t.cls for t in op.writes),
                tuple(op.dims),
                _memory_effects(st.cost),
            )
            group = groups.get(key)
            if group is None:
                groups[key] = [op, deltas[n], st.cost, ref_lone[n][0], _memory_effects(st.cost), 1]
            else:
                group[5] += 1
        for k in range(1, n_steps + 1):
            step = ref_step + k
            step_s = step_fixed
            for ref, delta, ref_cost, ref_duration, effects, times in groups.values():
                op = _synth(ref, delta, k, step)
                cost = mapper.cost(op, ref_cost.unit)
                check_cost(op, cost)
                if _memory_effects(cost) != effects:
                    raise FallBack("a varying operator's memory effects change")
                duration, compute_bound = lone_duration(cost, caps)
                if duration < ref_duration:
                    raise FallBack("a varying operator shrinks: the schedule could change")
                body = duration - cost.launch_s
                c, d = _split_of(body, compute_bound)
                for _ in range(times):  # one by one, as the full simulation adds them
                    step_s += duration
                    split[0] += c
                    split[1] += d
                    split[2] += cost.launch_s
                    busy[cost.unit_index] += duration
                ks = kind_stats.setdefault((op.phase, op.kind, cost.unit, op.dtype), [0.0, 0.0, 0.0, 0.0])
                ks[0] += times
                ks[1] += times * cost.flops
                ks[2] += times * cost.transfer_bytes
                ks[3] += times * duration
                energy = (cost.energy, op.phase)
                counts[energy] = counts.get(energy, 0) + times
                totals.tally(cost, times)
                tokens += times * op.tokens
            makespan += step_s
            for c in range(4):
                split[c] += split_fixed[c]
        # the fixed operators, n_steps times each
        for u, b in enumerate(busy_fixed):
            busy[u] += n_steps * b
        for stats_key, fixed in kind_fixed.items():
            ks = kind_stats.setdefault(stats_key, [0.0, 0.0, 0.0, 0.0])
            for c in range(4):
                ks[c] += n_steps * fixed[c]
        for i, (st, *_) in enumerate(ref_row):
            if i in vset:
                continue
            cost = st.cost
            energy = (cost.energy, st.op.phase)
            counts[energy] = counts.get(energy, 0) + n_steps
            if cost.evicted:
                totals.tally(cost, n_steps)
            else:
                cost.runs += n_steps
        totals.tokens += tokens + n_steps * tokens_fixed
        for mem, (total_peak, kv_peak, _) in window.items():
            grow = n_steps * kv_step.get(mem, 0)
            if grow:
                cap.occ[mem]["kv_cache"] += grow
                cap.total[mem] += grow
                cap.peak[mem]["kv_cache"] = max(cap.peak[mem].get("kv_cache", 0), kv_peak + grow)
                cap.peak_total[mem] = max(cap.peak_total[mem], total_peak + grow)
        for name, nbytes in kv_names.items():  # single-device traces only: every tensor is device 0's
            mem, held = cap.kv[(0, name)]
            cap.kv[(0, name)] = (mem, held + n_steps * nbytes)
        ex.makespan = makespan
        ex.device_busy_s[0] = makespan - device_idle
        ex.last_split = LatencySplit(*split)
        span = totals.spans[-1]
        if makespan > span.end_s:
            span.end_s = makespan
        ex.issued += n_steps * len(ref_row)
        ex.last_id += n_steps * len(ref_row)
        self.advanced = n_steps
        if not math.isfinite(makespan):
            raise FallBack("the run's latency is not finite")
