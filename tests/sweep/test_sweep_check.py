"""Checking a sweep: each problem once, all of them at once, from ``sweep`` and ``validate``; big sweeps."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from simulator.cli import main
from simulator.config import loader
from simulator.config.loader import sweep_cache
from simulator.errors import UserError
from simulator.sweep import CONFIRM_ABOVE, plan_sweep, sweep_scenario

TYPOS = """\
name: typos
architectures: [a100-80gb]
workloads:
  - {kind: gemm, m: 1, n: 1024, k: 1024, precison: fp16}
sweep:
  architectures.0.memories.hbm.bandwidth: [1 TB/s, 2 TBs, 4 TB/s]
  architectures.0.memories.hbmx.efficiency: [0.5]
  workloads.0.m: [1, 2, 4, 8, 16, 32, 64, 128]
  workloads.0.n: [1024, 2048]
  nmae: [x]
"""


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("  - ")]


@pytest.mark.parametrize("command", ["sweep", "validate"])
def test_every_problem_once_and_all_at_once(tmp_path: Path, capsys: Any, command: str) -> None:
    """48 points, four mistakes: four lines, none hidden by a bad sweep path, none repeated per point."""
    path = tmp_path / "typos.yaml"
    path.write_text(TYPOS)
    args = ["sweep", str(path), "-o", str(tmp_path / "out"), "-q"] if command == "sweep" else ["validate", str(path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("hetsim: error: 4 problems:")
    lines = _lines(err)
    assert len(lines) == 4
    assert any("sweep.nmae: no key 'nmae' at top level" in line for line in lines)
    assert any(
        "sweep.architectures.0.memories.hbmx.efficiency: value 0.5: no key 'hbmx' at memories" in line for line in lines
    )
    assert any(
        "sweep.architectures.0.memories.hbm.bandwidth: value '2 TBs'" in line and "unit" in line for line in lines
    )
    assert any("workloads[0].precison: unknown key" in line for line in lines)
    assert all(str(path) in line for line in lines)
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


def test_a_problem_of_some_points_names_the_value_that_causes_it(tmp_path: Path) -> None:
    """``only_on`` names an architecture that one sweep value renames away: said once, with that value."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\narchitectures: [{base: a100-80gb, name: a}]\n"
        "workloads: [{kind: gemm, m: 1, n: 64, k: 64, only_on: [a]}]\n"
        "sweep:\n  architectures.0.name: [a, b]\n  workloads.0.m: [1, 2, 3]\n"
    )
    with pytest.raises(UserError) as info, sweep_cache():
        plan_sweep(loader.read_yaml(path), file=str(path), base_dir=tmp_path)
    [problem] = info.value.problems
    assert problem.path == ("workloads", 0, "only_on")
    assert "with sweep architectures.0.name = 'b' (3 points)" in problem.message


def test_validate_accepts_a_good_sweep_and_says_how_many_points(capsys: Any) -> None:
    assert main(["validate", "scenarios/a3c3-joint-sweep.yaml"]) == 0
    assert "sweep of 36 points, every point checked" in capsys.readouterr().out


def test_a_sweep_with_a_bad_shape_reports_the_template_too(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\narchitectures: [a100-80gbb]\nworkloads: [{kind: gemm, m: 1, n: 64, k: 64}]\n"
        "sweep: {workloads.0.m: [], workloads.0.n: [64, 64]}\n"
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "sweep.workloads.0.m: expected a non-empty list of values" in err
    assert "sweep.workloads.0.n[1]: 64 is listed twice" in err
    assert "unknown architecture 'a100-80gbb'" in err


# ---------------------------------------------------------------- big sweeps

MILLION = """\
name: million
architectures: [a100-80gb]
workloads:
  - {kind: gemm, m: 1, n: 1024, k: 1024}
sweep:
  workloads.0.m: [%s]
  workloads.0.n: [%s]
  workloads.0.k: [%s]
""" % ((", ".join(str(i) for i in range(1, 101)),) * 3)


def test_a_million_point_sweep_asks_for_yes_before_expanding(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MILLION)
    start = time.perf_counter()
    assert main(["sweep", str(path), "-o", str(tmp_path / "out"), "-q"]) == 2
    assert time.perf_counter() - start < 20  # refused up front, not after expanding a million points
    err = capsys.readouterr().err
    assert "1,000,000 points" in err and f"more than {CONFIRM_ABOVE:,}" in err and "--yes" in err
    assert not (tmp_path / "out").exists()
    # validate gives the quick check (template and each value) and says the combinations are not checked
    assert main(["validate", str(path)]) == 0
    assert "sweep of 1,000,000 points; the template and each of its values checked" in capsys.readouterr().out


def test_each_point_is_cheap_the_template_resolved_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """3,000 points over workload values: the architecture and runtime are resolved once, not per point."""
    calls = {"architecture": 0, "runtime": 0}
    real_arch, real_runtime = loader._architecture_uncached, loader._runtime_uncached

    def arch(*args: Any) -> Any:
        calls["architecture"] += 1
        return real_arch(*args)

    def runtime(*args: Any) -> Any:
        calls["runtime"] += 1
        return real_runtime(*args)

    monkeypatch.setattr(loader, "_architecture_uncached", arch)
    monkeypatch.setattr(loader, "_runtime_uncached", runtime)
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\narchitectures: [a100-80gb]\nworkloads: [{kind: gemm, m: 1, n: 64, k: 64}]\n"
        f"sweep:\n  workloads.0.m: [{', '.join(map(str, range(1, 1001)))}]\n  workloads.0.n: [64, 128, 256]\n"
    )
    seen: list[tuple[int, int]] = []
    with sweep_cache():
        plan = plan_sweep(
            loader.read_yaml(path), file=str(path), base_dir=tmp_path, progress=lambda d, t: seen.append((d, t))
        )
        keys = {point.key for point, _ in plan.points()}
    assert plan.size == 3000 and len(keys) == 3000
    assert calls == {"architecture": 1, "runtime": 1}
    assert seen[0] == (0, 3000) and seen[-1] == (3000, 3000) and len(seen) > 3  # progress while checking


def test_a_big_sweep_shows_progress_while_checking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from simulator.sweep import run as sweep_run

    monkeypatch.setattr(sweep_run, "_points_with_specs", lambda plan, specs: iter(()))  # check only, run nothing
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\narchitectures: [a100-80gb]\nworkloads: [{kind: gemm, m: 1, n: 64, k: 64}]\n"
        f"sweep:\n  workloads.0.m: [{', '.join(map(str, range(1, 2502)))}]\n"
    )
    buffer = io.StringIO()
    sweep_scenario(path, tmp_path / "out", console=Console(file=buffer, force_terminal=False, width=100))
    assert "checking" in buffer.getvalue() and "2501/2501" in buffer.getvalue()


def test_a_sweep_parses_each_yaml_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Architecture variants as sweep values, each resolved from the same base file: one parse per file."""
    parsed: list[str] = []
    real_parse = loader.parse_yaml

    def parse(text: str, *, file: str) -> Any:
        parsed.append(Path(file).name)
        return real_parse(text, file=file)

    monkeypatch.setattr(loader, "parse_yaml", parse)
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nruntime: eager\narchitectures: [a100-80gb]\nworkloads: [{kind: gemm, m: 1, n: 64, k: 64}]\n"
        "sweep:\n  architectures.0.memories.hbm.bandwidth: [1 TB/s, 2 TB/s, 3 TB/s]\n"
        "  runtime.per_kernel_overhead: [1 us, 2 us]\n  workloads.0.m: [1, 2]\n"
    )
    with sweep_cache():
        plan = plan_sweep(loader.read_yaml(path), file=str(path), base_dir=tmp_path)
        assert len(list(plan.points())) == 12
    assert sorted(parsed) == ["a100-80gb.yaml", "eager.yaml", "s.yaml"]
