"""``hetsim compare SCENARIO [-o DIR] [--per token|frame]``: run a scenario and compare its runs side by side.

Prints one row per metric (latency, TTFT, TPOT, tokens/s, FPS, energy and its split, energy per
token or frame, roofline, ...) and one column per architecture × workload run, with ratios to the
first column; when that is wider than the terminal, the table is transposed (one row per run) and
split to fit. ``--per token`` (or ``frame``) divides whole-run metrics (latency, energy, FLOPs)
by each run's output tokens (frames), so a bigger batch is not made to look worse by doing more
work. Writes ``compare.csv``, ``compare.json`` and the comparison plots (PNG; ``--svg`` adds SVG).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console


def register(subparsers: Any) -> None:
    """Add the ``compare`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "compare", help="compare a scenario's runs side by side (table, ratios, plots)", description=__doc__
    )
    parser.add_argument("scenario", help="scenario YAML file (or the name of a built-in scenario)")
    parser.add_argument("-o", "--out", type=Path, default=None, help="output folder (default: out/<scenario name>)")
    parser.add_argument(
        "--per",
        choices=("run", "token", "frame"),
        default="run",
        help="divide whole-run metrics per output token or per frame (default: run, no division)",
    )
    parser.add_argument("--no-plots", action="store_true", help="write only compare.csv and compare.json")
    parser.add_argument("--svg", action="store_true", help="write the plots as SVG too")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress and no table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load, run, print the comparison, write it."""
    from simulator.commands import plural, print_progress
    from simulator.config import load_scenario
    from simulator.report.compare import rich_tables, write_comparison
    from simulator.runner import RunFailure, run_scenario

    spec = load_scenario(args.scenario)
    out = args.out if args.out is not None else Path("out") / spec.name
    console = Console(stderr=True, quiet=args.quiet)
    failures: list[RunFailure] = []
    result = run_scenario(spec, progress=print_progress(console), failures=failures)
    if result.runs:
        if not args.quiet:
            stdout = Console()
            for table in rich_tables(result, width=stdout.width, per=args.per):
                stdout.print(table)
        formats = () if args.no_plots else (("png", "svg") if args.svg else ("png",))
        written = write_comparison(result, out, per=args.per, formats=formats)
        console.print(f"wrote {plural(len(written), 'file')} to {out}")
    if failures:  # the finished runs are compared and written; each failed pair is named with its fix
        lines = [f"{plural(len(failures), 'run')} of {len(failures) + len(result.runs)} failed:"]
        lines += [f"  - {failure.render()}" for failure in failures]
        print("hetsim: error: " + "\n".join(lines), file=sys.stderr)
        return 2
    return 0
