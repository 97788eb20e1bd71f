"""``main([...])`` end to end: results files, exit codes, one-paragraph errors, every subcommand."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulator.cli import COMMANDS, main
from simulator.config.loader import REPO_ROOT
from simulator.metrics.registry import flat_columns

#: every run in results.json: identity and every registry metric, then the breakdowns
RUN_KEYS = {*flat_columns(), "energy_j", "energy_by_component_j", "latency_by_category_s", "hardware"}
CSV_KEYS = list(flat_columns())


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def gemm_scenario(tmp_path: Path) -> Path:
    return write(
        tmp_path / "gemm.yaml",
        {
            "name": "gemm-demo",
            "architectures": [
                "a100-80gb",
                {"base": "a100-80gb", "name": "a100-2x-hbm", "set": {"memories.hbm.bandwidth": "4.078 TB/s"}},
            ],
            "workloads": [{"kind": "gemm", "M": 16, "N": 1024, "K": 1024, "repeat": 2}],
        },
    )


def assert_one_paragraph_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "hetsim: error:" in err
    err = err[err.index("hetsim: error:") :]  # after any progress lines
    assert "\n\n" not in err.strip()
    for needle in needles:
        assert needle in err
    return err


def test_run_writes_results(gemm_scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["run", str(gemm_scenario), "-o", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "a100-2x-hbm" in stdout and "gemm-demo" in stdout
    document = json.loads((out / "results.json").read_text())
    assert set(document) == {"hetsim_version", "scenario", "runs"}
    assert document["scenario"] == "gemm-demo"
    assert [run["architecture"] for run in document["runs"]] == ["a100-80gb", "a100-2x-hbm"]
    for run in document["runs"]:
        assert set(run) >= RUN_KEYS
        assert set(run["energy_j"]) == {"total", "compute", "data_movement", "static"}
        assert run["latency_s"] >= run["roofline_latency_s"] > 0
    with (out / "results.csv").open() as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == CSV_KEYS
        rows = list(reader)
    assert len(rows) == 2 and rows[0]["ttft_s"] == ""
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text())
    assert resolved["architectures"][1]["memories"]["hbm"]["bandwidth"] == "4.078 TB/s"
    # the resolved scenario runs again and gives the same numbers
    again = tmp_path / "again"
    assert main(["run", str(out / "scenario.resolved.yaml"), "-o", str(again), "--quiet"]) == 0
    rerun = json.loads((again / "results.json").read_text())
    assert [r["latency_s"] for r in rerun["runs"]] == [r["latency_s"] for r in document["runs"]]


def test_run_quiet_prints_nothing(gemm_scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(gemm_scenario), "-o", str(tmp_path / "q"), "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        ("name: x\narchitectures: [a100-80gb\n", ["YAML syntax error"]),
        (
            {"name": "x", "architectures": ["a100-40gb"], "workloads": [{"kind": "gemm", "M": 1, "N": 1, "K": 1}]},
            ["architectures[0]", "unknown architecture 'a100-40gb'", "a100-80gb"],
        ),
        (
            {
                "name": "x",
                "runtime": "eagre",
                "architectures": ["a100-80gb"],
                "workloads": [{"kind": "gemm", "M": 1, "N": 1, "K": 1}],
            },
            ["runtime", "did you mean 'eager'"],
        ),
        (
            {"name": "x", "architectures": ["a100-80gb"], "workloads": [{"kind": "gemm", "M": 1, "N": 1}]},
            ["workloads[0].K", "required"],
        ),
        (
            {
                "name": "x",
                "architectures": [{"base": "a100-80gb", "name": "v", "set": {"memories.hbm.bandwidth": 2}}],
                "workloads": [{"kind": "gemm", "M": 1, "N": 1, "K": 1}],
            },
            ["memories.hbm.bandwidth", "2.039 TB/s"],
        ),
    ],
)
def test_bad_input_exits_2_with_one_paragraph(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Any, needles: list[str]
) -> None:
    path = write(tmp_path / "bad.yaml", content)
    assert main(["run", str(path), "-o", str(tmp_path / "o")]) == 2
    assert_one_paragraph_error(capsys, str(path), *needles)
    assert not (tmp_path / "o").exists()


def test_missing_scenario_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "none.yaml")]) == 2
    assert_one_paragraph_error(capsys, "none.yaml", "not found")


def test_validate(tmp_path: Path, gemm_scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted((REPO_ROOT / "architectures").glob("*.yaml")) + sorted(
        (REPO_ROOT / "architectures" / "runtimes").glob("*.yaml")
    )
    assert main(["validate", str(gemm_scenario), *map(str, files)]) == 0
    out = capsys.readouterr().out
    assert "scenario 'gemm-demo'" in out and "architecture 'ultra96'" in out and "runtime 'eager'" in out
    bad = write(tmp_path / "arch.yaml", {"name": "x", "compute_units": {}, "memories": {}, "placement": {}})
    unknown = write(tmp_path / "what.yaml", {"colour": "blue"})
    assert main(["validate", str(bad), str(unknown), str(gemm_scenario)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "at least one compute unit" in captured.err and "cannot tell what this file is" in captured.err
    assert captured.out == f"ok  {gemm_scenario}  (scenario 'gemm-demo': 2 architectures × 1 workload)\n"


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("a100-80gb", "h100-sxm", "jetson-tx2", "ultra96", "edge-soc", "eager", "graphs", "ideal", "gemm"):
        assert name in out


def test_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "-o", str(tmp_path)]) == 0
    for name in ("scenario", "architecture", "runtime"):
        schema = json.loads((tmp_path / f"{name}.schema.json").read_text())
        assert schema["type"] == "object" and schema["properties"]
    architecture = json.loads((tmp_path / "architecture.schema.json").read_text())
    assert "compute_units" in architecture["properties"]
    capsys.readouterr()
    assert main(["schema"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"scenario", "architecture", "runtime"}


def test_trace_inline_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workloads.io import read_trace

    out = tmp_path / "g.jsonl"
    assert main(["trace", "{kind: gemm, M: 64, N: 4096, K: 4096, repeat: 3}", "-o", str(out)]) == 0
    assert "wrote 3 operators" in capsys.readouterr().out
    assert len(list(read_trace(out))) == 3
    spec = write(tmp_path / "w.yaml", {"kind": "gemm", "M": 1, "N": 8, "K": 8})
    assert main(["trace", str(spec), "-o", str(tmp_path / "w.jsonl.gz")]) == 0
    assert main(["trace", "{kind: gemm, M: 0, N: 1, K: 1}", "-o", str(out)]) == 2
    assert_one_paragraph_error(capsys, "<command line>: M: Input should be greater than or equal to 1 (got 0)")
    assert main(["trace", "{kind: gemm, M: [", "-o", str(out)]) == 2
    assert_one_paragraph_error(capsys, "YAML syntax error")


def test_version_and_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("hetsim ")
    assert main([]) == 2
    assert main(["frobnicate"]) == 2


def test_commands_are_modules() -> None:
    import importlib

    for name in COMMANDS:
        module = importlib.import_module(f"simulator.commands.{name}")
        assert callable(module.register) and callable(module.run)


def test_public_api() -> None:
    import simulator

    assert set(simulator.__all__) >= {
        "load_scenario",
        "run_scenario",
        "simulate",
        "RunResult",
        "ScenarioResult",
        "UserError",
    }
    assert callable(simulator.simulate)


def test_trace_replay_path_relative_to_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "study"
    folder.mkdir()
    assert main(["trace", "{kind: gemm, M: 16, N: 256, K: 256, repeat: 2}", "-o", str(folder / "g.jsonl")]) == 0
    scenario = write(
        folder / "s.yaml",
        {
            "name": "replay",
            "architectures": ["edge-soc"],
            "workloads": [
                {"name": "gen", "kind": "gemm", "M": 16, "N": 256, "K": 256, "repeat": 2},
                {"name": "file", "kind": "trace", "path": "g.jsonl"},
            ],
        },
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["run", str(scenario), "-o", "o", "-q"]) == 0
    runs = json.loads((elsewhere / "o" / "results.json").read_text())["runs"]
    assert runs[0]["latency_s"] == pytest.approx(runs[1]["latency_s"])
    assert (
        main(
            [
                "run",
                str(
                    write(
                        folder / "bad.yaml",
                        {
                            "name": "b",
                            "architectures": ["edge-soc"],
                            "workloads": [{"kind": "trace", "path": "none.jsonl"}],
                        },
                    )
                ),
                "-o",
                "o2",
            ]
        )
        == 2
    )
    assert_one_paragraph_error(capsys, "workloads[0].path", "trace file not found")
    write(folder / "broken.jsonl", "{not json\n")
    broken = write(
        folder / "broken.yaml",
        {"name": "b", "architectures": ["edge-soc"], "workloads": [{"kind": "trace", "path": "broken.jsonl"}]},
    )
    assert main(["run", str(broken), "-o", "o3"]) == 2
    assert_one_paragraph_error(capsys, "broken.jsonl")


def test_default_output_folder(gemm_scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(gemm_scenario), "-q"]) == 0
    assert (tmp_path / "out" / "gemm-demo" / "results.json").exists()


def test_outputs_plots_and_timeline(tmp_path: Path) -> None:
    scenario = write(
        tmp_path / "s.yaml",
        {
            "name": "p",
            "architectures": ["a100-80gb"],
            "workloads": [{"kind": "gemm", "M": 64, "N": 512, "K": 512}],
            "outputs": ["json", "plots", "timeline"],
            "timeline_limit": 100,
        },
    )
    assert main(["run", str(scenario), "-o", str(tmp_path / "o"), "-q"]) == 0
    names = {p.name for p in (tmp_path / "o").iterdir()}
    assert {"results.json", "timeline.json", "scenario.resolved.yaml"} <= names
    assert "results.csv" not in names
    assert any(name.endswith(".png") for name in names)


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scenario_validates(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_engine_user_error_names_the_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = {"base": "a100-80gb", "name": "tiny-hbm", "set": {"memories.hbm.capacity": "1 MiB"}}
    path = write(
        tmp_path / "s.yaml",
        {"name": "s", "architectures": [small], "workloads": [{"kind": "gemm", "M": 64, "N": 4096, "K": 4096}]},
    )
    assert main(["run", str(path), "-o", str(tmp_path / "o")]) == 2
    assert_one_paragraph_error(capsys, f"{path}: workloads[0]: on tiny-hbm:", "hbm")


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("{kind: [gemm], M: 1}", "<command line>: kind: unknown workload kind ['gemm']"),
        ("{kind: gemm, M: 1, N: 1, K: 1, seed: abc}", "<command line>: seed: expected a number"),
        ("{kind: gemm, M: 1, N: 1, K: 1, seed: [1]}", "<command line>: seed: Input should be a valid integer"),
    ],
)
def test_trace_bad_inline_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, needle: str) -> None:
    assert main(["trace", spec, "-o", str(tmp_path / "t.jsonl")]) == 2
    assert_one_paragraph_error(capsys, needle)


def test_fidelity_case_matching_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fidelity", "--case", "no-such-case", "-q", "-o", str(tmp_path / "f")]) == 2
    assert_one_paragraph_error(capsys, "--case: no case id contains 'no-such-case'; case ids: ")


def test_trace_file_that_is_not_gzip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t.jsonl.gz").write_text("hello", encoding="utf-8")
    path = write(
        tmp_path / "s.yaml",
        {"name": "s", "architectures": ["a100-80gb"], "workloads": [{"kind": "trace", "path": "t.jsonl.gz"}]},
    )
    assert main(["run", str(path), "-q", "-o", str(tmp_path / "o")]) == 2
    err = assert_one_paragraph_error(capsys, f"{tmp_path / 't.jsonl.gz'}: cannot read the file")
    assert "line 0" not in err


def test_validate_binary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff")
    assert main(["validate", str(path)]) == 2
    assert_one_paragraph_error(capsys, str(path), "UTF-8")


def test_output_folder_that_is_a_file(gemm_scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = write(tmp_path / "taken", "")
    for argv in (["run", str(gemm_scenario), "-q", "-o"], ["schema", "-o"]):
        assert main([*argv, str(blocker / "sub")]) == 2
        assert_one_paragraph_error(capsys, f"{blocker / 'sub'}: Not a directory (a file is where an output folder")
        assert main([*argv, str(blocker)]) == 2
        assert_one_paragraph_error(capsys, f"{blocker}: File exists (a file is where an output folder should be)")


def test_unknown_scenario_name_suggests_built_ins(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "flagshp"]) == 2
    assert_one_paragraph_error(capsys, "flagshp: scenario not found", "(did you mean 'flagship'?)", "keynote-four")


def test_validate_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "empty.yaml", "# nothing yet\n")
    assert main(["validate", str(path)]) == 2
    assert_one_paragraph_error(capsys, f"{path}: the file is empty (or only comments)")
