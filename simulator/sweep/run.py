"""Running a sweep: skip the points the store already has, run the rest on an executor, store each at once.

:func:`run_sweep` is generic (any point function, any executor); :func:`sweep_scenario` is what
``hetsim sweep`` does with a scenario file: check the sweep (:mod:`simulator.sweep.plan`: every
problem once, each point cheaply), resolve each point and compute its content key, run the points
the store does not have through :func:`evaluate_task`, and write ``sweep.csv``, ``pareto.json``,
the Pareto plot and any ``--export`` files next to the ``sweep.sqlite`` store.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from simulator.errors import Problem, UserError
from simulator.metrics import registry
from simulator.metrics.result import RunResult
from simulator.sweep.executors import Executor, SerialExecutor
from simulator.sweep.expand import SweepPoint
from simulator.sweep.pareto import pareto_figure, pareto_rows
from simulator.sweep.plan import PointTask, SweepPlan, plan_sweep
from simulator.sweep.store import ResultsStore

#: A point function: a task (the point, or what ``task`` made of it) → a JSON-able result mapping (stored as is).
PointFn = Callable[[Any], Mapping[str, Any]]


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep did: points in the sweep, skipped (already stored) and computed now."""

    total: int
    skipped: int
    computed: int
    store: Path | None = None
    written: tuple[Path, ...] = field(default_factory=tuple)


def _progress(console: Console | None, what: str) -> Progress | None:
    if console is None:
        return None
    return Progress(
        TextColumn(f"[bold]{what}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _second(fn: PointFn, pair: tuple[SweepPoint, Any]) -> Mapping[str, Any]:
    """``fn`` on the task half of a ``(point, task)`` pair (module level: executors pickle it)."""
    return fn(pair[1])


def run_sweep(
    points: Iterable[SweepPoint],
    fn: PointFn,
    store: ResultsStore,
    executor: Executor | None = None,
    *,
    total: int | None = None,
    task: Callable[[SweepPoint], Any] | None = None,
    console: Console | None = None,
) -> SweepOutcome:
    """Run ``fn`` on every point whose :attr:`~SweepPoint.store_key` is not in ``store``, storing each at once.

    ``points`` may be a generator (a million points are never held at once; give ``total`` for the
    progress bar). ``fn`` gets ``task(point)`` (default: the point). Points with the same key (the
    same resolved inputs) are computed once. An exception from ``fn`` propagates after every point
    finished before it was stored; rerunning with the same store computes only the rest.
    ``console`` shows a rich progress bar.
    """
    executor = executor or SerialExecutor()
    done = store.done_keys()
    counts = {"seen": 0, "skipped": 0, "computed": 0}
    progress = _progress(console, "sweep")
    bar = progress.add_task("sweep", total=total) if progress is not None else None

    def todo() -> Iterator[tuple[SweepPoint, Any]]:
        submitted: set[str] = set()
        for point in points:
            counts["seen"] += 1
            key = point.store_key
            if key in done or key in submitted:
                counts["skipped"] += 1
                if progress is not None and bar is not None:
                    progress.advance(bar)
                continue
            submitted.add(key)
            yield point, (task(point) if task is not None else point)

    if progress is not None:
        progress.start()
    try:
        for (point, _), result in executor.map_unordered(functools.partial(_second, fn), todo()):
            store.add(point.store_key, point.id, point.overrides, result)
            counts["computed"] += 1
            if progress is not None and bar is not None:
                progress.advance(bar)
    finally:
        if progress is not None:
            progress.stop()
    return SweepOutcome(total=counts["seen"], skipped=counts["skipped"], computed=counts["computed"], store=store.path)


# --------------------------------------------------------------------------------------------
# Scenario sweeps


def run_metrics(run: RunResult) -> dict[str, Any]:
    """The flat row of one run stored for a sweep point: the registry's identity and metric columns."""
    flat = run.flat_metrics()
    return {key: flat[key] for key in registry.flat_columns()}


def evaluate_task(task: PointTask) -> dict[str, Any]:
    """Run one point's resolved scenario; a :class:`UserError` (e.g. it does not fit in memory) is its error."""
    from simulator.runner import run_scenario

    try:
        result = run_scenario(task.spec)
    except UserError as exc:
        return {"error": exc.render(), "runs": []}
    return {"error": None, "runs": [run_metrics(run) for run in result.runs]}


def sweep_rows(
    points: Iterable[tuple[SweepPoint, Mapping[str, Any] | None]], paths: Sequence[str]
) -> list[dict[str, Any]]:
    """One flat row per (point, run): point id, overrides (one column per path), run metrics, error.

    ``points`` pairs each point with its stored result (``None``: not computed).
    """
    rows = []
    for point, result in points:
        base = {"point_id": point.id, "index": point.index, "label": point.label()}
        base.update({path: point.overrides.get(path) for path in paths})
        if result is None:
            rows.append({**base, "error": "not computed"})
            continue
        runs = result.get("runs") or []
        if not runs:
            rows.append({**base, "error": result.get("error")})
        for run in runs:
            rows.append({**base, **run, "error": result.get("error")})
    return rows


def row_columns(paths: Sequence[str]) -> list[str]:
    """Column order of ``sweep.csv`` and the exports: point, overrides, run, metrics, error."""
    return ["point_id", "index", *paths, *registry.flat_columns(), "error"]


def write_sweep_outputs(
    rows: Sequence[Mapping[str, Any]], paths: Sequence[str], out_dir: Path, exports: Sequence[Path] = ()
) -> list[Path]:
    """Write ``sweep.csv``, ``pareto.json``, ``pareto.png`` and each export (``.csv``, ``.parquet``).

    The folder's own files go through :class:`simulator.outputs.OutputFolder` (atomic, a symlink there is
    replaced, never written through); exports go where the user asked.
    """
    from simulator.outputs import OutputFolder
    from simulator.report.plots import save_figure
    from simulator.sweep.export import csv_text, export_rows

    columns = row_columns(paths)
    fronts = pareto_rows(rows)
    pareto = {
        "objectives": ["latency_s", "energy_total_j"],
        "minimise": True,
        "group_by": "workload",
        "fronts": {name: [dict(r) for r in front] for name, front in fronts.items()},
    }
    with OutputFolder(out_dir) as folder:
        folder.write_text("sweep.csv", csv_text(rows, columns))
        folder.write_text("pareto.json", json.dumps(pareto, indent=2, default=str) + "\n")
    written = [*folder.written, *(export_rows(rows, columns, target) for target in exports)]
    return [*written, *save_figure(pareto_figure(rows), out_dir / "pareto")]


def _check_progress(console: Console | None, total: int) -> tuple[Callable[[int, int], None] | None, Progress | None]:
    """A progress bar for the check of a big sweep (small ones are checked in a blink)."""
    progress = _progress(console, "checking") if total > 2000 else None
    if progress is None:
        return None, None
    bar = progress.add_task("checking", total=total)

    def update(done: int, _total: int) -> None:
        progress.update(bar, completed=done)

    return update, progress


def sweep_scenario(
    scenario: str | Path,
    out_dir: str | Path | None = None,
    *,
    executor: Executor | None = None,
    console: Console | None = None,
    exports: Sequence[str | Path] = (),
    confirmed: bool = False,
) -> tuple[SweepOutcome, list[dict[str, Any]]]:
    """Check, run (resuming) and report the sweep of a scenario file; returns the outcome and rows.

    ``exports`` are extra files for the rows (``.csv`` or ``.parquet``, relative to the output folder
    unless absolute); ``confirmed`` runs a sweep bigger than :data:`~simulator.sweep.plan.CONFIRM_ABOVE`.
    """
    from simulator.config.loader import builtin_scenarios, find_scenario, read_yaml, suggest, sweep_cache
    from simulator.sweep.export import check_export

    found = find_scenario(scenario)
    if not found.exists():
        hint = suggest(found.stem, builtin_scenarios())
        raise UserError([Problem(str(found), (), f"scenario not found: no such file nor built-in scenario{hint}")])
    raw = read_yaml(found, what="scenario file")
    file = str(found)
    targets = [check_export(Path(e)) for e in exports]
    with sweep_cache():
        update, checking = _check_progress(console, _size_or_zero(raw))
        if checking is not None:
            checking.start()
        try:
            plan = plan_sweep(raw, file=file, base_dir=found.resolve().parent, confirmed=confirmed, progress=update)
        finally:
            if checking is not None:
                checking.stop()
        name = str(raw.get("name"))
        out = Path(out_dir) if out_dir is not None else Path("out") / f"{name}-sweep"
        targets = [t if t.is_absolute() else out / t for t in targets]
        with ResultsStore(out / "sweep.sqlite") as store:
            keyed: list[SweepPoint] = []

            def points() -> Iterator[SweepPoint]:
                for point, _ in _points_with_specs(plan, specs):
                    keyed.append(point)
                    yield point

            specs: dict[str, Any] = {}
            outcome = run_sweep(
                points(),
                evaluate_task,
                store,
                executor,
                total=plan.size,
                task=lambda point: PointTask(point, specs.pop(point.store_key)),
                console=console,
            )
            stored = store.results(p.store_key for p in keyed)
    rows = sweep_rows(((p, (stored.get(p.store_key) or {}).get("result")) for p in keyed), plan.paths)
    written = write_sweep_outputs(rows, plan.paths, out, targets)
    return (
        SweepOutcome(outcome.total, outcome.skipped, outcome.computed, outcome.store, tuple(written)),
        rows,
    )


def _points_with_specs(plan: SweepPlan, specs: dict[str, Any]) -> Iterator[tuple[SweepPoint, Any]]:
    """The plan's points; the latest one's resolved scenario (without its YAML form) waits in ``specs``.

    :func:`run_sweep` asks for a point's task right after the point, so one slot is enough (a
    million skipped points keep nothing).
    """
    for point, spec in plan.points():
        specs.clear()
        specs[point.store_key] = spec.model_copy(update={"resolved": {}})
        yield point, spec


def _size_or_zero(raw: Any) -> int:
    """The number of points a raw scenario's sweep has, 0 when it cannot tell (the check says why)."""
    from simulator.sweep.expand import sweep_problems, sweep_size

    sweep = raw.get("sweep") if isinstance(raw, dict) else None
    if not sweep or sweep_problems(sweep):
        return 0
    return sweep_size(sweep)
