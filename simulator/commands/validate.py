"""``hetsim validate FILE...``: check architecture, scenario or runtime YAML files without running them.

The kind of file is detected from its keys. A scenario is also checked for what would stop
``hetsim run``: every (architecture, workload) pair it runs is probed for operators no compute unit
can run in their dtype and for weights that overflow their memory, by the same rules the run uses.
Exit code 0 when every file is valid, 2 otherwise; every problem of every file is reported, each once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from simulator.commands import plural
from simulator.errors import Problem, UserError

_SCENARIO_KEYS = {"workloads", "architectures"}
_ARCHITECTURE_KEYS = {"compute_units", "memories", "base", "devices"}
_RUNTIME_KEYS = {"per_kernel_overhead", "kernels_per_op", "sync_on"}


def register(subparsers: Any) -> None:
    """Add the ``validate`` subcommand."""
    from simulator.commands import COMMANDS, describe

    parser: argparse.ArgumentParser = subparsers.add_parser("validate", help=COMMANDS["validate"], **describe(__doc__))
    parser.add_argument("files", nargs="+", type=Path, help="YAML files to check")
    parser.set_defaults(handler=run)


def detect(data: Any, path: Path) -> str:
    """``scenario``, ``architecture`` or ``runtime`` from a parsed file's keys."""
    if isinstance(data, dict):
        keys = set(data)
        if keys & _SCENARIO_KEYS:
            return "scenario"
        if keys & _ARCHITECTURE_KEYS:
            return "architecture"
        if keys & _RUNTIME_KEYS or path.parent.name == "runtimes":
            return "runtime"
    if data is None:
        raise UserError([Problem(str(path), (), "the file is empty (or only comments)")])
    raise UserError(
        [
            Problem(
                str(path),
                (),
                "cannot tell what this file is: a scenario has 'architectures' and 'workloads', an architecture "
                "has 'compute_units' and 'memories' (or 'base' or 'devices'), a runtime has 'per_kernel_overhead'",
            )
        ]
    )


def validate_file(path: Path) -> str:
    """Validate one file; returns a one-line summary or raises :class:`UserError`."""
    from simulator.config.loader import load_architecture, load_runtime, read_yaml
    from simulator.config.scenario import scenario_from_dict

    data = read_yaml(path)
    kind = detect(data, path)
    if kind == "scenario":
        from simulator.preflight import scenario_problems

        if isinstance(data, dict) and data.get("sweep"):
            return _validate_sweep(data, path)
        spec = scenario_from_dict(data, file=str(path), base_dir=path.resolve().parent)
        problems = scenario_problems(spec)  # what would stop `hetsim run`: unmappable operators, weights that overflow
        if problems:
            raise UserError(problems)
        shape = f"{plural(len(spec.architectures), 'architecture')} × {plural(len(spec.workloads), 'workload')}"
        return f"scenario {spec.name!r}: {shape}"
    if kind == "architecture":
        arch = load_architecture(str(path.resolve()))
        if arch.devices:
            groups = ", ".join(f"{g.count} x {g.chip.name}" for g in arch.devices)
            return f"architecture {arch.name!r}: {groups}, {plural(len(arch.links), 'system link')}"
        memories = plural(len(arch.memories), "memory", "memories")
        return f"architecture {arch.name!r}: {plural(len(arch.compute_units), 'unit')}, {memories}"
    runtime = load_runtime(str(path.resolve()))
    return f"runtime {runtime.name!r}"


def _validate_sweep(data: dict[str, Any], path: Path) -> str:
    """A scenario with a sweep: every point checked as ``hetsim sweep`` does, each problem once.

    A sweep bigger than ``hetsim sweep`` runs without ``--yes`` gets the quick check (the template
    and each value alone), and the summary says so.
    """
    from simulator.config.loader import sweep_cache
    from simulator.sweep.plan import CONFIRM_ABOVE, SweepPlan, plan_sweep

    with sweep_cache():
        plan = (
            plan_sweep(data, file=str(path), base_dir=path.resolve().parent, confirmed=True, progress=None)
            if (_points(data) <= CONFIRM_ABOVE)
            else None
        )
        if plan is None:
            quick = SweepPlan(data, file=str(path), base_dir=path.resolve().parent)
            problems = quick.check_each_value()
            if problems:
                raise UserError(problems)
            return (
                f"scenario {data.get('name')!r}: sweep of {quick.size:,} points; the template and each of its "
                f"values checked (more than {CONFIRM_ABOVE:,} points: combinations are checked by hetsim sweep)"
            )
    return f"scenario {data.get('name')!r}: sweep of {plan.size:,} points, every point checked"


def _points(data: dict[str, Any]) -> int:
    from simulator.sweep.expand import sweep_problems, sweep_size

    sweep = data.get("sweep")
    return 0 if sweep_problems(sweep) or not isinstance(sweep, dict) else sweep_size(sweep)


def run(args: argparse.Namespace) -> int:
    """Validate every file; report all problems; exit 2 if any file is invalid."""
    failed = 0
    for path in args.files:
        try:
            print(f"ok  {path}  ({validate_file(path)})")
        except UserError as exc:
            failed += 1
            print(f"hetsim: error: {exc.render()}", file=sys.stderr)
    return 2 if failed else 0
