"""Checking a sweep before it runs: every problem once, all at once, and each point cheaply.

:func:`plan_sweep` checks a scenario's ``sweep:`` section (shape, size), then resolves every point
inside :func:`~simulator.config.loader.sweep_cache`, where each file is parsed once and each
distinct architecture, runtime and workload section is validated once: a point costs a lookup per
section plus the cross-checks of :func:`~simulator.config.scenario.scenario_from_dict`, so a
million points take minutes, not hours (with a progress bar).

A problem found at many points is reported once (:class:`ProblemTally`): plainly when every point
has it, "with sweep <path> = <value>" when exactly the points with that value have it, else with
how many points have it and the first of them. A bad sweep path does not stop the check of the
rest of the point, so one typo cannot hide another.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.errors import Problem, UserError
from simulator.sweep.expand import SweepPoint, iter_points, overrides_applied, sweep_problems, sweep_size
from simulator.sweep.keys import ReferencedFiles, scenario_key

if TYPE_CHECKING:
    from simulator.config.scenario import ScenarioSpec

#: Sweeps with more points than this run only when asked (``hetsim sweep --yes``): a million points
#: take minutes to check and hours to run, and a sweep that big is more often a typo than a plan.
CONFIRM_ABOVE = 10_000

#: ``progress(done, total)`` while points are checked.
CheckProgress = Callable[[int, int], None]


def _value_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


@dataclass
class _Seen:
    count: int
    first: SweepPoint
    common: dict[str, str]


@dataclass
class ProblemTally:
    """Problems found at sweep points, each kept once with the points that have it."""

    sweep: Mapping[str, Any]
    total: int
    seen: dict[Problem, _Seen] = field(default_factory=dict)

    def add(self, point: SweepPoint, problems: list[Problem]) -> None:
        """Record ``point``'s problems."""
        for problem in dict.fromkeys(problems):
            entry = self.seen.get(problem)
            if entry is None:
                common = {path: _value_text(value) for path, value in point.overrides.items()}
                self.seen[problem] = _Seen(1, point, common)
                continue
            entry.count += 1
            if entry.common:
                entry.common = {
                    path: text for path, text in entry.common.items() if _value_text(point.overrides[path]) == text
                }

    def problems(self) -> list[Problem]:
        """Each problem once, saying which points have it (see the module docstring)."""
        out = []
        for problem, entry in self.seen.items():
            if entry.count == self.total or problem.path[:1] == ("sweep",):
                out.append(problem)
                continue
            with_values = self.total // math.prod(len(self.sweep[path]) for path in entry.common)
            if entry.common and entry.count == with_values:
                values = ", ".join(f"{path} = {entry.first.overrides[path]!r}" for path in entry.common)
                where = f"with sweep {values}" + (f" ({entry.count} points)" if entry.count > 1 else "")
            else:
                where = (
                    f"at {entry.count} of {self.total} sweep points, first point {entry.first.index}: "
                    f"{entry.first.label()}"
                )
            out.append(Problem(problem.file, problem.path, f"{problem.message} ({where})"))
        return out


@dataclass(frozen=True)
class PointTask:
    """What a worker needs to run one point: the point (for the store) and its resolved scenario."""

    point: SweepPoint
    spec: ScenarioSpec


class SweepPlan:
    """A checked sweep: its points, each one's resolved scenario and content key, generated one at a time.

    Use inside :func:`~simulator.config.loader.sweep_cache` (that is what makes a point cheap).
    """

    def __init__(self, raw: Mapping[str, Any], *, file: str | None, base_dir: Path) -> None:
        self.raw = raw
        self.file = file
        self.base_dir = base_dir
        sweep = raw.get("sweep")
        self.sweep: Mapping[str, Any] = sweep if isinstance(sweep, Mapping) else {}
        self.paths = [str(p) for p in self.sweep]
        self.size = sweep_size(self.sweep)
        self._files = ReferencedFiles()

    def scenario(self, point: SweepPoint, problems: list[Problem]) -> ScenarioSpec | None:
        """The point's validated scenario (no timeline, plots or report: sweeps keep metrics), or None."""
        from simulator.config import scenario_from_dict

        data = overrides_applied(self.raw, point.overrides, problems, file=self.file, base_dir=self.base_dir)
        outputs = data.get("outputs")
        if isinstance(outputs, list):
            data["outputs"] = [o for o in outputs if o not in ("timeline", "report", "plots")] or ["json"]
        try:
            spec = scenario_from_dict(data, file=self.file, base_dir=self.base_dir)
        except UserError as exc:
            problems.extend(self._at_sweep_path(p, point) for p in exc.problems)
            return None
        return None if problems else spec

    def _at_sweep_path(self, problem: Problem, point: SweepPoint) -> Problem:
        """A problem with a value the sweep wrote, moved to where the user wrote it: ``sweep.<path>``.

        An architecture's override becomes a variant's ``set`` entry (``architectures[0].set.x.y``),
        which the scenario file does not contain; both forms are recognised.
        """
        if problem.file != self.file:
            return problem
        parts = [str(p) for p in problem.path]
        if len(parts) >= 4 and parts[0] == "architectures" and parts[2] == "set":
            parts = [*parts[:2], *parts[3].split("."), *parts[4:]]
        for end in range(len(parts), 0, -1):
            dotted = ".".join(parts[:end])
            if dotted in point.overrides:
                value = point.overrides[dotted]
                inner = ".".join(parts[end:])
                where = f" (at {inner})" if inner else ""
                return Problem(problem.file, ("sweep", dotted), f"value {value!r}{where}: {problem.message}")
        return problem

    def check(self, progress: CheckProgress | None = None) -> list[Problem]:
        """Every problem of every point, each once (see :class:`ProblemTally`), and of each value alone.

        The values alone catch a bad value that every point hides behind another problem (a
        variant whose ``set`` has a bad path is not validated further).
        """
        tally = ProblemTally(self.sweep, self.size)
        for done, point in enumerate(iter_points(self.sweep)):
            if progress is not None and done % 500 == 0:
                progress(done, self.size)
            found: list[Problem] = []
            self.scenario(point, found)
            tally.add(point, found)
        if progress is not None:
            progress(self.size, self.size)
        problems = tally.problems()
        extra = [shown for found, shown in self._each_value() if found not in tally.seen and shown not in problems]
        return list(dict.fromkeys(problems + extra))

    def check_each_value(self) -> list[Problem]:
        """The quick check of a sweep too big to check point by point: the template, then each value alone.

        Catches bad paths and bad values (each reported with its value), not problems that only a
        combination of values has; :meth:`check` (what ``hetsim sweep`` runs) finds those.
        """
        return list(dict.fromkeys(shown for _, shown in self._each_value()))

    def _each_value(self) -> list[tuple[Problem, Problem]]:
        """(problem as found, problem as shown) for the template and for each sweep value applied alone."""
        template: list[Problem] = []
        self.scenario(SweepPoint(0, "template"), template)
        out = [(p, p) for p in template]
        for path, values in self.sweep.items():
            for value in values:
                alone: list[Problem] = []
                self.scenario(SweepPoint(0, "value", {path: value}), alone)
                for p in alone:
                    if p in template:
                        continue
                    shown = (
                        p
                        if p.path[:1] == ("sweep",)
                        else Problem(p.file, p.path, f"{p.message} (with sweep {path} = {value!r})")
                    )
                    out.append((p, shown))
        return out

    def key(self, spec: ScenarioSpec) -> str:
        """The content key of a point's resolved scenario (:func:`~simulator.sweep.keys.scenario_key`)."""
        return scenario_key(spec, self._files)

    def points(self) -> Iterator[tuple[SweepPoint, ScenarioSpec]]:
        """Every point with its content key set, and its resolved scenario (after :meth:`check` found nothing)."""
        for point in iter_points(self.sweep):
            problems: list[Problem] = []
            spec = self.scenario(point, problems)
            if spec is None:  # pragma: no cover - check() reported it; a file changed in between
                raise UserError(problems)
            yield SweepPoint(point.index, point.id, point.overrides, key=self.key(spec)), spec


def plan_sweep(
    raw: Any,
    *,
    file: str | None,
    base_dir: Path,
    confirmed: bool = False,
    progress: CheckProgress | None = None,
) -> SweepPlan:
    """Check a parsed scenario with a sweep; raise one :class:`UserError` listing every problem.

    A sweep of more than :data:`CONFIRM_ABOVE` points is refused unless ``confirmed`` (before any
    point is expanded).
    """
    if not isinstance(raw, dict):
        raise UserError(
            [Problem(file, (), "a scenario file must be a YAML mapping with name, architectures, workloads")]
        )
    sweep = raw.get("sweep")
    if not sweep:
        raise UserError([Problem(file, ("sweep",), "this scenario has no sweep: add 'sweep: {dotted.path: [values]}'")])
    shape = sweep_problems(sweep, file=file)
    if shape:
        # the points cannot be expanded: check the scenario without its sweep, and report both at once
        template = SweepPlan({k: v for k, v in raw.items() if k != "sweep"}, file=file, base_dir=base_dir)
        found: list[Problem] = []
        template.scenario(SweepPoint(0, "template"), found)
        raise UserError(list(dict.fromkeys(shape + found)))
    plan = SweepPlan(raw, file=file, base_dir=base_dir)
    if plan.size > CONFIRM_ABOVE and not confirmed:
        raise UserError(
            [
                Problem(
                    file,
                    ("sweep",),
                    f"this sweep has {plan.size:,} points (more than {CONFIRM_ABOVE:,}); "
                    "rerun with --yes to run it (check the value lists: one list too many multiplies the work)",
                )
            ]
        )
    problems = plan.check(progress)
    if problems:
        raise UserError(problems)
    return plan
