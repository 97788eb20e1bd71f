"""Sweep expansion: a scenario's ``sweep:`` mapping → the cartesian product of overrides, in a fixed order.

``sweep: {architectures.0.memories.hbm.bandwidth: [1 TB/s, 2 TB/s], workloads.0.batch: [1, 8]}``
gives four points; the first path varies slowest (as in ``itertools.product``), in the order the
file lists the paths. A point's id is a hash of its overrides alone (sorted keys, canonical JSON),
so it does not depend on the order of the paths, on the other points, or on the process.

:func:`apply_overrides` writes a point's values into a copy of the *raw* scenario mapping (what
the YAML file says). An architecture written as a built-in name or a path becomes a variant,
``{base: NAME, set: {rest.of.path: value}}``; an existing variant gets the path added to its
``set``; an inline mapping is edited in place. A runtime given by name is inlined before a field of it is set.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.config.loader import looks_like_path
from simulator.config.scenario import ScenarioFile
from simulator.errors import Problem, UserError

#: Keys a variant mapping may carry at its top level (others go into its ``set``).
_VARIANT_KEYS = ("base", "name", "description", "set")


def point_id(overrides: Mapping[str, Any]) -> str:
    """Stable id of a sweep point: the first 12 hex digits of SHA-256 of its canonical JSON overrides."""
    canonical = json.dumps(dict(overrides), sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: its position in the expansion, its id, the dotted path → value overrides, its key.

    ``key`` is the content key of the point's resolved inputs (:mod:`simulator.sweep.keys`) when
    known; the store files results under :attr:`store_key`, which falls back to the id.
    """

    index: int
    id: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    key: str = ""

    @property
    def store_key(self) -> str:
        """The key results are stored under: the content key, else the id."""
        return self.key or self.id

    def label(self) -> str:
        """``path=value, …`` using the last component of each path (for plots and tables).

        A whole mapping as a value (e.g. an architecture variant) is shown by its ``name`` or ``base``.
        """
        return ", ".join(f"{path.split('.')[-1]}={_short(value)}" for path, value in self.overrides.items()) or "(base)"


def _short(value: Any) -> Any:
    if isinstance(value, Mapping):
        return value.get("name") or value.get("base") or value.get("kind") or "{…}"
    return value


def sweep_problems(sweep: Any, *, file: str | None = None) -> list[Problem]:
    """What is wrong with the shape of a ``sweep:`` section: not a mapping, a path without values, a value twice."""
    if not isinstance(sweep, Mapping):
        return [Problem(file, ("sweep",), "expected a mapping of dotted path → list of values")]
    problems = []
    for path, values in sweep.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or len(values) == 0:
            problems.append(Problem(file, ("sweep", str(path)), "expected a non-empty list of values"))
            continue
        seen: dict[str, int] = {}
        for i, value in enumerate(values):
            text = json.dumps(value, sort_keys=True, default=str)
            if text in seen:
                problems.append(
                    Problem(file, ("sweep", str(path), i), f"{value!r} is listed twice (also at {seen[text]})")
                )
            seen.setdefault(text, i)
    return problems


def sweep_size(sweep: Mapping[str, Sequence[Any]]) -> int:
    """Number of points: the product of the value counts (1 for an empty sweep), without expanding."""
    return math.prod(len(values) for values in sweep.values())


def iter_points(sweep: Mapping[str, Sequence[Any]]) -> Iterator[SweepPoint]:
    """Every combination of the sweep's values, first path slowest, one at a time (a million points fit)."""
    paths = list(sweep)
    for index, combo in enumerate(itertools.product(*(list(sweep[p]) for p in paths))):
        overrides = dict(zip(paths, combo, strict=True))
        yield SweepPoint(index=index, id=point_id(overrides), overrides=overrides)


def expand_sweep(sweep: Mapping[str, Sequence[Any]]) -> list[SweepPoint]:
    """Every combination of the sweep's values, first path slowest; an empty sweep is one point (the base).

    Raises :class:`UserError` when a path has no values or lists a value twice.
    """
    problems = sweep_problems(sweep)
    if problems:
        raise UserError(problems)
    return list(iter_points(sweep))


#: Top-level keys of a scenario file a sweep path may start with (``sweep`` itself cannot be swept).
SCENARIO_KEYS = frozenset(ScenarioFile.model_fields) - {"sweep"}


def _parts(dotted: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in dotted.split(".") if p != ""]


def _set(node: Any, parts: Sequence[str | int], value: Any, walked: list[str | int]) -> None:
    """Set ``parts`` under ``node``; lists need an existing index, missing mapping keys are created."""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(map(str, walked)) or "top level"
        if isinstance(node, list):
            if not isinstance(part, int) or not 0 <= part < len(node):
                raise KeyError(f"{where} is a list of {len(node)}; use an index 0..{len(node) - 1}")
            if last:
                node[part] = value
                return
            node = node[part]
        elif isinstance(node, dict):
            key = str(part)
            if last:
                node[key] = value
                return
            if key not in node or node[key] is None:
                node[key] = {}
            node = node[key]
        else:
            raise KeyError(f"{where} is a value ({node!r}), not a mapping; cannot set {part!r} in it")
        walked.append(part)


def set_override(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set one dotted path in a raw scenario mapping (see the module docstring for architectures)."""
    parts = _parts(dotted)
    if not parts:
        raise KeyError("empty path")
    if str(parts[0]) not in SCENARIO_KEYS:  # deeper keys may be defaults not yet written; top-level ones may not
        raise KeyError(f"no key {parts[0]!r} at top level; valid keys: {', '.join(sorted(SCENARIO_KEYS))}")
    if parts[0] == "architectures" and len(parts) >= 3 and isinstance(parts[1], int):
        archs = data.get("architectures")
        index = parts[1]
        if not isinstance(archs, list) or not 0 <= index < len(archs):
            count = len(archs) if isinstance(archs, list) else 0
            raise KeyError(f"architectures is a list of {count}; use an index 0..{count - 1}")
        rest = ".".join(map(str, parts[2:]))
        arch = archs[index]
        if isinstance(arch, str):
            variant: dict[str, Any] = {"base": arch, "set": {rest: value}}
            if not looks_like_path(arch):
                variant["name"] = arch  # keep the run's label: the sweep point says what changed
            archs[index] = variant
            return
        if isinstance(arch, dict) and "base" in arch:
            if str(parts[2]) in _VARIANT_KEYS and len(parts) == 3:
                arch[str(parts[2])] = value
            else:
                sets = arch.get("set")
                if not isinstance(sets, dict):
                    sets = {}
                    arch["set"] = sets
                sets[rest] = value
            return
    _set(data, parts, value, [])


def _inline_runtime(data: dict[str, Any], base_dir: Path | None) -> None:
    """Replace a runtime given by name or path with its mapping, so that a sweep can set a field in it."""
    from simulator.config.loader import builtin_runtimes, read_yaml

    ref = data.get("runtime", "ideal")
    if not isinstance(ref, str):
        return
    if looks_like_path(ref):
        path = (base_dir or Path.cwd()) / ref
    else:
        names = builtin_runtimes()
        if ref not in names:
            raise KeyError(f"unknown runtime {ref!r}; built-in names: {', '.join(names)}")
        path = names[ref]
    loaded = read_yaml(path, what="runtime file")
    if not isinstance(loaded, dict):
        raise KeyError(f"runtime {ref!r} is not a mapping")
    data["runtime"] = copy.deepcopy(loaded)


def apply_overrides(
    raw: Mapping[str, Any], overrides: Mapping[str, Any], *, file: str | None = None, base_dir: Path | None = None
) -> dict[str, Any]:
    """A copy of the raw scenario with ``overrides`` set and its ``sweep`` removed.

    A path into ``runtime.`` when the runtime is a name or a path first inlines that runtime's
    mapping (relative paths resolve against ``base_dir``). Every bad path is collected into one
    :class:`UserError` naming the ``sweep.<path>`` key.
    """
    problems: list[Problem] = []
    data = overrides_applied(raw, overrides, problems, file=file, base_dir=base_dir)
    if problems:
        raise UserError(problems)
    return data


def overrides_applied(
    raw: Mapping[str, Any],
    overrides: Mapping[str, Any],
    problems: list[Problem],
    *,
    file: str | None = None,
    base_dir: Path | None = None,
) -> dict[str, Any]:
    """Like :func:`apply_overrides`, but a bad path is added to ``problems`` and the others are still applied.

    So the point can still be validated: a typo in one sweep path must not hide a problem elsewhere.
    Only the top-level sections an override touches are copied (the rest is shared with ``raw``).
    """
    data = {k: v for k, v in raw.items() if k != "sweep"}
    for section in {str(_parts(dotted)[0]) for dotted in overrides if _parts(dotted)} & data.keys():
        data[section] = copy.deepcopy(data[section])
    for dotted, value in overrides.items():
        try:
            if dotted.startswith("runtime."):
                _inline_runtime(data, base_dir)
            # a copy: a later, deeper path must not write into the point's own (shared) value
            set_override(data, dotted, copy.deepcopy(value))
        except KeyError as exc:
            problems.append(Problem(file, ("sweep", dotted), str(exc.args[0])))
        except UserError as exc:
            problems += [Problem(file, ("sweep", dotted), p.message) for p in exc.problems]
    return data
