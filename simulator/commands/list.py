"""``hetsim list``: built-in architectures, runtimes, scenarios, models and workload kinds."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table


def register(subparsers: Any) -> None:
    """Add the ``list`` subcommand."""
    from simulator.commands import COMMANDS, describe

    parser: argparse.ArgumentParser = subparsers.add_parser("list", help=COMMANDS["list"], **describe(__doc__))
    parser.set_defaults(handler=run)


def _table(title: str, rows: list[tuple[str, str]]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2))
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("description")
    for name, description in rows:
        table.add_row(name, description)
    return table


def run(args: argparse.Namespace) -> int:
    """Print the catalogue."""
    from rich.console import Console

    from simulator.config.builtins import architecture_catalogue, model_names, runtime_catalogue, scenario_catalogue
    from workloads.spec import workload_kinds

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
