"""The design's engine invariants (docs/design.md): energy sums, roofline, decode, determinism, monotonicity."""

from __future__ import annotations

import copy
from itertools import pairwise
from typing import Any

import pytest

from benchmarks import BENCH_ARCH, decode_ops
from simulator.config.architecture import ArchitectureSpec
from simulator.engine import simulate
from simulator.metrics.result import RunResult
from tests.conftest import TinyArch, tiny_arch_dict
from workloads.gemm import GemmSpec, build_gemm
from workloads.trace import Operator, TensorRef, Trace


def _gemm(m: int, n: int, k: int, repeat: int = 3, batch: int = 1) -> Trace:
    return build_gemm(GemmSpec.model_validate({"name": "g", "M": m, "N": n, "K": k, "repeat": repeat, "batch": batch}))


def _bench_trace(steps: int = 2, layers: int = 2) -> Trace:
    return Trace.from_operators({"workload": "decode"}, decode_ops(layers=layers, steps=steps, hidden=256, ffn=704))


def _traces() -> list[Trace]:
    return [_gemm(1, 4096, 4096), _gemm(512, 512, 512), _gemm(2048, 2048, 2048, batch=2), _bench_trace()]


def _archs() -> list[ArchitectureSpec]:
    bench = ArchitectureSpec.model_validate(BENCH_ARCH)
    tiny = ArchitectureSpec.model_validate(tiny_arch_dict())
    systolic = copy.deepcopy(tiny_arch_dict())
    systolic["compute_units"]["npu"]["utilisation"] = {"model": "systolic", "rows": 64, "cols": 64}
    systolic["compute_units"]["npu"]["efficiency"] = 0.8
    systolic["memories"]["dram"]["efficiency"] = 0.7
    return [bench, tiny, ArchitectureSpec.model_validate(systolic)]


@pytest.mark.parametrize("arch", _archs(), ids=lambda a: a.name)
@pytest.mark.parametrize("trace_index", range(4))
def test_energy_parts_sum_busy_within_makespan_latency_above_roofline(arch: ArchitectureSpec, trace_index: int) -> None:
    r = simulate(arch, _traces()[trace_index])
    e = r.energy
    for cat, part in (("compute", e.compute_j), ("data_movement", e.data_movement_j), ("static", e.static_j)):
        assert sum(c[cat] for c in r.energy_by_component_j.values()) == pytest.approx(part)
    by_component = sum(sum(c.values()) for c in r.energy_by_component_j.values())
    by_phase = sum(sum(c.values()) for c in r.energy_by_phase_j.values())
    by_kind = sum(sum(c.values()) for c in r.energy_by_kind_j.values())
    assert by_component == pytest.approx(e.total_j)
    assert by_phase == pytest.approx(e.total_j)
    assert by_kind == pytest.approx(e.compute_j + e.data_movement_j)
    for busy in r.busy_by_unit_s.values():
        assert busy <= r.latency_s * (1 + 1e-12)
    assert sum(r.latency_by_category_s.values()) == pytest.approx(r.latency_s)
    assert all(v >= -1e-15 for v in r.latency_by_category_s.values())
    assert r.latency_s >= r.roofline_latency_s * (1 - 1e-12)


# -- invariant 3: a memory-bound 7B decode step --------------------------------------------------

HIDDEN, FFN, VOCAB, LAYERS, CONTEXT = 4096, 11008, 32000, 32, 512


def _decode_step_7b() -> tuple[Trace, int]:
    ops: list[Operator] = []
    total = 0

    def add(
        name: str,
        kind: str,
        flops: float,
        reads: list[TensorRef],
        writes: list[TensorRef],
        dims: dict[str, int] | None = None,
        tokens: float = 0.0,
    ) -> None:
        nonlocal total
        i = len(ops)
        total += sum(t.bytes for t in reads) + sum(t.bytes for t in writes)
        ops.append(
            Operator(
                id=i,
                name=name,
                kind=kind,
                phase="decode",
                flops=flops,
                reads=tuple(reads),
                writes=tuple(writes),
                deps=(i - 1,) if i else (),
                dims=dims or {},
                tokens=tokens,
            )
        )

    def linear(name: str, n: int, k: int) -> None:
        add(
            name,
            "matmul",
            2.0 * n * k,
            [TensorRef("x", "activation", 2 * k), TensorRef(name, "weight", 2 * n * k)],
            [TensorRef("y", "activation", 2 * n)],
            {"M": 1, "N": n, "K": k},
        )

    for layer in range(LAYERS):
        p = f"L{layer}."
        for proj in ("wq", "wk", "wv"):
            linear(p + proj, HIDDEN, HIDDEN)
        kv = 2 * CONTEXT * HIDDEN * 2  # K and V, fp16
        add(
            p + "attn",
            "attention",
            4.0 * CONTEXT * HIDDEN,
            [TensorRef("q", "activation", 2 * HIDDEN), TensorRef(p + "kv", "kv_cache", kv)],
            [TensorRef("o", "activation", 2 * HIDDEN)],
            {"B": 32, "M": 1, "N": CONTEXT, "K": 128},
        )
        linear(p + "wo", HIDDEN, HIDDEN)
        for proj in ("gate", "up"):
            linear(p + proj, FFN, HIDDEN)
        linear(p + "down", HIDDEN, FFN)
    linear("lm_head", VOCAB, HIDDEN)
    add(
        "sample",
        "sample",
        float(VOCAB),
        [TensorRef("logits", "activation", 2 * VOCAB)],
        [TensorRef("tok", "activation", 4)],
        tokens=1.0,
    )
    return Trace.from_operators({"workload": "decode-7b", "batch": 1}, ops), total


HBM_ARCH: dict[str, Any] = {
    "name": "tiny-hbm",
    "compute_units": {
        "mxu": {
            "kind": "matrix",
            "peak": {"fp16": "1000 TFLOP/s"},
            "energy_per_flop": {"fp16": "0.5 pJ/FLOP"},
            "ops": ["matmul", "attention"],
        },
        "vec": {"kind": "vector", "peak": {"fp16": "100 TFLOP/s"}, "energy_per_flop": {"fp16": "1 pJ/FLOP"}},
    },
    "memories": {
        "hbm": {
            "level": "hbm",
            "capacity": "80 GiB",
            "bandwidth": "1 TB/s",
            "read_energy": "30 pJ/B",
            "write_energy": "30 pJ/B",
        }
    },
    "links": [{"between": ["hbm", "mxu"], "bandwidth": "10 TB/s"}, {"between": ["hbm", "vec"], "bandwidth": "10 TB/s"}],
    "placement": {"weight": "hbm", "activation": "hbm", "kv_cache": "hbm"},
}


def test_memory_bound_7b_decode_step_matches_bytes_over_bandwidth() -> None:
    trace, total_bytes = _decode_step_7b()
    r = simulate(ArchitectureSpec.model_validate(HBM_ARCH), trace)
    expected = total_bytes / 1e12
    assert total_bytes > 13e9  # ~6.7 G parameters in fp16 plus the KV cache
    assert r.latency_s == pytest.approx(expected, rel=0.05)
    assert r.latency_s >= expected * (1 - 1e-9)
    assert r.energy.data_movement_j > 10 * (r.energy.compute_j + r.energy.static_j)
    assert r.latency_by_category_s["data_movement"] > 0.95 * r.latency_s
    assert r.tokens_per_sequence == 1.0 and r.ttft_s == pytest.approx(r.latency_s)


# -- invariant 4: determinism -------------------------------------------------------------------


def _comparable(r: RunResult) -> dict[str, Any]:
    out = r.to_json()
    out.pop("wall_s")
    out["timeline"] = r.timeline
    out["flow_timeline"] = r.flow_timeline
    return out


def test_same_inputs_same_result(tiny_arch: TinyArch) -> None:
    trace = _bench_trace(steps=2, layers=3)
    a = simulate(tiny_arch(), trace, timeline_limit=50)
    b = simulate(tiny_arch(), trace, timeline_limit=50)
    assert _comparable(a) == _comparable(b)


def _reversed_dicts(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed_dicts(v) for k, v in reversed(list(value.items()))}
    if isinstance(value, list):
        return [_reversed_dicts(v) for v in reversed(value)] if value and isinstance(value[0], dict) else value
    return value


def test_dict_and_link_order_do_not_matter() -> None:
    trace = _bench_trace(steps=2, layers=3)
    for spec in (tiny_arch_dict(), BENCH_ARCH):
        a = simulate(ArchitectureSpec.model_validate(spec), trace, timeline_limit=50)
        b = simulate(ArchitectureSpec.model_validate(_reversed_dicts(copy.deepcopy(spec))), trace, timeline_limit=50)
        ja, jb = _comparable(a), _comparable(b)
        for key in ("energy_by_component_j", "energy_by_phase_j", "energy_by_kind_j", "peak_memory_bytes_by_memory"):
            assert list(ja[key]) == list(jb[key])
        assert ja == jb


# -- invariant 5: monotonicity with a fixed mapping --------------------------------------------

FIXED = {"matmul": "npu", "attention": "npu", "*": "vpu"}


def _scaled(scale_bw: float = 1.0, scale_peak: float = 1.0, buffer: str = "16 MiB") -> ArchitectureSpec:
    spec = copy.deepcopy(tiny_arch_dict())
    for mem in spec["memories"].values():
        mem["bandwidth"] = f"{float(mem['bandwidth'].split()[0]) * scale_bw} {mem['bandwidth'].split()[1]}"
    for link in spec["links"]:
        link["bandwidth"] = f"{float(link['bandwidth'].split()[0]) * scale_bw} {link['bandwidth'].split()[1]}"
    for unit in spec["compute_units"].values():
        unit["peak"] = {d: f"{float(v.split()[0]) * scale_peak} {v.split()[1]}" for d, v in unit["peak"].items()}
    spec["compute_units"]["npu"]["utilisation"] = {"model": "systolic", "rows": 32, "cols": 32}
    spec["memories"]["sram"]["capacity"] = buffer
    return ArchitectureSpec.model_validate(spec)


MONO_TRACES = [_gemm(1, 4096, 4096), _gemm(1024, 1024, 1024, repeat=2), _bench_trace(steps=2, layers=2)]


@pytest.mark.parametrize("trace_index", range(len(MONO_TRACES)))
@pytest.mark.parametrize("knob", ["bandwidth", "peak", "buffer"])
def test_more_hardware_is_never_slower(trace_index: int, knob: str) -> None:
    trace = MONO_TRACES[trace_index]
    if knob == "bandwidth":
        archs = [_scaled(scale_bw=s) for s in (0.25, 0.5, 1.0, 1.5, 4.0)]
    elif knob == "peak":
        archs = [_scaled(scale_peak=s) for s in (0.01, 0.1, 0.5, 1.0, 3.0)]
    else:
        archs = [_scaled(buffer=b) for b in ("64 KiB", "512 KiB", "4 MiB", "16 MiB", "64 MiB")]
    latencies = [simulate(a, trace, mapping=FIXED).latency_s for a in archs]
    for slower, faster in pairwise(latencies):
        assert faster <= slower * (1 + 1e-12)
    assert latencies[-1] < latencies[0] or knob == "buffer"
