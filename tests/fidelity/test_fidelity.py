"""The fidelity suite as a test: hetsim's predictions against published measurements (marker ``fidelity``).

Bounds are the project's goal, not today's numbers (simulator.fidelity.suite): every case outside a
documented exemption within 35 %, and the median of those cases within 10 % in every category that has
at least 3 of them. An exemption is a ``known_gap`` naming the physical effect hetsim does not model;
each one is listed in docs/fidelity.md with its reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.fidelity import load_cases, run_fidelity
from simulator.fidelity.suite import CASE_BOUND_PCT, MEDIAN_BOUND_PCT, FidelityReport

pytestmark = pytest.mark.fidelity

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report() -> FidelityReport:
    return run_fidelity(load_cases())


PUBLISHED = {"gemm", "decode", "decode-tp", "prefill", "snapkv", "medusa", "skynet", "energy"}
MEASURED_HERE = {"h200-decode", "h200-prefill", "h200-gemm", "h200-energy"}


def test_every_published_and_measured_case_is_predicted_or_listed(report: FidelityReport) -> None:
    published = 24 + 1  # entries of validation-dev.yaml, and ML.ENERGY's average power from the same raw numbers
    measured_here = 21  # entries of measured-h200.yaml
    assert len(report.outcomes) + len(report.skipped) == published + measured_here
    # the tensor-parallel cases run on systems of chips (docs/systems.md); only the host-bound 512-token prefill
    # measured here is listed without a prediction
    assert [case.id for case in report.skipped] == ["measured-h200-llama2-7b-prefill-512"]
    assert {stats.category for stats in report.categories} == PUBLISHED | MEASURED_HERE


def test_published_categories_meet_the_goal_outside_documented_exemptions(report: FidelityReport) -> None:
    for stats in report.categories:
        if stats.category not in PUBLISHED:
            continue
        assert stats.worst_unexempted_pct <= CASE_BOUND_PCT, stats
        if stats.median_checked:
            assert stats.median_unexempted_pct <= MEDIAN_BOUND_PCT, stats
        assert stats.meets_goal, stats


def test_cases_measured_here_stay_within_the_per_case_bound(report: FidelityReport) -> None:
    """The H200 cases (measured by tools/gpu_measure.py) miss the median goal, for causes docs/fidelity.md names;
    every unexempted one must still stay within the per-case bound, and the medians must not grow past today's."""
    medians = {"h200-decode": 22.0, "h200-prefill": 27.0, "h200-gemm": 15.5, "h200-energy": 17.0}
    for stats in report.categories:
        if stats.category in MEASURED_HERE:
            assert stats.worst_unexempted_pct <= CASE_BOUND_PCT, stats
            assert stats.median_unexempted_pct <= medians[stats.category], stats


def test_every_exemption_is_documented_with_its_reason(report: FidelityReport) -> None:
    doc = (ROOT / "docs" / "fidelity.md").read_text(encoding="utf-8")
    exempted = [o.case for o in report.outcomes if o.case.known_gap] + list(report.skipped)
    assert exempted
    missing = [case.id for case in exempted if f"`{case.id}`" not in doc]
    assert missing == [], "exempted cases without a line in docs/fidelity.md"


def test_gemm_kernels_meet_the_goal_without_exemptions(report: FidelityReport) -> None:
    gemm = next(stats for stats in report.categories if stats.category == "gemm")
    assert gemm.exempted == 0 and gemm.cases == 10 and gemm.median_checked and gemm.meets_goal


def test_eager_energy_per_token_and_power_need_no_exemption(report: FidelityReport) -> None:
    """ML.ENERGY's J/token and average power: predicted from sourced runtime and power constants alone."""
    cases = [o for o in report.outcomes if o.case.id.startswith("mlenergy-")]
    assert {o.case.metric for o in cases} == {"energy_j_per_token", "avg_power_w"}
    assert all(not o.case.known_gap and abs(o.error_pct) <= CASE_BOUND_PCT for o in cases), cases


def test_upper_bound_case_holds(report: FidelityReport) -> None:
    bounded = [o for o in report.outcomes if o.case.is_upper_bound]
    assert bounded and all(o.predicted <= o.case.measured for o in bounded)


def test_tensor_parallel_decode_within_15_percent(report: FidelityReport) -> None:
    """gpt-fast's TP2 (7B) and TP4 (70B) decode on 8x A100: all-reduce latency per layer as NCCL's model has it."""
    tp = {o.case.id: o.error_pct for o in report.outcomes if "-tp2" in o.case.id or "-tp4" in o.case.id}
    assert set(tp) == {"gptfast-a100-llama2-7b-bf16-tp2", "gptfast-a100-llama2-70b-bf16-tp4"}
    assert all(abs(e) <= 15.0 for e in tp.values()), tp
