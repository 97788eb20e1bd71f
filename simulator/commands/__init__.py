"""One module per ``hetsim`` subcommand, each with ``register(subparsers)`` and ``run(args) -> int``.

Command modules import only ``argparse`` at module level (and what ``register`` needs); everything
heavy (pydantic models, the engine, plotting) is imported inside ``run``, so ``hetsim --help`` and a
command's ``--help`` start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from simulator.engine.host import EngineProgress, RunProgress
    from simulator.runner import Progress


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 operator``, ``2 operators``, ``0 architectures`` (``words``: an irregular plural)."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def print_progress(console: Console) -> Progress:
    """A :data:`~simulator.runner.Progress` callback printing ``[3/8] architecture · workload`` per run."""

    def progress(done: int, total: int, label: str) -> None:
        if done < total:
            console.print(f"[dim][{done + 1}/{total}][/dim] {label}")

    return progress


def run_progress_bar(console: Console, width: int = 24) -> EngineProgress | None:
    """A one-line progress bar for one long run (tokens of a token-generating workload, else operators).

    Only on a terminal (``None`` otherwise, so that files and pipes get no control characters); the
    line is cleared when the run ends.
    """
    if console.quiet or not console.is_terminal:
        return None
    out = console.file

    def show(p: RunProgress) -> None:
        if p.done:
            out.write("\r\033[K")
        else:
            text = f"{p.operators:,} operators, {p.simulated_s:.4g} s simulated"
            if p.tokens_total:
                frac = min(1.0, p.tokens / p.tokens_total)
                filled = round(frac * width)
                bar = "█" * filled + "·" * (width - filled)
                text = f"{bar} {p.tokens:,.0f}/{p.tokens_total:,.0f} tokens · {text}"
            out.write("\r\033[K  " + text)
        out.flush()

    return show
