"""Reports from results: plots, Perfetto timelines, the HTML report and run comparisons.

Everything here reads :class:`~simulator.metrics.result.ScenarioResult` records and writes files;
nothing runs a simulation.
"""
