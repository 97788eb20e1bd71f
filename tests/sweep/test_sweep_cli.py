"""End to end: ``hetsim sweep`` and ``hetsim compare`` on tiny GEMM scenarios (milliseconds per run)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from simulator.cli import main

SCENARIO = """\
name: tiny-sweep
architectures: [a100-80gb]
workloads:
  - {kind: gemm, m: 1, n: 1024, k: 1024}
sweep:
  architectures.0.memories.hbm.bandwidth: [1 TB/s, 2 TB/s, 4 TB/s]
  workloads.0.m: [1, 256]
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    return path


def test_sweep_cli_writes_store_csv_pareto_and_resumes(tmp_path: Path, scenario_file: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["sweep", str(scenario_file), "-o", str(out), "--executor", "serial", "-q"]) == 0
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert len(rows) == 6
    assert [r["architectures.0.memories.hbm.bandwidth"] for r in rows] == ["1 TB/s"] * 2 + ["2 TB/s"] * 2 + [
        "4 TB/s"
    ] * 2
    # more bandwidth never makes the memory-bound m=1 GEMM slower
    lat = [float(r["latency_s"]) for r in rows if r["workloads.0.m"] == "1"]
    assert lat == sorted(lat, reverse=True)
    pareto = json.loads((out / "pareto.json").read_text())
    assert pareto["fronts"] and (out / "pareto.png").exists()
    capsys.readouterr()
    assert main(["sweep", str(scenario_file), "-o", str(out), "--executor", "serial"]) == 0
    captured = capsys.readouterr()
    assert "0 run now, 6 already" in captured.err
    assert "Pareto front" in captured.out


def test_extended_sweep_reuses_stored_points_in_the_new_order(tmp_path: Path) -> None:
    first = tmp_path / "first.yaml"
    first.write_text(SCENARIO.replace("[1 TB/s, 2 TB/s, 4 TB/s]", "[2 TB/s, 4 TB/s]"))
    second = tmp_path / "second.yaml"
    second.write_text(SCENARIO)
    out = tmp_path / "out"
    assert main(["sweep", str(first), "-o", str(out), "--executor", "serial", "-q"]) == 0
    assert main(["sweep", str(second), "-o", str(out), "--executor", "serial", "-q"]) == 0
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [r["index"] for r in rows] == [str(i) for i in range(6)]
    assert [r["architectures.0.memories.hbm.bandwidth"] for r in rows] == [
        "1 TB/s", "1 TB/s", "2 TB/s", "2 TB/s", "4 TB/s", "4 TB/s"
    ]  # fmt: skip


def test_sweep_cli_local_executor(tmp_path: Path, scenario_file: Path) -> None:
    assert main(["sweep", str(scenario_file), "-o", str(tmp_path / "o"), "--jobs", "2", "-q"]) == 0
    assert len(list(csv.DictReader((tmp_path / "o" / "sweep.csv").open()))) == 6


def test_sweep_cli_reports_bad_paths_before_running(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SCENARIO.replace("workloads.0.m", "workloads.0.emm"))
    assert main(["sweep", str(path), "-o", str(tmp_path / "o"), "--executor", "serial", "-q"]) == 2
    assert "emm" in capsys.readouterr().err
    assert not (tmp_path / "o" / "sweep.csv").exists()


def test_a_sweep_path_into_nothing_is_reported_once_at_its_sweep_key(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SCENARIO.replace("workloads.0.m:", "nothing.here:"))
    assert main(["sweep", str(path), "-o", str(tmp_path / "o"), "--executor", "serial", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("sweep.nothing.here: no key 'nothing' at top level") == 1, err
    assert "Traceback" not in err


def test_sweep_cli_needs_a_sweep(tmp_path: Path, capsys) -> None:
    path = tmp_path / "none.yaml"
    path.write_text(SCENARIO.split("sweep:")[0])
    assert main(["sweep", str(path), "-o", str(tmp_path / "o"), "-q"]) == 2
    assert "no sweep" in capsys.readouterr().err


def test_compare_cli(tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(SCENARIO.split("sweep:")[0].replace("[a100-80gb]", "[a100-80gb, h100-sxm]"))
    assert main(["compare", str(path), "-o", str(tmp_path / "c")]) == 0
    text = capsys.readouterr().out
    assert "latency" in text and "h100-sxm" in text and "×)" in text
    doc = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert [c["architecture"] for c in doc["columns"]] == ["a100-80gb", "h100-sxm"]
    assert (tmp_path / "c" / "comparison.png").exists() and (tmp_path / "c" / "compare.csv").exists()
