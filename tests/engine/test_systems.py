"""Systems of chips: multi-device architectures, tensor/pipeline parallel traces, collectives as flows."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.config.loader import load_architecture, load_runtime
from simulator.engine import simulate
from simulator.errors import CapacityError, UserError
from simulator.hardware.system import System
from workloads.spec import WORKLOAD_ADAPTER, build_trace
from workloads.trace import Operator, TensorRef, Trace

#: nccl-tests ring all-reduce bus bandwidth on 8x H100 SXM (NVLink 4): ~370 GB/s (NCCL_ALGO=RING) per NCCL's
#: maintainer, NVIDIA/nccl-tests issue #212; ASTRA-sim's HGX-H100 validation measured 741.34 GB/s bidirectional
#: = 370.7 GB/s per direction (docs/references.md#collectives).
H100_RING_BUSBW = 370.7e9


def _all_reduce(arch: str, ranks: int, size: int) -> Any:
    op = Operator(
        0,
        "ar",
        "all_reduce",
        "comm",
        0.0,
        reads=(TensorRef("buf", "activation", size),),
        writes=(TensorRef("buf", "activation", size),),
        group=tuple(range(ranks)),
        dims={"bytes": size},
    )
    return simulate(load_architecture(arch), Trace.from_operators({}, [op]))


def _llm(**fields: Any) -> Trace:
    spec = {"kind": "baseline", "model": "llama-2-7b", "batch": 1, "prompt_tokens": 8, "generate_tokens": 2}
    return build_trace(WORKLOAD_ADAPTER.validate_python({**spec, **fields}))


def test_builtin_systems_expand_their_chips() -> None:
    for name, count, chip in (
        ("dgx-a100", 8, "a100-80gb"),
        ("dgx-h100", 8, "h100-sxm"),
        ("hgx-h200", 8, "h200-sxm"),
        ("a100-hybrid-cube-mesh", 8, "a100-80gb"),
        ("gh200", 1, "gh200-gpu"),
    ):
        arch = load_architecture(name)
        assert arch.devices[0].count == count and arch.devices[0].chip.name == chip
        system = System(arch)
        assert [d.name for d in system.devices] == [f"gpu{i}" for i in range(count)]
        assert "gpu0.tensor" in system.units and "gpu0.hbm" in system.memories and "gpu0.comm" in system.units
        assert system.inter_device_links
    assert load_architecture("h200-sxm").memories["hbm"].capacity_bytes == 141e9
    assert len(System(load_architecture("a100-hybrid-cube-mesh")).inter_device_links) == 16


def test_all_reduce_1gib_on_dgx_h100_matches_nccl_tests_bus_bandwidth() -> None:
    size = 2**30
    run = _all_reduce("dgx-h100", 8, size)
    busbw = size / run.latency_s * 2 * 7 / 8
    assert busbw == pytest.approx(H100_RING_BUSBW, rel=0.15)
    # the ring sends 2(N-1)/N of the buffer over every GPU's link, each way
    assert run.bytes_by_link["gpu0.hbm-nvswitch"] == pytest.approx(2 * 2 * 7 / 8 * size, rel=1e-9)
    assert run.energy_inter_device_j == pytest.approx(16 * 2 * 7 / 8 * size * 1.3e-12 * 8, rel=1e-9)


def test_small_all_reduce_is_latency_bound_as_nccls_model() -> None:
    # LL protocol: 3.6 us base + 2(N-1) steps x 0.47 us (NCCL tuning.cc), plus 8 KB x 4 (LL wire) / link
    run = _all_reduce("dgx-a100", 2, 8192)
    wire = 8192 * 4 / (300e9 * 0.783)
    assert run.latency_s == pytest.approx(3.6e-6 + 2 * 0.47e-6 + wire, rel=1e-6)


def test_more_ranks_than_devices_is_an_error() -> None:
    two = load_architecture({"base": "dgx-a100", "name": "dgx-2", "set": {"devices.0.count": 2}})
    with pytest.raises(UserError, match="has 2 devices"):
        simulate(two, _llm(tensor_parallel=4))


def test_tensor_parallel_shards_weights_and_kv_per_device() -> None:
    arch = load_architecture("dgx-a100")
    one = simulate(load_architecture("a100-80gb"), _llm())
    two = simulate(arch, _llm(tensor_parallel=2))
    w1 = one.peak_memory_bytes["hbm"]["weight"]
    w2 = two.peak_memory_bytes["gpu0.hbm"]["weight"]
    assert w2 == two.peak_memory_bytes["gpu1.hbm"]["weight"]
    assert 0.5 * w1 < w2 < 0.53 * w1  # everything split but norms and the (replicated) embedding rows read
    assert two.peak_memory_bytes["gpu0.hbm"]["kv_cache"] == one.peak_memory_bytes["hbm"]["kv_cache"] // 2
    assert "gpu2.hbm" not in two.peak_memory_bytes  # devices 2-7 idle
    assert two.devices["gpu2"]["utilisation"] == 0.0 and two.devices["gpu0"]["utilisation"] > 0.5
    assert two.tokens_per_s and one.tokens_per_s and two.tokens_per_s > 1.4 * one.tokens_per_s
    assert two.latency_s >= two.roofline_latency_s
    e = two.energy
    assert e.total_j == pytest.approx(sum(sum(c.values()) for c in two.energy_by_component_j.values()), rel=1e-9)
    assert 0 < two.energy_inter_device_j < e.data_movement_j


def test_llama2_70b_fp16_tp4_on_dgx_a100_reports_devices_links_and_inter_device_energy() -> None:
    trace = _llm(model="llama-2-70b", dtype="fp16", tensor_parallel=4, generate_tokens=2)
    run = simulate(load_architecture("dgx-a100"), trace, load_runtime("graphs"))
    assert set(run.devices) == {f"gpu{i}" for i in range(8)}
    assert all(run.devices[f"gpu{i}"]["utilisation"] > 0.5 for i in range(4))
    assert run.devices["gpu0"]["comm_s"] > 0
    nvlink = {k: v for k, v in run.bytes_by_link.items() if "nvswitch" in k}
    assert set(nvlink) == {f"gpu{i}.hbm-nvswitch" for i in range(4)}
    assert run.energy_inter_device_j > 0
    assert max(m["total"] for m in run.peak_memory_bytes.values()) < 80e9


def test_capacity_error_names_the_device() -> None:
    with pytest.raises(CapacityError, match=r"on device gpu0: memory 'gpu0\.hbm'"):
        simulate(load_architecture("dgx-a100"), _llm(model="llama-2-70b", generate_tokens=1))


def test_tp8_of_a_180b_class_model_fits_on_8_h100() -> None:
    # Falcon-180B's attention shapes (HF tiiuae/falcon-180B config.json: hidden 14848, 80 layers, 232 heads,
    # 8 K/V heads, vocabulary 65024) with a gated MLP of about its parameter count: 177 B parameters, 354 GB fp16
    model = {
        "name": "180b-class",
        "hidden_size": 14848,
        "num_hidden_layers": 80,
        "num_attention_heads": 232,
        "num_key_value_heads": 8,
        "intermediate_size": 39424,
        "vocab_size": 65024,
        "max_position_embeddings": 2048,
    }
    run = simulate(load_architecture("dgx-h100"), _llm(model=model, tensor_parallel=8, generate_tokens=1))
    peaks = [run.peak_memory_bytes[f"gpu{i}.hbm"]["total"] for i in range(8)]
    assert all(40e9 < p < 80e9 for p in peaks)


def test_pipeline_parallel_sends_between_stages() -> None:
    trace = _llm(pipeline_parallel=2, tensor_parallel=2)
    ops = list(trace)
    sends = [op for op in ops if op.kind == "send_recv"]
    assert {op.group for op in sends} >= {(0, 2), (1, 3), (2, 0), (3, 1)}
    assert {op.device for op in ops if "L31." in op.name} == {2, 3}
    assert {op.device for op in ops if "L0." in op.name and op.kind != "all_reduce"} == {0, 1}
    assert sum(op.tokens for op in ops) == 2  # one token per step, counted once per sequence
    run = simulate(load_architecture("dgx-a100"), trace)
    assert run.tokens_per_s and run.latency_s >= run.roofline_latency_s


def test_medusa_and_snapkv_run_under_tensor_parallelism() -> None:
    arch = load_architecture("dgx-a100")
    medusa = _llm(
        kind="medusa", model="vicuna-7b", tree="mc_sim_7b_63", accepted_tokens_per_step=2.0, tensor_parallel=2
    )
    assert simulate(arch, medusa).tokens_per_s
    snap = _llm(kind="snapkv", prompt_tokens=256, capacity=64, window=16, tensor_parallel=2)
    assert simulate(arch, snap).tokens_per_s


def test_parallel_operators_round_trip_through_json() -> None:
    op = Operator(3, "ar", "all_reduce", "decode", 0.0, deps=(1, 2), device=0, group=(0, 1, 2, 3))
    assert Operator.from_json(op.to_json()) == op
    with pytest.raises(ValueError, match="group of two or more"):
        Operator(0, "ar", "all_reduce", "decode", 0.0, group=(0,))


def test_system_link_errors_name_the_key() -> None:
    base = {"name": "x", "devices": [{"count": 2, "chip": "a100-80gb"}], "switches": {"sw": {}}}
    with pytest.raises(UserError, match=r"links\[0\]\.between\[1\]: unknown endpoint 'gpu9'"):
        load_architecture({**base, "links": [{"between": ["gpu*", "gpu9"], "bandwidth": "1 GB/s"}]})
    with pytest.raises(UserError, match="cannot reach device"):
        load_architecture(base)
    ok = load_architecture({**base, "links": [{"between": ["gpu*", "sw"], "bandwidth": "1 GB/s"}]})
    assert len(System(ok).inter_device_links) == 2


def test_all_to_all_sends_a_share_to_every_other_rank() -> None:
    size = 64 * 2**20
    op = Operator(
        0,
        "a2a",
        "all_to_all",
        "comm",
        0.0,
        reads=(TensorRef("buf", "activation", size),),
        group=(0, 1, 2, 3),
        dims={"bytes": size},
    )
    run = simulate(load_architecture("dgx-h100"), Trace.from_operators({}, [op]))
    # each rank sends 3/4 of its buffer and receives as much (Simple protocol: no wire overhead)
    assert run.bytes_by_link["gpu0.hbm-nvswitch"] == pytest.approx(2 * 3 / 4 * size, rel=1e-9)
    assert "gpu4.hbm-nvswitch" not in run.bytes_by_link
    assert run.latency_s > 3 / 4 * size / (450e9 * 0.783)


def test_validate_names_a_pair_needing_more_devices_or_overflowing_a_device(tmp_path: Any) -> None:
    from simulator.cli import main
    from simulator.config import load_scenario
    from simulator.preflight import scenario_problems

    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\narchitectures: [a100-80gb, dgx-a100]\nworkloads:\n"
        "  - {name: tp2, kind: baseline, model: llama-2-70b, prompt_tokens: 8, generate_tokens: 2,\n"
        "     tensor_parallel: 2}\n"
        "  - {name: tp1, kind: baseline, model: llama-2-70b, prompt_tokens: 8, generate_tokens: 2}\n"
    )
    text = " ".join(p.message for p in scenario_problems(load_scenario(path)))
    assert "runs on 2 devices but 'a100-80gb' has 1" in text
    assert "memory 'gpu0.hbm' holds" in text and "tensor_parallel: N" in text
    assert main(["validate", str(path)]) == 2
