"""Design-space sweeps: expansion of ``sweep:`` into points, executors, a resumable store, Pareto fronts."""

from simulator.sweep.executors import EXECUTORS, Executor, LocalProcessExecutor, SerialExecutor, make_executor
from simulator.sweep.expand import SweepPoint, apply_overrides, expand_sweep, point_id
from simulator.sweep.pareto import pareto_figure, pareto_front, pareto_rows
from simulator.sweep.run import SweepOutcome, run_sweep, sweep_scenario
from simulator.sweep.store import ResultsStore

__all__ = [
    "EXECUTORS",
    "Executor",
    "LocalProcessExecutor",
    "ResultsStore",
    "SerialExecutor",
    "SweepOutcome",
    "SweepPoint",
    "apply_overrides",
    "expand_sweep",
    "make_executor",
    "pareto_figure",
    "pareto_front",
    "pareto_rows",
    "point_id",
    "run_sweep",
    "sweep_scenario",
]
