"""Configuration: YAML files → validated, immutable specs (units converted to SI, all errors collected)."""

from simulator.config.architecture import ArchitectureSpec, ComputeUnitSpec, LinkSpec, MemorySpec, RuntimeSpec
from simulator.config.loader import load_architecture, load_runtime
from simulator.config.scenario import ScenarioSpec, load_scenario, scenario_from_dict

__all__ = [
    "ArchitectureSpec",
    "ComputeUnitSpec",
    "LinkSpec",
    "MemorySpec",
    "RuntimeSpec",
    "ScenarioSpec",
    "load_architecture",
    "load_runtime",
    "load_scenario",
    "scenario_from_dict",
]
