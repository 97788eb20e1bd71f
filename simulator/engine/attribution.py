"""Critical-path latency attribution: which share of the run's latency is compute, data, runtime, idle.

Attribution runs forward, one named split per operator: every operator carries the
:class:`LatencySplit` of its critical path (its four fields sum to its finish time). Its start is
the latest of its issue (the host's split), its dependencies' finishes and its unit's previous
finish; it inherits that predecessor's split, adds the wait before its start to ``idle``, its
kernel launch time to ``runtime_overhead`` and the rest of its duration to its bottleneck
(``compute`` if its compute time is at least its transfer time, else ``data_movement``). The host
adds its issue costs to its own split. The run's split is that of the last operator to finish.
"""

from __future__ import annotations

from typing import NamedTuple

#: The categories in report order (the keys of ``RunResult.latency_by_category_s``).
CATEGORIES = ("compute", "data_movement", "runtime_overhead", "idle")


class LatencySplit(NamedTuple):
    """Seconds of a critical path by category; immutable, so operators can share their predecessor's."""

    compute: float
    data_movement: float
    runtime_overhead: float
    idle: float


ZERO_SPLIT = LatencySplit(0.0, 0.0, 0.0, 0.0)

_new = tuple.__new__  # builds a LatencySplit without NamedTuple.__new__'s Python frame (hot path)


def after_operator(
    before: LatencySplit, gap_s: float, launch_s: float, body_s: float, compute_bound: bool
) -> LatencySplit:
    """The split at an operator's finish: its predecessor's, plus its wait, launch and body."""
    if compute_bound:
        return _new(LatencySplit, (before[0] + body_s, before[1], before[2] + launch_s, before[3] + gap_s))
    return _new(LatencySplit, (before[0], before[1] + body_s, before[2] + launch_s, before[3] + gap_s))


def after_host_cost(before: LatencySplit, cost_s: float) -> LatencySplit:
    """The host's split after it spent ``cost_s`` issuing an operator (runtime overhead)."""
    return LatencySplit(before.compute, before.data_movement, before.runtime_overhead + cost_s, before.idle)


def by_category(last: LatencySplit, latency_s: float) -> dict[str, float]:
    """The run's split as a dict that sums to ``latency_s``; float rounding goes to ``idle``."""
    residual = latency_s - (last.compute + last.data_movement + last.runtime_overhead + last.idle)
    idle = last.idle + residual
    if idle < 0.0 and idle > -1e-9 * latency_s:
        idle = 0.0
    return {
        "compute": last.compute,
        "data_movement": last.data_movement,
        "runtime_overhead": last.runtime_overhead,
        "idle": idle,
    }
