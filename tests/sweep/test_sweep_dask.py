"""The Dask executor: the shipped joint sweep on a LocalCluster gives the local pool's rows; clear errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from simulator.cli import main
from simulator.errors import UserError
from simulator.sweep import LocalProcessExecutor, ResultsStore, make_executor, sweep_scenario
from simulator.sweep.executors import DaskExecutor

pytest.importorskip("distributed", reason="the hetsim[cluster] extra (part of hetsim[test])")

SCENARIO = Path("scenarios/a3c3-joint-sweep.yaml")


def _comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in rows]  # wall_s is the host's time


def test_local_cluster_gives_the_same_rows_as_the_local_pool_and_resumes(tmp_path: Path) -> None:
    local, local_rows = sweep_scenario(SCENARIO, tmp_path / "local", executor=LocalProcessExecutor(jobs=2))
    assert local.computed == local.total == 36

    # half the points already stored (copied from the local run): Dask computes only the rest
    with (
        ResultsStore(tmp_path / "local" / "sweep.sqlite") as source,
        ResultsStore(tmp_path / "dask" / "sweep.sqlite") as target,
    ):
        for key, record in sorted(source.results().items())[:18]:
            target.add(key, record["point_id"], record["overrides"], record["result"])
    dask = DaskExecutor(jobs=2, processes=False)
    outcome, dask_rows = sweep_scenario(SCENARIO, tmp_path / "dask", executor=dask)
    assert (outcome.computed, outcome.skipped) == (18, 18)
    assert _comparable(dask_rows) == _comparable(local_rows)
    assert (tmp_path / "dask" / "sweep.csv").is_file() and (tmp_path / "dask" / "pareto.png").is_file()

    # complete: no point to run, so no scheduler is contacted (this address has none)
    again, _ = sweep_scenario(SCENARIO, tmp_path / "dask", executor=DaskExecutor("tcp://127.0.0.1:9"))
    assert (again.computed, again.skipped) == (0, 36)


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    executor = DaskExecutor("tcp://127.0.0.1:9", connect_timeout_s=1)
    with pytest.raises(UserError, match=r"--scheduler tcp://127.0.0.1:9: cannot reach a Dask scheduler"):
        list(executor.map_unordered(abs, [1]))


def test_workers_with_other_code_are_refused() -> None:
    class Client:
        def run(self, fn: Any) -> dict[str, tuple[str, str]]:
            return {"tcp://10.0.0.7:4000": ("0.0.9", "another digest")}

    with pytest.raises(
        UserError, match=r"Dask worker tcp://10.0.0.7:4000 runs hetsim 0.0.9 with different result code"
    ):
        DaskExecutor(jobs=1)._check_workers(Client())


def test_without_dask_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # what an environment without the extra gives
    with pytest.raises(UserError, match=r"pip install 'hetsim\[cluster\]'"):
        make_executor("dask")
    assert main(["sweep", str(SCENARIO), "--executor", "dask", "-q"]) == 2
    assert "needs dask.distributed" in capsys.readouterr().err
