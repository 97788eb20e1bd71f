"""``python -m benchmarks``: run the benchmark cases, print a table and write ``bench.json``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks.cases import Case, default_cases
from benchmarks.harness import machine_info, print_report, report, run_cases, select


def _with_steps(cases: list[Case], steps: int | None) -> list[Case]:
    if steps is None:
        return cases
    return [
        dataclasses.replace(c, params={**c.params, "size": steps}) if c.name == "micro.decode" else c for c in cases
    ]


def benchmark(
    *,
    small: bool = False,
    names: Sequence[str] | None = None,
    workdir: str | Path | None = None,
    isolate: bool = True,
    steps: int | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run the (selected) cases and return the ``bench.json`` document.

    Trace files go to ``workdir`` (kept) or to a temporary directory (deleted afterwards).
    ``console`` gets one progress line per case.
    """
    cases = select(_with_steps(default_cases(small=small), steps), names)
    machine = machine_info()
    started = time.perf_counter()

    def progress(case: Case, figures: Mapping[str, Any]) -> None:
        if console is not None:
            console.print(f"  {case.name}: {figures['operators']:,} ops in {figures['wall_s']:.2f} s", highlight=False)

    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        results = run_cases(cases, workdir, isolate=isolate, callback=progress)
    else:
        with tempfile.TemporaryDirectory(prefix="hetsim-bench-") as tmp:
            results = run_cases(cases, tmp, isolate=isolate, callback=progress)
    return report(results, cases, small=small, started=started, machine_before=machine)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="hetsim benchmark suite: wall time, simulated operators/s, events/s and peak memory per case.",
    )
    parser.add_argument("-o", "--output", help="write the figures as JSON to this file (e.g. out/bench.json)")
    parser.add_argument("--small", action="store_true", help="tiny sizes (seconds; checks the harness, not speed)")
    parser.add_argument(
        "--case", action="append", dest="cases", metavar="NAME", help="run only this case (repeatable; 'micro.*')"
    )
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--workdir", help="keep the trace files and sweep outputs here (default: a temp dir)")
    parser.add_argument(
        "--no-isolate", action="store_true", help="run cases in this process (peak memory is then not per case)"
    )
    parser.add_argument("--steps", type=int, help="decode steps of micro.decode (14×32+1 operators each)")
    args = parser.parse_args(argv)
    console = Console()
    if not console.is_terminal:  # make, CI logs: do not squeeze the table into 80 columns
        console = Console(width=max(console.width, 150))
    if args.list:
        for case in _with_steps(default_cases(small=args.small), args.steps):
            console.print(f"{case.name:<22} {case.description}", highlight=False)
        return 0
    try:
        doc = benchmark(
            small=args.small,
            names=args.cases,
            workdir=args.workdir,
            isolate=not args.no_isolate,
            steps=args.steps,
            console=console,
        )
    except ValueError as exc:
        parser.error(str(exc))
    print_report(doc, console)
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {out}", highlight=False)
    return 0
