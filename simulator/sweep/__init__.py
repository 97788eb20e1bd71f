"""Design-space sweeps: expansion of ``sweep:`` into points, checks, content keys, executors, a store, Pareto fronts."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.sweep.executors import (
        EXECUTORS,
        DaskExecutor,
        Executor,
        LocalProcessExecutor,
        SerialExecutor,
        make_executor,
    )
    from simulator.sweep.expand import SweepPoint, apply_overrides, expand_sweep, iter_points, point_id, sweep_size
    from simulator.sweep.keys import COST_MODEL_VERSION, scenario_key
    from simulator.sweep.pareto import pareto_figure, pareto_front, pareto_rows
    from simulator.sweep.plan import CONFIRM_ABOVE, SweepPlan, plan_sweep
    from simulator.sweep.run import SweepOutcome, run_sweep, sweep_scenario
    from simulator.sweep.store import ResultsStore

#: Public name -> defining submodule, imported on first use (PEP 562): ``hetsim sweep --help`` and the
#: executor choices do not load matplotlib (the Pareto plot) or the store.
_EXPORTS = {
    "CONFIRM_ABOVE": "simulator.sweep.plan",
    "COST_MODEL_VERSION": "simulator.sweep.keys",
    "DaskExecutor": "simulator.sweep.executors",
    "EXECUTORS": "simulator.sweep.executors",
    "Executor": "simulator.sweep.executors",
    "LocalProcessExecutor": "simulator.sweep.executors",
    "ResultsStore": "simulator.sweep.store",
    "SerialExecutor": "simulator.sweep.executors",
    "SweepOutcome": "simulator.sweep.run",
    "SweepPlan": "simulator.sweep.plan",
    "SweepPoint": "simulator.sweep.expand",
    "apply_overrides": "simulator.sweep.expand",
    "expand_sweep": "simulator.sweep.expand",
    "iter_points": "simulator.sweep.expand",
    "make_executor": "simulator.sweep.executors",
    "pareto_figure": "simulator.sweep.pareto",
    "pareto_front": "simulator.sweep.pareto",
    "pareto_rows": "simulator.sweep.pareto",
    "plan_sweep": "simulator.sweep.plan",
    "point_id": "simulator.sweep.expand",
    "run_sweep": "simulator.sweep.run",
    "scenario_key": "simulator.sweep.keys",
    "sweep_scenario": "simulator.sweep.run",
    "sweep_size": "simulator.sweep.expand",
}

__all__ = [
    "CONFIRM_ABOVE",
    "COST_MODEL_VERSION",
    "EXECUTORS",
    "DaskExecutor",
    "Executor",
    "LocalProcessExecutor",
    "ResultsStore",
    "SerialExecutor",
    "SweepOutcome",
    "SweepPlan",
    "SweepPoint",
    "apply_overrides",
    "expand_sweep",
    "iter_points",
    "make_executor",
    "pareto_figure",
    "pareto_front",
    "pareto_rows",
    "plan_sweep",
    "point_id",
    "run_sweep",
    "scenario_key",
    "sweep_scenario",
    "sweep_size",
]


def __getattr__(name: str) -> Any:
    """Import a public name's submodule on first use (other names fall back to submodule imports)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator.sweep' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
