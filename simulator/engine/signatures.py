"""Operator signatures: the cached cost of each distinct operator, and the unit choice under ``auto``.

A signature is everything an operator's cost depends on (kind, dtype, FLOPs, tensors, dims);
operators that share one share their :class:`~simulator.engine.mapping.OpCost` objects (one per
candidate unit), so the mapper and the cost model run once per signature, not per operator.
The cache holds at most :data:`SIG_LIMIT` signatures: when full, every cached cost's finished
runs are folded into the run's totals and the cache is cleared (bounded state; no result changes).
A signature whose cost is not a finite, plausible duration is the user's error, raised here once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from simulator.engine.mapping import Mapper, OpCost
from simulator.errors import UserError
from workloads.trace import Operator

#: Cached operator signatures before the cache is folded into totals and cleared (bounded state).
SIG_LIMIT = 16384

#: Longest stand-alone operator time accepted (s): ~116 days, beyond any real kernel, yet far enough
#: from float overflow that a billion of them still sum to a finite latency.
MAX_OPERATOR_S = 1e7

#: A signature's candidate costs (sorted by unit name) and the cost itself when there is one candidate.
Entry = tuple[tuple[OpCost, ...], OpCost | None]


def check_cost(op: Operator, cost: OpCost) -> None:
    """Raise a UserError naming ``op`` if its cost on its unit is not a finite, plausible duration."""
    values = [op.flops, cost.compute_s, cost.latency_s, cost.standalone_s, *(b for _, b in cost.flows)]
    if all(math.isfinite(v) and v >= 0.0 for v in values) and cost.standalone_s <= MAX_OPERATOR_S:
        return
    what = (
        f"flops={op.flops!r}, compute {cost.compute_s!r} s, transfer bytes {cost.transfer_bytes!r}, "
        f"latency {cost.latency_s!r} s"
    )
    raise UserError(
        f"operator {op.id} ({op.name}, {op.kind}) on unit {cost.unit!r}: its duration is not a finite time of at "
        f"most {MAX_OPERATOR_S:g} s ({what}); check the operator's flops and bytes and the unit's peak and bandwidths"
    )


class SignatureCache:
    """Signature -> candidate costs, bounded; ``on_evict(costs)`` folds finished runs before a clear."""

    def __init__(self, mapper: Mapper, on_evict: Callable[[], None]) -> None:
        self.mapper = mapper
        self.on_evict = on_evict
        self.limit = SIG_LIMIT
        self.entries: dict[tuple[Any, ...], Entry] = {}

    def _add(self, op: Operator, key: tuple[Any, ...]) -> Entry:
        """Cost ``op``'s new signature on every candidate unit (checked once) and cache it."""
        if len(self.entries) >= self.limit:
            self.on_evict()
        units = self.mapper.candidates(op)
        costs = tuple(self.mapper.cost(op, u) for u in units)
        for cost in costs:
            check_cost(op, cost)
        entry = (costs, costs[0] if len(costs) == 1 else None)
        self.entries[key] = entry
        return entry

    def choose(self, op: Operator, ready_est: float, est_free: list[float]) -> OpCost:
        """The operator's cost on its unit: the pinned one, or under ``auto`` the earliest estimated finish.

        The estimate starts an operator at the latest of ``ready_est`` (now and its unfinished
        dependencies' estimated finishes) and its unit's estimated free time, and runs it for its
        stand-alone time; the chosen unit's estimated free time moves to that finish.
        """
        dims = op.dims  # the exact signature: everything the cost depends on (tensor names matter for capacity)
        key: tuple[Any, ...] = (op.kind, op.dtype, op.flops, op.reads, op.writes, tuple(dims.items()) if dims else ())
        if op.device or op.group:  # systems of chips: the same shard on another device is another signature
            key += (op.device, op.group)
        entry = self.entries.get(key)
        if entry is None:
            entry = self._add(op, key)
        costs, fixed = entry
        if fixed is not None:
            free = est_free[fixed.unit_index]
            est_free[fixed.unit_index] = (free if free > ready_est else ready_est) + fixed.standalone_s
            return fixed
        best = costs[0]
        best_t = float("inf")
        for cost in costs:  # sorted by unit name: ties go to the first
            free = est_free[cost.unit_index]
            t = (free if free > ready_est else ready_est) + cost.standalone_s
            if t < best_t:
                best, best_t = cost, t
        est_free[best.unit_index] = best_t
        return best

    def costs(self) -> list[OpCost]:
        """Every cached cost (for folding their finished runs into totals)."""
        return [cost for costs, _ in self.entries.values() for cost in costs]

    def clear(self) -> None:
        """Forget every signature (operators in flight keep their cost objects)."""
        self.entries.clear()
