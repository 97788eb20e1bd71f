"""Serving metrics: throughput, latency percentiles, goodput under an SLO, occupancy, energy per token.

Definitions (per completed request): TTFT = first token − arrival; TPOT = (finish − first token) /
(output tokens − 1), for requests with more than one output token; end-to-end = finish − arrival.
Throughputs are over the run's span (time 0 to the last completion). Percentiles use linear
interpolation between order statistics (numpy's default). Goodput counts the requests that meet both
SLO targets. Occupancy and batch size are time-weighted over the steps (idle gaps count as empty).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.serving.kvcache import BlockPool
from simulator.serving.scheduler import Outcome
from workloads.serving import ServingSpec, parse_seconds

#: The flat keys every serving run carries in results.json (fixed names, issue #10), in order: registry columns
#: (:mod:`simulator.metrics.registry`), ``energy_per_token_j`` and ``tokens_per_s`` being the general ones.
SERVING_KEYS: tuple[str, ...] = (
    "requests_per_s",
    "tokens_per_s",
    "ttft_p50_s",
    "ttft_p90_s",
    "ttft_p99_s",
    "tpot_p50_s",
    "tpot_p90_s",
    "tpot_p99_s",
    "e2e_p50_s",
    "e2e_p99_s",
    "energy_per_token_j",
)
#: Further serving columns of the registry (not part of the fixed interface); ``avg_power_w`` is the general one.
SERVING_EXTRA_KEYS: tuple[str, ...] = (
    "e2e_p90_s",
    "goodput_requests_per_s",
    "slo_attainment",
    "offered_rate_per_s",
    "completed_requests",
    "rejected_requests",
    "preemptions",
    "mean_batch_sequences",
    "max_batch_sequences",
    "mean_kv_occupancy",
    "peak_kv_occupancy",
    "busy_fraction",
)

#: Points kept per time series in results.json (longer series are thinned evenly, first and last kept).
SERIES_POINTS = 2000


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values), q)) if values else None


def serving_metrics(spec: ServingSpec, out: Outcome, pool: BlockPool) -> dict[str, Any]:
    """The flat serving metrics of one run (None where no request qualifies)."""
    done = [s for s in out.seqs if s.finish_s is not None and s.first_s is not None]
    span = out.end_s
    ttft = [s.first_s - s.req.arrival_s for s in done if s.first_s is not None]
    tpot = [
        (s.finish_s - s.first_s) / (s.generated - 1)
        for s in done
        if s.finish_s is not None and s.first_s is not None and s.generated > 1
    ]
    e2e = [s.finish_s - s.req.arrival_s for s in done if s.finish_s is not None]
    tokens = sum(s.generated for s in done)
    slo_ttft, slo_tpot = parse_seconds(spec.slo.ttft), parse_seconds(spec.slo.tpot)
    good = 0
    for s in done:
        assert s.first_s is not None and s.finish_s is not None
        per_token = (s.finish_s - s.first_s) / (s.generated - 1) if s.generated > 1 else 0.0
        if s.first_s - s.req.arrival_s <= slo_ttft and per_token <= slo_tpot:
            good += 1
    busy = sum(st.latency_s for st in out.steps)
    weighted_batch = sum(st.sequences * st.latency_s for st in out.steps)
    weighted_kv = sum(st.kv_blocks * st.latency_s for st in out.steps)
    offered = spec.arrivals.rate
    if offered is None and out.seqs:
        last = max(s.req.arrival_s for s in out.seqs)
        offered = len(out.seqs) / last if last > 0 else None
    return {
        "requests_per_s": len(done) / span if span > 0 else None,
        "tokens_per_s": tokens / span if span > 0 else None,
        "ttft_p50_s": _pct(ttft, 50),
        "ttft_p90_s": _pct(ttft, 90),
        "ttft_p99_s": _pct(ttft, 99),
        "tpot_p50_s": _pct(tpot, 50),
        "tpot_p90_s": _pct(tpot, 90),
        "tpot_p99_s": _pct(tpot, 99),
        "e2e_p50_s": _pct(e2e, 50),
        "e2e_p90_s": _pct(e2e, 90),
        "e2e_p99_s": _pct(e2e, 99),
        "goodput_requests_per_s": good / span if span > 0 else None,
        "slo_attainment": good / len(done) if done else None,
        "offered_rate_per_s": offered,
        "completed_requests": len(done),
        "rejected_requests": len(out.rejected),
        "preemptions": out.preemptions,
        "mean_batch_sequences": weighted_batch / span if span > 0 else None,
        "max_batch_sequences": max((st.sequences for st in out.steps), default=0),
        "mean_kv_occupancy": weighted_kv / span / pool.total if span > 0 and pool.total else None,
        "peak_kv_occupancy": pool.peak_used / pool.total if pool.total else None,
        "busy_fraction": busy / span if span > 0 else None,
    }


def serving_series(out: Outcome, pool: BlockPool) -> dict[str, list[float]]:
    """Per-step series (thinned to :data:`SERIES_POINTS`): start time, latency, batch, tokens, KV occupancy."""
    steps = out.steps
    if len(steps) > SERIES_POINTS:
        idx = sorted({round(i * (len(steps) - 1) / (SERIES_POINTS - 1)) for i in range(SERIES_POINTS)})
        steps = [steps[i] for i in idx]
    return {
        "start_s": [s.start_s for s in steps],
        "latency_s": [s.latency_s for s in steps],
        "sequences": [float(s.sequences) for s in steps],
        "tokens": [float(s.tokens) for s in steps],
        "prefill_tokens": [float(s.prefill_tokens) for s in steps],
        "kv_occupancy": [s.kv_blocks / pool.total if pool.total else 0.0 for s in steps],
    }


__all__ = ["SERVING_EXTRA_KEYS", "SERVING_KEYS", "serving_metrics", "serving_series"]
