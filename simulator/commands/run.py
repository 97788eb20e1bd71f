"""``hetsim run SCENARIO [-o DIR] [--outputs LIST | --report] [-q] [--exact]``: run a scenario, write results.

``--outputs report,timeline`` replaces the scenario's ``outputs`` (comma-separated: table, json,
csv, plots, svg, timeline, report) without editing its YAML; ``--report`` adds ``report`` (plots,
a Perfetto timeline and report.html) to the scenario's own outputs. ``--exact`` simulates every
decode step in full instead of advancing repeated steps in closed form (same results, slower).

A pair (architecture, workload) that cannot run (an operator no unit can run in its dtype, a model
that does not fit) does not stop the others: the finished runs are written, each failed pair is
reported with how to fix it (``only_on``, ``mapping``, ``dtype``, ``weight_dtype``), and the exit
code is 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``run`` subcommand."""
    from simulator.commands import COMMANDS, describe

    parser: argparse.ArgumentParser = subparsers.add_parser("run", help=COMMANDS["run"], **describe(__doc__))
    parser.add_argument("scenario", help="scenario YAML file (or the name of a built-in scenario)")
    parser.add_argument("-o", "--out", type=Path, default=None, help="output folder (default: out/<scenario name>)")
    parser.add_argument(
        "--outputs",
        type=_outputs,
        default=None,
        metavar="LIST",
        help="comma-separated outputs instead of the scenario's (table, json, csv, plots, svg, timeline, report)",
    )
    parser.add_argument("--report", action="store_true", help="also write report.html, plots and timeline.json")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress and no table")
    parser.add_argument(
        "--exact",
        action="store_true",
        help="simulate every decode step in full (turn off the step fast path; same results, slower)",
    )
    parser.set_defaults(handler=run)


def _outputs(text: str) -> tuple[str, ...]:
    """``report,timeline`` -> ``("report", "timeline")``; an unknown name is a usage error naming the valid ones."""
    from simulator.config.scenario import OUTPUTS

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if n not in OUTPUTS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown output(s) {', '.join(map(repr, bad)) or '(none given)'}; choose from {', '.join(OUTPUTS)}"
        )
    return names


def run(args: argparse.Namespace) -> int:
    """Load, run, print, write; report failed pairs last."""
    from rich.console import Console

    from simulator.commands import plural, print_progress, run_progress_bar
    from simulator.config.scenario import load_scenario
    from simulator.report.tables import summary_table
    from simulator.runner import RunFailure, run_scenario, with_outputs, write_results

    spec = load_scenario(args.scenario)
    if args.outputs is not None or args.report:
        outputs = args.outputs if args.outputs is not None else spec.outputs
        spec = with_outputs(spec, (*outputs, "report") if args.report else outputs)
    out = args.out if args.out is not None else Path("out") / spec.name
    console = Console(stderr=True, quiet=args.quiet)
    failures: list[RunFailure] = []
    result = run_scenario(
        spec,
        progress=print_progress(console),
        run_progress=run_progress_bar(console),
        failures=failures,
        exact=args.exact,
    )
    if result.runs:
        if "table" in spec.outputs and not args.quiet:
            out_console = Console()
            if not out_console.is_terminal:  # files and pipes: wide enough that no cell wraps
                out_console = Console(width=160)
            out_console.print(summary_table(result))
        written = write_results(result, out, outputs=spec.outputs)
        console.print(f"wrote {plural(len(written), 'file')} to {out}")
    if failures:
        lines = [f"{plural(len(failures), 'run')} of {len(failures) + len(result.runs)} failed:"]
        lines += [f"  - {failure.render()}" for failure in failures]
        print("hetsim: error: " + "\n".join(lines), file=sys.stderr)
        return 2
    return 0
