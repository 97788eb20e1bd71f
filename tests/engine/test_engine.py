"""simulate(): dependency order, host overhead, capacity, mapping, attribution, records."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.config.architecture import RuntimeSpec
from simulator.engine import simulate
from simulator.errors import CapacityError, UserError
from tests.conftest import TinyArch
from workloads.trace import Operator, TensorRef, Trace

PINNED = {"matmul": "npu", "*": "vpu"}


def op(i: int, kind: str, flops: float, deps: tuple[int, ...] = (), **kw: Any) -> Operator:
    return Operator(id=i, name=f"op{i}", kind=kind, phase=kw.pop("phase", "p"), flops=flops, deps=deps, **kw)


def trace(*ops: Operator, **header: Any) -> Trace:
    return Trace.from_operators({"workload": "test", **header}, ops)


def test_dependency_order_on_two_units_exact_starts(tiny_arch: TinyArch) -> None:
    t = trace(
        op(0, "matmul", 1e12),  # npu: 10 ms
        op(1, "elementwise", 1e10),  # vpu: 1 ms, independent
        op(2, "elementwise", 1e10, (0,)),  # vpu after op0
        op(3, "matmul", 1e12, (1,)),  # npu: dep done at 1 ms, but npu busy until 10 ms
        op(4, "elementwise", 1e10, (2, 3)),
    )
    r = simulate(tiny_arch(), t, mapping=PINNED, timeline_limit=10)
    starts = {rec.op_id: (rec.unit, rec.start_s, rec.end_s) for rec in r.timeline}
    assert starts == {
        0: ("npu", 0.0, pytest.approx(0.010)),
        1: ("vpu", 0.0, pytest.approx(0.001)),
        2: ("vpu", pytest.approx(0.010), pytest.approx(0.011)),
        3: ("npu", pytest.approx(0.010), pytest.approx(0.020)),
        4: ("vpu", pytest.approx(0.020), pytest.approx(0.021)),
    }
    assert r.latency_s == pytest.approx(0.021)
    assert r.latency_by_category_s["compute"] == pytest.approx(0.021)
    assert sum(r.latency_by_category_s.values()) == pytest.approx(r.latency_s)
    assert r.busy_by_unit_s == {"npu": pytest.approx(0.020), "vpu": pytest.approx(0.003)}
    assert r.operators == 5 and r.flops == pytest.approx(2.03e12)
    assert r.by_kind == {
        "elementwise": {"count": 3, "flops": pytest.approx(3e10), "bytes": 0.0, "busy_s": pytest.approx(0.003)},
        "matmul": {"count": 2, "flops": pytest.approx(2e12), "bytes": 0.0, "busy_s": pytest.approx(0.020)},
    }


def test_host_overhead_of_an_eager_runtime(tiny_arch: TinyArch) -> None:
    eager = RuntimeSpec.model_validate({"name": "eager", "per_kernel_overhead": "1 ms"})
    t = trace(*(op(i, "matmul", 1e9, (i - 1,) if i else ()) for i in range(10)))  # 10 µs each on npu
    r = simulate(tiny_arch(), t, eager, mapping=PINNED)
    assert r.latency_s == pytest.approx(0.010 + 10e-6)
    assert r.latency_by_category_s["runtime_overhead"] == pytest.approx(0.010)
    assert r.latency_by_category_s["compute"] == pytest.approx(10e-6)
    ideal = simulate(tiny_arch(), t, mapping=PINNED)
    assert ideal.latency_s == pytest.approx(100e-6)
    assert ideal.latency_by_category_s["runtime_overhead"] == 0.0


def test_kernel_launch_latency_is_device_time_reported_as_runtime_overhead(tiny_arch: TinyArch) -> None:
    # 3 dependent matmuls of 10 µs on the npu; each launches 2 kernels of 5 µs device-side launch time
    rt = RuntimeSpec.model_validate(
        {"name": "graphs-like", "kernel_launch_latency": "5 us", "kernels_per_op": {"matmul": 2}}
    )
    t = trace(*(op(i, "matmul", 1e9, (i - 1,) if i else ()) for i in range(3)))
    r = simulate(tiny_arch(), t, rt, mapping=PINNED)
    assert r.latency_s == pytest.approx(3 * (10e-6 + 10e-6))
    assert r.latency_by_category_s["runtime_overhead"] == pytest.approx(30e-6)
    assert r.latency_by_category_s["compute"] == pytest.approx(30e-6)
    assert r.busy_by_unit_s["npu"] == pytest.approx(60e-6)  # the unit is held while launching


def test_sync_on_makes_the_host_wait(tiny_arch: TinyArch) -> None:
    # kernels_per_op: sample launches 2 kernels; after each sample the host waits for the device
    rt = RuntimeSpec.model_validate(
        {"name": "sync", "per_kernel_overhead": "1 ms", "kernels_per_op": {"sample": 2}, "sync_on": ["sample"]}
    )
    t = trace(
        op(0, "matmul", 1e12),  # issued at 1 ms, runs 10 ms -> 11 ms
        op(1, "sample", 0.0, (0,), tokens=1.0),  # issued at 3 ms, runs at 11 ms; host waits until 11 ms
        op(2, "matmul", 1e12, (1,)),  # issued at 12 ms, ends 22 ms
        op(3, "sample", 0.0, (2,), tokens=1.0),
    )
    r = simulate(tiny_arch(), t, rt, mapping=PINNED)
    assert r.latency_s == pytest.approx(0.022)
    assert r.latency_by_category_s["runtime_overhead"] == pytest.approx(0.002)
    assert r.latency_by_category_s["compute"] == pytest.approx(0.020)
    assert r.ttft_s == pytest.approx(0.011)
    assert r.tpot_s == pytest.approx(0.011)
    assert r.tokens_per_sequence == 2.0
    assert r.tokens_per_s == pytest.approx(2 / 0.022)


def test_capacity_overflow_names_memory_class_and_numbers(tiny_arch: TinyArch) -> None:
    arch = tiny_arch(placement={"weight": "dram", "activation": "dram", "kv_cache": "sram"})
    mib = 1 << 20
    t = trace(
        op(0, "kv_write", 0.0, writes=(TensorRef("kv0", "kv_cache", 10 * mib),)),
        op(1, "kv_write", 0.0, (0,), writes=(TensorRef("kv1", "kv_cache", 10 * mib),)),
    )
    with pytest.raises(CapacityError) as err:
        simulate(arch, t)
    msg = str(err.value)
    assert "'sram'" in msg and "kv_cache" in msg and "16 MiB" in msg and "10 MiB" in msg and "op1" in msg


def test_frees_release_kv_cache_and_peaks_are_reported(tiny_arch: TinyArch) -> None:
    arch = tiny_arch(placement={"weight": "dram", "activation": "dram", "kv_cache": "sram"})
    mib = 1 << 20
    t = trace(
        op(0, "kv_write", 0.0, writes=(TensorRef("kv0", "kv_cache", 10 * mib),)),
        op(1, "kv_write", 0.0, (0,), frees=("kv0",), writes=(TensorRef("kv0", "kv_cache", 0),)),
        op(2, "kv_write", 0.0, (1,), writes=(TensorRef("kv1", "kv_cache", 10 * mib),)),
        op(
            3,
            "matmul",
            2.0,
            (2,),
            reads=(TensorRef("w", "weight", 100), TensorRef("x", "activation", 4)),
            writes=(TensorRef("y", "activation", 4),),
        ),
        op(
            4,
            "matmul",
            2.0,
            (3,),
            reads=(TensorRef("w", "weight", 100), TensorRef("x", "activation", 4)),
            writes=(TensorRef("y", "activation", 4),),
        ),
    )
    r = simulate(arch, t)
    assert r.peak_memory_bytes["sram"] == {"kv_cache": 10 * mib, "total": 10 * mib}
    assert r.peak_memory_bytes["dram"] == {"weight": 100, "activation": 8, "total": 108}


def test_auto_mapping_picks_the_faster_unit(tiny_arch: TinyArch) -> None:
    t = trace(op(0, "matmul", 1e12), op(1, "matmul", 1e12, (0,), dtype="fp32"))
    r = simulate(tiny_arch(), t, timeline_limit=2)
    assert [rec.unit for rec in r.timeline] == ["npu", "vpu"]  # npu has no fp32 peak


def test_auto_spreads_independent_work_by_earliest_finish(tiny_arch: TinyArch) -> None:
    # vpu is 10x slower; independent matmuls go to npu until its queue is 10x longer
    t = trace(*(op(i, "matmul", 1e11) for i in range(12)))
    r = simulate(tiny_arch(), t, timeline_limit=12)
    units = [rec.unit for rec in sorted(r.timeline, key=lambda rec: rec.op_id)]
    assert units.count("vpu") == 1 and units[:9] == ["npu"] * 9
    assert r.latency_s == pytest.approx(0.011)


def test_unrunnable_dtype_is_a_user_error(tiny_arch: TinyArch) -> None:
    t = trace(op(0, "matmul", 1.0), op(1, "matmul", 1.0, (0,), dtype="fp32"))
    with pytest.raises(
        UserError,
        match=r"operator 1 \(op1, matmul fp32\): unit 'npu' has no peak for dtype 'fp32'; "
        r"units that can: vpu",
    ):
        simulate(tiny_arch(), t, mapping={"matmul": "npu"})
    with pytest.raises(UserError, match="no compute unit can run"):
        simulate(tiny_arch(), trace(op(0, "matmul", 1.0, dtype="int4")))
    with pytest.raises(UserError, match="unknown unit 'gpu'"):
        simulate(tiny_arch(), trace(op(0, "matmul", 1.0)), mapping={"*": "gpu"})


def test_memory_bound_op_and_energy_split(tiny_arch: TinyArch) -> None:
    # 1 MB read from DRAM (100 GB/s port, 200 GB/s link): 10 µs; 1e6 FLOP on npu: 10 ns
    t = trace(op(0, "elementwise", 1e6, reads=(TensorRef("x", "activation", 10**6),)))
    r = simulate(tiny_arch(), t, mapping={"*": "vpu"}, timeline_limit=1)
    assert r.latency_s == pytest.approx(1e-5)
    assert r.latency_by_category_s == {
        "compute": 0.0,
        "data_movement": pytest.approx(1e-5),
        "runtime_overhead": 0.0,
        "idle": pytest.approx(0.0, abs=1e-18),
    }
    assert r.energy.compute_j == pytest.approx(1e6 * 2e-12)
    # 10 pJ/B DRAM read + 1 pJ/B on the dram-sram link (sram passed through: not charged)
    assert r.energy.data_movement_j == pytest.approx(1e6 * 11e-12)
    assert r.energy_by_component_j["dram"]["data_movement"] == pytest.approx(1e6 * 10e-12)
    assert r.energy_by_component_j["dram-sram"]["data_movement"] == pytest.approx(1e6 * 1e-12)
    # static: npu 1 W + vpu 0.5 W + dram 2 W + system 3 W for 10 µs
    assert r.energy.static_j == pytest.approx(6.5 * 1e-5)
    assert r.bytes_by_memory == {"dram": pytest.approx(1e6)}
    assert [(f.link, f.bytes) for f in r.flow_timeline] == [("dram->sram", 1e6), ("sram->vpu", 1e6)]
    assert r.roofline_latency_s == pytest.approx(1e-5)


def test_shared_port_halves_bandwidth_for_concurrent_ops(tiny_arch: TinyArch) -> None:
    # two independent 1 MB reads on two units share the DRAM port (100 GB/s): both end at 20 µs
    t = trace(
        op(0, "matmul", 0.0, reads=(TensorRef("a", "activation", 10**6),)),
        op(1, "elementwise", 0.0, reads=(TensorRef("b", "activation", 10**6),)),
    )
    r = simulate(tiny_arch(), t, mapping=PINNED, timeline_limit=2)
    assert [rec.end_s for rec in r.timeline] == [pytest.approx(2e-5), pytest.approx(2e-5)]


def test_metrics_from_header(tiny_arch: TinyArch) -> None:
    t = trace(op(0, "matmul", 1e12), op(1, "pool", 1e10, (0,)), frames=4, batch=4)
    r = simulate(tiny_arch(), t, mapping=PINNED, workload="cnn")
    assert r.workload == "cnn" and r.kind == "test" and r.batch == 4
    assert r.fps == pytest.approx(4 / 0.011)
    assert r.ttft_s is None and r.tpot_s is None and r.tokens_per_s is None
    assert r.latency_by_phase_s == {"p": pytest.approx(0.011)}


def test_ids_must_increase(tiny_arch: TinyArch) -> None:
    with pytest.raises(ValueError, match="increase"):
        simulate(tiny_arch(), trace(op(1, "matmul", 1.0), op(0, "matmul", 1.0)))


def test_long_trace_is_streamed_with_bounded_state(tiny_arch: TinyArch) -> None:
    n = 20_000

    def ops() -> Any:
        for i in range(n):
            yield op(i, "elementwise", 1e6, (i - 1,) if i else (), reads=(TensorRef("x", "activation", 64),))

    r = simulate(tiny_arch(), Trace({"workload": "long"}, ops))
    assert r.operators == n
    assert r.events <= 3 * n


def test_empty_trace(tiny_arch: TinyArch) -> None:
    r = simulate(tiny_arch(), trace())
    assert r.latency_s == 0.0 and r.operators == 0 and r.energy.total_j == 0.0
    assert r.tokens_per_s is None and r.ttft_s is None


def test_signature_cache_eviction_changes_nothing(tiny_arch: TinyArch, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import decode_ops
    from simulator.engine import signatures

    t = Trace.from_operators({"workload": "decode"}, decode_ops(layers=2, steps=6, hidden=256, ffn=704))
    full = simulate(tiny_arch(), t, timeline_limit=20)
    monkeypatch.setattr(signatures, "SIG_LIMIT", 3)
    small = simulate(tiny_arch(), t, timeline_limit=20)
    assert small.latency_s == full.latency_s
    assert small.latency_by_category_s == full.latency_by_category_s
    assert small.peak_memory_bytes == full.peak_memory_bytes
    assert small.bytes_by_memory == pytest.approx(full.bytes_by_memory, rel=1e-12)
    assert small.roofline_latency_s == pytest.approx(full.roofline_latency_s, rel=1e-12)
    for component, cats in full.energy_by_component_j.items():
        assert small.energy_by_component_j[component] == pytest.approx(cats, rel=1e-12)
    for phase, cats in full.energy_by_phase_j.items():
        assert small.energy_by_phase_j[phase] == pytest.approx(cats, rel=1e-12)
    assert full.timeline == small.timeline
    assert small.energy.total_j == pytest.approx(full.energy.total_j, rel=1e-12)
    assert small.operators == full.operators and small.flops == pytest.approx(full.flops, rel=1e-12)


def test_gemm_larger_than_buffer_rereads_operands(tiny_arch: TinyArch) -> None:
    n = 1024
    mib2 = 2 * n * n  # one fp16 1024x1024 matrix
    gemm = op(
        0,
        "matmul",
        2.0 * n**3,
        dims={"M": n, "N": n, "K": n},
        reads=(TensorRef("A", "activation", mib2), TensorRef("B", "weight", mib2)),
        writes=(TensorRef("C", "activation", mib2),),
    )
    # 96 KiB buffer: T = sqrt(98304 / (3 * 2)) = 128, so A and B are each read 1024/128 = 8 times
    small = simulate(tiny_arch(memories={"sram": {"capacity": "96 KiB"}}), trace(gemm), mapping=PINNED)
    assert small.bytes_by_memory == {"dram": pytest.approx(8 * mib2 + 8 * mib2 + mib2)}
    assert small.roofline_latency_s == pytest.approx(3 * mib2 / 100e9)  # compulsory traffic only
    big = simulate(tiny_arch(memories={"sram": {"capacity": "64 MiB"}}), trace(gemm), mapping=PINNED)
    assert big.bytes_by_memory == {"dram": pytest.approx(3 * mib2)}
    assert big.latency_s < small.latency_s


def test_launch_queue_bound_delays_issue_but_not_a_dependent_chain(tiny_arch: TinyArch) -> None:
    from simulator.engine.engine import Engine

    t = trace(*(op(i, "matmul" if i % 2 else "elementwise", 1e9, (i - 1,) if i else ()) for i in range(12)))

    def run(max_outstanding: int) -> Any:
        engine = Engine(tiny_arch(), None, PINNED, 0, max_outstanding=max_outstanding)
        engine.env.process(engine.host_process(iter(t)))
        engine.env.run()
        return engine.result(t, "chain", 0.0)

    free, bounded = simulate(tiny_arch(), t, mapping=PINNED), run(1)
    assert bounded.latency_s == free.latency_s
    assert bounded.latency_by_category_s == free.latency_by_category_s
    assert bounded.events > free.events  # the host really waited (one window event per operator)
    with pytest.raises(ValueError, match="max_outstanding"):
        Engine(tiny_arch(), None, None, 0, max_outstanding=0)
