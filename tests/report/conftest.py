"""Synthetic results for report tests: two LLM runs and a CNN run with timelines, no engine needed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from simulator.metrics.hardware import HardwareFacts, LinkFacts, MemoryFacts, RuntimeFacts, UnitFacts
from simulator.metrics.result import EnergySplit, FlowRecord, OpRecord, OpStats, RunResult, ScenarioResult

RESOLVED: dict[str, Any] = {
    "name": "synthetic",
    "architectures": [
        {
            "name": "chip-a",
            "sources": ["Vendor datasheet, 2024", "Horowitz, ISSCC 2014 (energy per op)"],
            "compute_units": {
                "tensor": {
                    "kind": "matrix",
                    "peak": {"fp16": "312 TFLOP/s"},
                    "energy_per_flop": {"fp16": "0.5 pJ/FLOP"},
                },
                "vector": {"kind": "vector", "peak": {"fp16": "20 TFLOP/s"}, "energy_per_flop": {"fp16": "1 pJ/FLOP"}},
            },
            "memories": {
                "hbm": {
                    "level": "hbm",
                    "bandwidth": "2 TB/s",
                    "efficiency": 0.9,
                    "read_energy": "3.9 pJ/bit",
                    "write_energy": "3.9 pJ/bit",
                    "capacity": "80 GiB",
                },
                "l2": {
                    "level": "sram",
                    "bandwidth": "7 TB/s",
                    "read_energy": "0.5 pJ/bit",
                    "write_energy": "0.5 pJ/bit",
                    "capacity": "40 MiB",
                },
            },
            "links": [{"between": ["hbm", "l2"], "bandwidth": "2 TB/s", "energy": "1 pJ/bit"}],
            "placement": {"weight": "hbm", "activation": "l2", "kv_cache": "hbm"},
        },
        {
            "name": "chip-b",
            "compute_units": {
                "tensor": {"kind": "matrix", "peak": {"fp16": 624e12}, "energy_per_flop": {"fp16": 4e-13}},
            },
            "memories": {"hbm": {"level": "hbm", "bandwidth": 4e12, "read_energy": 4e-13, "write_energy": 4e-13}},
            "placement": {"weight": "hbm"},
        },
    ],
    "workloads": [{"name": "decode", "kind": "baseline", "model": "tiny"}],
}


PJ_PER_BIT = 8e-12  # J/B per pJ/bit

HARDWARE: dict[str, HardwareFacts] = {
    "chip-a": HardwareFacts(
        name="chip-a",
        sources=("Vendor datasheet, 2024", "Horowitz, ISSCC 2014 (energy per op)"),
        units={
            "tensor": UnitFacts("tensor", "matrix", {"fp16": 312e12}, {"fp16": 0.5e-12}),
            "vector": UnitFacts("vector", "vector", {"fp16": 20e12}, {"fp16": 1e-12}),
        },
        memories={
            "hbm": MemoryFacts("hbm", "hbm", 80 * 2**30, 2e12, 1.8e12, 3.9 * PJ_PER_BIT, 3.9 * PJ_PER_BIT),
            "l2": MemoryFacts("l2", "sram", 40 * 2**20, 7e12, 7e12, 0.5 * PJ_PER_BIT, 0.5 * PJ_PER_BIT),
        },
        links=(LinkFacts("hbm-l2", ("hbm", "l2"), ("hbm->l2", "l2->hbm"), 2e12, 1 * PJ_PER_BIT),),
        placement={"weight": "hbm", "activation": "l2", "kv_cache": "hbm"},
    ),
    "chip-b": HardwareFacts(
        name="chip-b",
        units={"tensor": UnitFacts("tensor", "matrix", {"fp16": 624e12}, {"fp16": 4e-13})},
        memories={"hbm": MemoryFacts("hbm", "hbm", 80 * 2**30, 4e12, 4e12, 4e-13, 4e-13)},
        placement={"weight": "hbm"},
    ),
}


def make_run(
    architecture: str = "chip-a",
    workload: str = "decode",
    *,
    latency_s: float = 2e-3,
    energy: tuple[float, float, float] = (0.2, 0.5, 0.1),
    tokens_per_s: float | None = 500.0,
    fps: float | None = None,
    n_ops: int = 40,
    kind: str = "baseline",
) -> RunResult:
    """A self-consistent synthetic run with a timeline of ``n_ops`` operators on two units and flows on a link."""
    compute_j, dm_j, static_j = energy
    ops: list[OpRecord] = []
    flows: list[FlowRecord] = []
    t = 0.0
    kinds = ["matmul", "attention", "norm", "elementwise"]
    step_s = latency_s / max(n_ops, 1)
    for i in range(n_ops):
        k = kinds[i % len(kinds)]
        unit = "tensor" if k in ("matmul", "attention") else "vector"
        phase = "prefill" if i < n_ops // 4 else f"decode[{i // 8}]"
        flops = 2e9 if k == "matmul" else 1e7
        nbytes = 4e6 if k == "matmul" else 1e6
        ops.append(
            OpRecord(
                i,
                f"{k}_{i}",
                k,
                phase,
                i // 8,
                unit,
                t,
                t + 0.8 * step_s,
                0.5 * step_s,
                0.8 * step_s,
                0.1 * step_s,
                flops,
                nbytes,
            )
        )
        flows.append(FlowRecord(i, "hbm->l2", t, t + 0.7 * step_s, nbytes))
        t += step_s
    return RunResult(
        architecture=architecture,
        workload=workload,
        kind=kind,
        latency_s=latency_s,
        ttft_s=latency_s / 4 if tokens_per_s is not None else None,
        tpot_s=latency_s / 10 if tokens_per_s is not None else None,
        tokens_per_s=tokens_per_s,
        fps=fps,
        energy=EnergySplit(compute_j, dm_j, static_j),
        energy_by_component_j={
            "tensor": {"compute": 0.8 * compute_j, "data_movement": 0.0, "static": 0.3 * static_j},
            "vector": {"compute": 0.2 * compute_j, "data_movement": 0.0, "static": 0.1 * static_j},
            "hbm": {"compute": 0.0, "data_movement": 0.6 * dm_j, "static": 0.2 * static_j},
            "l2": {"compute": 0.0, "data_movement": 0.3 * dm_j, "static": 0.1 * static_j},
            "hbm-l2": {"compute": 0.0, "data_movement": 0.1 * dm_j, "static": 0.0},
            "system": {"compute": 0.0, "data_movement": 0.0, "static": 0.3 * static_j},
        },
        energy_by_phase_j={
            "prefill": {"compute": 0.5 * compute_j, "data_movement": 0.3 * dm_j, "static": 0.2 * static_j},
            "decode": {"compute": 0.5 * compute_j, "data_movement": 0.7 * dm_j, "static": 0.8 * static_j},
        },
        energy_by_kind_j={"matmul": {"compute": compute_j, "data_movement": dm_j}},
        latency_by_category_s={
            "compute": 0.4 * latency_s,
            "data_movement": 0.45 * latency_s,
            "runtime_overhead": 0.1 * latency_s,
            "idle": 0.05 * latency_s,
        },
        latency_by_phase_s={"prefill": 0.25 * latency_s, "decode[0]": 0.35 * latency_s, "decode[1]": 0.4 * latency_s},
        busy_by_unit_s={"tensor": 0.6 * latency_s, "vector": 0.2 * latency_s},
        peak_memory_bytes={"hbm": {"weight": 1_000_000, "total": 1_200_000}},
        bytes_by_memory={"hbm": 5e7, "l2": 2e7},
        roofline_latency_s=0.6 * latency_s,
        flops=sum(op.flops for op in ops),
        operators=n_ops,
        events=3 * n_ops,
        wall_s=0.01,
        batch=1,
        tokens_per_sequence=16.0,
        header={"dtype": "fp16", "model": "tiny"},
        timeline=tuple(ops),
        flow_timeline=tuple(flows),
        op_stats=tuple(_op_stats(ops)),
        hardware=HARDWARE.get(architecture, HardwareFacts()),
    )


def _op_stats(ops: list[OpRecord]) -> list[OpStats]:
    totals: dict[tuple[str, str, str], list[float]] = {}
    for op in ops:
        key = ("prefill" if op.phase == "prefill" else "decode", op.kind, op.unit)
        t = totals.setdefault(key, [0, 0.0, 0.0, 0.0])
        t[0] += 1
        t[1] += op.flops
        t[2] += op.bytes
        t[3] += op.end_s - op.start_s
    return [OpStats(p, k, u, "fp16", int(c), f, b, s) for (p, k, u), (c, f, b, s) in totals.items()]


@pytest.fixture
def make_run_fn() -> Callable[..., RunResult]:
    return make_run


@pytest.fixture
def scenario() -> ScenarioResult:
    runs = (
        make_run("chip-a", "decode"),
        make_run("chip-b", "decode", latency_s=1e-3, energy=(0.2, 0.25, 0.05), tokens_per_s=1000.0),
        make_run(
            "chip-a", "skynet", latency_s=4e-3, energy=(0.05, 0.1, 0.2), tokens_per_s=None, fps=250.0, kind="skynet"
        ),
    )
    return ScenarioResult(
        scenario="synthetic",
        runs=runs,
        resolved=RESOLVED,
        description="a synthetic scenario",
        runtime=RuntimeFacts("graphs", "CUDA graphs", ("gpt-fast",), 2e-6, 1e-6),
    )


@pytest.fixture
def single() -> ScenarioResult:
    return ScenarioResult(scenario="one", runs=(make_run(),), resolved=RESOLVED)
