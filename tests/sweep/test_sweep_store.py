"""The content-keyed sweep store: stale points recomputed, never reused; a store that cannot be used says why."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from simulator.cli import main
from simulator.config.loader import REPO_ROOT
from simulator.errors import UserError
from simulator.sweep import ResultsStore, SweepPoint, run_sweep, sweep_scenario
from simulator.sweep import keys as sweep_keys

A100 = REPO_ROOT / "architectures" / "a100-80gb.yaml"
HBM_LINE = "    bandwidth: 2.039 TB/s"

SCENARIO = """\
name: files-sweep
architectures: [fast.yaml]
workloads:
  - {kind: gemm, m: 1, n: 2048, k: 2048}
sweep:
  architectures.0: [fast.yaml, slow.yaml]
  workloads.0.m: [1, 256]
"""


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    text = A100.read_text(encoding="utf-8")
    assert HBM_LINE in text
    (tmp_path / "fast.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "slow.yaml").write_text(text.replace(HBM_LINE, "    bandwidth: 1 TB/s"), encoding="utf-8")
    (tmp_path / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    return tmp_path


def _latency(rows: list[dict[str, Any]], arch: str, m: int) -> float:
    [row] = [r for r in rows if r["architectures.0"] == arch and r["workloads.0.m"] == m]
    return float(row["latency_s"])


def test_editing_an_architecture_file_recomputes_exactly_its_points(sweep_dir: Path) -> None:
    out = sweep_dir / "out"
    first, rows = sweep_scenario(sweep_dir / "s.yaml", out)
    assert (first.total, first.computed, first.skipped) == (4, 4, 0)
    before = _latency(rows, "slow.yaml", 1)

    again, _ = sweep_scenario(sweep_dir / "s.yaml", out)
    assert (again.computed, again.skipped) == (0, 4)

    slow = sweep_dir / "slow.yaml"
    slow.write_text(slow.read_text(encoding="utf-8").replace("bandwidth: 1 TB/s", "bandwidth: 0.5 TB/s"))
    resumed, rows = sweep_scenario(sweep_dir / "s.yaml", out)
    assert (resumed.computed, resumed.skipped) == (2, 2)  # the two slow.yaml points, not the fast ones
    # m=1 is memory-bound: half the bandwidth, (about) twice the time; a stale row would give `before`
    assert _latency(rows, "slow.yaml", 1) > 1.8 * before
    assert len(list(csv.DictReader((out / "sweep.csv").open()))) == 4


def test_a_new_cost_model_version_recomputes_every_point(sweep_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = sweep_dir / "out"
    sweep_scenario(sweep_dir / "s.yaml", out)
    monkeypatch.setattr(sweep_keys, "COST_MODEL_VERSION", sweep_keys.COST_MODEL_VERSION + 1)
    outcome, _ = sweep_scenario(sweep_dir / "s.yaml", out)
    assert (outcome.computed, outcome.skipped) == (4, 0)


def test_a_changed_hetsim_version_or_code_changes_every_key(sweep_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from simulator.config import load_scenario

    spec = load_scenario(sweep_dir / "s.yaml")
    key = sweep_keys.scenario_key(spec)
    assert key == sweep_keys.scenario_key(spec)
    monkeypatch.setattr(sweep_keys, "__version__", "99.0")
    assert sweep_keys.scenario_key(spec) != key
    monkeypatch.undo()
    monkeypatch.setattr(sweep_keys, "code_digest", lambda: "other code")
    assert sweep_keys.scenario_key(spec) != key


def test_key_covers_resolved_inputs_not_their_spelling(tmp_path: Path) -> None:
    """1 TB/s and 1000 GB/s are the same input; the scenario's name and outputs are not inputs of a point."""
    from simulator.config import scenario_from_dict

    def key(bandwidth: str, name: str = "a", outputs: tuple[str, ...] = ("json",)) -> str:
        data = {
            "name": name,
            "outputs": list(outputs),
            "architectures": [{"base": "a100-80gb", "set": {"memories.hbm.bandwidth": bandwidth}}],
            "workloads": [{"kind": "gemm", "m": 1, "n": 64, "k": 64}],
        }
        return sweep_keys.scenario_key(scenario_from_dict(data, base_dir=tmp_path))

    assert key("1 TB/s") == key("1000 GB/s") == key("1 TB/s", name="b", outputs=("csv",))
    assert key("1 TB/s") != key("1.000001 TB/s")


def test_key_covers_the_contents_of_a_trace_file(tmp_path: Path) -> None:
    from simulator.config import scenario_from_dict
    from workloads.io import write_trace
    from workloads.spec import WORKLOAD_ADAPTER, build_trace

    trace = tmp_path / "t.jsonl"

    def key() -> str:
        data = {"name": "t", "architectures": ["a100-80gb"], "workloads": [{"kind": "trace", "path": "t.jsonl"}]}
        return sweep_keys.scenario_key(scenario_from_dict(data, base_dir=tmp_path))

    write_trace(build_trace(WORKLOAD_ADAPTER.validate_python({"kind": "gemm", "m": 1, "n": 64, "k": 64})), trace)
    first = key()
    write_trace(build_trace(WORKLOAD_ADAPTER.validate_python({"kind": "gemm", "m": 2, "n": 64, "k": 64})), trace)
    assert key() != first


def test_an_old_store_without_content_keys_is_never_read(tmp_path: Path) -> None:
    """Rows written by the override-keyed store cannot tell stale from current: they are left alone, unused."""
    path = tmp_path / "sweep.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE points (point_id TEXT PRIMARY KEY, point_index INTEGER, overrides TEXT, result TEXT)")
        db.execute("INSERT INTO points VALUES ('abc', 0, '{}', '{}')")
    calls: list[str] = []
    with ResultsStore(path) as store:
        run_sweep([SweepPoint(0, "abc")], lambda p: calls.append(p.id) or {"runs": []}, store)
    assert calls == ["abc"]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM points").fetchone()[0] == 1


# ---------------------------------------------------------------- a store that cannot be used


def _one_point_store(path: Path) -> None:
    with ResultsStore(path) as store:
        store.add("k0", "p0", {"x": 0}, {"runs": []})


def test_two_sweeps_into_one_folder_the_second_is_told_it_is_in_use(tmp_path: Path, capsys: Any) -> None:
    (tmp_path / "s.yaml").write_text(
        "name: s\narchitectures: [a100-80gb]\nworkloads: [{kind: gemm, m: 1, n: 64, k: 64}]\n"
        "sweep: {workloads.0.m: [1, 2]}\n"
    )
    out = tmp_path / "out"
    with ResultsStore(out / "sweep.sqlite"):  # another sweep holds the folder
        assert main(["sweep", str(tmp_path / "s.yaml"), "-o", str(out), "--executor", "serial", "-q"]) == 2
        err = capsys.readouterr().err
        assert "in use by another sweep" in err and f"pid {__import__('os').getpid()}" in err
        assert "Traceback" not in err
    # the lock goes with the process that held it: the folder is usable again
    assert main(["sweep", str(tmp_path / "s.yaml"), "-o", str(out), "--executor", "serial", "-q"]) == 0


def test_a_corrupt_store_is_a_clear_error_and_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "sweep.sqlite"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(UserError, match=r"sweep.sqlite: cannot open the sweep store: it is not a readable sweep store"):
        ResultsStore(path)
    assert path.read_bytes() == garbage


def test_a_read_only_store_is_a_clear_error_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sweep.sqlite"
    _one_point_store(path)
    before = path.read_bytes()
    real_connect = sqlite3.connect

    def read_only(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = real_connect(*args, **kwargs)
        db.execute("PRAGMA query_only=ON")  # what a read-only file gives, even to root (who ignores chmod)
        return db

    monkeypatch.setattr(sqlite3, "connect", read_only)
    with pytest.raises(UserError, match="cannot open the sweep store: it cannot be written"):
        ResultsStore(path)
    assert path.read_bytes() == before


@pytest.mark.skipif(
    not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0, reason="root ignores chmod"
)
def test_a_read_only_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "sweep.sqlite"
    _one_point_store(path)
    path.chmod(0o444)
    with pytest.raises(UserError, match="cannot be written"):
        ResultsStore(path)


def test_a_full_disk_keeps_every_stored_point(tmp_path: Path) -> None:
    path = tmp_path / "sweep.sqlite"
    _one_point_store(path)
    with ResultsStore(path) as store:
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count={pages}")  # the file cannot grow: what a full disk does
        with pytest.raises(UserError, match=r"cannot write to the sweep store: the disk .* is full"):
            store.add("k1", "p1", {"x": 1}, {"runs": ["x" * 100_000]})
    with ResultsStore(path) as store:
        assert set(store.results()) == {"k0"}
        assert store.results()["k0"]["overrides"] == {"x": 0}


def test_a_full_disk_during_a_sweep_is_exit_2_and_the_sweep_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    (tmp_path / "s.yaml").write_text(
        "name: s\narchitectures: [a100-80gb]\nworkloads: [{kind: gemm, m: 1, n: 64, k: 64}]\n"
        "sweep: {workloads.0.m: [1, 2, 3]}\n"
    )
    out = tmp_path / "out"
    real_add = ResultsStore.add
    calls = {"n": 0}

    def add_until_full(self: ResultsStore, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise sweep_store_error(self.path)
        real_add(self, *args)

    def sweep_store_error(path: Path) -> UserError:
        from simulator.sweep.store import _explain

        return _explain(path, sqlite3.OperationalError("database or disk is full"), "write to")

    monkeypatch.setattr(ResultsStore, "add", add_until_full)
    args = ["sweep", str(tmp_path / "s.yaml"), "-o", str(out), "--executor", "serial", "-q"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "is full" in err and "points already stored are kept" in err and "Traceback" not in err
    monkeypatch.undo()
    outcome, _ = sweep_scenario(tmp_path / "s.yaml", out)
    assert (outcome.computed, outcome.skipped) == (2, 1)


def test_copying_a_store_elsewhere_keeps_its_points(sweep_dir: Path) -> None:
    """Keys hold no paths of the output folder: a store moved to another folder is resumed from."""
    sweep_scenario(sweep_dir / "s.yaml", sweep_dir / "a")
    shutil.copytree(sweep_dir / "a", sweep_dir / "b")
    (sweep_dir / "b" / "sweep.sqlite.lock").unlink()
    outcome, _ = sweep_scenario(sweep_dir / "s.yaml", sweep_dir / "b")
    assert outcome.computed == 0


def test_nothing_caches_an_architecture_file_across_loads(sweep_dir: Path) -> None:
    """Outside a sweep every load reads the file again; inside one, an edited file (mtime, size) is parsed again."""
    import os

    from simulator.config import load_scenario
    from simulator.config.loader import read_yaml, sweep_cache

    slow = sweep_dir / "slow.yaml"
    scenario = sweep_dir / "one.yaml"
    scenario.write_text("name: one\narchitectures: [slow.yaml]\nworkloads: [{kind: gemm, m: 1, n: 64, k: 64}]\n")

    def bandwidth() -> float:
        return load_scenario(scenario).architectures[0].memories["hbm"].bandwidth_bytes_per_s

    before = bandwidth()
    slow.write_text(slow.read_text(encoding="utf-8").replace("bandwidth: 1 TB/s", "bandwidth: 0.5 TB/s"))
    assert bandwidth() == before / 2
    with sweep_cache():
        first = read_yaml(slow)
        slow.write_text(slow.read_text(encoding="utf-8").replace("bandwidth: 0.5 TB/s", "bandwidth: 0.25 TB/s"))
        os.utime(slow, ns=(1, 1))  # even with an old mtime: the size changed
        assert read_yaml(slow) != first


def test_a_key_is_the_same_inside_and_outside_a_sweep(tmp_path: Path) -> None:
    """The sweep's caches (shared sections, their YAML forms and digests) must not change any key."""
    from simulator.config import scenario_from_dict
    from simulator.config.loader import sweep_cache

    data = {
        "name": "k",
        "runtime": "eager",
        "architectures": [{"base": "a100-80gb", "set": {"memories.hbm.bandwidth": "3 TB/s"}}],
        "workloads": [{"kind": "gemm", "m": 8, "n": 64, "k": 64}],
    }
    outside = sweep_keys.scenario_key(scenario_from_dict(data, base_dir=tmp_path))
    with sweep_cache():
        first = scenario_from_dict(data, base_dir=tmp_path)
        again = scenario_from_dict(data, base_dir=tmp_path)
        assert again.architectures[0] is first.architectures[0]  # shared: that is what makes a point cheap
        assert sweep_keys.scenario_key(first) == sweep_keys.scenario_key(again) == outside
