"""Reports from results: plots, Perfetto timelines, the HTML report and run comparisons.

Everything here reads :class:`~simulator.metrics.result.ScenarioResult` records; nothing runs a
simulation. Builders return figures, documents or text; only the ``write_*`` functions and
:func:`~simulator.report.plots.save_figure` touch the filesystem.
"""
