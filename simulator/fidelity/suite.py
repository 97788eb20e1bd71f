"""Run every fidelity case and summarise the error per category (median and worst absolute error)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.fidelity.cases import FidelityCase
from simulator.fidelity.metrics import METRICS


@dataclass(frozen=True)
class CaseOutcome:
    """A case with its prediction; ``error_pct`` is signed (predicted − measured) / measured."""

    case: FidelityCase
    predicted: float

    @property
    def error_pct(self) -> float:
        """Signed error in percent; for an upper bound, only the excess over the bound counts."""
        measured = self.case.measured
        if self.case.is_upper_bound:
            return max(0.0, self.predicted - measured) / measured * 100.0
        return (self.predicted - measured) / measured * 100.0

    def to_json(self) -> dict[str, Any]:
        """One row of ``fidelity.json``."""
        return {
            "id": self.case.id,
            "category": self.case.category,
            "metric": self.case.metric,
            "unit": self.case.unit,
            "measured": self.case.measured,
            "value_type": self.case.value_type,
            "predicted": self.predicted,
            "error_pct": self.error_pct,
            "source": self.case.source,
            "hardware": self.case.hardware,
            "scenario": dict(self.case.scenario),
            "assumption": self.case.assumption,
            "known_gap": self.case.known_gap,
        }


@dataclass(frozen=True)
class CategoryStats:
    """Error summary of one category."""

    category: str
    cases: int
    median_abs_error_pct: float
    worst_abs_error_pct: float


@dataclass(frozen=True)
class FidelityReport:
    """All outcomes and the per-category summary."""

    outcomes: tuple[CaseOutcome, ...]

    @property
    def categories(self) -> list[CategoryStats]:
        """Per-category statistics, in first-appearance order."""
        order: dict[str, list[float]] = {}
        for outcome in self.outcomes:
            order.setdefault(outcome.case.category, []).append(abs(outcome.error_pct))
        return [
            CategoryStats(name, len(errors), statistics.median(errors), max(errors)) for name, errors in order.items()
        ]

    def to_json(self) -> dict[str, Any]:
        """The ``fidelity.json`` document."""
        return {
            "cases": [o.to_json() for o in self.outcomes],
            "categories": [stats.__dict__ for stats in self.categories],
        }


def predict(case: FidelityCase) -> float:
    """Run the case's scenario and read its metric."""
    from simulator.config import scenario_from_dict
    from simulator.runner import run_scenario

    spec = scenario_from_dict(dict(case.scenario), file=f"fidelity case {case.id}", base_dir=Path.cwd())
    result = run_scenario(spec)
    return METRICS[case.metric](result.runs)


def run_fidelity(
    cases: Sequence[FidelityCase], progress: Callable[[FidelityCase], None] | None = None
) -> FidelityReport:
    """Predict every case (in order) and collect the outcomes."""
    outcomes = []
    for case in cases:
        if progress is not None:
            progress(case)
        outcomes.append(CaseOutcome(case, predict(case)))
    return FidelityReport(tuple(outcomes))
