"""Run every fidelity case and summarise the error per category (median and worst absolute error).

Bounds are the project's goal, not today's numbers: every case outside a documented exemption (a
``known_gap``: a physical effect hetsim does not model, listed in docs/fidelity.md) within
:data:`CASE_BOUND_PCT`, and in every category with at least :data:`MEDIAN_MIN_CASES` such cases their
median absolute error within :data:`MEDIAN_BOUND_PCT`. The table reports the median over all cases too. Skipped
cases (a capability hetsim lacks, e.g. multi-device tensor parallelism) are listed, never predicted.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.fidelity.cases import FidelityCase
from simulator.fidelity.metrics import METRICS

#: Goal bounds (|error| in percent), checked in CI by tests/fidelity.
MEDIAN_BOUND_PCT = 10.0
CASE_BOUND_PCT = 35.0
#: A category's median is held to the bound only from this many predicted cases.
MEDIAN_MIN_CASES = 3


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
            "derivation": self.case.derivation,
            "within_bound": self.within_bound,
        }

    @property
    def within_bound(self) -> bool:
        """Within the per-case bound, or a documented exemption."""
        return bool(self.case.known_gap) or abs(self.error_pct) <= CASE_BOUND_PCT


@dataclass(frozen=True)
class CategoryStats:
    """Error summary of one category."""

    category: str
    cases: int
    median_abs_error_pct: float
    worst_abs_error_pct: float
    #: median and worst |error| among the cases that are not documented exemptions (0 when none is left)
    median_unexempted_pct: float = 0.0
    worst_unexempted_pct: float = 0.0
    exempted: int = 0

    @property
    def median_checked(self) -> bool:
        """Whether enough unexempted cases remain for the category's median to be held to the bound."""
        return self.cases - self.exempted >= MEDIAN_MIN_CASES

    @property
    def meets_goal(self) -> bool:
        """Unexempted median within bound (when checked) and every unexempted case within the per-case bound."""
        median_ok = not self.median_checked or self.median_unexempted_pct <= MEDIAN_BOUND_PCT
        return median_ok and self.worst_unexempted_pct <= CASE_BOUND_PCT


@dataclass(frozen=True)
class FidelityReport:
    """All outcomes and the per-category summary."""

    outcomes: tuple[CaseOutcome, ...]
    #: cases listed but not predicted, each with its reason
    skipped: tuple[FidelityCase, ...] = ()

    @property
    def categories(self) -> list[CategoryStats]:
        """Per-category statistics, in first-appearance order."""
        order: dict[str, list[CaseOutcome]] = {}
        for outcome in self.outcomes:
            order.setdefault(outcome.case.category, []).append(outcome)
        stats = []
        for name, outcomes in order.items():
            errors = [abs(o.error_pct) for o in outcomes]
            unexempted = [abs(o.error_pct) for o in outcomes if not o.case.known_gap]
            stats.append(
                CategoryStats(
                    name,
                    len(errors),
                    statistics.median(errors),
                    max(errors),
                    statistics.median(unexempted) if unexempted else 0.0,
                    max(unexempted, default=0.0),
                    len(errors) - len(unexempted),
                )
            )
        return stats

    def to_json(self) -> dict[str, Any]:
        """The ``fidelity.json`` document."""
        return {
            "bounds": {
                "median_abs_error_pct": MEDIAN_BOUND_PCT,
                "case_abs_error_pct": CASE_BOUND_PCT,
                "median_min_cases": MEDIAN_MIN_CASES,
            },
            "cases": [o.to_json() for o in self.outcomes],
            "categories": [
                {**stats.__dict__, "median_checked": stats.median_checked, "meets_goal": stats.meets_goal}
                for stats in self.categories
            ],
            "skipped": [{"id": c.id, "category": c.category, "reason": c.skipped} for c in self.skipped],
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
        if case.skipped:
            continue
        if progress is not None:
            progress(case)
        outcomes.append(CaseOutcome(case, predict(case)))
    return FidelityReport(tuple(outcomes), tuple(c for c in cases if c.skipped))
