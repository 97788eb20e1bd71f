"""`hetsim run --outputs/--report`, the default timeline window of a user scenario, and safe output folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from simulator.cli import main


def _scenario(path: Path, name: str, workload: dict[str, object], **extra: object) -> Path:
    data = {"name": name, "architectures": ["a100-80gb"], "workloads": [workload], **extra}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


DECODE = {"name": "decode", "kind": "baseline", "model": "vicuna-7b", "prompt_tokens": 16, "generate_tokens": 5}
GEMM = {"name": "gemm $5", "kind": "gemm", "M": 16, "N": 256, "K": 256, "repeat": 2}


def test_a_user_report_has_a_timeline_and_a_gantt_chart_with_bars(tmp_path: Path) -> None:
    from matplotlib.collections import PolyCollection

    from simulator.config import load_scenario
    from simulator.report.plots import gantt
    from simulator.runner import run_scenario

    spec = load_scenario(_scenario(tmp_path / "s.yaml", "mine", DECODE, outputs=["report"]))
    run = run_scenario(spec).runs[0]
    assert run.timeline, "a report must come with a timeline"
    assert {op.step for op in run.timeline} == {0, 2}  # the prefill and the middle of 4 decode steps
    fig = gantt(run)
    assert "step 2" in fig.axes[0].get_title()
    bars = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]  # broken_barh
    assert bars and sum(len(c.get_paths()) for c in bars) > 0


def test_outputs_flag_without_editing_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _scenario(tmp_path / "s.yaml", "mine", DECODE)  # outputs: the default table, json, csv
    out = tmp_path / "out"
    assert main(["run", str(scenario), "-o", str(out), "-q", "--outputs", "report,timeline"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"report.html", "timeline.json", "scenario.resolved.yaml"} <= names
    assert "results.json" not in names  # --outputs replaces the scenario's list
    doc = json.loads((out / "timeline.json").read_text())
    assert sum(1 for e in doc["traceEvents"] if e["ph"] == "X") > 0
    window = doc["metadata"]["runs"][0]["window"]
    assert window["mode"] == "auto" and window["steps"] == [0, 2] and "step 2" in window["description"]
    assert yaml.safe_load((out / "scenario.resolved.yaml").read_text())["outputs"] == ["report", "timeline"]
    assert any(n.startswith("gantt-") and n.endswith(".png") for n in names)
    assert not any(n.endswith(".svg") for n in names)  # PNG by default


def test_report_flag_adds_to_the_scenarios_outputs(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path / "s.yaml", "g", GEMM, outputs=["json"])
    out = tmp_path / "out"
    assert main(["run", str(scenario), "-o", str(out), "-q", "--report"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"results.json", "report.html", "timeline.json"} <= names
    html = (out / "report.html").read_text()
    assert "gemm $5" in html  # a '$' in a name is text, not mathtext


def test_unknown_output_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _scenario(tmp_path / "s.yaml", "g", GEMM)
    assert main(["run", str(scenario), "--outputs", "report,pdf"]) == 2
    err = capsys.readouterr().err
    assert "'pdf'" in err and "timeline" in err and "Traceback" not in err


def test_rerun_leaves_no_stale_plots_and_keeps_user_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _scenario(tmp_path / "a.yaml", "first", DECODE, outputs=["json", "report"])
    assert main(["run", str(first), "-o", str(out), "-q"]) == 0
    assert (out / "report.html").exists() and any(p.name.startswith("gantt-") for p in out.iterdir())
    (out / "my-notes.txt").write_text("mine")
    second = _scenario(tmp_path / "b.yaml", "second", GEMM, outputs=["json"])
    assert main(["run", str(second), "-o", str(out), "-q"]) == 0
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["my-notes.txt", "results.json", "scenario.resolved.yaml"]


def test_outputs_are_never_written_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").symlink_to(outside)
    scenario = _scenario(tmp_path / "s.yaml", "g", GEMM, outputs=["json"])
    assert main(["run", str(scenario), "-o", str(out), "-q"]) == 0
    assert outside.read_text() == "precious"
    assert not (out / "results.json").is_symlink()
    assert json.loads((out / "results.json").read_text())["scenario"] == "g"


def test_compare_per_token_and_width(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _scenario(tmp_path / "s.yaml", "g", GEMM)
    data = yaml.safe_load(scenario.read_text())
    data["architectures"] = ["a100-80gb", "h100-sxm"]
    data["workloads"] = [DECODE, {**DECODE, "name": "decode-b4", "batch": 4}]
    scenario.write_text(yaml.safe_dump(data))
    assert main(["compare", str(scenario), "-o", str(tmp_path / "c"), "--per", "token", "--no-plots"]) == 0
    text = capsys.readouterr().out
    assert "per token" in text
    assert max(len(line) for line in text.splitlines()) <= 80  # tests run without a terminal: 80 columns
    doc = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert doc["per"] == "token" and any(r["metric"] == "energy_total_j_per_token" for r in doc["rows"])
