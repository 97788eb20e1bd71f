"""The benchmark harness at tiny sizes: cases run, figures are consistent, the JSON is complete.

No timing assertions: these tests check the harness, not the speed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from benchmarks import BENCH_ARCH, benchmark, decode_ops, main
from benchmarks.cases import Case, default_cases, execute, trace_tokens
from benchmarks.harness import memory_flat, run_cases, select, table, targets
from benchmarks.micro import micro_trace


@pytest.fixture(scope="module")
def small_doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every small case once, in this process (isolation is tested separately: it costs an interpreter per case)."""
    return benchmark(small=True, workdir=tmp_path_factory.mktemp("bench"), isolate=False)


def test_full_suite_has_the_issue_cases() -> None:
    names = [c.name for c in default_cases()]
    assert names[:2] == ["micro.decode", "micro.gemm_chain"]
    for name in ("baseline-7b", "medusa-7b", "snapkv-32k", "skynet-b32", "sweep-64", "trace-1m.replay"):
        assert name in names
    by_name = {c.name: c for c in default_cases()}
    assert by_name["baseline-7b"].params["workload"]["prompt_tokens"] == 512
    assert by_name["baseline-7b"].params["workload"]["generate_tokens"] == 512
    assert by_name["snapkv-32k"].params["workload"]["prompt_tokens"] == 32_768
    assert by_name["skynet-b32"].params["workload"]["batch"] == 32
    sweep = by_name["sweep-64"].params["scenario"]["sweep"]
    assert [len(v) for v in sweep.values()] == [8, 8]
    assert by_name["trace-1m.write"].params["operators"] == 1_000_000


def test_select_adds_needed_cases_and_rejects_unknown_names() -> None:
    cases = default_cases(small=True)
    assert [c.name for c in select(cases, ["trace-5k.replay"])] == ["trace-5k.write", "trace-5k.replay"]
    assert [c.name for c in select(cases, ["micro.*"])] == ["micro.decode", "micro.gemm_chain"]
    assert select(cases, None) == cases
    with pytest.raises(ValueError, match="unknown benchmark case"):
        select(cases, ["nope"])


def test_trace_tokens_reach_the_operator_count() -> None:
    assert trace_tokens(1, prompt=16) == 1
    tokens = trace_tokens(5_000, prompt=16)
    assert tokens > 1 and trace_tokens(5_000, prompt=16) == tokens


def test_micro_benchmarks_keep_their_public_helpers() -> None:
    assert BENCH_ARCH["name"] == "bench-2unit"
    assert len(decode_ops(layers=2, steps=3)) == 3 * (2 * 14 + 1)
    assert sum(1 for _ in micro_trace("gemm_chain", 7)) == 7
    with pytest.raises(ValueError, match="unknown micro-benchmark"):
        micro_trace("nope", 1)


def test_small_suite_figures_are_consistent(small_doc: dict[str, Any]) -> None:
    cases = small_doc["cases"]
    assert list(cases) == [c.name for c in default_cases(small=True)]
    for name, r in cases.items():
        assert r["operators"] > 0, name
        assert r["wall_s"] > 0, name
        assert r["operators_per_s"] == pytest.approx(r["operators"] / r["wall_s"]), name
        assert r["peak_rss_mib"] >= r["base_rss_mib"] > 0, name
        if r["events"] is not None:
            if not name.endswith("-tp8"):  # identical devices finish together: one wakeup retires several operators
                assert r["events"] >= r["operators"], name
            assert r["events_per_s"] == pytest.approx(r["events"] / r["wall_s"]), name
    for name in ("baseline-7b", "baseline-7b-tp8", "medusa-7b", "snapkv-32k", "skynet-b32"):
        assert cases[name]["operators"] == cases[name]["trace_operators"] * cases[name]["runs"]
    sweep = cases["sweep-4"]
    assert sweep["points"] == sweep["points_computed"] == 4 and sweep["errors"] == 0
    for label in ("1k", "2k", "5k"):
        written, replayed = cases[f"trace-{label}.write"], cases[f"trace-{label}.replay"]
        assert replayed["operators"] == written["operators"] == replayed["trace_operators"]
        assert replayed["file_bytes"] == written["file_bytes"] > 0
    assert cases["trace-5k.replay"]["operators"] >= 5_000 > cases["trace-1k.replay"]["operators"] >= 1_000


def test_small_suite_document(small_doc: dict[str, Any]) -> None:
    assert small_doc["format"] == "hetsim-bench" and small_doc["small"] is True
    machine = small_doc["machine"]
    assert machine["cpu_count"] >= 1 and machine["python"] and machine["platform"]
    flat = small_doc["memory_flat"]
    assert list(flat["replays"]) == ["trace-1k.replay", "trace-2k.replay", "trace-5k.replay"]
    assert flat["compared"] == ["trace-2k.replay", "trace-5k.replay"]
    assert flat["isolated"] is False  # in-process: the peaks are not per case
    assert small_doc["targets"]["target_operators_per_s"] == 100_000
    assert small_doc["targets"]["cases"] == {}  # no small case reaches 100k operators
    assert json.loads(json.dumps(small_doc)) == small_doc
    console = Console(record=True, width=200)
    console.print(table(small_doc["cases"], machine))
    text = console.export_text()
    assert "trace-5k.replay" in text and "ops/s" in text and "peak MiB" in text


def test_isolated_case_runs_in_a_fresh_process(tmp_path: Path) -> None:
    import os

    cases = select(default_cases(small=True), ["trace-1k.replay"])
    results = run_cases(cases, tmp_path, isolate=True)
    assert list(results) == ["trace-1k.write", "trace-1k.replay"]
    pids = {r["pid"] for r in results.values()}
    assert len(pids) == 2 and os.getpid() not in pids
    assert all(r["isolated"] for r in results.values())
    assert results["trace-1k.replay"]["operators"] == results["trace-1k.write"]["operators"]


def test_memory_flat_and_targets_summaries() -> None:
    def replay(ops: int, base: float, peak: float, ops_per_s: float) -> dict[str, Any]:
        return {
            "kind": "trace_replay",
            "operators": ops,
            "events": 2 * ops,
            "operators_per_s": ops_per_s,
            "base_rss_mib": base,
            "peak_rss_mib": peak,
            "isolated": True,
        }

    # caches fill between a and b (not judged), b → c is flat
    flat = memory_flat(
        {"a": replay(100_000, 100, 110, 1), "b": replay(250_000, 100, 130, 1), "c": replay(1_000_000, 100, 131, 1)}
    )
    assert flat is not None and flat["flat"] and flat["compared"] == ["b", "c"]
    assert flat["growth_mib"] == pytest.approx(1.0) and flat["overall_growth_mib"] == pytest.approx(21.0)
    grows = memory_flat({"a": replay(100_000, 100, 130, 1), "b": replay(1_000_000, 100, 230, 1)})
    assert grows is not None and not grows["flat"]
    assert grows["bytes_per_extra_operator"] == pytest.approx(100 * 2**20 / 900_000)
    assert memory_flat({"a": replay(10, 1, 2, 1)}) is None
    checked = targets({"a": replay(100_000, 1, 2, 50_000), "b": replay(1_000_000, 1, 2, 150_000)})
    assert {k: v["met"] for k, v in checked["cases"].items()} == {"a": False, "b": True}


def test_execute_rejects_an_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        execute(Case("x", "nope", "?"), str(tmp_path))


def test_cli_writes_bench_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out" / "bench.json"
    assert main(["--small", "--no-isolate", "--case", "micro.*", "-o", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert list(doc["cases"]) == ["micro.decode", "micro.gemm_chain"]
    assert doc["memory_flat"] is None
    printed = capsys.readouterr().out
    assert "micro.gemm_chain" in printed and "wrote" in printed
    assert main(["--small", "--list"]) == 0
    assert "trace-5k.replay" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--small", "--case", "nope"])
