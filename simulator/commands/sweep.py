"""``hetsim sweep SCENARIO [-o DIR] [--jobs N] [--executor local|serial]``: run a scenario's design-space sweep.

Expands the scenario's ``sweep:`` (dotted path → values) into the cartesian product, runs every
point not already in ``DIR/sweep.sqlite`` (so an interrupted sweep resumes where it stopped),
and writes ``sweep.csv``, ``pareto.json`` and the latency-vs-energy Pareto plot.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def register(subparsers: Any) -> None:
    """Add the ``sweep`` subcommand."""
    from simulator.sweep.executors import EXECUTORS

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sweep", help="run a scenario's sweep (resumable), with a Pareto front", description=__doc__
    )
    parser.add_argument("scenario", help="scenario YAML file with a 'sweep:' section (or a built-in name)")
    parser.add_argument(
        "-o", "--out", type=Path, default=None, help="output folder and store (default: out/<scenario name>-sweep)"
    )
    parser.add_argument("-j", "--jobs", type=int, default=None, help="worker processes (default: CPU count)")
    parser.add_argument("--executor", choices=EXECUTORS, default="local", help="where points run (default: local)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the sweep and print the Pareto front."""
    from simulator.errors import UserError
    from simulator.report.compare import format_value
    from simulator.sweep.executors import make_executor
    from simulator.sweep.pareto import pareto_rows
    from simulator.sweep.run import sweep_scenario

    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {args.jobs}")
    console = Console(stderr=True, quiet=args.quiet)
    executor = make_executor(args.executor, jobs=args.jobs)
    outcome, rows = sweep_scenario(args.scenario, args.out, executor=executor, console=None if args.quiet else console)
    console.print(f"{outcome.total} points: {outcome.computed} run now, {outcome.skipped} already in {outcome.store}")
    errors = sum(1 for r in rows if r.get("error"))
    if errors:
        console.print(f"[yellow]{errors} point(s) failed; see the 'error' column of sweep.csv[/yellow]")
    if not args.quiet:
        for workload, front in pareto_rows(rows).items():
            table = Table(title=f"Pareto front (latency vs energy): {workload}")
            for column in ("point", "architecture", "latency", "energy"):
                table.add_column(column, justify="left" if column in ("point", "architecture") else "right")
            for row in front:
                table.add_row(
                    str(row.get("label")),
                    str(row.get("architecture")),
                    format_value(row.get("latency_s"), "s"),
                    format_value(row.get("energy_total_j"), "J"),
                )
            Console().print(table)
    if outcome.written:
        console.print(f"wrote {len(outcome.written)} files to {outcome.written[0].parent}")
    return 0
