"""Scenarios: architectures × workloads, with a runtime, mapping overrides, a seed, sweeps and outputs.

:func:`load_scenario` reads a file; :func:`scenario_from_dict` validates an already-parsed mapping
(the sweep executor applies its overrides to the raw dict and calls it). Both collect every
problem in the file before raising one :class:`~simulator.errors.UserError`.

A :class:`ScenarioSpec` also carries ``resolved``: a JSON-able form with every default filled in,
every architecture expanded (variants applied) and quantities written back with units, so the
file written next to the results can be loaded again and gives the same runs.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simulator.config.architecture import ArchitectureSpec, RuntimeSpec
from simulator.config.checks import check_mapping, reachability_problems
from simulator.config.loader import (
    _architecture,
    _Ctx,
    _runtime,
    once_per_object,
    read_yaml,
    resolve_once,
    validate_model,
    validation_problems,
)
from simulator.config.quantities import Dimension
from simulator.errors import Problem, UserError
from simulator.units import format_exact
from workloads.base import check_number_inputs
from workloads.models import looks_like_file
from workloads.spec import WorkloadSpec, workload_kinds
from workloads.suggest import did_you_mean

Output = Literal["table", "json", "csv", "plots", "svg", "timeline", "report"]
#: Every output a scenario (or ``hetsim run --outputs``) can ask for.
OUTPUTS: tuple[Output, ...] = ("table", "json", "csv", "plots", "svg", "timeline", "report")
#: ``timeline_window``: ``auto`` (step 0 and a step from the middle of the run), ``first`` (the first
#: operators), or a list of step numbers.
TimelineWindowSpec = Literal["auto", "first"] | tuple[Annotated[int, Field(ge=0)], ...]
_LIMIT_HELP = (
    "operators the timeline keeps per kept step (for timeline_window: first, in all); default 2000 when outputs "
    "ask for a timeline or report; 0: none"
)
_WINDOW_HELP = (
    "which operators the timeline keeps: auto (step 0 - the prefill - and one step from the middle of the run, "
    "e.g. a decode or Medusa verify step), first (the first timeline_limit operators) or a list of step numbers"
)
#: Outputs written when a scenario does not say.
DEFAULT_OUTPUTS: tuple[Output, ...] = ("table", "json", "csv")


class ScenarioSpec(BaseModel):
    """A validated scenario: every reference resolved, every default filled. Pure data."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str = Field(description="identifier used for the output folder and reports")
    description: str = Field("", description="what the scenario teaches")
    runtime: RuntimeSpec = Field(description="software stack cost model")
    architectures: tuple[ArchitectureSpec, ...] = Field(description="architectures to run, in order")
    workloads: tuple[WorkloadSpec, ...] = Field(description="workloads to run on each architecture, in order")
    on: tuple[tuple[str, ...] | None, ...] = Field(
        (), description="per workload: the architecture names it runs on (None: every architecture)"
    )
    mapping: dict[str, str] = Field(default_factory=dict, description="operator kind -> unit overrides")
    seed: int = Field(0, description="default seed of every workload that does not set its own")
    sweep: dict[str, tuple[Any, ...]] = Field(default_factory=dict, description="dotted path -> values")
    outputs: tuple[Output, ...] = Field(DEFAULT_OUTPUTS, description="what to write")
    timeline_limit: int | None = Field(None, ge=0, description=_LIMIT_HELP)
    timeline_window: TimelineWindowSpec = Field("auto", description=_WINDOW_HELP)
    file: str | None = Field(None, description="the file it was loaded from, if any")
    resolved: dict[str, Any] = Field(default_factory=dict, description="JSON-able resolved form")


class VariantSpec(BaseModel):
    """An architecture derived from another: ``set`` holds dotted paths into the base's YAML."""

    model_config = ConfigDict(extra="forbid")

    base: str | VariantSpec | ArchitectureSpec = Field(description="built-in name, path, or a mapping")
    name: str | None = Field(None, description="name of the variant (default: '<base>-variant')")
    description: str | None = Field(None, description="one line for humans")
    set: dict[str, Any] = Field(
        default_factory=dict, description="dotted path -> new value, e.g. memories.hbm.bandwidth"
    )


class _ScenarioTop(BaseModel):
    """The scenario file's top level, with the nested sections checked separately."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="identifier used for the output folder and reports")
    description: str = Field("", description="what the scenario teaches")
    runtime: Any = Field("ideal", description="built-in name (ideal, eager, graphs), path, or inline mapping")
    architectures: list[Any] = Field(min_length=1, description="built-in names, paths, inline mappings or variants")
    workloads: list[Any] = Field(min_length=1, description="workload mappings, each with a kind")
    mapping: dict[str, str] = Field(default_factory=dict, description="operator kind -> unit name overrides")
    seed: int = Field(0, ge=0, description="default seed of every workload that does not set its own")
    sweep: dict[str, list[Any]] = Field(default_factory=dict, description="dotted path -> list of values")
    outputs: list[Output] = Field(
        list(DEFAULT_OUTPUTS), description="table, json, csv, plots (PNG), svg (plots as SVG too), timeline, report"
    )
    timeline_limit: int | None = Field(None, ge=0, description=_LIMIT_HELP)
    timeline_window: TimelineWindowSpec = Field("auto", description=_WINDOW_HELP)

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_numbers(cls, data: Any) -> Any:
        check_number_inputs(cls, data)  # `seed: true` is a mistake, not seed 1
        return data

    @field_validator("name")
    @classmethod
    def _name_is_a_folder_name(cls, name: str) -> str:
        """The name becomes the default output folder ``out/<name>``: it must stay inside ``out/``."""
        if any(ord(c) < 32 for c in name):  # NUL and other control characters: no folder can hold them
            raise ValueError(f"a name cannot contain control characters (such as NUL), got {name!r}")
        if not name.strip() or name in (".", "..") or "/" in name or "\\" in name:
            raise ValueError(f"expected a name usable as a folder name (no '/', not empty), got {name!r}")
        return name


class ScenarioFile(_ScenarioTop):
    """The scenario file format, for JSON Schema (``hetsim schema``)."""

    runtime: str | RuntimeSpec = Field("ideal", description="built-in name (ideal, eager, graphs), path, or mapping")
    architectures: list[str | VariantSpec | ArchitectureSpec] = Field(
        min_length=1, description="built-in names, paths, inline mappings or variants"
    )
    workloads: list[WorkloadSpec] = Field(
        min_length=1,
        description="workload mappings, each with a kind; an optional `only_on: [architecture names]` runs a workload "
        "only on those architectures of the scenario (default: on every one)",
    )


def workload_classes() -> dict[str, type[BaseModel]]:
    """Workload kind → its spec class, read from the ``WorkloadSpec`` union."""
    spec: Any = WorkloadSpec
    union = typing.get_args(spec)[0] if typing.get_origin(spec) is typing.Annotated else spec
    classes = typing.get_args(union) or (union,)
    return {cls.model_fields["kind"].default: cls for cls in classes}


def _workload_on(
    raw: Any, *, index: int, ctx: _Ctx, names: Sequence[str] | None, problems: list[Problem]
) -> tuple[str, ...] | None:
    """The workload's ``only_on:`` list (architecture names it runs on), or ``None`` when absent.

    ``names`` are the scenario's architecture names, ``None`` when some failed to load (not checked then).
    """
    if not isinstance(raw, dict) or "only_on" not in raw:
        return None
    on = raw["only_on"]
    loc = ("workloads", index, "only_on")
    if not isinstance(on, list) or not on or not all(isinstance(n, str) for n in on):
        problems.append(Problem(ctx.file, loc, "expected a non-empty list of architecture names"))
        return None
    unknown = [n for n in on if n not in names] if names is not None else []
    if unknown:
        problems.append(
            Problem(ctx.file, loc, f"not architectures of this scenario: {unknown}; they are: {', '.join(names or ())}")
        )
    return tuple(on)


def _workload(raw: Any, *, loc: tuple[str | int, ...], ctx: _Ctx, seed: int, problems: list[Problem]) -> Any:
    """Validate one workload mapping found at ``loc``; on failure add the problems and return None."""
    key = ("workload", raw, ctx.file, str(ctx.base_dir), loc, seed)
    return resolve_once(
        key, problems, lambda found: _workload_uncached(raw, loc=loc, ctx=ctx, seed=seed, problems=found)
    )


def _workload_uncached(raw: Any, *, loc: tuple[str | int, ...], ctx: _Ctx, seed: int, problems: list[Problem]) -> Any:
    kinds = ", ".join(workload_kinds())
    if not isinstance(raw, dict):
        problems.append(Problem(ctx.file, loc, f"expected a mapping with a 'kind' ({kinds})"))
        return None
    data = dict(raw)
    data.pop("only_on", None)  # where it runs is the scenario's business (see _workload_on)
    if "kind" not in data:
        problems.append(Problem(ctx.file, (*loc, "kind"), f"required key is missing; kinds: {kinds}"))
        return None
    kind = data["kind"]
    cls = workload_classes().get(kind) if isinstance(kind, str) else None
    if cls is None:
        near = did_you_mean(kind, workload_kinds()) if isinstance(kind, str) else ""
        problems.append(Problem(ctx.file, (*loc, "kind"), f"unknown workload kind {kind!r}{near}; kinds: {kinds}"))
        return None
    # file references resolve against the folder of the file that mentions them, as architecture paths do
    for key in ("path", "model"):
        ref = data.get(key)
        if not isinstance(ref, str) or (key == "model" and not looks_like_file(ref)):
            continue
        if "\0" in ref:
            problems.append(Problem(ctx.file, (*loc, key), f"a file name cannot contain a NUL byte: {ref!r}"))
            return None
        data[key] = str((ctx.base_dir / ref).resolve())
    if kind == "trace" and isinstance(data.get("path"), str) and not Path(data["path"]).is_file():
        problems.append(Problem(ctx.file, (*loc, "path"), f"trace file not found: {data['path']}"))
        return None
    arrivals = data.get("arrivals")
    if kind == "serving" and isinstance(arrivals, dict) and isinstance(arrivals.get("trace"), str):
        request_trace = (ctx.base_dir / arrivals["trace"]).resolve()
        if not request_trace.is_file():
            problems.append(Problem(ctx.file, (*loc, "arrivals", "trace"), f"request trace not found: {request_trace}"))
            return None
        data["arrivals"] = {**arrivals, "trace": str(request_trace)}
    if "seed" not in data and "seed" in cls.model_fields:
        data["seed"] = seed
    try:
        # validate against the kind's own class: error locations then carry no union tag
        return cls.model_validate(data)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, file=ctx.file, prefix=loc, model=cls))
        return None


def workload_from_dict(data: Any, *, file: str | None = None, base_dir: Path | None = None) -> Any:
    """Validate one workload mapping that is a whole file (``hetsim trace``): key paths start at its keys."""
    problems: list[Problem] = []
    spec = _workload(data, loc=(), ctx=_Ctx(file, base_dir or Path.cwd(), None), seed=0, problems=problems)
    if spec is None:
        raise UserError(problems)
    return spec


def scenario_from_dict(
    data: Any, *, file: str | None = None, base_dir: Path | None = None, roots: Sequence[Path] | None = None
) -> ScenarioSpec:
    """Validate a parsed scenario mapping; relative paths inside resolve against ``base_dir``."""
    ctx = _Ctx(file, base_dir or Path.cwd(), roots)
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise UserError(
            [Problem(file, (), "a scenario file must be a YAML mapping with name, architectures, workloads")]
        )
    top = validate_model(_ScenarioTop, data, file=file, prefix=(), problems=problems)
    runtime = _runtime(data.get("runtime", "ideal"), ctx, ("runtime",), problems)

    architectures: list[ArchitectureSpec] = []
    raw_architectures = data.get("architectures")
    raw_architectures = raw_architectures if isinstance(raw_architectures, list) else []
    for i, ref in enumerate(raw_architectures):
        result = _architecture(ref, ctx, ("architectures", i), problems)
        if result is not None:
            architectures.append(result[0])
    seen: dict[str, int] = {}
    for i, arch in enumerate(architectures):
        if arch.name in seen:
            problems.append(
                Problem(
                    file,
                    ("architectures", i),
                    f"duplicate architecture name {arch.name!r}; give variants their own 'name'",
                )
            )
        seen[arch.name] = i

    seed = top.seed if top is not None else 0
    workloads = []
    on: list[tuple[str, ...] | None] = []
    # names of architectures that failed to load are unknown: only_on cannot be checked against them
    names = [a.name for a in architectures] if len(architectures) == len(raw_architectures) else None
    raw_workloads = data.get("workloads")
    for i, raw in enumerate(raw_workloads if isinstance(raw_workloads, list) else []):
        spec = _workload(raw, loc=("workloads", i), ctx=ctx, seed=seed, problems=problems)
        if spec is not None:
            workloads.append(spec)
            on.append(_workload_on(raw, index=i, ctx=ctx, names=names, problems=problems))
    labels: dict[str, int] = {}
    for i, spec in enumerate(workloads):
        if spec.label in labels:
            problems.append(Problem(file, ("workloads", i), f"duplicate workload name {spec.label!r}; add a 'name'"))
        labels[spec.label] = i

    if top is not None:
        for arch in architectures:
            found = check_mapping(top.mapping, arch, file=file, prefix=("mapping",))
            if not found and top.mapping:  # units the scenario's rules select must reach the placement memories
                found = [
                    Problem(file, ("mapping",), f"on {arch.name}: {p.message}")
                    for p in reachability_problems(arch, top.mapping)
                ]
            problems.extend(found)
        for path, values in top.sweep.items():
            if not values:
                problems.append(Problem(file, ("sweep", path), "expected a non-empty list of values"))
    if problems or top is None or runtime is None:
        raise UserError(_unique(problems) or [Problem(file, (), "invalid scenario")])

    resolved = {
        "name": top.name,
        "description": top.description,
        "runtime": once_per_object(runtime, to_yaml_data),
        "architectures": [once_per_object(a, to_yaml_data) for a in architectures],
        "workloads": [
            {**w.model_dump(mode="json", by_alias=True), **({"only_on": list(o)} if o else {})}
            for w, o in zip(workloads, on, strict=True)
        ],
        "mapping": dict(top.mapping),
        "seed": top.seed,
        "sweep": {k: list(v) for k, v in top.sweep.items()},
        "outputs": list(top.outputs),
        "timeline_limit": top.timeline_limit,
        "timeline_window": top.timeline_window if isinstance(top.timeline_window, str) else list(top.timeline_window),
    }
    return ScenarioSpec(
        name=top.name,
        description=top.description,
        runtime=runtime,
        architectures=tuple(architectures),
        workloads=tuple(workloads),
        on=tuple(on),
        mapping=dict(top.mapping),
        seed=top.seed,
        sweep={k: tuple(v) for k, v in top.sweep.items()},
        outputs=tuple(top.outputs),
        timeline_limit=top.timeline_limit,
        timeline_window=top.timeline_window,
        file=file,
        resolved=resolved,
    )


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def load_scenario(path: str | Path, *, roots: Sequence[Path] | None = None) -> ScenarioSpec:
    """Read, validate and resolve a scenario file (built-in scenario names also work)."""
    from simulator.config.loader import builtin_scenarios, find_scenario, looks_like_path, suggest

    found = find_scenario(path, roots)
    if not found.exists():
        if looks_like_path(str(path)):  # only a bare name means a built-in scenario
            raise UserError([Problem(str(found), (), "scenario file not found (no such file)")])
        hint = suggest(found.stem, builtin_scenarios(roots))
        raise UserError([Problem(str(found), (), f"scenario not found: no such file nor built-in scenario{hint}")])
    data = read_yaml(found, what="scenario file")
    return scenario_from_dict(data, file=str(found), base_dir=found.resolve().parent, roots=roots)


# --------------------------------------------------------------------------------------------
# specs back to YAML-able data (quantities with units)


def _dimension_of(metadata: Sequence[Any]) -> str | None:
    return next((meta.name for meta in metadata if isinstance(meta, Dimension)), None)


def _dimension(annotation: Any) -> str | None:
    """The quantity dimension of a field annotation built by :mod:`simulator.config.quantities`."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _dimension_of(annotation.__metadata__) or _dimension(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            dim = _dimension(arg)
            if dim:
                return dim
    return None


def _with_unit(value: Any, dim: str) -> Any:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return 0 if value == 0 else format_exact(float(value), dim)  # loads back bit-identical
    return value


def to_yaml_data(model: BaseModel) -> dict[str, Any]:
    """A spec as the YAML mapping a user would write: aliases as keys, quantities with units."""
    out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        key = info.alias or name
        annotation = info.annotation
        origin = typing.get_origin(annotation)
        if isinstance(value, BaseModel):
            out[key] = to_yaml_data(value)
        elif isinstance(value, Mapping):
            value_type = typing.get_args(annotation)[1] if origin is dict else None
            dim = _dimension(value_type) if value_type is not None else None
            out[key] = {
                str(k): to_yaml_data(v) if isinstance(v, BaseModel) else (_with_unit(v, dim) if dim else v)
                for k, v in value.items()
            }
        elif isinstance(value, tuple | list):
            out[key] = [to_yaml_data(v) if isinstance(v, BaseModel) else v for v in value]
        else:
            dim = _dimension_of(info.metadata) or _dimension(annotation)
            out[key] = _with_unit(value, dim) if dim and value is not None else value
    return out
