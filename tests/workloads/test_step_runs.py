"""A trace's plan: the baseline's decode steps as one StepRun, expanding to exactly the flat operator stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from workloads.emitter import Emitter
from workloads.llm import BaselineSpec, build_baseline, decode_plan, emit_sample, prefill_plan, transformer_pass
from workloads.trace import Operator, StepRun


def flat_baseline(spec: BaselineSpec) -> Iterator[Operator]:
    """The baseline trace written as one loop, as generators were before plans (the reference)."""
    cfg = spec.config
    em = Emitter(spec.dtype, spec.wdtype)
    res = yield from transformer_pass(em, cfg, prefill_plan(cfg, spec.batch, spec.prompt_tokens))
    tok = emit_sample(em, cfg, "prefill", 0, spec.batch, res.logits, 1.0)
    yield from em.drain()
    for step in range(1, spec.generate_tokens):
        plan = decode_plan(cfg, spec.batch, step, spec.prompt_tokens + step - 1, tok, kv_update=spec.kv_update)
        res = yield from transformer_pass(em, cfg, plan)
        tok = emit_sample(em, cfg, "decode", step, spec.batch, res.logits, 1.0)
        yield from em.drain()


@pytest.mark.parametrize(
    "fields",
    [
        {"prompt_tokens": 6, "generate_tokens": 1},
        {"prompt_tokens": 6, "generate_tokens": 2},
        {"prompt_tokens": 9, "generate_tokens": 7, "batch": 3},
        {"prompt_tokens": 5, "generate_tokens": 4, "kv_update": "concat"},
    ],
)
def test_baseline_plan_expands_to_the_flat_trace(tiny_model: dict[str, Any], fields: dict[str, Any]) -> None:
    spec = BaselineSpec(model=tiny_model, **fields)
    trace = build_baseline(spec)
    assert list(trace) == list(flat_baseline(spec))
    assert trace.plan is not None
    items = list(trace.plan())
    runs = [item for item in items if isinstance(item, StepRun)]
    if spec.generate_tokens == 1:
        assert runs == []
    else:
        assert len(runs) == 1 and items[-1] is runs[0]
        assert (runs[0].first, runs[0].last) == (1, spec.generate_tokens - 1)
        sizes = {len(runs[0].build(s)) for s in range(1, spec.generate_tokens)}
        assert len(sizes) == 1  # the promise: every step has the same operators


def test_a_step_can_be_built_alone(tiny_model: dict[str, Any]) -> None:
    spec = BaselineSpec(model=tiny_model, prompt_tokens=6, generate_tokens=9)
    trace = build_baseline(spec)
    assert trace.plan is not None
    run = next(item for item in trace.plan() if isinstance(item, StepRun))
    flat = [op for op in trace if op.step == 6]
    assert list(run.build(6)) == flat  # built straight away, without the steps before it


@pytest.mark.parametrize("fields", [{"per_kv_head": True}, {"per_kv_head": False}, {"capacity": 200}])
def test_snapkv_decode_steps_after_the_first_are_one_step_run(
    tiny_model: dict[str, Any], fields: dict[str, Any]
) -> None:
    from workloads.snapkv import SnapKVSpec, build_snapkv

    spec = SnapKVSpec(
        model=tiny_model, **{"prompt_tokens": 80, "generate_tokens": 7, "capacity": 40, "window": 8, **fields}
    )
    trace = build_snapkv(spec)
    flat = list(trace)
    assert [op.id for op in flat] == list(range(len(flat)))
    assert trace.plan is not None
    run = next(item for item in trace.plan() if isinstance(item, StepRun))
    assert (run.first, run.last) == (2, 6)  # step 1 also depends on the selection's gathers
    for step in range(2, 7):
        assert list(run.build(step)) == [op for op in flat if op.step == step and op.phase == "decode"]
