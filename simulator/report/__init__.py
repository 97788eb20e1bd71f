"""Reports from results: plots, Perfetto timelines, the HTML report and run comparisons.

Everything here reads :class:`~simulator.metrics.result.ScenarioResult` records (their typed metrics
and hardware facts, never YAML); nothing runs a simulation. Builders return figures, documents or
text; only the ``write_*`` functions and :func:`~simulator.report.plots.save_figure` touch the
filesystem, and they do so through :class:`simulator.outputs.OutputFolder`.
"""
