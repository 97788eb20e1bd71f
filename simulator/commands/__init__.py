"""One module per ``hetsim`` subcommand, each with ``register(subparsers)`` and ``run(args) -> int``.

Command modules import only ``argparse`` at module level (and what ``register`` needs); everything
heavy (pydantic models, the engine, plotting) is imported inside ``run``, so ``hetsim --help`` and a
command's ``--help`` start fast.
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from simulator.engine.host import EngineProgress, RunProgress
    from simulator.runner import Progress


#: Subcommand → one-line help, in ``--help`` order (each module's ``register`` uses the same line).
COMMANDS: dict[str, str] = {
    "run": "run a scenario and write its results",
    "validate": "check YAML files (architecture, scenario, runtime)",
    "list": "list built-in names",
    "schema": "write JSON Schema for the YAML files",
    "trace": "write a workload's operator trace to a file",
    "compare": "compare a scenario's runs side by side (table, ratios, plots)",
    "sweep": "run a scenario's sweep (resumable), with a Pareto front",
    "fidelity": "compare predictions with published hardware measurements",
}

_ROLE = re.compile(r":[a-z]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")  # :class:`~simulator.errors.UserError` -> UserError


def plain_text(doc: str | None) -> str:
    """A module docstring as terminal text: reST roles and ``literal`` markup removed, paragraphs kept."""
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1] if m.group(0).count("~") else m.group(1), doc or "")
    return text.replace("``", "").strip()


def describe(doc: str | None) -> dict[str, Any]:
    """``add_parser`` keyword arguments showing ``doc`` as plain text with its paragraphs and lists."""
    return {"description": plain_text(doc), "formatter_class": argparse.RawDescriptionHelpFormatter}


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
