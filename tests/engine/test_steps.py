"""The step fast path: equal to the full simulation wherever it is taken, and not taken where it cannot check."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from simulator.config.architecture import ArchitectureSpec, RuntimeSpec
from simulator.config.loader import load_architecture
from simulator.engine import simulate
from simulator.engine.engine import Engine
from simulator.engine.steps import FallBack
from simulator.errors import CapacityError
from simulator.metrics.result import RunResult
from tests.conftest import TinyArch
from workloads.llm import BaselineSpec, build_baseline
from workloads.trace import Operator, PlanItem, StepRun, TensorRef, Trace

#: Fields that count work done by the simulator itself, not results.
NOT_RESULTS = ("wall_s", "events")


def differences(fast: RunResult, full: RunResult, rel: float = 1e-9) -> list[str]:
    """Every result field (recursively) that differs by more than ``rel`` (of the run's scale for near-zeros)."""
    out: list[str] = []

    def walk(a: Any, b: Any, path: str, scale: float) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            if set(a) != set(b):
                out.append(f"{path}: keys {sorted(set(a) ^ set(b))}")
                return
            for key in a:
                walk(a[key], b[key], f"{path}.{key}", scale)
        elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
            if len(a) != len(b):
                out.append(f"{path}: lengths {len(a)} != {len(b)}")
                return
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{path}[{i}]", scale)
        elif isinstance(a, float) and isinstance(b, float):
            if not math.isclose(a, b, rel_tol=rel, abs_tol=rel * scale):
                out.append(f"{path}: {a!r} != {b!r}")
        elif a != b:
            out.append(f"{path}: {a!r} != {b!r}")

    ja, jb = fast.to_json(), full.to_json()
    for key in NOT_RESULTS:
        ja.pop(key, None)
        jb.pop(key, None)
    walk(ja, jb, "", 0.0)
    # a quantity that should be zero (idle time) is compared against the run's own scale
    return [d for d in out if not _near_zero(d, fast, rel)]


def _near_zero(diff: str, run: RunResult, rel: float) -> bool:
    if not diff.startswith(".latency_by_category_s."):
        return False
    key = diff.split(":")[0].rsplit(".", 1)[1]
    return abs(run.latency_by_category_s[key]) <= rel * run.latency_s


def fast_and_full(
    arch: ArchitectureSpec, trace: Trace, runtime: RuntimeSpec | None = None
) -> tuple[int, RunResult, RunResult]:
    engine = Engine(arch, runtime, None, 0)
    engine.run(trace)
    fast = engine.result(trace, str(trace.header.get("workload", "")), 0.0)
    advanced = engine.fast.advanced if engine.fast is not None else 0
    return advanced, fast, simulate(arch, trace, runtime, exact=True)


def baseline(prompt: int, generate: int, **kw: Any) -> Trace:
    return build_baseline(BaselineSpec(model="llama-2-7b", prompt_tokens=prompt, generate_tokens=generate, **kw))


@pytest.mark.parametrize(
    ("arch", "runtime", "batch"),
    [("a100-80gb", None, 1), ("h100-sxm", None, 4), ("a100-80gb", "graphs", 1)],
)
def test_llm_decode_advanced_in_closed_form_equals_the_full_simulation(
    arch: str, runtime: str | None, batch: int
) -> None:
    rt = None
    if runtime is not None:
        from simulator.config.loader import load_runtime

        rt = load_runtime(runtime)
    advanced, fast, full = fast_and_full(load_architecture(arch), baseline(64, 24, batch=batch), rt)
    assert advanced == 24 - 1 - 5  # decode steps 1..23: 4 warm-up steps and the reference step in full
    assert differences(fast, full) == []
    assert fast.events < full.events


def test_snapkv_decode_over_the_compressed_cache_equals_full() -> None:
    from simulator.config.loader import load_runtime
    from workloads.snapkv import SnapKVSpec, build_snapkv

    spec = SnapKVSpec(model="llama-2-7b", prompt_tokens=512, generate_tokens=20, capacity=128, window=16)
    advanced, fast, full = fast_and_full(load_architecture("a100-80gb"), build_snapkv(spec), load_runtime("graphs"))
    assert advanced == 20 - 2 - 5  # steps 2..19 form the run (step 1 reads the selection's gathers)
    assert differences(fast, full) == []


def test_a_kv_cache_overflow_late_in_decode_is_the_full_simulations_error() -> None:
    def peak(generate: int) -> int:
        return simulate(load_architecture("a100-80gb"), baseline(64, generate), exact=True).peak_memory_bytes["hbm"][
            "total"
        ]

    capacity = (peak(12) + peak(40)) // 2
    arch = load_architecture(
        {"base": "a100-80gb", "name": "small-hbm", "set": {"memories.hbm.capacity": f"{capacity} B"}}
    )
    with pytest.raises(CapacityError) as full:
        simulate(arch, baseline(64, 40), exact=True)
    with pytest.raises(CapacityError) as fast:
        simulate(arch, baseline(64, 40))
    assert str(fast.value) == str(full.value)
    with pytest.raises(FallBack, match="overflow"):
        Engine(arch, None, None, 0).run(baseline(64, 40))


def test_host_costs_and_long_timelines_keep_the_full_simulation() -> None:
    from simulator.config.loader import load_runtime

    arch = load_architecture("a100-80gb")
    trace = baseline(16, 12)
    for runtime, limit in ((load_runtime("eager"), 0), (None, 10**6)):
        engine = Engine(arch, runtime, None, limit)
        engine.run(trace)
        assert engine.fast is not None and engine.fast.advanced == 0
        fast = engine.result(trace, str(trace.header.get("workload", "")), 0.0)
        full = simulate(arch, trace, runtime, timeline_limit=limit, exact=True)
        assert differences(fast, full) == [] and fast.events == full.events


def chain_trace(steps: int, flops: Any, *, kv_start: int = 100, grow: int = 1) -> Trace:
    """Prefill-like op, then ``steps`` steps of norm → attention over a growing cache → matmul → sample."""

    def step_ops(s: int, first: int) -> list[Operator]:
        ctx = kv_start + grow * s
        prev = first - 1
        ops = [
            Operator(first, f"s{s}.norm", "norm", "decode", 4e6, (TensorRef("x", "activation", 4096),),
                     (TensorRef("h", "activation", 4096),), (prev,), step=s),
            Operator(first + 1, f"s{s}.attn", "attention", "decode", flops(s, ctx),
                     (TensorRef("h", "activation", 4096), TensorRef("kv", "kv_cache", 1024 * ctx)),
                     (TensorRef("o", "activation", 4096),), (first,), dims={"B": 8, "M": 1, "N": ctx, "K": 64}, step=s),
            Operator(first + 2, f"s{s}.kv", "kv_write", "decode", 0.0, (TensorRef("o", "activation", 4096),),
                     (TensorRef("kv", "kv_cache", 1024),), (first + 1,), step=s),
            Operator(first + 3, f"s{s}.mm", "matmul", "decode", 2e9, (TensorRef("o", "activation", 4096),
                     TensorRef("w", "weight", 1 << 20)), (TensorRef("y", "activation", 4096),), (first + 2,),
                     dims={"M": 1, "N": 1024, "K": 1024}, step=s),
            Operator(first + 4, f"s{s}.sample", "sample", "decode", 1e5, (TensorRef("y", "activation", 4096),),
                     (TensorRef("t", "activation", 8),), (first + 3,), step=s, tokens=1.0),
        ]  # fmt: skip
        return ops

    def plan() -> Iterator[PlanItem]:
        kv = TensorRef("kv", "kv_cache", 1024 * kv_start)
        dims = {"M": 64, "N": 1024, "K": 1024}
        w = TensorRef("w", "weight", 1 << 20)
        yield Operator(0, "prefill", "matmul", "prefill", 1e10, (w,), (kv,), dims=dims, tokens=1.0)
        yield StepRun(1, steps, lambda s: step_ops(s, 1 + 5 * (s - 1)))

    return Trace.from_plan({"workload": "chain", "tokens_per_sequence": steps + 1}, plan)


PINNED = {"matmul": "npu", "attention": "npu", "*": "vpu"}


def test_a_hand_written_step_run_is_advanced_exactly(tiny_arch: TinyArch) -> None:
    arch = tiny_arch(mapping=PINNED)
    trace = chain_trace(40, lambda s, ctx: 4.0 * 8 * ctx * 64)
    advanced, fast, full = fast_and_full(arch, trace)
    assert advanced == 40 - 5
    assert differences(fast, full) == []
    assert list(trace)[-1].id == 5 * 40  # the flat stream has every step


@pytest.mark.parametrize(
    ("flops", "grow", "why"),
    [
        (lambda s, ctx: 1e6 * s * s, 1, "not affine"),  # quadratic in the step: the promise is broken
        (lambda s, ctx: 4.0 * 8 * ctx * 64, 0, "nothing varies"),  # identical steps: no growth to check against
    ],
)
def test_step_runs_it_cannot_check_are_simulated_in_full(tiny_arch: TinyArch, flops: Any, grow: int, why: str) -> None:
    arch = tiny_arch(mapping=PINNED)
    trace = chain_trace(20, flops, grow=grow)
    with pytest.raises(FallBack, match=why):
        Engine(arch, None, None, 0).run(trace)
    assert differences(simulate(arch, trace), simulate(arch, trace, exact=True)) == []


def test_auto_mapping_is_simulated_in_full(tiny_arch: TinyArch) -> None:
    arch = tiny_arch(mapping={"*": "auto"})
    trace = chain_trace(20, lambda s, ctx: 4.0 * 8 * ctx * 64)
    advanced, fast, full = fast_and_full(arch, trace)
    assert advanced == 0  # the unit choice depends on history: not taken, nothing to replay
    assert differences(fast, full) == [] and fast.events == full.events


SCENARIO_DIR = __import__("pathlib").Path(__file__).resolve().parents[2] / "scenarios"
#: Slow ones run in `make test` only (`make check` stays under two minutes); decode-memory-bound keeps a
#: fast-path case in the quick loop.
SLOW_SCENARIOS = {
    "flagship",
    "snapkv-long-prompt",
    "keynote-four",
    "medusa-bandwidth",
    "scaling-out-70b",
    "dense-vs-moe",
    "offload-vs-compression",
}
#: Scenarios with a baseline workload long enough for the fast path: it must be taken there.
FAST_SCENARIOS = {"flagship", "snapkv-long-prompt", "keynote-four", "medusa-bandwidth", "decode-memory-bound"}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(p.stem, marks=pytest.mark.slow) if p.stem in SLOW_SCENARIOS else p.stem
        for p in sorted(SCENARIO_DIR.glob("*.yaml"))
    ],
)
def test_every_shipped_scenario_fast_equals_full(name: str) -> None:
    """Every run of every shipped scenario: where the fast path advances steps, results equal the full DES."""
    from simulator.config.scenario import load_scenario
    from workloads.spec import build_trace

    spec = load_scenario(SCENARIO_DIR / f"{name}.yaml")
    on = spec.on or (None,) * len(spec.workloads)
    advanced = 0
    for arch in spec.architectures:
        for workload, where in zip(spec.workloads, on, strict=True):
            if where is not None and arch.name not in where:
                continue
            trace = build_trace(workload)
            if trace.plan is None:
                continue  # no repeated steps: the one code path there is
            engine = Engine(arch, spec.runtime, spec.mapping or None, 0)
            try:
                engine.run(trace)
            except FallBack:
                continue  # simulate() replays it in full: the one code path there is
            assert engine.fast is not None
            advanced += engine.fast.advanced
            fast = engine.result(trace, workload.label, 0.0)
            full = simulate(
                arch, trace, spec.runtime, mapping=spec.mapping or None, workload=workload.label, exact=True
            )
            assert differences(fast, full) == [], f"{name}: {arch.name} · {workload.label}"
    assert (advanced > 0) == (name in FAST_SCENARIOS)
