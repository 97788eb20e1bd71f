"""``hetsim trace WORKLOAD_SPEC -o FILE``: generate a workload's operator trace and write it to a file.

WORKLOAD_SPEC is a YAML file holding one workload mapping, or the mapping inline, e.g.
``'{kind: gemm, M: 64, N: 4096, K: 4096}'``. The file is JSON Lines (gzip when it ends in ``.gz``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from simulator.errors import Problem, UserError


def register(subparsers: Any) -> None:
    """Add the ``trace`` subcommand."""
    from simulator.commands import COMMANDS, describe

    parser: argparse.ArgumentParser = subparsers.add_parser("trace", help=COMMANDS["trace"], **describe(__doc__))
    parser.add_argument("workload", help="YAML file with one workload mapping, or inline YAML")
    parser.add_argument("-o", "--out", type=Path, required=True, help="trace file (.jsonl or .jsonl.gz)")
    parser.set_defaults(handler=run)


def load_workload(text: str) -> Any:
    """A validated workload spec from a file path or inline YAML."""
    from simulator.config.loader import YAML_SUFFIXES, parse_yaml, read_yaml
    from simulator.config.scenario import workload_from_dict

    path = Path(text)
    if path.suffix in YAML_SUFFIXES or path.is_file():
        data, file, base_dir = read_yaml(path, what="workload file"), str(path), path.resolve().parent
    else:
        data, file, base_dir = parse_yaml(text, file="<command line>"), "<command line>", Path.cwd()
    if not isinstance(data, dict):
        raise UserError(
            [Problem(file, (), "expected one workload mapping, e.g. '{kind: gemm, M: 64, N: 4096, K: 4096}'")]
        )
    return workload_from_dict(data, file=file, base_dir=base_dir)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except (OSError, ValueError):
        return False


def run(args: argparse.Namespace) -> int:
    """Generate and write the trace (to a temporary file renamed into place: the input is never emptied)."""
    from simulator.commands import plural
    from workloads.io import write_trace
    from workloads.spec import build_trace

    spec = load_workload(args.workload)
    if getattr(spec, "kind", None) == "serving":
        where = args.workload if Path(args.workload).is_file() else "<command line>"
        raise UserError(
            [
                Problem(
                    where,
                    ("kind",),
                    (
                        "a 'serving' workload is a stream of requests, not one operator trace: "
                        "`hetsim run` a scenario with it; kinds baseline, medusa and snapkv "
                        "write the trace of one batch"
                    ),
                )
            ]
        )
    source = getattr(spec, "path", None)
    if isinstance(source, str) and _same_file(Path(source), args.out):
        raise UserError(
            [Problem(str(args.out), (), "refusing to overwrite the workload's own input file; give another -o")]
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    count = write_trace(build_trace(spec), args.out)
    print(f"wrote {plural(count, 'operator')} to {args.out}")
    return 0
