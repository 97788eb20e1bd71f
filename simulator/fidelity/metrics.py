"""Metric extractors: how a measured quantity is read off hetsim's results (same definition as the source)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from simulator.metrics.result import RunResult


def _need(value: float | None, what: str) -> float:
    if value is None:
        raise ValueError(f"the run has no {what}")
    return value


def _tokens_per_s(runs: Sequence[RunResult]) -> float:
    return _need(runs[0].tokens_per_s, "tokens/s")


def _ttft_ms(runs: Sequence[RunResult]) -> float:
    return 1e3 * _need(runs[0].ttft_s, "TTFT")


def _tpot_ms(runs: Sequence[RunResult]) -> float:
    return 1e3 * _need(runs[0].tpot_s, "TPOT")


def _latency_ms(runs: Sequence[RunResult]) -> float:
    return 1e3 * runs[0].latency_s


def _fps(runs: Sequence[RunResult]) -> float:
    return _need(runs[0].fps, "FPS")


def _tokens_per_step(runs: Sequence[RunResult]) -> float:
    value = runs[0].header.get("expected_tokens_per_step")
    if value is None:
        raise ValueError("the trace header has no 'expected_tokens_per_step' (not a Medusa trace?)")
    return float(value)


def _ms_per_step(runs: Sequence[RunResult]) -> float:
    """Wall time / decoding steps, prefill amortised in, as the Medusa logs define it.

    The logs count steps as new tokens / tokens per step, so the same definition is used here.
    """
    steps = runs[0].tokens_per_sequence / _tokens_per_step(runs)
    return 1e3 * runs[0].latency_s / steps


def _decode_speedup(runs: Sequence[RunResult]) -> float:
    return _need(runs[0].tpot_s, "TPOT") / _need(runs[1].tpot_s, "TPOT")


def _energy_j_per_token(runs: Sequence[RunResult]) -> float:
    """The run's whole energy (board: every component, static and active idle included) per generated token."""
    run = runs[0]
    tokens = run.batch * run.tokens_per_sequence
    if tokens <= 0:
        raise ValueError("the run generated no tokens")
    return run.energy.total_j / tokens


def _avg_power_w(runs: Sequence[RunResult]) -> float:
    """Energy over latency: what a power meter averaged over the run reads."""
    run = runs[0]
    if run.latency_s <= 0:
        raise ValueError("the run took no time")
    return run.energy.total_j / run.latency_s


def _decode_phase(runs: Sequence[RunResult]) -> tuple[float, float, float]:
    """(joules, seconds, tokens) of run 0's decode phase: every step after the one that yields the first token."""
    run = runs[0]
    phase = run.energy_by_phase_j.get("decode")
    if phase is None:
        raise ValueError("the run has no decode phase")
    joules = sum(phase.values())
    seconds = run.latency_s - _need(run.ttft_s, "TTFT")
    tokens = run.batch * (run.tokens_per_sequence - 1)
    if seconds <= 0 or tokens <= 0:
        raise ValueError("the run has no decode steps")
    return joules, seconds, tokens


def _decode_energy_j_per_token(runs: Sequence[RunResult]) -> float:
    """Decode-phase energy (board, static and active idle included) per token it generates; prefill excluded."""
    joules, _, tokens = _decode_phase(runs)
    return joules / tokens


def _decode_avg_power_w(runs: Sequence[RunResult]) -> float:
    """Decode-phase energy over decode-phase time: a power meter read over the decode steps alone."""
    joules, seconds, _ = _decode_phase(runs)
    return joules / seconds


METRICS: dict[str, Callable[[Sequence[RunResult]], float]] = {
    "tokens_per_s": _tokens_per_s,
    "ttft_ms": _ttft_ms,
    "tpot_ms": _tpot_ms,
    "latency_ms": _latency_ms,
    "fps": _fps,
    "ms_per_step": _ms_per_step,
    "tokens_per_step": _tokens_per_step,
    "decode_speedup": _decode_speedup,
    "energy_j_per_token": _energy_j_per_token,
    "avg_power_w": _avg_power_w,
    "decode_energy_j_per_token": _decode_energy_j_per_token,
    "decode_avg_power_w": _decode_avg_power_w,
}
