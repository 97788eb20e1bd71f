"""Running a sweep: skip the points the store already has, run the rest on an executor, store each at once.

:func:`run_sweep` is generic (any point function, any executor); :func:`sweep_scenario` is what
``hetsim sweep`` does with a scenario file: expand its ``sweep:``, validate every point up front
(a typo in a path fails in a second, not after an hour), run the missing points through
:func:`evaluate_point`, and write ``sweep.csv``, ``pareto.json`` and the Pareto plot next to the
``sweep.sqlite`` store.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from simulator.errors import Problem, UserError
from simulator.metrics.result import RunResult
from simulator.sweep.executors import Executor, SerialExecutor
from simulator.sweep.expand import SweepPoint, apply_overrides, expand_sweep
from simulator.sweep.pareto import pareto_figure, pareto_rows
from simulator.sweep.store import ResultsStore

if TYPE_CHECKING:
    from simulator.config.scenario import ScenarioSpec

#: A point function: the point → a JSON-able result mapping (stored as is).
PointFn = Callable[[SweepPoint], Mapping[str, Any]]

#: Metrics stored per run of a point, in column order.
RUN_METRICS = (
    "latency_s",
    "ttft_s",
    "tpot_s",
    "tokens_per_s",
    "fps",
    "energy_total_j",
    "energy_compute_j",
    "energy_data_movement_j",
    "energy_static_j",
    "roofline_latency_s",
    "flops",
    "operators",
    "wall_s",
)


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep did: points in the sweep, skipped (already stored) and computed now."""

    total: int
    skipped: int
    computed: int
    store: Path | None = None
    written: tuple[Path, ...] = field(default_factory=tuple)


def run_sweep(
    points: Sequence[SweepPoint],
    fn: PointFn,
    store: ResultsStore,
    executor: Executor | None = None,
    *,
    console: Console | None = None,
) -> SweepOutcome:
    """Run ``fn`` on every point not yet in ``store``, storing each result as soon as it is handed back.

    An exception from ``fn`` propagates after every point finished before it was stored; rerunning
    with the same store computes only the rest. ``console`` shows a rich progress bar.
    """
    executor = executor or SerialExecutor()
    done = store.done_ids()
    todo = [p for p in points if p.id not in done]
    computed = 0
    progress = (
        Progress(
            TextColumn("[bold]sweep[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        if console is not None
        else None
    )
    task = None
    if progress is not None:
        progress.start()
        task = progress.add_task("sweep", total=len(points), completed=len(points) - len(todo))
    try:
        for point, result in executor.map_unordered(fn, todo):
            store.add(point.id, point.index, point.overrides, result)
            computed += 1
            if progress is not None and task is not None:
                progress.advance(task)
    finally:
        if progress is not None:
            progress.stop()
    return SweepOutcome(total=len(points), skipped=len(points) - len(todo), computed=computed, store=store.path)


# --------------------------------------------------------------------------------------------
# Scenario sweeps


@dataclass(frozen=True)
class PointContext:
    """What a worker needs to rebuild a point's scenario: the raw base mapping and where it came from."""

    raw: Mapping[str, Any]
    file: str | None
    base_dir: str


def run_metrics(run: RunResult) -> dict[str, Any]:
    """The flat metrics of one run stored for a sweep point."""
    flat = run.flat_metrics()
    return {key: flat[key] for key in ("architecture", "workload", "kind", *RUN_METRICS)}


def point_scenario(context: PointContext, point: SweepPoint) -> ScenarioSpec:
    """The validated :class:`ScenarioSpec` of one point (no timeline, plots or report: sweeps keep metrics)."""
    from simulator.config import scenario_from_dict

    data = apply_overrides(context.raw, point.overrides, file=context.file, base_dir=Path(context.base_dir))
    outputs = data.get("outputs")
    if isinstance(outputs, list):
        data["outputs"] = [o for o in outputs if o not in ("timeline", "report", "plots")] or ["json"]
    return scenario_from_dict(data, file=context.file, base_dir=Path(context.base_dir))


def evaluate_point(point: SweepPoint, *, context: PointContext) -> dict[str, Any]:
    """Run one point's scenario; a :class:`UserError` (e.g. it does not fit in memory) is stored as its error."""
    from simulator.runner import run_scenario

    try:
        result = run_scenario(point_scenario(context, point))
    except UserError as exc:
        return {"error": exc.render(), "runs": []}
    return {"error": None, "runs": [run_metrics(run) for run in result.runs]}


def sweep_rows(records: Sequence[Mapping[str, Any]], paths: Sequence[str]) -> list[dict[str, Any]]:
    """One flat row per (point, run): point id, overrides (one column per path), run metrics, error."""
    rows = []
    for record in records:
        stored = record["overrides"]
        overrides = {path: stored[path] for path in paths if path in stored}
        overrides.update({k: v for k, v in stored.items() if k not in overrides})
        point = SweepPoint(index=record["index"], id=record["point_id"], overrides=overrides)
        base = {"point_id": record["point_id"], "index": record["index"], "label": point.label()}
        base.update({path: overrides.get(path) for path in paths})
        result = record["result"]
        runs = result.get("runs") or []
        if not runs:
            rows.append({**base, "error": result.get("error")})
        for run in runs:
            rows.append({**base, **run, "error": result.get("error")})
    return rows


def write_sweep_outputs(rows: Sequence[Mapping[str, Any]], paths: Sequence[str], out_dir: Path) -> list[Path]:
    """Write ``sweep.csv``, ``pareto.json`` and ``pareto.png``/``.svg`` from the flat rows."""
    from simulator.report.plots import save_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    columns = ["point_id", "index", *paths, "architecture", "workload", "kind", *RUN_METRICS, "error"]
    csv_path = out_dir / "sweep.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    fronts = pareto_rows(rows)
    pareto_path = out_dir / "pareto.json"
    pareto_path.write_text(
        json.dumps(
            {
                "objectives": ["latency_s", "energy_total_j"],
                "minimise": True,
                "group_by": "workload",
                "fronts": {name: [dict(r) for r in front] for name, front in fronts.items()},
            },
            indent=2,
            default=str,
        )
        + "\n",
        encoding="utf-8",
    )
    return [csv_path, pareto_path, *save_figure(pareto_figure(rows), out_dir / "pareto")]


def fingerprint(raw: Mapping[str, Any]) -> str:
    """Hash of the base scenario without its sweep: a store is reused only for the same base."""
    base = {k: v for k, v in raw.items() if k != "sweep"}
    return hashlib.sha256(json.dumps(base, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def sweep_scenario(
    scenario: str | Path,
    out_dir: str | Path | None = None,
    *,
    executor: Executor | None = None,
    console: Console | None = None,
) -> tuple[SweepOutcome, list[dict[str, Any]]]:
    """Expand, validate, run (resuming) and report the sweep of a scenario file; returns the outcome and rows."""
    from simulator.config import scenario_from_dict
    from simulator.config.loader import find_scenario, read_yaml

    found = find_scenario(scenario)
    raw = read_yaml(found, what="scenario file")
    file = str(found)
    base_dir = str(found.resolve().parent)
    spec = scenario_from_dict(raw, file=file, base_dir=Path(base_dir))
    if not spec.sweep:
        raise UserError([Problem(file, ("sweep",), "this scenario has no sweep: add 'sweep: {dotted.path: [values]}'")])
    sweep = raw["sweep"]
    points = expand_sweep(sweep)
    context = PointContext(raw=raw, file=file, base_dir=base_dir)
    out = Path(out_dir) if out_dir is not None else Path("out") / f"{spec.name}-sweep"
    with ResultsStore(out / "sweep.sqlite", fingerprint=fingerprint(raw)) as store:
        done = store.done_ids()
        problems: list[Problem] = []
        for point in points:
            if point.id in done:
                continue
            try:
                point_scenario(context, point)
            except UserError as exc:
                # a bad sweep path is wrong at every point: say it once; other problems name their point
                problems += [
                    p
                    if p.path[:1] == ("sweep",)
                    else Problem(p.file, p.path, f"{p.message} (sweep point {point.index}: {point.label()})")
                    for p in exc.problems
                ]
        if problems:
            raise UserError(list(dict.fromkeys(problems)))
        outcome = run_sweep(
            points, functools.partial(evaluate_point, context=context), store, executor, console=console
        )
        # Indices as in this expansion: a point stored by an earlier, different sweep (values added
        # since) keeps its id but not necessarily its position.
        position = {p.id: p.index for p in points}
        records = sorted(
            ({**r, "index": position[r["point_id"]]} for r in store.records() if r["point_id"] in position),
            key=lambda r: r["index"],
        )
    rows = sweep_rows(records, list(sweep))
    written = write_sweep_outputs(rows, list(sweep), out)
    return (
        SweepOutcome(outcome.total, outcome.skipped, outcome.computed, outcome.store, tuple(written)),
        rows,
    )
