"""One module per ``hetsim`` subcommand, each with ``register(subparsers)`` and ``run(args) -> int``."""

from __future__ import annotations

from rich.console import Console

from simulator.runner import Progress


def print_progress(console: Console) -> Progress:
    """A :data:`~simulator.runner.Progress` callback printing ``[3/8] architecture · workload`` per run."""

    def progress(done: int, total: int, label: str) -> None:
        if done < total:
            console.print(f"[dim][{done + 1}/{total}][/dim] {label}")

    return progress
