"""Shared code of the scenario golden tests and their updater (no tests here).

Every ``scenarios/*.yaml`` is a *shipped* scenario. For each one the golden file ``golden.json`` holds

- ``runs``: per run (``"<architecture> · <workload>"``) the key metrics of :data:`METRICS`, from
  ``run_scenario`` on the scenario as shipped;
- ``pareto`` (scenarios with a ``sweep:``): per workload the Pareto front of ``hetsim sweep`` run with
  the serial executor - point ids, architectures and their latency / energy.

Regenerate after an intended change of the model (architecture constants, runtime profiles, cost
model), then review the diff of ``golden.json`` like code::

    .venv/bin/python tests/scenarios/update_goldens.py            # every scenario, sweeps included
    .venv/bin/python tests/scenarios/update_goldens.py skynet-gpu # only the named scenarios
"""

from __future__ import annotations

import functools
import json
import math
import tempfile
from pathlib import Path
from typing import Any

from simulator.metrics.registry import model_metrics

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = ROOT / "scenarios"
GOLDEN_FILE = Path(__file__).resolve().parent / "golden.json"

#: Relative tolerance of every golden comparison: the engine is deterministic, but float summation order
#: and libm differ across platforms; 1e-3 still catches any real change of the model.
REL_TOL = 1e-3
#: Absolute floor for values that are (near) zero, e.g. a static energy of 0 J.
ABS_TOL = 1e-12

#: Metrics kept per run: every metric of the modelled system in the registry (``None`` where they do not
#: apply, e.g. TPOT of a CNN); a metric the golden file does not hold yet is not compared until regenerated.
METRICS = tuple(m.name for m in model_metrics())


#: Scenarios whose sweep is too slow for the default test run (seconds on a 2-core machine, measured);
#: their golden sweep test is marked ``slow``. Their base run is always checked.
SLOW_SWEEPS = {"decode-memory-bound": 15, "medusa-bandwidth": 12, "snapkv-long-prompt": 32}
#: Scenarios whose base run is slow (its golden test is marked ``slow``; seconds measured on 2 cores).
SLOW_RUNS = {"flagship": 24, "serving-knee": 31}
#: Reduced variants (dotted path -> value, as in a sweep) of the slow scenarios, checked in the default
#: test run against ``golden.json``'s ``reduced`` entry so that every scenario has a non-slow golden check.
REDUCED = {
    "flagship": {f"workloads.{i}.generate_tokens": 16 for i in range(3)},
    "serving-knee": {f"workloads.{i}.requests": 20 for i in range(5)},
}


def scenario_files() -> list[Path]:
    """Every shipped scenario, sorted by name."""
    return sorted(SCENARIO_DIR.glob("*.yaml"))


def scenario_names() -> list[str]:
    return [p.stem for p in scenario_files()]


def scenario_path(name: str) -> Path:
    return SCENARIO_DIR / f"{name}.yaml"


def run_key(run: Any) -> str:
    return f"{run.architecture} · {run.workload}"


def run_summary(run: Any) -> dict[str, float | None]:
    """The golden metrics of one :class:`RunResult`."""
    flat = run.flat_metrics()
    return {key: flat[key] for key in METRICS}


@functools.cache
def scenario_result(name: str) -> Any:
    """``run_scenario`` on a shipped scenario (cached for the session: goldens and lessons share it)."""
    from simulator.config import load_scenario
    from simulator.runner import run_scenario

    return run_scenario(load_scenario(scenario_path(name)))


def runs_summary(name: str) -> dict[str, dict[str, float | None]]:
    return {run_key(run): run_summary(run) for run in scenario_result(name).runs}


@functools.cache
def reduced_result(name: str) -> Any:
    """``run_scenario`` on the scenario with its :data:`REDUCED` overrides applied."""
    from simulator.config import scenario_from_dict
    from simulator.config.loader import read_yaml
    from simulator.runner import run_scenario
    from simulator.sweep.expand import apply_overrides

    path = scenario_path(name)
    raw = read_yaml(path, what="scenario file")
    data = apply_overrides(raw, REDUCED[name], file=str(path), base_dir=path.parent)
    return run_scenario(scenario_from_dict(data, file=str(path), base_dir=path.parent))


def reduced_summary(name: str) -> dict[str, dict[str, float | None]]:
    return {run_key(run): run_summary(run) for run in reduced_result(name).runs}


def has_sweep(name: str) -> bool:
    from simulator.config import load_scenario

    return bool(load_scenario(scenario_path(name)).sweep)


@functools.cache
def sweep_result(name: str) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """``hetsim sweep`` (serial executor, fresh store in a temporary folder): its rows and Pareto fronts."""
    from simulator.sweep.executors import SerialExecutor
    from simulator.sweep.pareto import pareto_rows
    from simulator.sweep.run import sweep_scenario

    with tempfile.TemporaryDirectory(prefix=f"hetsim-golden-{name}-") as tmp:
        _, rows = sweep_scenario(scenario_path(name), Path(tmp), executor=SerialExecutor())
    return rows, {k: list(v) for k, v in pareto_rows(rows).items()}


def pareto_summary(name: str) -> dict[str, list[dict[str, Any]]]:
    """Per workload, the front's points in order: id, label, architecture, latency and energy."""
    _, fronts = sweep_result(name)
    return {
        workload: [
            {
                "point_id": row["point_id"],
                "label": row["label"],
                "architecture": row["architecture"],
                "latency_s": row["latency_s"],
                "energy_total_j": row["energy_total_j"],
            }
            for row in front
        ]
        for workload, front in sorted(fronts.items())
    }


def load_goldens() -> dict[str, Any]:
    if not GOLDEN_FILE.is_file():
        return {}
    return json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))


def save_goldens(goldens: dict[str, Any]) -> None:
    GOLDEN_FILE.write_text(json.dumps(goldens, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def close(actual: float | None, expected: float | None) -> bool:
    """Equal within :data:`REL_TOL` (``None`` only equals ``None``)."""
    if actual is None or expected is None:
        return actual is None and expected is None
    return math.isclose(actual, expected, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def diff_runs(actual: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]]) -> list[str]:
    """Human-readable differences between two ``runs`` summaries (empty when they agree)."""
    problems = []
    if sorted(actual) != sorted(expected):
        problems.append(f"runs differ: got {sorted(actual)}, golden {sorted(expected)}")
    for key in sorted(set(actual) & set(expected)):
        for metric in METRICS:
            if metric not in expected[key]:
                continue
            a, e = actual[key].get(metric), expected[key].get(metric)
            if not close(a, e):
                problems.append(f"{key}: {metric} = {a!r}, golden {e!r}")
    return problems


def diff_pareto(actual: dict[str, list[dict[str, Any]]], expected: dict[str, list[dict[str, Any]]]) -> list[str]:
    problems = []
    if sorted(actual) != sorted(expected):
        problems.append(f"front groups differ: got {sorted(actual)}, golden {sorted(expected)}")
    for workload in sorted(set(actual) & set(expected)):
        got = [(p["point_id"], p["architecture"]) for p in actual[workload]]
        want = [(p["point_id"], p["architecture"]) for p in expected[workload]]
        if got != want:
            problems.append(f"{workload}: front {got}, golden {want}")
            continue
        for a, e in zip(actual[workload], expected[workload], strict=True):
            for metric in ("latency_s", "energy_total_j"):
                if not close(a[metric], e[metric]):
                    problems.append(
                        f"{workload} {a['label']} on {a['architecture']}: {metric} {a[metric]!r}, golden {e[metric]!r}"
                    )
    return problems
