"""The ``hetsim`` command line: a thin argparse layer over the Python API.

Each subcommand is a module in :mod:`simulator.commands` with ``register(subparsers)`` and
``run(args) -> int``; adding one is a module plus one name in :data:`COMMANDS`. A
:class:`~simulator.errors.UserError` becomes a one-paragraph message on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from simulator.errors import UserError

#: Subcommand modules under ``simulator.commands``, in ``--help`` order.
COMMANDS: tuple[str, ...] = ("run", "validate", "list", "schema", "trace", "compare", "sweep", "fidelity")

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    from simulator.runner import hetsim_version

    parser = argparse.ArgumentParser(
        prog="hetsim",
        description="Simulate AI workloads on heterogeneous hardware: latency, throughput and energy "
        "(data movement vs compute vs static).",
    )
    parser.add_argument("--version", action="version", version=f"hetsim {hetsim_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"simulator.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hetsim`` with ``argv`` (default: the process arguments); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (argparse exits with 2)
        return int(exc.code or 0)
    try:
        return int(args.handler(args))
    except UserError as exc:
        print(f"hetsim: error: {exc.render()}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # unwritable output folder, unreadable file: the user's environment, not a bug
        what = exc.strerror or str(exc)
        if isinstance(exc, FileExistsError | NotADirectoryError):
            what += " (a file is where an output folder should be)"
        print(f"hetsim: error: {exc.filename}: {what}" if exc.filename else f"hetsim: error: {what}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("hetsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
