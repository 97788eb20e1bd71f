"""What one serving step costs, asked of the engine and cached by a sound key.

A step's operators (:func:`workloads.serving_step.step_trace`) are replayed by
:func:`simulator.engine.simulate` — the same operator model, mapping, flows, runtime and energy ledger as
any other run — and the result is kept as a :class:`StepCost`. Two exact reductions keep a 1,000-request
run to a few hundred engine calls:

* **Layers.** Every transformer layer of a step is the same chain of operators, so the engine's cost
  (time, every energy view, busy time, bytes) is affine in the layer count once the pipeline is in steady
  state: ``cost(L) = cost(1) + (L − 1)·(cost(2) − cost(1))``. Two short replays stand for the whole step.
* **Decode KV length.** Only the decode attention depends on the decoding sequences' cached tokens
  ``S``, and its FLOPs and bytes are both exactly affine in ``S`` with an arithmetic intensity that does not
  depend on ``S`` (4·H·t·head_dim FLOPs per 2·kv_heads·head_dim cached values), so the operator stays on the
  same side of the roofline. Its time is therefore affine in ``S`` between points where the utilisation
  model's tile count over the mean key length changes. ``S`` is bucketed on a grid of
  :data:`KV_BUCKET_TOKENS` per decoding sequence (a multiple of the tile width), the bucket's two ends are
  replayed and the step is interpolated between them. Tests compare with un-cached replays.

Everything else in the key (decoding sequences, prefill chunks and their contexts, samples, SnapKV
selections) is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simulator.config.architecture import ArchitectureSpec, RuntimeSpec
from simulator.metrics.result import RunResult
from workloads.serving_step import StepModel, StepShape, step_trace

#: Grid of the decode-KV interpolation, in cached tokens per decoding sequence (see the module docstring).
KV_BUCKET_TOKENS = 128

Nested = dict[str, dict[str, float]]


@dataclass(frozen=True)
class StepCost:
    """The engine's measurement of one step (s, J, bytes, FLOPs); affine combinations stay meaningful."""

    latency_s: float
    energy_by_component_j: Nested
    energy_by_phase_j: Nested
    energy_by_kind_j: Nested
    latency_by_category_s: dict[str, float]
    busy_by_unit_s: dict[str, float]
    bytes_by_memory: dict[str, float]
    flops: float
    roofline_latency_s: float
    operators: float
    peak_memory_bytes: dict[str, dict[str, float]] = field(default_factory=dict)
    energy_by_level_j: dict[str, float] = field(default_factory=dict)

    @staticmethod
    def of(run: RunResult) -> StepCost:
        """The parts of a run that a serving result sums."""
        return StepCost(
            latency_s=run.latency_s,
            energy_by_component_j=_nested(run.energy_by_component_j),
            energy_by_phase_j=_nested(run.energy_by_phase_j),
            energy_by_kind_j=_nested(run.energy_by_kind_j),
            latency_by_category_s=dict(run.latency_by_category_s),
            busy_by_unit_s=dict(run.busy_by_unit_s),
            bytes_by_memory=dict(run.bytes_by_memory),
            flops=run.flops,
            roofline_latency_s=run.roofline_latency_s,
            operators=float(run.operators),
            peak_memory_bytes={m: {c: float(v) for c, v in cls.items()} for m, cls in run.peak_memory_bytes.items()},
            energy_by_level_j=dict(run.energy_by_level_j),
        )

    @property
    def energy_j(self) -> float:
        """Total energy of the step."""
        return sum(sum(c.values()) for c in self.energy_by_component_j.values())

    def affine(self, other: StepCost, w: float) -> StepCost:
        """``self + w·(other − self)`` field by field (w = 0: self, w = 1: other, beyond: extrapolation)."""

        def f(a: float, b: float) -> float:
            return a + w * (b - a)

        return StepCost(
            latency_s=f(self.latency_s, other.latency_s),
            energy_by_component_j=_affine_nested(self.energy_by_component_j, other.energy_by_component_j, w),
            energy_by_phase_j=_affine_nested(self.energy_by_phase_j, other.energy_by_phase_j, w),
            energy_by_kind_j=_affine_nested(self.energy_by_kind_j, other.energy_by_kind_j, w),
            latency_by_category_s=_affine_flat(self.latency_by_category_s, other.latency_by_category_s, w),
            busy_by_unit_s=_affine_flat(self.busy_by_unit_s, other.busy_by_unit_s, w),
            bytes_by_memory=_affine_flat(self.bytes_by_memory, other.bytes_by_memory, w),
            flops=f(self.flops, other.flops),
            roofline_latency_s=f(self.roofline_latency_s, other.roofline_latency_s),
            operators=f(self.operators, other.operators),
            peak_memory_bytes={
                m: _affine_flat(self.peak_memory_bytes.get(m, {}), other.peak_memory_bytes.get(m, {}), w)
                for m in sorted(set(self.peak_memory_bytes) | set(other.peak_memory_bytes))
            },
            energy_by_level_j=_affine_flat(self.energy_by_level_j, other.energy_by_level_j, w),
        )


def _nested(views: Mapping[str, Mapping[str, float]]) -> Nested:
    return {k: dict(v) for k, v in views.items()}


def _affine_flat(a: Mapping[str, float], b: Mapping[str, float], w: float) -> dict[str, float]:
    return {k: a.get(k, 0.0) + w * (b.get(k, 0.0) - a.get(k, 0.0)) for k in sorted(set(a) | set(b))}


def _affine_nested(a: Nested, b: Nested, w: float) -> Nested:
    return {k: _affine_flat(a.get(k, {}), b.get(k, {}), w) for k in sorted(set(a) | set(b))}


class StepCostModel:
    """Step costs of one (architecture, runtime, model) from the engine, memoised (see the module docstring)."""

    def __init__(
        self,
        arch: ArchitectureSpec,
        runtime: RuntimeSpec | None,
        mapping: Mapping[str, str] | None,
        model: StepModel,
        *,
        exact: bool = False,
    ) -> None:
        self.arch = arch
        self.runtime = runtime
        self.mapping = mapping
        self.model = model
        self.exact = exact  # tests: replay every step whole, no reduction
        self.layers = model.config.num_layers
        self._cache: dict[Any, StepCost] = {}
        self.replays = 0
        self.events = 0
        self.replay_wall_s = 0.0

    def _replay(self, shape: StepShape, layers: int | None) -> StepCost:
        from simulator.engine import simulate

        run = simulate(
            self.arch,
            step_trace(self.model, shape, layers),
            self.runtime,
            mapping=self.mapping,
            workload="serving-step",
        )
        self.replays += 1
        self.events += run.events
        self.replay_wall_s += run.wall_s
        return StepCost.of(run)

    def _whole(self, shape: StepShape) -> StepCost:
        """The full-depth step, from two short replays (exact by layer periodicity)."""
        key = ("whole", shape)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if self.exact or self.layers <= 2:
            cost = self._replay(shape, None)
        else:
            c1, c2 = self._replay(shape, 1), self._replay(shape, 2)
            cost = c1.affine(c2, float(self.layers - 1))
        self._cache[key] = cost
        return cost

    def cost(self, shape: StepShape) -> StepCost:
        """The cost of a step of this shape."""
        if self.exact or shape.decode_seqs == 0:
            return self._whole(shape)
        grid = KV_BUCKET_TOKENS * shape.decode_seqs
        lo = shape.decode_kv // grid * grid
        if lo == shape.decode_kv:
            return self._whole(shape)
        c_lo = self._whole(_with_kv(shape, lo))
        c_hi = self._whole(_with_kv(shape, lo + grid))
        return c_lo.affine(c_hi, (shape.decode_kv - lo) / grid)

    def full(self, shape: StepShape) -> StepCost:
        """One un-reduced replay of the whole step (for checks)."""
        return self._replay(shape, None)


def _with_kv(shape: StepShape, kv: int) -> StepShape:
    return StepShape(shape.decode_seqs, kv, shape.prefill, shape.samples, shape.select)


__all__ = ["KV_BUCKET_TOKENS", "StepCost", "StepCostModel"]
