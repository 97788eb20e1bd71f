"""``hetsim list``: built-in architectures, runtimes, scenarios, models and workload kinds."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from simulator.config.builtins import architecture_catalogue, model_names, runtime_catalogue, scenario_catalogue
from workloads.spec import workload_kinds


def register(subparsers: Any) -> None:
    """Add the ``list`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser("list", help="list built-in names", description=__doc__)
    parser.set_defaults(handler=run)


def _table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2))
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("description")
    for name, description in rows:
        table.add_row(name, description)
    return table


def run(args: argparse.Namespace) -> int:
    """Print the catalogue."""
    console = Console()
    console.print(_table("architectures", architecture_catalogue()))
    console.print(_table("runtimes", runtime_catalogue()))
    scenarios = scenario_catalogue()
    if scenarios:
        console.print(_table("scenarios", scenarios))
    models = model_names()
    if models:
        console.print(f"[bold]models[/bold]: {', '.join(models)}")
    console.print(f"[bold]workload kinds[/bold]: {', '.join(workload_kinds())}")
    return 0
