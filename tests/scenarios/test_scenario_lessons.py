"""The lesson of each shipped scenario, asserted qualitatively (ratios and orderings, not golden numbers).

These must keep holding when the architecture constants and runtime profiles are refined; if one fails
after such a change, the scenario's opening comment and docs/tutorial.md must change with it. Results
are shared with the golden tests (``scenario_harness`` caches each scenario's run and sweep).
"""

from __future__ import annotations

from typing import Any

import pytest
from scenario_harness import scenario_path, scenario_result, sweep_result

from simulator.config import load_scenario


def runs(name: str) -> dict[tuple[str, str], Any]:
    return {(r.architecture, r.workload): r for r in scenario_result(name).runs}


def arch_spec(name: str, arch: str) -> Any:
    spec = load_scenario(scenario_path(name))
    return next(a for a in spec.architectures if a.name == arch)


def energy_per_frame(run: Any) -> float:
    return run.energy.total_j / (run.fps * run.latency_s)


def data_movement_share(run: Any) -> float:
    return run.energy.data_movement_j / run.energy.total_j


def hbm_share(run: Any) -> float:
    """Off-chip movement's share: on-chip operand traffic grows with FLOPs, HBM traffic with weights and KV."""
    return run.energy_by_level_j["hbm"] / run.energy.total_j


def sweep_rows(name: str) -> list[dict[str, Any]]:
    rows, _ = sweep_result(name)
    return rows


# ----------------------------------------------------------------------------------------------
# decode-memory-bound


def test_decode_batching_shares_the_weight_reads() -> None:
    r = runs("decode-memory-bound")
    for arch in ("a100-80gb", "h100-sxm"):
        b1, b32 = r[(arch, "decode-b1")], r[(arch, "decode-b32")]
        # 32× the tokens per step for < 1.3× the step time
        assert b32.tpot_s / b1.tpot_s < 1.3
        assert b32.tokens_per_s / b1.tokens_per_s > 15


def test_decode_batch1_energy_is_mostly_data_movement() -> None:
    r = runs("decode-memory-bound")
    for arch in ("a100-80gb", "h100-sxm"):
        b1, b32 = r[(arch, "decode-b1")], r[(arch, "decode-b32")]
        assert data_movement_share(b1) > 0.5
        assert b1.energy.compute_j < 0.1 * b1.energy.data_movement_j
        assert hbm_share(b32) < hbm_share(b1)


def test_decode_h100_speedup_follows_bandwidth_not_flops() -> None:
    r = runs("decode-memory-bound")
    a100, h100 = arch_spec("decode-memory-bound", "a100-80gb"), arch_spec("decode-memory-bound", "h100-sxm")
    bw_ratio = h100.memories["hbm"].bandwidth_bytes_per_s / a100.memories["hbm"].bandwidth_bytes_per_s
    flop_ratio = max(u.peak_flops_per_s.get("fp16", 0.0) for u in h100.compute_units.values()) / max(
        u.peak_flops_per_s.get("fp16", 0.0) for u in a100.compute_units.values()
    )
    speedup = r[("a100-80gb", "decode-b1")].tpot_s / r[("h100-sxm", "decode-b1")].tpot_s
    assert flop_ratio > 2 * bw_ratio * 0.9  # the premise: H100 gained far more FLOP/s than bandwidth
    assert 0.75 * bw_ratio < speedup < 1.25 * bw_ratio
    assert speedup < 0.6 * flop_ratio


@pytest.mark.slow
def test_decode_sweep_kv_cache_and_compute_bound_regimes() -> None:
    rows = [r for r in sweep_rows("decode-memory-bound") if r.get("workload") == "decode-b1"]
    tpot = {
        (r["architecture"], r["workloads.0.batch"], r["workloads.0.prompt_tokens"]): r["tpot_s"]
        for r in rows
        if not r.get("error")
    }
    for arch in ("a100-80gb", "h100-sxm"):
        # short context: flat up to batch 16, then rising as the GEMMs approach the ridge point
        assert tpot[(arch, 16, 128)] / tpot[(arch, 1, 128)] < 1.2
        assert tpot[(arch, 256, 128)] / tpot[(arch, 64, 128)] > 1.5
        # long context: every sequence reads its own KV cache, so batching stops being free
        assert tpot[(arch, 16, 4064)] / tpot[(arch, 16, 128)] > 1.8
    # 4K context × batch 64 or 256 (2 GB of KV per sequence) does not fit in 80 GB: kept with its error
    errors = {
        (r["workloads.0.batch"], r["workloads.0.prompt_tokens"])
        for r in sweep_rows("decode-memory-bound")
        if r.get("error")
    }
    assert errors == {(64, 4064), (256, 4064)}


# ----------------------------------------------------------------------------------------------
# medusa-bandwidth


def test_medusa_beats_baseline_and_trades_compute_for_bytes() -> None:
    r = runs("medusa-bandwidth")
    speedups = []
    for arch in ("a100-half-hbm", "a100-80gb", "a100-2x-hbm"):
        base, med = r[(arch, "baseline")], r[(arch, "medusa")]
        assert med.tokens_per_s > 1.1 * base.tokens_per_s
        assert med.energy.compute_j > 2 * base.energy.compute_j  # spends compute ...
        assert med.energy_by_level_j["hbm"] < 0.7 * base.energy_by_level_j["hbm"]  # ... to save HBM bytes
        speedups.append(med.tokens_per_s / base.tokens_per_s)
    # the less bandwidth, the more Medusa's spare-compute trade pays
    assert speedups[0] > speedups[1] > speedups[2]


@pytest.mark.slow
def test_medusa_best_tree_depends_on_bandwidth() -> None:
    lat = {
        (r["architecture"], str(r["workloads.1.tree"])): r["latency_s"]
        for r in sweep_rows("medusa-bandwidth")
        if r.get("workload") == "medusa"
    }
    chain = str([[0], [0, 0], [0, 0, 0], [0, 0, 0, 0]])
    assert lat[("a100-half-hbm", "mc_sim_7b_63")] < lat[("a100-half-hbm", chain)]  # scarce bandwidth: big tree
    assert lat[("a100-2x-hbm", chain)] < lat[("a100-2x-hbm", "mc_sim_7b_63")]  # ample bandwidth: small tree


# ----------------------------------------------------------------------------------------------
# snapkv-long-prompt


def test_snapkv_cuts_tpot_and_kv_memory_at_32k() -> None:
    r = runs("snapkv-long-prompt")
    full, c1k, c4k = (r[("a100-80gb", w)] for w in ("full-kv", "snapkv", "snapkv-4096"))
    assert c1k.tpot_s < c4k.tpot_s < full.tpot_s
    assert c1k.tpot_s < 0.9 * full.tpot_s

    def peak(run: Any) -> float:
        return sum(m.get("total", 0) for m in run.peak_memory_bytes.values())

    assert peak(c1k) < peak(c4k) < peak(full)
    # the selection costs little at prefill
    assert full.ttft_s <= c1k.ttft_s < 1.05 * full.ttft_s


@pytest.mark.slow
def test_snapkv_gain_grows_with_prompt_length() -> None:
    rows = sweep_rows("snapkv-long-prompt")
    tpot = {
        (r["workloads.0.capacity"], r["workloads.0.prompt_tokens"]): r["tpot_s"]
        for r in rows
        if r.get("workload") == "snapkv"
    }
    full_32k = next(r["tpot_s"] for r in rows if r.get("workload") == "full-kv")
    for capacity in (1024, 2048, 4096):
        # decode cost barely depends on the prompt once it is compressed to `capacity`
        assert tpot[(capacity, 32000)] < 1.1 * tpot[(capacity, 4096)]
        assert tpot[(capacity, 32000)] < full_32k
    assert tpot[(1024, 32000)] < tpot[(2048, 32000)] < tpot[(4096, 32000)]


# ----------------------------------------------------------------------------------------------
# skynet-gpu, skynet-fpga, SkyNet on the edge SoC


def test_skynet_outruns_resnet_on_tx2() -> None:
    r = runs("skynet-gpu")
    sky, r18, r50 = (r[("jetson-tx2", w)] for w in ("skynet-fp32", "resnet18-fp32", "resnet50-fp32"))
    assert sky.fps > 1.4 * r18.fps > 1.4 * r50.fps
    assert sky.flops < r18.flops / 2
    assert energy_per_frame(sky) <= energy_per_frame(r18) < energy_per_frame(r50)
    # ... but FLOPs are not the whole story: SkyNet's depthwise layers make it data-movement-heavy
    assert data_movement_share(sky) > data_movement_share(r18)
    half = r[("jetson-tx2", "skynet-fp16")]
    assert 1.6 < half.fps / sky.fps < 2.2


def test_skynet_fpga_spends_less_energy_per_frame_than_tx2() -> None:
    tx2 = runs("skynet-gpu")[("jetson-tx2", "skynet-fp32")]
    fpga = runs("skynet-fpga")[("ultra96", "skynet-w11a9-b4")]
    assert energy_per_frame(fpga) < energy_per_frame(tx2)
    assert fpga.fps < tx2.fps  # the GPU is faster; the FPGA is cheaper per frame
    # stitching 4 frames does not change the per-frame cost of a weights-on-chip dataflow design much
    b1 = runs("skynet-fpga")[("ultra96", "skynet-w11a9-b1")]
    assert energy_per_frame(fpga) <= energy_per_frame(b1) * 1.01


# ----------------------------------------------------------------------------------------------
# edge-soc-mapping


def test_edge_soc_npu_takes_the_matmuls_under_auto_mapping() -> None:
    r = runs("edge-soc-mapping")
    gemm = r[("edge-soc-auto", "gemm-128x4096x4096")]
    assert gemm.timeline and {op.unit for op in gemm.timeline if op.kind == "matmul"} == {"npu"}
    sky = r[("edge-soc-auto", "skynet-fp16")]
    units = {op.unit for op in sky.timeline if op.kind == "conv2d"}
    assert "npu" in units
    # ... but the depthwise convolutions leave it (a systolic array is a poor fit for them)
    assert "npu" not in {op.unit for op in sky.timeline if op.kind == "dwconv2d"}


def test_edge_soc_gemms_belong_on_the_npu() -> None:
    r = runs("edge-soc-mapping")
    w = "gemm-128x4096x4096"
    npu, dsp, cpu = (r[(a, w)] for a in ("edge-soc", "edge-soc-dsp", "edge-soc-cpu"))
    assert dsp.latency_s > 10 * npu.latency_s and cpu.latency_s > 5 * npu.latency_s
    assert npu.energy.total_j < cpu.energy.total_j < dsp.energy.total_j
    assert npu.energy.compute_j < dsp.energy.compute_j < cpu.energy.compute_j  # pJ/FLOP: 0.75 < 1.2 < 2.6
    # SkyNet is bandwidth-heavy: moving its convolutions off the NPU costs far less than for the GEMM
    s = "skynet-fp16"
    sky_npu, sky_dsp = r[("edge-soc", s)], r[("edge-soc-dsp", s)]
    assert sky_dsp.latency_s / sky_npu.latency_s < dsp.latency_s / npu.latency_s / 5


def test_edge_soc_auto_mapping_is_never_slower_than_the_default() -> None:
    r = runs("edge-soc-mapping")
    for w in ("skynet-fp16", "gemm-128x4096x4096"):
        assert r[("edge-soc-auto", w)].latency_s <= r[("edge-soc", w)].latency_s * 1.001


# ----------------------------------------------------------------------------------------------
# a3c3-joint-sweep


def test_a3c3_front_and_knobs() -> None:
    rows, fronts = sweep_result("a3c3-joint-sweep")
    assert len(rows) == 36 and not any(r.get("error") for r in rows)
    front = fronts["skynet"]
    assert 1 <= len(front) < len(rows)
    # the smallest input always reaches the front (no accuracy axis in the model)
    assert all(r["workloads.0.height"] == 96 and r["workloads.0.width"] == 192 for r in front)

    def latency(arch: str, bw: str, h: int, w: int) -> float:
        return next(
            r["latency_s"]
            for r in rows
            if r["architecture"] == arch
            and r["architectures.0.memories.lpddr.bandwidth"] == bw
            and (r["workloads.0.height"], r["workloads.0.width"]) == (h, w)
        )

    for arch in ("npu-16x16", "npu-32x32", "npu-64x64"):
        for h, w in ((96, 192), (160, 320)):
            # more LPDDR bandwidth always helps: SkyNet on this chip is memory-bound
            assert latency(arch, "8.5 GB/s", h, w) > latency(arch, "17 GB/s", h, w) > latency(arch, "34 GB/s", h, w)


# ----------------------------------------------------------------------------------------------
# scaling-out-70b


def test_scaling_out_70b_tp_speeds_decode_with_diminishing_returns() -> None:
    r = runs("scaling-out-70b")
    tp2, tp4, tp8 = (r[("dgx-a100", w)] for w in ("tp2", "tp4", "tp8"))
    assert tp2.tpot_s > tp4.tpot_s > tp8.tpot_s
    # per-token bytes per GPU halve at each step, but the all-reduces' latency does not: gains shrink
    assert tp2.tpot_s / tp4.tpot_s > tp4.tpot_s / tp8.tpot_s
    assert tp4.tpot_s / tp8.tpot_s < 1.8


def test_scaling_out_70b_link_energy_grows_but_stays_small() -> None:
    r = runs("scaling-out-70b")
    shares = [
        r[("dgx-a100", w)].energy_inter_device_j / r[("dgx-a100", w)].energy.total_j for w in ("tp2", "tp4", "tp8")
    ]
    assert shares == sorted(shares) and shares[0] > 0 and shares[-1] < 0.01
    tp4 = r[("dgx-a100", "tp4")]
    assert [tp4.devices[f"gpu{i}"]["utilisation"] > 0.5 for i in range(8)] == [True] * 4 + [False] * 4
    assert tp4.energy.total_j < r[("dgx-a100", "tp2")].energy.total_j


# ----------------------------------------------------------------------------------------------
# offload-vs-compression


def test_offload_makes_the_full_cache_possible_but_compression_is_faster() -> None:
    r = runs("offload-vs-compression")
    full = r[("gh200-kv-offload", "full-kv")]
    snap_hbm, snap_off = r[("gh200", "snapkv-4k")], r[("gh200-kv-offload", "snapkv-4k")]
    assert full.peak_memory_bytes["lpddr5x"]["kv_cache"] > 96e9  # more than the GPU's HBM holds
    assert full.tpot_s > 30 * snap_hbm.tpot_s
    assert snap_hbm.tpot_s < snap_off.tpot_s < full.tpot_s
    assert full.bytes_by_link["gpu0.l2-lpddr5x"] > 128 * 2**30  # the whole cache crossed NVLink-C2C


# ----------------------------------------------------------------------------------------------
# dense-vs-moe


def test_moe_reads_a_fraction_of_its_weights_per_token_at_batch_1() -> None:
    r = runs("dense-vs-moe")
    dense, moe = r[("h100-sxm", "dense-b1")], r[("h100-sxm", "moe-b1")]
    assert dense.tpot_s > 4 * moe.tpot_s
    decode = [dense.energy_by_phase_j["decode"], moe.energy_by_phase_j["decode"]]
    assert sum(decode[0].values()) > 3 * sum(decode[1].values())
    # every expert is resident: the MoE needs nearly the dense model's HBM
    assert moe.peak_memory_bytes["hbm"]["weight"] > 0.9 * dense.peak_memory_bytes["hbm"]["weight"]


def test_batching_erodes_the_moe_advantage() -> None:
    r = runs("dense-vs-moe")
    gain_b1 = r[("h100-sxm", "dense-b1")].tpot_s / r[("h100-sxm", "moe-b1")].tpot_s
    gain_b32 = r[("h100-sxm", "dense-b32")].tpot_s / r[("h100-sxm", "moe-b32")].tpot_s
    assert gain_b32 < 0.5 * gain_b1


# serving (docs/serving.md)


@pytest.mark.slow
def test_serving_knee_h100_serves_more_at_lower_latency_and_batching_cuts_joules() -> None:
    r = runs("serving-knee")
    loads = ("chat-2/s", "chat-8/s", "chat-16/s", "chat-32/s", "chat-64/s")
    for arch in ("a100-80gb", "h100-sxm"):
        tpot = [r[(arch, w)].serving["tpot_p50_s"] for w in loads]
        joules = [r[(arch, w)].flat_metrics()["energy_per_token_j"] for w in loads]
        assert tpot == sorted(tpot)  # the batch grows with the load: each step gets longer
        assert joules == sorted(joules, reverse=True) and joules[0] > 3 * joules[-1]
    a100, h100 = r[("a100-80gb", "chat-64/s")].serving, r[("h100-sxm", "chat-64/s")].serving
    assert a100["requests_per_s"] < 0.5 * 64  # past A100's knee: served well below offered
    assert h100["requests_per_s"] > 1.4 * a100["requests_per_s"]
    assert h100["ttft_p99_s"] < a100["ttft_p99_s"] and h100["tpot_p99_s"] < a100["tpot_p99_s"]


def test_serving_medusa_gain_shrinks_with_batch() -> None:
    r = runs("serving-medusa-load")
    speedup = {
        b: r[("a100-80gb", f"medusa-{b}")].tokens_per_s / r[("a100-80gb", f"baseline-{b}")].tokens_per_s
        for b in (1, 16, 64)
    }
    assert speedup[1] > 1.6 > 1.3 > speedup[16] > speedup[64]
    chain = r[("a100-80gb", "medusa-chain-16")].tokens_per_s / r[("a100-80gb", "baseline-16")].tokens_per_s
    assert chain > 2 * speedup[16]  # a smaller tree keeps more of the gain


def test_serving_snapkv_lets_more_users_in() -> None:
    r = runs("serving-snapkv-users")
    base, snap = r[("a100-80gb", "baseline")].flat_metrics(), r[("a100-80gb", "snapkv")].flat_metrics()
    assert base["peak_kv_occupancy"] > 0.95  # the KV cache caps the baseline's batch
    assert snap["max_batch_sequences"] > 1.3 * base["max_batch_sequences"]
    assert snap["requests_per_s"] > 1.5 * base["requests_per_s"]
    assert snap["energy_per_token_j"] < 0.7 * base["energy_per_token_j"]
