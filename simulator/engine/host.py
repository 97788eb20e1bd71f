"""The host: issues operators in trace order at the runtime's cost, running ahead of the device.

Each operator costs ``per_kernel_overhead_s × kernels_per_op.get(kind, 1)`` of host time before
it is issued. The host does not wait for the device, except after an operator whose kind is in
``sync_on`` (it waits for that operator to finish) and when ``max_outstanding`` operators are
issued but unfinished (a bounded launch queue; it resumes when the count falls to
``resume_outstanding``). The bound keeps the engine's state small for any trace length.
"""

from __future__ import annotations

from simulator.config.architecture import RuntimeSpec

#: Latency categories as a 4-tuple: (compute, data_movement, runtime_overhead, idle) seconds.
Cat = tuple[float, float, float, float]
ZERO_CAT: Cat = (0.0, 0.0, 0.0, 0.0)

#: Default bound on issued-but-unfinished operators (a launch queue; CUDA's is about 1024 deep).
MAX_OUTSTANDING = 8192


class HostProfile:
    """Per-kind issue cost (s) and sync set of a runtime, with the per-kind cost cached."""

    def __init__(self, runtime: RuntimeSpec | None) -> None:
        self.per_kernel_s = runtime.per_kernel_overhead_s if runtime else 0.0
        self.kernels_per_op = dict(runtime.kernels_per_op) if runtime else {}
        self.sync_on = frozenset(runtime.sync_on) if runtime else frozenset()
        self.launch_s = runtime.kernel_launch_latency_s if runtime else 0.0
        self._cost: dict[str, float] = {}

    def issue_cost_s(self, kind: str) -> float:
        """Host seconds to issue one operator of ``kind``."""
        cost = self._cost.get(kind)
        if cost is None:
            cost = self.per_kernel_s * self.kernels_per_op.get(kind, 1)
            self._cost[kind] = cost
        return cost

    def launch_cost_s(self, kind: str) -> float:
        """Device seconds an operator of ``kind`` spends launching its kernels (on its unit)."""
        return self.launch_s * self.kernels_per_op.get(kind, 1)
