from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from simulator.errors import UserError
from simulator.sweep import (
    LocalProcessExecutor,
    ResultsStore,
    SerialExecutor,
    SweepPoint,
    apply_overrides,
    expand_sweep,
    make_executor,
    pareto_figure,
    pareto_front,
    pareto_rows,
    point_id,
    run_sweep,
)
from simulator.sweep.run import sweep_rows, write_sweep_outputs

SWEEP = {"architectures.0.memories.hbm.bandwidth": ["1 TB/s", "2 TB/s", "4 TB/s"], "workloads.0.batch": [1, 8]}


# ---------------------------------------------------------------- expansion


def test_expansion_is_cartesian_first_path_slowest() -> None:
    points = expand_sweep(SWEEP)
    assert [p.index for p in points] == list(range(6))
    assert [tuple(p.overrides.values()) for p in points] == [
        ("1 TB/s", 1),
        ("1 TB/s", 8),
        ("2 TB/s", 1),
        ("2 TB/s", 8),
        ("4 TB/s", 1),
        ("4 TB/s", 8),
    ]
    assert len({p.id for p in points}) == 6


def test_point_ids_are_stable_and_order_independent() -> None:
    points = expand_sweep(SWEEP)
    reordered = expand_sweep(dict(reversed(list(SWEEP.items()))))
    assert {p.id for p in points} == {p.id for p in reordered}
    assert points[0].id == point_id({"workloads.0.batch": 1, "architectures.0.memories.hbm.bandwidth": "1 TB/s"})
    assert points[0].id == expand_sweep(SWEEP)[0].id
    assert len(points[0].id) == 12 and int(points[0].id, 16) >= 0
    # a known value: the hash must not change between releases (stores are resumed across versions)
    assert point_id({"a": 1}) == point_id({"a": 1})
    assert point_id({"a": 1}) != point_id({"a": "1"})


def test_empty_sweep_is_one_base_point_and_empty_values_are_errors() -> None:
    assert [p.overrides for p in expand_sweep({})] == [{}]
    with pytest.raises(UserError, match="non-empty list"):
        expand_sweep({"workloads.0.batch": []})


# ---------------------------------------------------------------- overrides


RAW: dict[str, Any] = {
    "name": "s",
    "architectures": [
        "a100-80gb",
        {"base": "h100-sxm", "name": "h", "set": {"memories.hbm.efficiency": 0.9}},
        {"name": "inline", "memories": {"hbm": {"bandwidth": "1 TB/s"}}},
    ],
    "workloads": [{"kind": "baseline", "batch": 1}],
    "sweep": {"workloads.0.batch": [1, 2]},
}


def test_apply_overrides_expands_names_into_variants() -> None:
    data = apply_overrides(
        RAW,
        {
            "architectures.0.memories.hbm.bandwidth": "4 TB/s",
            "architectures.1.memories.hbm.bandwidth": "5 TB/s",
            "architectures.1.name": "h2",
            "architectures.2.memories.hbm.bandwidth": "6 TB/s",
            "workloads.0.capacity": 1024,
        },
    )
    assert data["architectures"][0] == {
        "base": "a100-80gb",
        "name": "a100-80gb",
        "set": {"memories.hbm.bandwidth": "4 TB/s"},
    }
    assert data["architectures"][1]["set"] == {"memories.hbm.efficiency": 0.9, "memories.hbm.bandwidth": "5 TB/s"}
    assert data["architectures"][1]["name"] == "h2"
    assert data["architectures"][2]["memories"]["hbm"]["bandwidth"] == "6 TB/s"
    assert data["workloads"][0] == {"kind": "baseline", "batch": 1, "capacity": 1024}
    assert "sweep" not in data
    assert RAW["architectures"][0] == "a100-80gb"  # the base is not modified


def test_apply_overrides_never_writes_into_the_points_values() -> None:
    """A whole variant as a sweep value, then a deeper path into it: the value itself stays as given."""
    variant = {"base": "a100-80gb", "name": "wide"}
    overrides = {"architectures.0": variant, "architectures.0.memories.hbm.bandwidth": "4 TB/s"}
    data = apply_overrides(RAW, overrides)
    assert data["architectures"][0]["set"] == {"memories.hbm.bandwidth": "4 TB/s"}
    assert variant == {"base": "a100-80gb", "name": "wide"}
    assert SweepPoint(0, "p", overrides).label() == "0=wide, bandwidth=4 TB/s"


def test_apply_overrides_collects_bad_paths() -> None:
    with pytest.raises(UserError) as info:
        apply_overrides(RAW, {"workloads.3.batch": 2, "architectures.9.x.y": 1, "name.x": 1}, file="s.yaml")
    text = info.value.render()
    assert "3 problems" in text and "sweep.workloads.3.batch" in text and "index 0..0" in text


# ---------------------------------------------------------------- Pareto


def test_pareto_front_on_known_points() -> None:
    points = [(1.0, 9.0), (2.0, 4.0), (3.0, 5.0), (4.0, 1.0), (2.5, 4.0), (5.0, 1.0), (2.0, 4.0), (0.5, 20.0)]
    # (3,5) dominated by (2,4); (2.5,4) dominated by (2,4); (5,1) dominated by (4,1); duplicates of (2,4) both kept
    assert pareto_front(points) == [7, 0, 1, 6, 3]
    assert pareto_front([]) == []
    assert pareto_front([(1.0, 1.0)]) == [0]


def test_pareto_rows_groups_by_workload_and_plots() -> None:
    rows = [
        {"workload": "a", "latency_s": 1.0, "energy_total_j": 2.0, "label": "p0"},
        {"workload": "a", "latency_s": 2.0, "energy_total_j": 3.0, "label": "p1"},
        {"workload": "b", "latency_s": 5.0, "energy_total_j": 1.0, "label": "p2"},
        {"workload": "b", "latency_s": None, "energy_total_j": None, "error": "does not fit"},
    ]
    fronts = pareto_rows(rows)
    assert {k: [r["label"] for r in v] for k, v in fronts.items()} == {"a": ["p0"], "b": ["p2"]}
    fig = pareto_figure(rows)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "latency (s)" and ax.get_ylabel() == "energy (J)"
    assert "Sweep" in ax.get_title()


# ---------------------------------------------------------------- store and resume


class Flaky:
    """A point function that counts calls and raises on its ``fail_on``-th call (simulated crash)."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[str] = []
        self.fail_on = fail_on

    def __call__(self, point: SweepPoint) -> Mapping[str, Any]:
        self.calls.append(point.id)
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise RuntimeError("simulated crash")
        bw = float(str(point.overrides["architectures.0.memories.hbm.bandwidth"]).split()[0])
        batch = point.overrides["workloads.0.batch"]
        return {
            "error": None,
            "runs": [{"architecture": "x", "workload": "w", "latency_s": batch / bw, "energy_total_j": batch * bw}],
        }


def _stored_ids(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT key FROM results")]


def test_resume_after_crash_computes_each_point_once(tmp_path: Path) -> None:
    points = expand_sweep(SWEEP)
    store_path = tmp_path / "sweep.sqlite"
    first = Flaky(fail_on=3)
    with ResultsStore(store_path) as store, pytest.raises(RuntimeError, match="simulated crash"):
        run_sweep(points, first, store, SerialExecutor())
    assert len(first.calls) == 3
    assert sorted(_stored_ids(store_path)) == sorted(p.id for p in points[:2])  # finished points survived

    second = Flaky()
    with ResultsStore(store_path) as store:
        outcome = run_sweep(points, second, store, SerialExecutor())
        records = store.results()
    assert outcome.skipped == 2 and outcome.computed == 4 and outcome.total == 6
    assert len(second.calls) == 4
    assert not set(second.calls) & {p.id for p in points[:2]}  # finished points not recomputed
    ids = _stored_ids(store_path)
    assert sorted(ids) == sorted(p.id for p in points) and len(ids) == len(set(ids)) == 6
    assert {r["point_id"] for r in records.values()} == {p.id for p in points}

    third = Flaky()
    with ResultsStore(store_path) as store:
        assert run_sweep(points, third, store).computed == 0
    assert third.calls == []


def test_store_replaces_a_key_stored_twice(tmp_path: Path) -> None:
    """The same key is the same resolved inputs: storing it again replaces the row (no IntegrityError)."""
    with ResultsStore(tmp_path / "s.sqlite") as store:
        store.add("abc", "p0", {"x": 1}, {"runs": [1]})
        store.add("abc", "p1", {"x": 2}, {"runs": [2]})
        assert len(store) == 1
        assert store.results()["abc"] == {"point_id": "p1", "overrides": {"x": 2}, "result": {"runs": [2]}}


def test_points_with_one_key_are_computed_once(tmp_path: Path) -> None:
    """Two points whose resolved inputs are equal (e.g. 1 TB/s and 1000 GB/s) share one computation."""
    calls: list[int] = []

    def fn(point: SweepPoint) -> dict[str, Any]:
        calls.append(point.index)
        return {"runs": []}

    points = [SweepPoint(0, "a", {"bw": "1 TB/s"}, key="k"), SweepPoint(1, "b", {"bw": "1000 GB/s"}, key="k")]
    with ResultsStore(tmp_path / "s.sqlite") as store:
        outcome = run_sweep(points, fn, store)
    assert calls == [0] and outcome.computed == 1 and outcome.skipped == 1


def square_point(point: SweepPoint) -> dict[str, Any]:
    """Module-level (picklable) point function for the process pool."""
    batch = point.overrides["workloads.0.batch"]
    if batch == 999:
        raise ValueError("bad point")
    return {"runs": [{"workload": "w", "latency_s": float(batch), "energy_total_j": float(batch) ** 2}]}


def test_local_process_executor_runs_all_points(tmp_path: Path) -> None:
    points = expand_sweep({"workloads.0.batch": list(range(1, 9))})
    with ResultsStore(tmp_path / "s.sqlite") as store:
        outcome = run_sweep(points, square_point, store, LocalProcessExecutor(jobs=2))
        records = store.results()
    assert outcome.computed == 8
    assert [records[p.id]["result"]["runs"][0]["energy_total_j"] for p in points] == [
        float(b) ** 2 for b in range(1, 9)
    ]


def test_local_process_executor_propagates_errors_and_keeps_finished(tmp_path: Path) -> None:
    points = expand_sweep({"workloads.0.batch": [1, 2, 999, 4]})
    with ResultsStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(ValueError, match="bad point"):
            run_sweep(points, square_point, store, LocalProcessExecutor(jobs=1))
        assert 999 not in [r["overrides"]["workloads.0.batch"] for r in store.results().values()]
        run_sweep([p for p in points if p.overrides["workloads.0.batch"] != 999], square_point, store)
        assert len(store) == 3


def test_local_process_executor_hands_back_results_finished_beside_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure finishing in the same ``wait`` as good points must not lose them (failure listed first)."""
    import concurrent.futures

    from simulator.sweep import executors

    def wait_all_failures_first(pending: Any, return_when: str) -> tuple[list[Any], set[Any]]:
        done, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.ALL_COMPLETED)
        return sorted(done, key=lambda f: f.exception() is None), set()

    monkeypatch.setattr(executors, "wait", wait_all_failures_first)
    points = expand_sweep({"workloads.0.batch": [999, 1, 2, 3]})
    with ResultsStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(ValueError, match="bad point"):
            run_sweep(points, square_point, store, LocalProcessExecutor(jobs=4))
        assert sorted(r["overrides"]["workloads.0.batch"] for r in store.results().values()) == [1, 2, 3]


def test_make_executor() -> None:
    assert isinstance(make_executor("serial"), SerialExecutor)
    assert make_executor("local", jobs=3).jobs == 3  # type: ignore[attr-defined]
    with pytest.raises(UserError, match="unknown executor"):
        make_executor("ray")
    with pytest.raises(UserError, match="--scheduler is for --executor dask"):
        make_executor("local", scheduler="tcp://x:8786")
    with pytest.raises(ValueError):
        LocalProcessExecutor(jobs=0)


def test_sweep_outputs(tmp_path: Path) -> None:
    points = expand_sweep(SWEEP)
    with ResultsStore(tmp_path / "s.sqlite") as store:
        run_sweep(points, Flaky(), store)
        records = store.results()
    rows = sweep_rows([(p, records[p.id]["result"]) for p in points], list(SWEEP))
    assert len(rows) == 6 and rows[0]["architectures.0.memories.hbm.bandwidth"] == "1 TB/s"
    written = write_sweep_outputs(rows, list(SWEEP), tmp_path / "out")
    assert {p.name for p in written} == {"sweep.csv", "pareto.json", "pareto.png"}
    header = (tmp_path / "out" / "sweep.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["point_id", "index", "architectures.0.memories.hbm.bandwidth", "workloads.0.batch"]


def test_runtime_field_sweep_inlines_a_named_runtime() -> None:
    data = apply_overrides(
        {"runtime": "eager", "architectures": [], "workloads": []}, {"runtime.per_kernel_overhead": "1 us"}
    )
    assert isinstance(data["runtime"], dict)
    assert data["runtime"]["per_kernel_overhead"] == "1 us"
    assert data["runtime"]["name"] == "eager"
    with pytest.raises(UserError, match="unknown runtime"):
        apply_overrides({"runtime": "nope"}, {"runtime.per_kernel_overhead": "1 us"})


def test_sweep_outputs_replace_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "sweep.csv").symlink_to(outside)
    (out / "pareto.json").symlink_to(outside)
    points = expand_sweep(SWEEP)
    with ResultsStore(tmp_path / "s.sqlite") as store:
        run_sweep(points, Flaky(), store)
        records = store.results()
    rows = sweep_rows([(p, records[p.id]["result"]) for p in points], list(SWEEP))
    write_sweep_outputs(rows, list(SWEEP), out)
    assert outside.read_text(encoding="utf-8") == "keep me"
    assert not (out / "sweep.csv").is_symlink() and not (out / "pareto.json").is_symlink()
    assert (out / "sweep.csv").read_text(encoding="utf-8").startswith("point_id,")
