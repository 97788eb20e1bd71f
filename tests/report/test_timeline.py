from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from simulator.metrics.result import ScenarioResult
from simulator.report.timeline import chrome_trace, write_timeline


def _x(doc: dict) -> list[dict]:
    return [e for e in doc["traceEvents"] if e["ph"] == "X"]


def test_write_timeline_is_valid_chrome_trace(tmp_path: Path, scenario: ScenarioResult) -> None:
    path = write_timeline(scenario, tmp_path / "t" / "timeline.json")
    doc = json.loads(path.read_text())
    assert set(doc) >= {"traceEvents", "metadata"}
    for e in _x(doc):
        assert {"name", "ph", "ts", "dur", "pid", "tid", "args"} <= set(e)
        assert e["dur"] >= 0
    # one process per run, named architecture × workload
    procs = {e["pid"]: e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "process_name"}
    assert procs == {1: "chip-a × decode", 2: "chip-b × decode", 3: "chip-a × skynet"}


def test_one_track_per_unit_and_link(single: ScenarioResult) -> None:
    doc = chrome_trace(single)
    names = {e["tid"]: e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "thread_name"}
    assert names == {1: "tensor", 2: "vector", 3: "link hbm->l2"}
    per_tid = Counter(e["tid"] for e in _x(doc))
    assert per_tid == {1: 20, 2: 20, 3: 40}
    op = next(e for e in _x(doc) if e["cat"] == "matmul")
    assert {"op_id", "kind", "phase", "step", "flops", "bytes"} <= set(op["args"])
    assert op["ts"] == pytest.approx(0.0) and op["dur"] == pytest.approx(0.8 * 2e-3 / 40 * 1e6)


def test_max_events_bounds_and_metadata_states_window(scenario: ScenarioResult) -> None:
    doc = chrome_trace(scenario, max_events=30)
    assert len(_x(doc)) == 30
    meta = doc["metadata"]
    assert meta["max_events"] == 30 and meta["time_unit"] == "us"
    run = meta["runs"][0]
    assert run["operators_kept"] == 40 and run["flows_kept"] == 40
    assert run["window_start_s"] == 0.0 and run["window_end_s"] == pytest.approx(2e-3 - 0.2 * 2e-3 / 40)
    assert run["sampled"] is True
    assert run["operators_emitted"] + run["flows_emitted"] == 10
    # every run still has events on its tracks
    assert {e["pid"] for e in _x(doc)} == {1, 2, 3}


def test_unbounded_keeps_everything(scenario: ScenarioResult) -> None:
    doc = chrome_trace(scenario)
    assert len(_x(doc)) == 3 * 80
    assert not any(r["sampled"] for r in doc["metadata"]["runs"])


def test_empty_timeline(make_run_fn) -> None:
    doc = chrome_trace([make_run_fn(n_ops=0)], max_events=10)
    assert _x(doc) == []
    assert doc["metadata"]["runs"][0]["window_start_s"] is None


def test_negative_max_events_rejected(single: ScenarioResult) -> None:
    with pytest.raises(ValueError):
        chrome_trace(single, max_events=-1)


def test_small_groups_keep_an_event_when_the_budget_allows() -> None:
    from simulator.report.timeline import _budgets

    assert _budgets([1000, 1], 10) == [9, 1]  # the single transfer is not dropped for a 10th operator
    assert _budgets([1000, 0], 10) == [10, 0]
    assert _budgets([5, 5, 5], 2) == [1, 1, 0]
    assert sum(_budgets([7, 3, 1], 5)) == 5
