"""hetsim: simulate AI workloads on heterogeneous hardware, with energy split into data movement and compute.

The curated public API (everything else lives in submodules)::

    from simulator import load_scenario, run_scenario
    result = run_scenario(load_scenario("scenarios/flagship.yaml"))

``simulate(arch, trace, runtime)`` runs one trace on one architecture.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.config.scenario import ScenarioSpec, load_scenario
    from simulator.engine import simulate
    from simulator.errors import UserError
    from simulator.metrics.result import RunResult, ScenarioResult
    from simulator.runner import run_scenario, write_results

#: Public name -> the module that defines it. Imported on first use (PEP 562), so that ``import
#: simulator.cli`` (every ``hetsim`` command) does not load pydantic models, SimPy or matplotlib.
_EXPORTS = {
    "RunResult": "simulator.metrics.result",
    "ScenarioResult": "simulator.metrics.result",
    "ScenarioSpec": "simulator.config.scenario",
    "UserError": "simulator.errors",
    "load_scenario": "simulator.config.scenario",
    "run_scenario": "simulator.runner",
    "simulate": "simulator.engine",
    "write_results": "simulator.runner",
}

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
    """Import a public name's module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
