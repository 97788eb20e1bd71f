"""``hetsim validate`` and ``hetsim run`` apply the same rules (issue 12, item 3 and item 6).

Property: every architecture validation accepts also builds (``System`` and every route a run
needs); every one it rejects for its topology fails to build. Shipped architectures, hand-written
cases and random topologies.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from input_helpers import clean_error

from simulator.config.architecture import ArchitectureSpec
from simulator.config.checks import check_architecture
from simulator.config.loader import builtin_architectures, load_architecture
from simulator.engine.mapping import Mapper
from simulator.errors import UserError
from simulator.hardware.system import System
from workloads.trace import COLLECTIVES, OP_KINDS, Operator

CLASSES = ("weight", "kv_cache", "activation")
UNIT = {"kind": "vector", "peak": {"fp16": "1 TFLOP/s"}, "energy_per_flop": {"fp16": "1 pJ/FLOP"}}
MEMORY = {
    "level": "dram",
    "capacity": "1 GiB",
    "bandwidth": "10 GB/s",
    "read_energy": "1 pJ/B",
    "write_energy": "1 pJ/B",
}


def builds(arch: ArchitectureSpec) -> bool:
    """What a run needs of the topology: the system, and routes from every unit the engine's mapper can pick.

    The units come from :class:`~simulator.engine.mapping.Mapper` (the engine's code), not from the
    validator's own :func:`~simulator.config.topology.usable_units`.
    """
    try:
        system = System(arch)
        mapper = Mapper(system)
        dtypes = sorted({d for u in system.units.values() for d in u.peak_flops_per_s})
        for device in system.devices:  # a single chip is one device; a system of chips has several
            for kind in OP_KINDS:
                if kind in COLLECTIVES:
                    continue  # not run by a compute unit's routes (device-to-device flows, tested in test_systems)
                for dtype in dtypes:
                    probe = Operator(
                        id=0, name="probe", kind=kind, phase="p", flops=0.0, dtype=dtype, device=device.index
                    )
                    try:
                        units = mapper.candidates(probe)
                    except UserError:
                        continue  # no unit runs this kind in this dtype: a workload problem, not a topology one
                    for unit in units:
                        for memory in set(device.placement.values()):
                            system.route(memory, unit)
                            system.route(unit, memory)
    except UserError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(builtin_architectures()))
def test_every_shipped_architecture_validates_and_builds(name: str) -> None:
    """Ultra96 included: its processing system cannot reach the on-chip weights, but no rule maps work to it."""
    arch = load_architecture(name)
    assert check_architecture(arch) == []
    assert builds(arch)


nodes = st.sampled_from(["u0", "u1", "u2", "m0", "m1", "m2", "ghost"])


@settings(max_examples=400, deadline=None)
@given(
    units=st.integers(1, 3),
    memories=st.integers(1, 3),
    links=st.lists(st.tuples(nodes, nodes), max_size=7),
    homes=st.tuples(*(st.integers(0, 2) for _ in range(3))),
    pinned=st.sampled_from([None, "u0", "u1"]),
    restricted=st.booleans(),
)
def test_validation_accepts_exactly_the_topologies_that_build(
    units: int,
    memories: int,
    links: list[tuple[str, str]],
    homes: tuple[int, int, int],
    pinned: str | None,
    restricted: bool,
) -> None:
    """Random units, memories, links (unknown ends, self-loops, duplicates), placements and mapping rules."""
    last = {**UNIT, "ops": ["sample", "topk"]} if restricted else UNIT
    arch = ArchitectureSpec.model_validate(
        {
            "name": "random",
            "compute_units": {f"u{i}": UNIT if i < units - 1 else last for i in range(units)},
            "mapping": {"*": pinned if pinned is not None and int(pinned[1]) < units else "auto"},
            "memories": {f"m{i}": MEMORY for i in range(memories)},
            "links": [{"between": list(pair), "bandwidth": "1 GB/s"} for pair in links],
            "placement": {cls: f"m{min(i, memories - 1)}" for cls, i in zip(CLASSES, homes, strict=True)},
        }
    )
    accepted = check_architecture(arch) == []
    assert accepted == builds(arch), (links, check_architecture(arch))


def through_a_unit() -> dict[str, Any]:
    return {
        "name": "through-unit",
        "compute_units": {"cpu": UNIT, "npu": UNIT},
        "memories": {"dram": MEMORY},
        "links": [
            {"between": ["dram", "cpu"], "bandwidth": "10 GB/s"},
            {"between": ["cpu", "npu"], "bandwidth": "10 GB/s"},
        ],
        "placement": {"weight": "dram", "kv_cache": "dram", "activation": "dram"},
    }


def test_a_route_through_a_compute_unit_is_rejected_by_validate_as_by_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: validate said ok, run said "memory 'dram' is unreachable from compute unit 'npu'"."""
    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump(through_a_unit()))
    err = clean_error(capsys, ["validate", str(path)], f"{path}: placement.", "compute unit(s) npu")
    assert err.count("cannot be reached") == 1  # once per memory, not once per tensor class
    fixed = copy.deepcopy(through_a_unit())
    fixed["links"].append({"between": ["dram", "npu"], "bandwidth": "10 GB/s"})
    path.write_text(yaml.safe_dump(fixed))
    assert clean_error(capsys, ["validate", str(path)], code=0) == ""


def write_scenario(tmp_path: Path, workloads: list[dict[str, Any]]) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "architectures": ["a100-80gb", "jetson-tx2"], "workloads": workloads}))
    return path


GEMM = {"kind": "gemm", "M": 16, "N": 256, "K": 256}
FP8 = {**GEMM, "dtype": "fp8", "name": "gemm-fp8"}
LLAMA_13B = {"kind": "baseline", "model": "llama-2-13b", "prompt_tokens": 8, "generate_tokens": 2, "name": "13b"}


def test_validate_catches_what_run_would_stop_on_each_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_scenario(tmp_path, [GEMM, FP8, LLAMA_13B])
    err = clean_error(
        capsys,
        ["validate", str(path)],
        "3 problems:",
        "workloads[1]: on a100-80gb: matmul in fp8",
        "workloads[1]: on jetson-tx2: matmul in fp8",
        "workloads[2]: on jetson-tx2: the weights need 23.94 GiB at fp16 but memory 'lpddr4' holds",
        "`weight_dtype: int8`",
        "`only_on: [...]`",
    )
    assert "a100-80gb: the weights" not in err  # 13B fits 80 GB


def test_run_writes_the_finished_runs_and_reports_each_failed_pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_scenario(tmp_path, [GEMM, FP8])
    out = tmp_path / "out"
    err = clean_error(capsys, ["run", str(path), "-o", str(out), "-q"], "2 runs of 4 failed:", "fix: use a `dtype`")
    assert "a100-80gb · gemm-fp8" in err and "jetson-tx2 · gemm-fp8" in err
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 3  # header + the two gemm runs that could run


def test_compare_compares_the_finished_runs_and_reports_each_failed_pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_scenario(tmp_path, [GEMM, FP8])
    out = tmp_path / "cmp"
    argv = ["compare", str(path), "-o", str(out), "-q", "--no-plots"]
    err = clean_error(capsys, argv, "2 runs of 4 failed:", "fix: use a `dtype`")
    assert "a100-80gb · gemm-fp8" in err and "jetson-tx2 · gemm-fp8" in err
    assert len((out / "compare.csv").read_text().splitlines()) >= 3  # header + the two gemm runs


def test_validate_reads_the_start_of_a_trace_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"format": "hetsim-trace", "version": 1}\n{"id": 0, "name": "a"}\n')
    path = write_scenario(tmp_path, [{"kind": "trace", "path": "t.jsonl"}])
    clean_error(capsys, ["validate", str(path)], f"{trace}: line 2: operator is missing 'kind'")
