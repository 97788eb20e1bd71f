"""The timeline window: what a run keeps for timeline.json and the Gantt chart, and that it says so."""

from __future__ import annotations

import pytest

from simulator.metrics.result import OpRecord
from simulator.metrics.window import TimelineRecorder, is_candidate


def _op(op_id: int, step: int) -> OpRecord:
    phase = "prefill" if step == 0 else "decode"
    return OpRecord(op_id, f"op{op_id}", "matmul", phase, step, "u", float(op_id), op_id + 0.5, 0, 0, 0, 1.0, 1.0)


def _replay(recorder: TimelineRecorder, steps: list[int]) -> tuple[list[OpRecord], object]:
    """Issue every operator (in order), finish the wanted ones; return the kept records and the window."""
    for op_id, step in enumerate(steps):
        if recorder.wants(step):
            recorder.add(_op(op_id, step))
    ops, _, window = recorder.result(len(steps))
    return list(ops), window


def _decode(n_steps: int, per_step: int = 5) -> list[int]:
    return [0] * 7 + [s for s in range(1, n_steps + 1) for _ in range(per_step)]


def test_candidates_are_powers_of_two_and_three_times_them() -> None:
    assert [s for s in range(1, 50) if is_candidate(s)] == [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48]


@pytest.mark.parametrize(("last", "kept"), [(255, 128), (105, 48), (10, 4), (1, 1), (2, 1), (7, 3)])
def test_auto_keeps_the_prefill_and_the_step_nearest_the_middle(last: int, kept: int) -> None:
    ops, window = _replay(TimelineRecorder(100, "auto"), _decode(last))
    assert sorted({op.step for op in ops}) == [0, kept]
    assert len([op for op in ops if op.step == 0]) == 7 and len([op for op in ops if op.step == kept]) == 5
    assert window.steps == (0, kept) and window.mode == "auto"
    assert f"step {kept}: 5 operators" in window.description
    assert abs(kept - last / 2) <= last / 6 + 1  # within 4/3 of the middle


def test_auto_holds_few_steps_at_a_time() -> None:
    recorder = TimelineRecorder(100, "auto")
    most = 0
    for op_id, step in enumerate(_decode(2000, per_step=2)):
        if recorder.wants(step):
            recorder.add(_op(op_id, step))
        most = max(most, len(recorder._kept))
    assert most <= 5  # step 0 and at most four candidates: memory stays bounded


def test_limit_caps_each_kept_step_and_says_so() -> None:
    ops, window = _replay(TimelineRecorder(3, "auto"), _decode(20))
    assert len([op for op in ops if op.step == 0]) == 3
    assert "cut at 3" in window.description


def test_first_keeps_the_first_operators() -> None:
    ops, window = _replay(TimelineRecorder(10, "first"), _decode(20))
    assert [op.op_id for op in ops] == list(range(10))
    assert window.description == "the first 10 of 107 operators"


def test_steps_keeps_the_steps_asked_for() -> None:
    ops, window = _replay(TimelineRecorder(100, "steps", (0, 13)), _decode(20))
    assert sorted({op.step for op in ops}) == [0, 13]
    assert window.steps == (0, 13)


def test_zero_limit_keeps_nothing() -> None:
    ops, window = _replay(TimelineRecorder(0, "auto"), _decode(20))
    assert ops == [] and window.mode == "none" and "no timeline" in window.description


def test_engine_keeps_a_middle_decode_step_of_a_real_trace() -> None:
    from simulator.config.loader import load_architecture
    from simulator.config.scenario import workload_from_dict
    from simulator.engine import simulate
    from workloads.spec import build_trace

    spec = workload_from_dict({"kind": "baseline", "model": "vicuna-7b", "prompt_tokens": 16, "generate_tokens": 9})
    run = simulate(load_architecture("a100-80gb"), build_trace(spec), timeline_limit=2000, timeline_window="auto")
    steps = sorted({op.step for op in run.timeline})
    assert steps == [0, 4]  # 8 decode steps after the prefill: step 4 is the middle
    assert run.timeline_window.steps == (0, 4)
    assert {op.op_id for op in run.timeline} >= {f.op_id for f in run.flow_timeline}
    # whole-run totals do not depend on the window
    assert sum(s.count for s in run.op_stats) == run.operators
    assert {s.phase for s in run.op_stats} == {"prefill", "decode"}
