"""hetsim's side of the peer cross-checks: arithmetic only (the peers are not installed in CI)."""

from __future__ import annotations

import math

import pytest

from tools.crosscheck import hetsim_side as hs
from tools.crosscheck.peers import ZIGZAG_LEVEL_OF, zigzag_workload
from tools.crosscheck.scalesim_runner import parse_report
from tools.crosscheck.table import Row, pct_diff, render


def test_zigzag_per_access_energies_convert_to_per_byte() -> None:
    t = hs.ZIGZAG_TPU_LIKE
    assert t["dram"].read_pj_per_byte == pytest.approx(700 / 8)
    assert t["dram"].write_pj_per_byte == pytest.approx(750 / 8)
    assert t["sram_2MB"].read_pj_per_byte == pytest.approx(416.16 / 256)
    assert t["sram_2MB"].write_pj_per_byte == pytest.approx(378.4 / 256)
    assert t["rf_128B"].read_pj_per_byte == pytest.approx(0.095)
    assert t["rf_2B"].read_pj_per_byte == pytest.approx(0.021 / 2)
    # per MAC: one 8-bit weight read, one 16-bit partial-sum read and write
    assert pytest.approx(0.095 + 2 * 0.021) == hs.RF_PJ_PER_MAC
    assert pytest.approx((0.04 + 0.137) / 2) == hs.CONV_PJ_PER_FLOP


def test_conv_operator_work_and_bytes() -> None:
    op = hs.conv_operator()
    assert hs.conv_macs() == 64 * 64 * 9 * 56 * 56
    assert op.flops == 2 * hs.conv_macs()
    assert hs.conv_input_hw() == (58, 58)
    assert {t.tensor: t.bytes for t in op.reads} == {"ifmap": 64 * 58 * 58, "weights": 64 * 64 * 9}
    assert op.bytes_written == 64 * 56 * 56
    assert op.kind == "conv2d" and op.dtype == "int8"


def test_conv_architecture_validates_with_the_array_numbers() -> None:
    arch = hs.conv_architecture()
    unit = arch.compute_units["array"]
    assert unit.peak_flops_per_s["int8"] == pytest.approx(2 * 32 * 32 * hs.CONV_CLOCK_HZ)
    assert unit.utilisation.model == "systolic"
    assert (unit.utilisation.rows, unit.utilisation.cols) == (32, 32)
    assert arch.memories["dram"].bandwidth_bytes_per_s == pytest.approx(8 * hs.CONV_CLOCK_HZ)
    assert arch.memories["dram"].read_energy_j_per_byte == pytest.approx(87.5e-12)


def test_expected_conv_numbers_by_hand() -> None:
    e = hs.expected_conv_energy_pj()
    macs = 115_605_504
    assert e["MAC"] == pytest.approx(macs * 0.04)
    assert e["DRAM"] == pytest.approx((215_296 + 36_864) * 87.5 + 200_704 * 93.75)
    assert e["GB (SRAM)"] == pytest.approx((215_296 + 36_864 + 200_704) * (416.16 + 378.4) / 256)
    # 576 x 64 implicit-GEMM weights on 32x32: 18 x 2 passes of 3136 rows + 64 fill/drain cycles
    assert hs.expected_conv_cycles() == 36 * (3136 + 64)


def test_hetsim_conv_matches_the_hand_arithmetic() -> None:
    pytest.importorskip("simulator.engine")
    got = hs.hetsim_conv()
    want = hs.expected_conv_energy_pj()
    for level in hs.CONV_LEVELS:
        assert got.levels_pj[level] == pytest.approx(want[level], rel=1e-9), level
    assert got.total_pj == pytest.approx(sum(want.values()), rel=1e-9)
    assert got.cycles == pytest.approx(hs.expected_conv_cycles(), rel=1e-9)


def test_llm_architecture_is_efficiency_one() -> None:
    for roofline in (True, False):
        arch = hs.llm_architecture(roofline)
        assert arch.memories["hbm"].sustained_bandwidth_bytes_per_s == pytest.approx(hs.A100_HBM_BYTES_PER_S)
        assert arch.compute_units["tensor"].peak_flops_per_s["fp16"] == pytest.approx(hs.A100_PEAK_FP16_FLOPS)
        assert all(u.efficiency == 1.0 for u in arch.compute_units.values())
    roof = hs.llm_architecture(True)
    assert roof.compute_units["tensor"].utilisation.model == "ideal"
    assert roof.memories["hbm"].latency_s == 0
    assert hs.ideal_runtime().per_kernel_overhead_s == 0


def test_llm_decode_step_is_bytes_over_bandwidth() -> None:
    pytest.importorskip("simulator.engine")
    got = hs.hetsim_llm(1024, roofline=True)
    classes = hs.llm_bytes_by_class(1024)["decode"]
    # weights (no embedding table: one row is gathered), the LM head, 1025 tokens of K and V
    d, layers, vocab = 4096, 32, 32000
    assert classes["weight:lm_head"] == vocab * d * 2
    assert classes["kv_cache:rest"] == pytest.approx(layers * 2 * d * 2 * (1025 + 1))  # read 1025, write 1
    assert got.decode_bytes == pytest.approx(sum(classes.values()), rel=0.01)
    assert got.decode_s == pytest.approx(got.decode_bytes / hs.A100_HBM_BYTES_PER_S, rel=0.03)
    assert got.prefill_s >= got.prefill_flops / hs.A100_PEAK_FP16_FLOPS


def test_table_diff_and_render() -> None:
    assert pct_diff(110.0, 100.0) == pytest.approx(10.0)
    assert pct_diff(None, 1.0) is None and pct_diff(1.0, 0.0) is None
    rows = [
        Row("check A", "latency", "s", 0.0473, "GenZ", 0.0460, "note"),
        Row("check A", "bytes", "B", None, "GenZ", 1e9),
        Row("check B", "energy", "pJ", 62.75e6, "ZigZag", 68.29e6),
    ]
    text = render(rows)
    assert "== check A ==" in text and "== check B ==" in text
    assert "47.3" in text and "+2.8%" in text and "62.75" in text and "-8.1%" in text
    assert math.isclose(rows[2].to_json()["diff_percent"], -8.11, abs_tol=0.01)


def test_scalesim_report_parser() -> None:
    text = (
        "LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %,\n"
        "0, 152890, 116279, 0, 97.09,\n"
    )
    (row,) = parse_report(text)
    assert row["Total Cycles"] == 116279 and row["Total Cycles (incl. prefetch)"] == 152890


def test_zigzag_workload_describes_the_same_layer() -> None:
    (layer,) = zigzag_workload()
    sizes = dict(zip(layer["loop_dims"], layer["loop_sizes"], strict=True))
    assert sizes == {"B": 1, "K": 64, "C": 64, "OY": 56, "OX": 56, "FY": 3, "FX": 3}
    assert set(ZIGZAG_LEVEL_OF.values()) <= set(hs.CONV_LEVELS)
