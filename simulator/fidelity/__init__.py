"""Fidelity: hetsim's predictions against published measurements on real hardware, case by case."""

from simulator.fidelity.cases import FidelityCase, load_cases
from simulator.fidelity.suite import CaseOutcome, FidelityReport, run_fidelity

__all__ = ["CaseOutcome", "FidelityCase", "FidelityReport", "load_cases", "run_fidelity"]
