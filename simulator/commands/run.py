"""``hetsim run SCENARIO [-o DIR] [--quiet]``: run a scenario, print a summary table, write results."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from simulator.commands import print_progress, run_progress_bar
from simulator.config.scenario import load_scenario
from simulator.report.tables import summary_table
from simulator.runner import run_scenario, write_results


def register(subparsers: Any) -> None:
    """Add the ``run`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run", help="run a scenario and write its results", description=__doc__
    )
    parser.add_argument("scenario", help="scenario YAML file (or the name of a built-in scenario)")
    parser.add_argument("-o", "--out", type=Path, default=None, help="output folder (default: out/<scenario name>)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress and no table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load, run, print, write."""
    spec = load_scenario(args.scenario)
    out = args.out if args.out is not None else Path("out") / spec.name
    console = Console(stderr=True, quiet=args.quiet)
    result = run_scenario(spec, progress=print_progress(console), run_progress=run_progress_bar(console))
    if "table" in spec.outputs and not args.quiet:
        out_console = Console()
        if not out_console.is_terminal:  # files and pipes: wide enough that no cell wraps
            out_console = Console(width=160)
        out_console.print(summary_table(result))
    written = write_results(result, out, outputs=spec.outputs)
    console.print(f"wrote {len(written)} files to {out}")
    return 0
