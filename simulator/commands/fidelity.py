"""``hetsim fidelity [-o DIR]``: predict every published measurement and report the error of each case.

Cases are the development measurements shipped in ``simulator/fidelity/data`` (sources included);
prints one table per category (case, measured, predicted, error) with its median and worst
absolute error against the goal bounds (median ≤ 10 % per category of ≥ 3 cases, every case
outside a documented exemption ≤ 35 %), lists the cases not predicted yet with the reason, and
writes ``fidelity.json`` and a predicted-vs-measured scatter plot.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``fidelity`` subcommand."""
    from simulator.commands import COMMANDS, describe

    parser: argparse.ArgumentParser = subparsers.add_parser("fidelity", help=COMMANDS["fidelity"], **describe(__doc__))
    parser.add_argument("-o", "--out", type=Path, default=Path("out/fidelity"), help="output folder")
    parser.add_argument("--case", action="append", default=[], help="run only cases whose id contains this text")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress and no table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the cases, print the table, write the files."""
    from rich.console import Console

    from simulator.errors import UserError
    from simulator.fidelity import load_cases, run_fidelity
    from simulator.fidelity.report import fidelity_tables, write_fidelity

    every = load_cases()
    cases = [c for c in every if not args.case or any(text in c.id for text in args.case)]
    if not cases:
        wanted = " or ".join(map(repr, args.case))
        raise UserError(f"--case: no case id contains {wanted}; case ids: {', '.join(c.id for c in every)}")
    console = Console(stderr=True, quiet=args.quiet)
    report = run_fidelity(cases, progress=lambda case: console.print(f"[dim]{case.id}[/dim]"))
    if not args.quiet:
        out = Console(width=160)
        for table in fidelity_tables(report):
            out.print(table)
    written = write_fidelity(report, args.out)
    console.print(f"wrote {', '.join(str(p) for p in written)}")
    return 0
