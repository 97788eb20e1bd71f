"""hetsim: simulate AI workloads on heterogeneous hardware, with energy split into data movement and compute.

The curated public API (everything else lives in submodules)::

    from simulator import load_scenario, run_scenario
    result = run_scenario(load_scenario("scenarios/flagship.yaml"))

``simulate(arch, trace, runtime)`` runs one trace on one architecture.
"""

from __future__ import annotations

from typing import Any

from simulator.config.scenario import ScenarioSpec, load_scenario
from simulator.errors import UserError
from simulator.metrics.result import RunResult, ScenarioResult
from simulator.runner import run_scenario, write_results

__all__ = [
    "RunResult",
    "ScenarioResult",
    "ScenarioSpec",
    "UserError",
    "load_scenario",
    "run_scenario",
    "simulate",
    "write_results",
]


def __getattr__(name: str) -> Any:
    """Import the engine lazily: ``simulator.simulate`` without loading SimPy for config-only use."""
    if name == "simulate":
        from simulator.engine import simulate

        return simulate
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")
