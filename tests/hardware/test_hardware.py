"""System graph routes, utilisation models and the reuse formula."""

from __future__ import annotations

import pytest

from simulator.config.architecture import UtilisationSpec
from simulator.errors import UserError
from simulator.hardware import System, gemm_dims, gemm_reuse_factors, utilisation
from tests.conftest import TinyArch


def test_routes_and_resources(tiny_arch: TinyArch) -> None:
    system = System(tiny_arch())
    read = system.route("dram", "npu")
    assert read.nodes == ("dram", "sram", "npu")
    names = [system.resource_names[r] for r in read.resources]
    assert names == ["dram.port", "dram->sram", "sram.port", "sram->npu"]
    write = system.route("npu", "dram")
    assert [system.resource_names[r] for r in write.resources] == ["npu->sram", "sram.port", "sram->dram", "dram.port"]
    assert read.link_energy_j_per_byte == pytest.approx(1e-12)
    assert system.route("dram", "npu") is read  # cached
    assert system.capacities[system.port("dram")] == pytest.approx(100e9)


def test_route_ties_broken_by_name(tiny_arch: TinyArch) -> None:
    arch = tiny_arch(
        memories={
            "b_mem": {"level": "sram", "capacity": "1 MiB", "bandwidth": "1 TB/s", "read_energy": 0, "write_energy": 0},
            "a_mem": {"level": "sram", "capacity": "1 MiB", "bandwidth": "1 TB/s", "read_energy": 0, "write_energy": 0},
        },
        links=[
            {"between": ["dram", "b_mem"], "bandwidth": "1 TB/s"},
            {"between": ["dram", "a_mem"], "bandwidth": "1 TB/s"},
            {"between": ["b_mem", "npu"], "bandwidth": "1 TB/s"},
            {"between": ["a_mem", "npu"], "bandwidth": "1 TB/s"},
            {"between": ["sram", "vpu"], "bandwidth": "1 TB/s"},
            {"between": ["dram", "sram"], "bandwidth": "1 TB/s"},
        ],
    )
    assert System(arch).route("dram", "npu").nodes == ("dram", "a_mem", "npu")


def test_routes_never_pass_through_another_unit(tiny_arch: TinyArch) -> None:
    arch = tiny_arch(
        links=[
            {"between": ["dram", "vpu"], "bandwidth": "1 TB/s"},
            {"between": ["vpu", "npu"], "bandwidth": "1 TB/s"},
            {"between": ["sram", "npu"], "bandwidth": "1 TB/s"},
        ]
    )
    with pytest.raises(UserError, match="unreachable"):
        System(arch).route("dram", "npu")


def test_bad_link_endpoint_is_a_user_error(tiny_arch: TinyArch) -> None:
    with pytest.raises(UserError, match="nowhere"):
        System(tiny_arch(links=[{"between": ["dram", "nowhere"], "bandwidth": "1 TB/s"}]))


def test_gemm_dims() -> None:
    assert gemm_dims("matmul", {"M": 2, "N": 3, "K": 4}) == (1, 2, 3, 4)
    conv = {"N": 1, "C": 64, "H": 56, "W": 56, "K": 128, "R": 3, "S": 3}
    assert gemm_dims("conv2d", conv) == (1, 56 * 56, 128, 64 * 9)
    dw = {"N": 1, "C": 64, "H": 56, "W": 56, "K": 64, "R": 3, "S": 3, "groups": 64}
    assert gemm_dims("dwconv2d", dw) == (64, 56 * 56, 1, 9)
    assert gemm_dims("softmax", {}) is None


def test_systolic_utilisation() -> None:
    spec = UtilisationSpec(model="systolic", rows=128, cols=128)
    # M=1 decode: full tiles, fill/drain 1/(1+256)
    assert utilisation(spec, "matrix", "matmul", {"M": 1, "N": 4096, "K": 4096}) == pytest.approx(1 / 257)
    # ragged K and N: 130 of 256 rows used, 64 of 128 cols
    u = utilisation(spec, "matrix", "matmul", {"M": 10_000, "N": 64, "K": 130})
    assert u == pytest.approx((130 * 64) / (256 * 128) * 10_000 / (10_000 + 256))
    # depthwise conv on a systolic array: 9 of 128 rows, 1 of 128 columns
    dw = {"N": 1, "C": 32, "H": 112, "W": 112, "K": 32, "R": 3, "S": 3, "groups": 32}
    assert utilisation(spec, "matrix", "dwconv2d", dw) == pytest.approx(9 / (128 * 128) * 12544 / (12544 + 256))
    assert utilisation(spec, "vector", "matmul", {"M": 1, "N": 1, "K": 1}) == 1.0


def test_tiles_utilisation() -> None:
    spec = UtilisationSpec(model="tiles", tile_m=128, tile_n=128, parallel_tiles=108)
    # 2x2 tiles, one full tile row/col each: tile quantisation 1, 4 tiles on 108 workers
    assert utilisation(spec, "matrix", "matmul", {"M": 256, "N": 256, "K": 64}) == pytest.approx(4 / 108)
    # batch multiplies tiles: 27 × 4 = 108 tiles = one full wave
    assert utilisation(spec, "matrix", "matmul", {"B": 27, "M": 256, "N": 256, "K": 64}) == pytest.approx(1.0)
    # ragged: M=129 → 2 tile rows, N=128 → 1; 2 tiles of 108
    assert utilisation(spec, "matrix", "matmul", {"M": 129, "N": 128, "K": 8}) == pytest.approx(129 / 256 * 2 / 108)
    assert utilisation(UtilisationSpec(), "matrix", "matmul", {"M": 1}) == 1.0


def test_reuse_factors() -> None:
    # fits: compulsory traffic
    assert gemm_reuse_factors(1, 64, 64, 64, 3 * 64 * 64 * 2, 1e6) == (1.0, 1.0)
    assert gemm_reuse_factors(1, 64, 64, 64, 3 * 64 * 64 * 2, None) == (1.0, 1.0)
    # 1024^3 fp16 GEMM (6 MiB) in a 96 KiB buffer: T = sqrt(98304 / 6) = 128
    total = 3 * 1024 * 1024 * 2
    assert gemm_reuse_factors(1, 1024, 1024, 1024, total, 98304) == (8.0, 8.0)
    # decode (M=1): weights stream once
    fa, fb = gemm_reuse_factors(1, 1, 4096, 4096, 2 * (4096 + 4096 * 4096 + 4096), 1 << 20)
    assert fb == 1.0 and fa > 1.0
    # monotone in the buffer
    prev = (float("inf"), float("inf"))
    for buffer in (1e3, 1e4, 1e5, 1e6, 1e7):
        cur = gemm_reuse_factors(1, 1024, 1024, 1024, total, buffer)
        assert cur[0] <= prev[0] and cur[1] <= prev[1]
        prev = cur


def test_duplicate_link_and_name_clash_are_user_errors(tiny_arch: TinyArch) -> None:
    dup = [{"between": ["dram", "sram"], "bandwidth": "1 TB/s"}, {"between": ["sram", "dram"], "bandwidth": "1 TB/s"}]
    with pytest.raises(UserError, match=r"links\[1\]\.between: duplicates links\[0\] \(sram-dram\)"):
        System(tiny_arch(links=dup))
    clash = {"kind": "vector", "peak": {"fp16": "1 TFLOP/s"}, "energy_per_flop": {"fp16": "1 pJ/FLOP"}}
    with pytest.raises(UserError, match=r"names used both by a unit and a memory: \['sram'\]"):
        System(tiny_arch(compute_units={"sram": clash}))
