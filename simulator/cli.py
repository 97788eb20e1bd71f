"""The ``hetsim`` command line: a thin argparse layer over the Python API.

Each subcommand is a module in :mod:`simulator.commands` with ``register(subparsers)`` and
``run(args) -> int``; adding one is a module plus one line in :data:`simulator.commands.COMMANDS`. A
:class:`~simulator.errors.UserError` becomes a one-paragraph message on stderr and exit code 2.

Start-up is kept in proportion to the command: only the chosen command's module is imported (the
others are listed from ``COMMANDS``), and command modules import their heavy dependencies
(pydantic models, the engine, plotting) inside ``run``. ``hetsim --help`` imports none of them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from simulator.commands import COMMANDS, plain_text

EXIT_USER_ERROR = 2


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (the first argument that is not an option)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser: the command named in ``argv`` fully registered, the others as listed entries.

    ``argv=None`` registers every command fully (tests, documentation).
    """
    from simulator.version import __version__

    parser = argparse.ArgumentParser(
        prog="hetsim",
        description="Simulate AI workloads on heterogeneous hardware: latency, throughput and energy "
        "(data movement vs compute vs static).",
    )
    parser.add_argument("--version", action="version", version=f"hetsim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = _command_of(argv) if argv is not None else None
    for name, help_text in COMMANDS.items():
        if argv is None or name == chosen:
            importlib.import_module(f"simulator.commands.{name}").register(subparsers)
            sub = subparsers.choices[name]  # every command's help as plain text, whoever registered it
            sub.description = plain_text(sub.description)
            sub.formatter_class = argparse.RawDescriptionHelpFormatter
        else:
            subparsers.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hetsim`` with ``argv`` (default: the process arguments); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (argparse exits with 2)
        return int(exc.code or 0)
    from simulator.errors import UserError

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
