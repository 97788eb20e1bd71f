"""Design-space sweeps: expansion of ``sweep:`` into points, checks, content keys, executors, a store, Pareto fronts."""

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
