"""The runtime model (serialise, host bookkeeping, host-only calls, kernel-library efficiencies), power states
and energy by level."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.config.architecture import RuntimeSpec
from simulator.config.loader import load_architecture, load_runtime
from simulator.engine import simulate
from simulator.engine.host import HostProfile
from tests.conftest import TinyArch
from workloads.trace import Operator, TensorRef, Trace

PINNED = {"matmul": "npu", "attention": "npu", "*": "vpu"}


def op(i: int, kind: str, flops: float, deps: tuple[int, ...] = (), **kw: Any) -> Operator:
    return Operator(id=i, name=f"op{i}", kind=kind, phase=kw.pop("phase", "p"), flops=flops, deps=deps, **kw)


def trace(*ops: Operator) -> Trace:
    return Trace.from_operators({"workload": "test"}, ops)


def runtime(**fields: Any) -> RuntimeSpec:
    return RuntimeSpec.model_validate({"name": "rt", **fields})


def test_serialise_adds_host_time_to_device_time(tiny_arch: TinyArch) -> None:
    # three independent 10 ms matmuls, 1 ms of host time each
    t = trace(*(op(i, "matmul", 1e12) for i in range(3)))
    overlap = simulate(tiny_arch(), t, runtime(per_kernel_overhead="1 ms"), mapping=PINNED)
    serial = simulate(tiny_arch(), t, runtime(per_kernel_overhead="1 ms", host_device="serialise"), mapping=PINNED)
    assert overlap.latency_s == pytest.approx(0.001 + 0.030)  # the host runs ahead of the device
    assert serial.latency_s == pytest.approx(3 * (0.001 + 0.010))  # a synchronize per call
    assert serial.latency_by_category_s["runtime_overhead"] == pytest.approx(0.003)


def test_host_only_calls_are_priced_per_kind(tiny_arch: TinyArch) -> None:
    rt = runtime(per_host_op_overhead="1 ms", host_ops_per_op={"matmul": 2})
    r = simulate(tiny_arch(), trace(op(0, "matmul", 1e9)), rt, mapping=PINNED)  # 10 µs on the npu
    assert r.latency_s == pytest.approx(0.002 + 10e-6)
    assert HostProfile(rt).issue_cost_s(op(1, "norm", 0.0)) == 0.0  # kinds without calls cost nothing


def test_host_bookkeeping_operator_is_priced_and_synchronizes(tiny_arch: TinyArch) -> None:
    rt = runtime(per_kernel_overhead="1 ms", per_host_op_overhead="0.5 ms", kernels_per_op={"matmul": 1})

    def with_syncs(syncs: int) -> Trace:
        return trace(
            op(0, "matmul", 1e12),  # issued at 1 ms, runs to 11 ms
            op(1, "host", 0.0, (0,), dims={"kernels": 0, "host_ops": 2, "syncs": syncs}),  # 1 ms of host time
            op(2, "matmul", 1e12),  # independent of op 1, but the host may have to wait before issuing it
        )

    waits = simulate(tiny_arch(), with_syncs(1), rt, mapping=PINNED)
    runs_ahead = simulate(tiny_arch(), with_syncs(0), rt, mapping=PINNED)
    assert runs_ahead.latency_s == pytest.approx(0.021)  # op 2 queued behind op 0 on the npu
    assert waits.latency_s == pytest.approx(0.011 + 0.001 + 0.010)  # issued only after the read-back at 11 ms
    ideal = simulate(tiny_arch(), with_syncs(1), mapping=PINNED)
    assert ideal.latency_s == pytest.approx(0.020)  # the ideal runtime prices no bookkeeping
    host_op = op(3, "host", 0.0, dims={"kernels": 3, "host_ops": 4, "syncs": 1})
    assert HostProfile(rt).issue_cost_s(host_op) == pytest.approx(3e-3 + 4 * 0.5e-3)
    assert HostProfile(rt).waits_after(host_op)


def test_kernel_efficiency_scales_a_matrix_units_rate(tiny_arch: TinyArch) -> None:
    rt = runtime(kernels="lib-0.1", kernel_efficiency={"fp16": 0.5})
    r = simulate(tiny_arch(), trace(op(0, "matmul", 1e12), op(1, "elementwise", 1e10, (0,))), rt, mapping=PINNED)
    assert r.busy_by_unit_s["npu"] == pytest.approx(0.020)  # 10 ms at half the rate
    assert r.busy_by_unit_s["vpu"] == pytest.approx(0.001)  # vector units are not GEMM kernels


def test_attention_efficiency_curve_is_log_interpolated(tiny_arch: TinyArch) -> None:
    rt = runtime(attention_efficiency=[{"keys": 512, "efficiency": 0.5}, {"keys": 8192, "efficiency": 0.8}])
    host = HostProfile(rt)
    assert host.attention_efficiency(2048) == pytest.approx(0.65)  # half way in log(keys)
    assert host.attention_efficiency(64) == pytest.approx(0.5)  # flat beyond the ends
    assert host.attention_efficiency(100_000) == pytest.approx(0.8)
    att = op(0, "attention", 1e12, dims={"B": 32, "M": 2048, "N": 2048, "K": 128})
    r = simulate(tiny_arch(), trace(att), rt, mapping=PINNED)
    assert r.busy_by_unit_s["npu"] == pytest.approx(1e12 / (100e12 * 0.65))


def test_active_idle_power_is_charged_for_the_whole_run_busy_or_waiting(tiny_arch: TinyArch) -> None:
    arch = tiny_arch(active_idle_power="10 W")
    t = trace(*(op(i, "matmul", 1e9, (i - 1,) if i else ()) for i in range(3)))  # 10 µs each
    eager = simulate(arch, t, runtime(per_kernel_overhead="1 ms"), mapping=PINNED)
    assert sum(eager.busy_by_unit_s.values()) == pytest.approx(30e-6)
    ideal = simulate(arch, t, mapping=PINNED)  # back to back: the device never waits, but its clocks are up
    for r in (eager, ideal):
        assert r.energy_by_component_j["active_idle"]["static"] == pytest.approx(10 * r.latency_s)
        assert sum(r.energy_by_level_j.values()) == pytest.approx(r.energy.total_j)
    # the waiting stack pays the clocked-up state for every millisecond it makes the device wait
    waiting, busy = (r.energy_by_component_j["active_idle"]["static"] for r in (eager, ideal))
    assert waiting > 100 * busy


def test_every_level_the_data_crosses_gets_its_joules(tiny_arch: TinyArch) -> None:
    arch = tiny_arch(
        compute_units={"npu": {"sram_energy": "1 pJ/B", "register_energy": {"fp16": "0.5 pJ/FLOP"}, "buffer": None}},
        memories={"sram": {"pass_energy": "2 pJ/B"}},
    )
    mb = 1_000_000
    matmul = op(
        0,
        "matmul",
        2e9,
        dims={"M": 1, "N": 1000, "K": 1000},
        reads=(TensorRef("w", "weight", mb),),
        writes=(TensorRef("y", "activation", mb),),
    )
    r = simulate(arch, trace(matmul), mapping=PINNED)
    dm = {name: cats["data_movement"] for name, cats in r.energy_by_component_j.items() if cats["data_movement"]}
    assert dm == {
        "dram": pytest.approx(2 * mb * 10e-12),  # home memory, read and write
        "dram-sram": pytest.approx(2 * mb * 1e-12),  # the link
        "sram": pytest.approx(2 * mb * 2e-12),  # crossed on the way to the npu
        "npu.sram": pytest.approx(2 * mb * 1e-12),  # the unit's own SRAM
        "npu.registers": pytest.approx(2e9 * 0.5e-12),  # register-file operand traffic
    }
    assert r.energy_by_level_j["register"] == pytest.approx(1e-3)
    assert r.energy_by_level_j["sram"] == pytest.approx(2 * mb * 3e-12)
    assert r.energy_by_level_j["dram"] == pytest.approx(2 * mb * 10e-12)
    assert r.energy_by_level_j["link"] == pytest.approx(2 * mb * 1e-12)
    assert sum(r.energy_by_level_j.values()) == pytest.approx(r.energy.total_j)


def test_a100_splits_hbm_energy_by_level_without_changing_the_total() -> None:
    arch = load_architecture("a100-80gb")
    weight = 32 * 2**20  # a 4096 x 4096 fp16 decode GEMV
    gemv = op(
        0,
        "matmul",
        2 * 4096 * 4096,
        dims={"M": 1, "N": 4096, "K": 4096},
        reads=(TensorRef("w", "weight", weight),),
    )
    r = simulate(arch, trace(gemv))
    levels = r.energy_by_level_j
    assert levels["register"] > 0 and levels["sram"] > 0 and levels["cache"] > 0 and levels["hbm"] > 0
    per_bit = (levels["hbm"] + levels["cache"] + levels["sram"]) / (8 * weight)
    assert per_bit == pytest.approx(13.11e-12, rel=1e-3)  # the measured energy of a bit served by HBM
    assert levels["register"] + levels["compute"] == pytest.approx(2 * 4096 * 4096 * 0.60e-12, rel=1e-3)


def test_timed_call_puts_small_kernels_on_the_measured_floor() -> None:
    arch = load_architecture("a100-80gb")
    rt = load_runtime("timed_call")
    tiny = op(0, "matmul", 2.0, dims={"M": 1, "N": 1, "K": 1})
    r = simulate(arch, trace(tiny), rt)
    assert r.latency_s == pytest.approx(21e-6, rel=0.05)  # LLMCompass's 1x1 matmul floor
    assert r.latency_by_category_s["runtime_overhead"] == pytest.approx(21e-6)
