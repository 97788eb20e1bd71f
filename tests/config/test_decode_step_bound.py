"""Issue #2's done-when check, through the built-in a100-80gb file and the ideal runtime.

One decode step of a 7B fp16 model at batch 1 reads every weight and the KV cache from HBM: its time must be
within 5% of (weight + KV bytes) / sustained HBM bandwidth, and its energy must be mostly data movement.
"""

from __future__ import annotations

import pytest

from simulator.config.loader import load_architecture, load_runtime
from workloads.spec import WORKLOAD_ADAPTER, build_trace


def test_decode_step_is_bandwidth_bound_and_data_movement_dominated() -> None:
    from simulator.engine import simulate

    arch = load_architecture("a100-80gb")
    spec = WORKLOAD_ADAPTER.validate_python(
        {"kind": "baseline", "model": "llama-2-7b", "batch": 1, "prompt_tokens": 512, "generate_tokens": 2}
    )
    trace = build_trace(spec)
    decode = [op for op in trace if op.phase.startswith("decode")]
    assert decode, "the trace has a decode phase"
    weight_and_kv = sum(t.bytes for op in decode for t in op.reads if t.cls in ("weight", "kv_cache"))
    assert weight_and_kv > 13e9  # 6.7 G parameters in fp16 plus the KV cache
    bound = weight_and_kv / arch.memories["hbm"].sustained_bandwidth_bytes_per_s

    run = simulate(arch, trace, load_runtime("ideal"), workload="decode-check")
    assert run.tpot_s is not None
    assert run.tpot_s == pytest.approx(bound, rel=0.05)

    phases = {name: parts for name, parts in run.energy_by_phase_j.items() if name.startswith("decode")}
    assert phases
    moving = sum(parts.get("data_movement", 0.0) for parts in phases.values())
    computing = sum(parts.get("compute", 0.0) for parts in phases.values())
    static = sum(parts.get("static", 0.0) for parts in phases.values())
    assert moving > computing + static
