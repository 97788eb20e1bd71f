"""Serving: requests arriving at an engine that batches them step by step (issue #10).

:func:`simulate_serving` runs a ``kind: serving`` workload (:mod:`workloads.serving`): the scheduler
(:mod:`~simulator.serving.scheduler`) decides each step's batch under the paged KV-cache pool
(:mod:`~simulator.serving.kvcache`), the engine times each step (:mod:`~simulator.serving.stepcost`), and
:mod:`~simulator.serving.metrics` summarises the requests. Plots: :mod:`~simulator.serving.plots`.
"""

from simulator.serving.run import simulate_serving

__all__ = ["simulate_serving"]
