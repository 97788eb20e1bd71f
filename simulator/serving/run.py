"""One serving run: size the KV-cache pool, schedule every request, sum the steps into a :class:`RunResult`.

Every joule comes from the engine's ledger: each step's energy by component, phase and operator kind is
the engine's (:mod:`simulator.serving.stepcost`), and the time the chip spends idle between steps (no
request to serve) or stalled on swap transfers draws the components' static power, booked to the phases
``idle`` and ``swap``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from simulator.config.architecture import ArchitectureSpec, RuntimeSpec
from simulator.errors import CapacityError, Problem
from simulator.metrics.result import ENERGY_CATEGORIES, EnergySplit, RunResult
from simulator.serving.kvcache import BlockPool
from simulator.serving.metrics import serving_metrics, serving_series
from simulator.serving.scheduler import EngineLimits, Outcome, Scheduler
from simulator.serving.stepcost import StepCost, StepCostModel
from simulator.units import format_quantity
from workloads.dtypes import bits_per_element
from workloads.serving import MedusaAcceptance, Request, ServingSpec, generate_requests, parse_bandwidth
from workloads.serving_step import StepModel, StepShape


def step_model(spec: ServingSpec) -> StepModel:
    """The model, dtypes and algorithm shapes every step of ``spec`` shares."""
    return spec.step_model()


def _size(nbytes: float) -> str:
    return format_quantity(nbytes, "size")


def block_pool(spec: ServingSpec, arch: ArchitectureSpec, model: StepModel, probe: StepCost) -> BlockPool:
    """The KV-cache blocks that fit beside the weights and the largest step's activations."""
    cfg = model.config
    mem = arch.placement["kv_cache"]
    capacity = arch.memories[mem].capacity_bytes * spec.scheduler.memory_fraction
    peaks = probe.peak_memory_bytes.get(mem, {})
    taken = peaks.get("weight", 0.0) + peaks.get("activation", 0.0)
    per_token = 2 * model.kv_heads * cfg.head_dim * cfg.num_layers * bits_per_element(spec.dtype) / 8
    block_bytes = spec.scheduler.block_tokens * per_token
    blocks = int((capacity - taken) // block_bytes) if capacity > taken else 0
    if blocks < 1:
        raise CapacityError(
            [
                Problem(
                    None,
                    (),
                    (
                        f"memory '{mem}' ({_size(capacity)} usable at memory_fraction "
                        f"{spec.scheduler.memory_fraction}) holds weights and activations of {_size(taken)}: "
                        f"no room for a single KV-cache block ({_size(block_bytes)})"
                    ),
                )
            ]
        )
    return BlockPool(blocks, spec.scheduler.block_tokens, block_bytes)


def simulate_serving(
    arch: ArchitectureSpec,
    spec: ServingSpec,
    runtime: RuntimeSpec | None = None,
    *,
    mapping: Mapping[str, str] | None = None,
    workload: str | None = None,
    requests: list[Request] | None = None,
    exact_steps: bool = False,
) -> RunResult:
    """Serve the requests of ``spec`` on ``arch``; ``requests`` overrides the generated ones (tests)."""
    wall_start = time.perf_counter()
    model = step_model(spec)
    costs = StepCostModel(arch, runtime, mapping, model, exact=exact_steps)
    probe = costs.cost(StepShape(prefill=((spec.scheduler.max_batched_tokens, 0),), samples=1))
    pool = block_pool(spec, arch, model, probe)
    snap = spec.snapkv_spec()
    limits = EngineLimits(
        decode_tokens=model.decode_tokens,
        context=model.config.max_position_embeddings,
        snap_capacity=snap.capacity if snap else None,
        swap_bandwidth=parse_bandwidth(spec.scheduler.swap_bandwidth),
    )
    medusa = spec.medusa_spec()

    def acceptance(req: Request) -> MedusaAcceptance | None:
        return MedusaAcceptance(medusa, spec.seed, req.id) if medusa else None

    reqs = requests if requests is not None else generate_requests(spec)
    outcome = Scheduler(spec.scheduler, pool, limits, costs.cost, acceptance).run(reqs)
    if not outcome.seqs:
        reasons = "; ".join(r for _, r in outcome.rejected[:3])
        raise CapacityError([Problem(None, ("prompt_tokens",), f"every request was rejected: {reasons}")])
    return _result(arch, spec, workload or spec.label, outcome, probe, pool, costs, wall_start)


def idle_power_w(arch: ArchitectureSpec) -> dict[str, float]:
    """Power drawn while the device waits, by component.

    Static power of units, memories and the system, plus the architecture's active-idle power (component
    ``active_idle``).
    """
    power = {name: unit.static_power_w for name, unit in arch.compute_units.items()}
    power.update({name: mem.static_power_w for name, mem in arch.memories.items()})
    power["system"] = arch.static_power_w
    power["active_idle"] = arch.active_idle_power_w
    return {c: w for c, w in sorted(power.items()) if w > 0}


def _add_nested(total: dict[str, dict[str, float]], part: Mapping[str, Mapping[str, float]]) -> None:
    for key, cats in part.items():
        into = total.setdefault(key, {})
        for cat, value in cats.items():
            into[cat] = into.get(cat, 0.0) + value


def _add_flat(total: dict[str, float], part: Mapping[str, float]) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0.0) + value


def _result(
    arch: ArchitectureSpec,
    spec: ServingSpec,
    label: str,
    out: Outcome,
    probe: StepCost,
    pool: BlockPool,
    costs: StepCostModel,
    wall_start: float,
) -> RunResult:
    by_component: dict[str, dict[str, float]] = {}
    by_phase: dict[str, dict[str, float]] = {}
    by_kind: dict[str, dict[str, float]] = {}
    by_cat: dict[str, float] = {}
    by_level: dict[str, float] = {}
    busy: dict[str, float] = {}
    mem_bytes: dict[str, float] = {}
    flops = roofline = operators = busy_s = 0.0
    phase_s: dict[str, float] = {}
    for cost, step in zip(out.costs, out.steps, strict=True):
        _add_nested(by_component, cost.energy_by_component_j)
        _add_nested(by_phase, cost.energy_by_phase_j)
        _add_nested(by_kind, cost.energy_by_kind_j)
        _add_flat(by_cat, cost.latency_by_category_s)
        _add_flat(busy, cost.busy_by_unit_s)
        _add_flat(mem_bytes, cost.bytes_by_memory)
        flops += cost.flops
        roofline += cost.roofline_latency_s
        operators += cost.operators
        busy_s += cost.latency_s
        phase_s[step.phase] = phase_s.get(step.phase, 0.0) + cost.latency_s
        _add_flat(by_level, cost.energy_by_level_j)
    span = out.end_s
    idle_s = max(0.0, span - busy_s - out.swap_s)
    # between steps no unit runs: every component's static power plus the active-idle state, as the engine
    # charges a device that waits (simulator.engine.results)
    static_w = idle_power_w(arch)
    for phase, seconds in (("idle", idle_s), ("swap", out.swap_s)):
        if seconds <= 0:
            continue
        phase_s[phase] = seconds
        for component, watts in static_w.items():
            by_component.setdefault(component, {})
            by_component[component]["static"] = by_component[component].get("static", 0.0) + watts * seconds
        cats = by_phase.setdefault(phase, {})
        cats["static"] = cats.get("static", 0.0) + sum(static_w.values()) * seconds
        by_level["static"] = by_level.get("static", 0.0) + sum(static_w.values()) * seconds
    by_cat["idle"] = by_cat.get("idle", 0.0) + idle_s
    by_cat["data_movement"] = by_cat.get("data_movement", 0.0) + out.swap_s
    for views in (by_component, by_phase):
        for cats in views.values():
            for cat in ENERGY_CATEGORIES:
                cats.setdefault(cat, 0.0)
    energy = EnergySplit(
        sum(c.get("compute", 0.0) for c in by_component.values()),
        sum(c.get("data_movement", 0.0) for c in by_component.values()),
        sum(c.get("static", 0.0) for c in by_component.values()),
    )
    mem = arch.placement["kv_cache"]
    peaks = probe.peak_memory_bytes.get(mem, {})
    kv_peak = pool.peak_used * pool.block_bytes
    peak_memory = {
        mem: {
            "activation": int(peaks.get("activation", 0.0)),
            "kv_cache": int(kv_peak),
            "weight": int(peaks.get("weight", 0.0)),
        }
    }
    peak_memory[mem]["total"] = sum(peak_memory[mem].values())
    metrics = serving_metrics(spec, out, pool)
    done = [s for s in out.seqs if s.finish_s is not None]
    header: dict[str, Any] = {
        **spec.header(),
        "kv_blocks": pool.total,
        "kv_block_bytes": pool.block_bytes,
        "step_replays": costs.replays,
        "step_replay_wall_s": costs.replay_wall_s,
    }
    return RunResult(
        architecture=arch.name,
        workload=label,
        kind="serving",
        latency_s=span,
        ttft_s=metrics["ttft_p50_s"],
        tpot_s=metrics["tpot_p50_s"],
        tokens_per_s=metrics["tokens_per_s"],
        fps=None,
        energy=energy,
        energy_by_component_j=dict(sorted(by_component.items())),
        energy_by_phase_j=dict(sorted(by_phase.items())),
        energy_by_kind_j={
            k: {c: v.get(c, 0.0) for c in ("compute", "data_movement")} for k, v in sorted(by_kind.items())
        },
        energy_by_level_j=dict(sorted(by_level.items())),
        latency_by_category_s=by_cat,
        latency_by_phase_s=dict(sorted(phase_s.items())),
        busy_by_unit_s=busy,
        peak_memory_bytes=peak_memory,
        bytes_by_memory=mem_bytes,
        roofline_latency_s=roofline,
        flops=flops,
        operators=round(operators),
        events=costs.events + len(out.steps),
        wall_s=time.perf_counter() - wall_start,
        batch=len(done),  # sequences served: batch × tokens_per_sequence = the run's output tokens
        tokens_per_sequence=sum(s.generated for s in done) / len(done) if done else 0.0,
        header=header,
        serving={**metrics, "series": serving_series(out, pool), "rejections": [reason for _, reason in out.rejected]},
    )


__all__ = ["block_pool", "simulate_serving", "step_model"]
