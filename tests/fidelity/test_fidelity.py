"""The fidelity suite as a test: hetsim's predictions against published measurements (marker ``fidelity``).

Bounds are what the suite meets today, so a change that makes predictions worse fails here. Cases
with a ``known_gap`` (a physical effect hetsim does not model, named in ``scenarios.yaml``) are
held to their category bound only; every other case must be within 35 %.
"""

from __future__ import annotations

import pytest

from simulator.fidelity import load_cases, run_fidelity
from simulator.fidelity.suite import FidelityReport

pytestmark = pytest.mark.fidelity

#: Median absolute error (%) each category must stay under, with the reason for any bound above 15 %.
CATEGORY_MEDIAN_BOUND = {
    "gemm": 10.0,
    "decode": 15.0,
    "prefill": 30.0,  # TensorRT-LLM v0.5 FP8 on H100 (known gap) and LMDeploy's serving-level TTFT
    "snapkv": 30.0,  # two cases: the speedup (-24 %) and an upper bound that holds
    "medusa": 50.0,  # HuggingFace eager Python overhead per kernel (known gap)
    "skynet": 400.0,  # whole-pipeline contest FPS vs network-only prediction (known gap)
}
PER_CASE_BOUND = 35.0


@pytest.fixture(scope="module")
def report() -> FidelityReport:
    return run_fidelity(load_cases())


def test_every_published_case_is_predicted(report: FidelityReport) -> None:
    assert len(report.outcomes) == 23
    assert {stats.category for stats in report.categories} == set(CATEGORY_MEDIAN_BOUND)


def test_category_medians_within_bounds(report: FidelityReport) -> None:
    for stats in report.categories:
        assert stats.median_abs_error_pct <= CATEGORY_MEDIAN_BOUND[stats.category], stats


def test_cases_without_a_known_gap_within_35_percent(report: FidelityReport) -> None:
    misses = [
        (o.case.id, round(o.error_pct, 1))
        for o in report.outcomes
        if not o.case.known_gap and abs(o.error_pct) > PER_CASE_BOUND
    ]
    assert misses == []


def test_upper_bound_case_holds(report: FidelityReport) -> None:
    bounded = [o for o in report.outcomes if o.case.is_upper_bound]
    assert bounded and all(o.predicted <= o.case.measured for o in bounded)


def test_tensor_parallel_decode_within_15_percent(report: FidelityReport) -> None:
    """gpt-fast's TP2 (7B) and TP4 (70B) decode on 8x A100: all-reduce latency per layer as NCCL's model has it."""
    tp = {o.case.id: o.error_pct for o in report.outcomes if "-tp2" in o.case.id or "-tp4" in o.case.id}
    assert set(tp) == {"gptfast-a100-llama2-7b-bf16-tp2", "gptfast-a100-llama2-70b-bf16-tp4"}
    assert all(abs(e) <= 15.0 for e in tp.values()), tp
