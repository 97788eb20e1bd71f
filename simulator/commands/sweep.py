"""``hetsim sweep SCENARIO [-o DIR] [-j N] [--executor local|serial|dask] [--scheduler ADDR] [--export FILE] [--yes]``.

Expands the scenario's ``sweep:`` (dotted path → values) into the cartesian product, checks every
point (each problem reported once), runs every point whose resolved inputs are not already in
``DIR/sweep.sqlite`` (so an interrupted sweep resumes where it stopped, and a point whose
architecture file or model changed is computed again), and writes ``sweep.csv``, ``pareto.json``
and the latency-vs-energy Pareto plot.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.table import Table

#: Exit code after SIGTERM (128 + 15, as a shell reports it).
EXIT_TERMINATED = 143


class Terminated(Exception):
    """SIGTERM arrived: stop the sweep the way Ctrl-C does (workers ended, finished points kept)."""


def register(subparsers: Any) -> None:
    """Add the ``sweep`` subcommand."""
    from simulator.sweep.executors import EXECUTORS
    from simulator.sweep.plan import CONFIRM_ABOVE

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sweep", help="run a scenario's sweep (resumable), with a Pareto front", description=__doc__
    )
    parser.add_argument("scenario", help="scenario YAML file with a 'sweep:' section (or a built-in name)")
    parser.add_argument(
        "-o", "--out", type=Path, default=None, help="output folder and store (default: out/<scenario name>-sweep)"
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        help="worker processes (local) or LocalCluster workers (dask); default: CPUs",
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="where points run: local processes, serial (this process) or dask (default: local)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="with --executor dask: an existing Dask scheduler (e.g. tcp://host:8786); without it a LocalCluster",
    )
    parser.add_argument(
        "--export",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="also write the rows to FILE (.parquet needs pyarrow, or .csv); relative to the output folder; repeatable",
    )
    parser.add_argument("-y", "--yes", action="store_true", help=f"run a sweep of more than {CONFIRM_ABOVE:,} points")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no table")
    parser.set_defaults(handler=run)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def run(args: argparse.Namespace) -> int:
    """Run the sweep and print the Pareto front."""
    from simulator.errors import UserError
    from simulator.metrics.registry import format_value, metric
    from simulator.sweep.executors import make_executor
    from simulator.sweep.pareto import pareto_rows
    from simulator.sweep.run import sweep_scenario

    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {args.jobs}")
    console = Console(stderr=True, quiet=args.quiet)
    executor = make_executor(args.executor, jobs=args.jobs, scheduler=args.scheduler)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        outcome, rows = sweep_scenario(
            args.scenario,
            args.out,
            executor=executor,
            console=None if args.quiet else console,
            exports=args.export,
            confirmed=args.yes,
        )
    except Terminated:
        print("hetsim: sweep terminated (SIGTERM); the finished points are stored: rerun to resume", file=sys.stderr)
        return EXIT_TERMINATED
    finally:
        signal.signal(signal.SIGTERM, previous)
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
                    format_value(metric("latency_s"), row.get("latency_s")),
                    format_value(metric("energy_total_j"), row.get("energy_total_j")),
                )
            Console().print(table)
    if outcome.written:
        console.print(f"wrote {len(outcome.written)} files to {outcome.written[0].parent}")
    return 0
