"""Engine micro-benchmarks (the ``micro.*`` cases of ``python -m benchmarks``).

Replays two traces on a small made-up two-unit architecture and prints operators, SimPy events,
wall time, operators/s and events/s for each: a decode-like trace (per layer: norm, q/k/v
projections, KV write, attention over a growing context, output projection, residual add, norm,
gate/up projections, activation, down projection, residual add) and a chain of 100k identical
GEMMs. Traces are built before timing starts, so the figures are the engine's. The hardware
numbers are round placeholders, not a real chip.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from simulator.config.architecture import ArchitectureSpec
from simulator.engine import simulate
from workloads.gemm import GemmSpec, build_gemm
from workloads.trace import Operator, TensorRef, Trace

BENCH_ARCH: dict[str, Any] = {
    "name": "bench-2unit",
    "description": "made-up round numbers for engine benchmarking",
    "compute_units": {
        "npu": {
            "kind": "matrix",
            "peak": {"fp16": "100 TFLOP/s"},
            "energy_per_flop": {"fp16": "1 pJ/FLOP"},
            "ops": ["matmul", "attention"],
            "buffer": "sram",
            "utilisation": {"model": "systolic", "rows": 128, "cols": 128},
        },
        "vpu": {"kind": "vector", "peak": {"fp16": "10 TFLOP/s"}, "energy_per_flop": {"fp16": "2 pJ/FLOP"}},
    },
    "memories": {
        "sram": {
            "level": "sram",
            "capacity": "32 MiB",
            "bandwidth": "4 TB/s",
            "read_energy": "1 pJ/B",
            "write_energy": "1 pJ/B",
        },
        "hbm": {
            "level": "hbm",
            "capacity": "32 GiB",
            "bandwidth": "1 TB/s",
            "read_energy": "10 pJ/B",
            "write_energy": "10 pJ/B",
            "latency": "100 ns",
        },
    },
    "links": [
        {"between": ["hbm", "sram"], "bandwidth": "1 TB/s"},
        {"between": ["sram", "npu"], "bandwidth": "4 TB/s"},
        {"between": ["sram", "vpu"], "bandwidth": "4 TB/s"},
    ],
    "placement": {"weight": "hbm", "activation": "sram", "kv_cache": "hbm"},
    "mapping": {"matmul": "npu", "attention": "npu", "*": "vpu"},
}


def decode_ops(layers: int = 32, steps: int = 250, hidden: int = 1024, ffn: int = 2816) -> list[Operator]:
    """A decode-like operator list: ``steps × (layers × 14 + 1)`` operators (14 per layer, 1 sample per step)."""
    ops: list[Operator] = []
    act = 2 * hidden

    def add(
        name: str,
        kind: str,
        flops: float,
        reads: Sequence[TensorRef],
        writes: Sequence[TensorRef],
        deps: Sequence[int],
        dims: dict[str, int] | None = None,
        tokens: float = 0.0,
        step: int = 0,
    ) -> int:
        i = len(ops)
        ops.append(
            Operator(
                id=i,
                name=name,
                kind=kind,
                phase="decode",
                flops=flops,
                reads=tuple(reads),
                writes=tuple(writes),
                deps=tuple(deps),
                dims=dims or {},
                step=step,
                tokens=tokens,
            )
        )
        return i

    def mm(name: str, n: int, k: int, dep: int, step: int) -> int:
        return add(
            name,
            "matmul",
            2.0 * n * k,
            (TensorRef("x", "activation", 2 * k), TensorRef(name, "weight", 2 * n * k)),
            (TensorRef("y", "activation", 2 * n),),
            (dep,),
            {"M": 1, "N": n, "K": k},
            step=step,
        )

    prev = -1
    for s in range(steps):
        for layer in range(layers):
            p = f"L{layer}."
            d = (prev,) if prev >= 0 else ()
            n1 = add(
                p + "norm1",
                "norm",
                4.0 * hidden,
                (TensorRef("x", "activation", act),),
                (TensorRef("h", "activation", act),),
                d,
                step=s,
            )
            q = mm(p + "wq", hidden, hidden, n1, s)
            k = mm(p + "wk", hidden, hidden, n1, s)
            v = mm(p + "wv", hidden, hidden, n1, s)
            kvw = add(
                p + "kv_write",
                "kv_write",
                0.0,
                (TensorRef("kv", "activation", 2 * act),),
                (TensorRef(p + "kv", "kv_cache", 2 * act),),
                (k, v),
                step=s,
            )
            ctx = 128 + s
            att = add(
                p + "attn",
                "attention",
                4.0 * hidden * ctx,
                (TensorRef("q", "activation", act), TensorRef(p + "kv", "kv_cache", 2 * act * ctx)),
                (TensorRef("o", "activation", act),),
                (q, kvw),
                {"B": 16, "M": 1, "N": ctx, "K": 64},
                step=s,
            )
            o = mm(p + "wo", hidden, hidden, att, s)
            r1 = add(
                p + "res1",
                "elementwise",
                hidden,
                (TensorRef("o", "activation", 2 * act),),
                (TensorRef("x", "activation", act),),
                (o,),
                step=s,
            )
            n2 = add(
                p + "norm2",
                "norm",
                4.0 * hidden,
                (TensorRef("x", "activation", act),),
                (TensorRef("h", "activation", act),),
                (r1,),
                step=s,
            )
            g = mm(p + "gate", ffn, hidden, n2, s)
            u = mm(p + "up", ffn, hidden, n2, s)
            a = add(
                p + "act",
                "elementwise",
                4.0 * ffn,
                (TensorRef("gu", "activation", 4 * ffn),),
                (TensorRef("a", "activation", 2 * ffn),),
                (g, u),
                step=s,
            )
            dn = mm(p + "down", hidden, ffn, a, s)
            prev = add(
                p + "res2",
                "elementwise",
                hidden,
                (TensorRef("d", "activation", 2 * act),),
                (TensorRef("x", "activation", act),),
                (dn,),
                step=s,
            )
        prev = add(
            "sample",
            "sample",
            2.0 * hidden,
            (TensorRef("x", "activation", act),),
            (TensorRef("t", "activation", 4),),
            (prev,),
            tokens=1.0,
            step=s,
        )
    return ops


def gemm_chain_ops(n: int = 100_000) -> list[Operator]:
    """``n`` dependent decode-shaped GEMMs (M=1, N=K=1024) with the same tensors: the engine's floor."""
    return list(build_gemm(GemmSpec.model_validate({"name": "g", "M": 1, "N": 1024, "K": 1024, "repeat": n})))


def micro_trace(case: str, size: int) -> Trace:
    """The micro-benchmark trace ``case`` (``decode``: ``size`` decode steps; ``gemm_chain``: ``size`` GEMMs)."""
    if case == "decode":
        return Trace.from_operators({"workload": "bench-decode", "batch": 1}, decode_ops(steps=size))
    if case == "gemm_chain":
        return Trace.from_operators({"workload": "gemm"}, gemm_chain_ops(size))
    raise ValueError(f"unknown micro-benchmark {case!r}; choose decode or gemm_chain")


def bench_arch() -> ArchitectureSpec:
    """The validated made-up architecture of the micro-benchmarks."""
    return ArchitectureSpec.model_validate(BENCH_ARCH)


def measure_micro(case: str, size: int) -> dict[str, Any]:
    """Build the ``case`` trace as a list (not timed), simulate it once (timed) and return the figures."""
    arch = bench_arch()
    trace = micro_trace(case, size)
    start = time.perf_counter()
    result = simulate(arch, trace)
    wall = time.perf_counter() - start
    return {
        "operators": result.operators,
        "events": result.events,
        "wall_s": wall,
        "simulated_latency_s": result.latency_s,
        # a flat operator list has no repeated steps: the fast path does not apply, both are this run
        "exact_wall_s": wall,
        "fast_speedup": 1.0,
        "step_run": False,
    }
