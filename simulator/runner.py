"""Scenario → runs → results on disk. The only module of the simulator that writes files.

:func:`run_scenario` runs every architecture × workload pair in a fixed order (architectures
outer, workloads inner, both in file order) through :func:`simulator.engine.simulate`;
:func:`write_results` writes ``results.json``, ``results.csv`` and ``scenario.resolved.yaml`` (plus
plots and a timeline when the scenario's ``outputs`` ask for them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from simulator.config.scenario import ScenarioSpec
from simulator.errors import Problem, UserError
from simulator.metrics.hardware import runtime_facts
from simulator.metrics.result import RunResult, ScenarioResult
from simulator.metrics.window import DEFAULT_LIMIT
from simulator.outputs import OutputFolder
from simulator.report.writers import results_csv, results_json
from simulator.version import __version__
from workloads.base import WorkloadInputError
from workloads.io import TraceFormatError
from workloads.serving import ServingSpec
from workloads.spec import build_trace

if TYPE_CHECKING:
    from simulator.engine.host import EngineProgress

#: ``progress(done, total, label)`` is called before each run (done = runs finished so far) and once at the end.
Progress = Callable[[int, int, str], None]


def hetsim_version() -> str:
    """The hetsim version (:mod:`simulator.version`)."""
    return __version__


@dataclass(frozen=True)
class RunFailure:
    """One (architecture, workload) pair that could not run: what went wrong, and how to fix it."""

    architecture: str
    workload: str
    error: UserError
    fix: str

    def render(self) -> str:
        """``architecture · workload: problem(s)`` and the fix, for the terminal."""
        return f"{self.architecture} · {self.workload}: {self.error.render()}\n  fix: {self.fix}"


def timeline_settings(spec: ScenarioSpec) -> tuple[int, str | tuple[int, ...]]:
    """(operators kept per kept step, window) for a scenario's runs: none unless a timeline or report is asked for.

    When one is, and the scenario sets no ``timeline_limit``, :data:`~simulator.metrics.window.DEFAULT_LIMIT`.
    """
    if "timeline" not in spec.outputs and "report" not in spec.outputs:
        return 0, "first"
    limit = spec.timeline_limit if spec.timeline_limit is not None else DEFAULT_LIMIT
    return limit, spec.timeline_window


def with_outputs(spec: ScenarioSpec, outputs: Sequence[str]) -> ScenarioSpec:
    """``spec`` asking for ``outputs`` instead of its own (``hetsim run --outputs``), the resolved record too."""
    chosen = tuple(dict.fromkeys(outputs))
    return spec.model_copy(update={"outputs": chosen, "resolved": {**spec.resolved, "outputs": list(chosen)}})


def run_scenario(
    spec: ScenarioSpec,
    *,
    progress: Progress | None = None,
    run_progress: EngineProgress | None = None,
    failures: list[RunFailure] | None = None,
    exact: bool = False,
) -> ScenarioResult:
    """Run every architecture × workload of ``spec`` and collect the results in order.

    ``progress`` hears of each run as it begins; ``run_progress`` of the progress inside each run
    (:func:`simulator.engine.simulate`'s ``progress``). A pair that fails with a user error (an
    operator no unit can run, a capacity overflow, a bad trace line) raises it, unless ``failures``
    is given: then the failure (with how to fix it) is appended there and the other pairs still
    run, so finished runs are never thrown away. ``exact`` turns the step fast path off.
    """
    from simulator.engine import simulate
    from simulator.preflight import fix_for
    from simulator.preflight import pairs as scenario_pairs
    from simulator.serving import simulate_serving

    pairs = list(scenario_pairs(spec))
    timeline_limit, timeline_window = timeline_settings(spec)
    runs: list[RunResult] = []
    for done, (arch, index, workload) in enumerate(pairs):
        if progress is not None:
            progress(done, len(pairs), f"{arch.name} · {workload.label}")
        try:
            if isinstance(workload, ServingSpec):  # a stream of requests: the serving scheduler drives the engine
                run = simulate_serving(
                    arch, workload, spec.runtime, mapping=spec.mapping or None, workload=workload.label
                )
            else:
                run = simulate(
                    arch,
                    build_trace(workload),
                    spec.runtime,
                    mapping=spec.mapping or None,
                    workload=workload.label,
                    timeline_limit=timeline_limit,
                    progress=run_progress,
                    timeline_window=timeline_window,
                    exact=exact,
                )
        except UserError as exc:  # e.g. CapacityError: say which pair of the scenario it is
            where = ("workloads", index)
            error = type(exc)(
                [Problem(p.file or spec.file, p.path or where, f"on {arch.name}: {p.message}") for p in exc.problems]
            )
        except TraceFormatError as exc:  # a bad trace file is the user's input, not a bug
            at: tuple[str, ...] = (f"line {exc.line}",) if exc.line > 0 else ()  # line 0: the file as a whole
            error = UserError([Problem(exc.path, at, exc.message)])
        except WorkloadInputError as exc:  # e.g. an ONNX graph this importer cannot read
            error = UserError([Problem(spec.file, ("workloads", index), str(exc))])
        else:
            runs.append(run)
            continue
        if failures is None:
            raise error from None
        failures.append(RunFailure(arch.name, workload.label, error, fix_for(error, arch, workload, spec.mapping)))
    if progress is not None:
        progress(len(pairs), len(pairs), "done")
    return ScenarioResult(
        scenario=spec.name,
        runs=tuple(runs),
        resolved=spec.resolved,
        hetsim_version=hetsim_version(),
        description=spec.description,
        runtime=runtime_facts(spec.runtime),
    )


def resolved_yaml(result: ScenarioResult) -> str:
    """The resolved scenario as YAML (loads again with ``hetsim run``)."""
    header = "# Resolved scenario: every default filled in, every architecture expanded. Written by hetsim.\n"
    return header + yaml.safe_dump(dict(result.resolved), sort_keys=False, allow_unicode=True)


def write_results(
    result: ScenarioResult, out_dir: str | Path, *, outputs: Sequence[str] = ("json", "csv")
) -> list[Path]:
    """Write the result files into ``out_dir`` (created if needed); returns the paths written.

    ``results.json`` and ``results.csv`` when ``json``/``csv`` are in ``outputs``; always
    ``scenario.resolved.yaml``; ``plots`` → PNG figures (``svg`` → SVG as well); ``timeline``/``report``
    → ``timeline.json`` (Perfetto); ``report`` → also the plots and ``report.html``. Figures are built
    and rendered once, for the plot files and the report. Every file is written atomically and never
    through a symlink, and files an earlier run wrote into the folder but this one did not are removed
    (:class:`simulator.outputs.OutputFolder`: only files hetsim wrote, listed in its manifest).
    """
    with OutputFolder(out_dir, producer="run", scenario=result.scenario) as folder:
        if "json" in outputs:
            folder.write_text("results.json", results_json(result))
        if "csv" in outputs:
            folder.write_text("results.csv", results_csv(result))
        folder.write_text("scenario.resolved.yaml", resolved_yaml(result))
        pngs: dict[str, bytes] = {}
        if "plots" in outputs or "report" in outputs or "svg" in outputs:
            from simulator.report.plots import figure_bytes, standard_figures
            from simulator.serving.plots import serving_figures  # serving runs: the knee and the batch timelines

            for stem, fig in {**standard_figures(result), **serving_figures(result)}.items():
                pngs[stem] = figure_bytes(fig, "png")
                folder.write_bytes(f"{stem}.png", pngs[stem])
                if "svg" in outputs:
                    folder.write_bytes(f"{stem}.svg", figure_bytes(fig, "svg"))
        if "timeline" in outputs or "report" in outputs:
            from simulator.report.timeline import timeline_json

            folder.write_text("timeline.json", timeline_json(result))
        if "report" in outputs:
            from simulator.report.html import render_html

            folder.write_text("report.html", render_html(result, figures=pngs))
    return folder.written
