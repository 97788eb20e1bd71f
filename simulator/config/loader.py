"""YAML files → validated specs, in three steps: parse → schema (pydantic) → semantic checks.

Every step collects *all* problems before raising one :class:`~simulator.errors.UserError`, and
each problem names the file, the key path as the user wrote it (YAML keys and aliases, e.g.
``memories.hbm.bandwidth`` or ``workloads[2].kind``) and what was expected.

Architectures and runtimes are referenced by built-in name, by path (relative to the file that
mentions them) or inline; an architecture may also be a *variant*::

    {base: a100-80gb, name: a100-2x-hbm, set: {memories.hbm.bandwidth: 4.08 TB/s}}

whose ``set`` entries are dotted paths into the base's raw YAML, applied before validation
(bases can chain). Built-in files are found in the installed package data
(``simulator/_data/architectures``) first, then in the repository's ``architectures/``.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import difflib
import json
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import BaseModel, ValidationError

from simulator.config.architecture import ArchitectureSpec, RuntimeSpec
from simulator.config.checks import check_architecture, check_runtime
from simulator.errors import Problem, UserError
from workloads.safe_yaml import InputFileError, YAMLBoundError, load_yaml, read_text
from workloads.suggest import did_you_mean

#: The package's own data folder (filled by the wheel's force-include) and the repository root.
PACKAGE_DATA_ROOT = Path(__file__).resolve().parents[1] / "_data"
REPO_ROOT = Path(__file__).resolve().parents[2]

#: Keys a variant mapping may hold.
VARIANT_KEYS = ("base", "name", "description", "set")
YAML_SUFFIXES = (".yaml", ".yml")

Loc = tuple[str | int, ...]


# --------------------------------------------------------------------------------------------
# Built-in files


def search_roots() -> tuple[Path, ...]:
    """Folders searched for built-in ``architectures/`` and ``scenarios/``: package data, then repo."""
    # the repository only when this is a source checkout (editable install), never a random site-packages parent
    return (PACKAGE_DATA_ROOT, REPO_ROOT) if (REPO_ROOT / "pyproject.toml").is_file() else (PACKAGE_DATA_ROOT,)


def _builtin_files(sub: str, roots: Sequence[Path] | None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in roots if roots is not None else search_roots():
        folder = root / sub
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in YAML_SUFFIXES and path.is_file():
                found.setdefault(path.stem, path)  # earlier roots win
    return dict(sorted(found.items()))


def builtin_architectures(roots: Sequence[Path] | None = None) -> dict[str, Path]:
    """Built-in architecture names → files (package data first, then the repository)."""
    return _builtin_files("architectures", roots)


def builtin_runtimes(roots: Sequence[Path] | None = None) -> dict[str, Path]:
    """Built-in runtime names → files (``architectures/runtimes/*.yaml``)."""
    return _builtin_files("architectures/runtimes", roots)


def builtin_scenarios(roots: Sequence[Path] | None = None) -> dict[str, Path]:
    """Built-in scenario names → files (``scenarios/*.yaml``)."""
    return _builtin_files("scenarios", roots)


def find_scenario(ref: str | Path, roots: Sequence[Path] | None = None) -> Path:
    """A scenario path as given, else ``scenarios/<name>`` from the built-ins (installed layout)."""
    path = Path(ref)
    if path.exists():
        return path
    builtins = builtin_scenarios(roots)
    # a bare name, or scenarios/<name>[.yaml] relative to here (the repository layout, which the installed
    # package mirrors); any other path that does not exist is an error, never a built-in in disguise
    bare = path.parent == Path(".") and path.suffix in ("", *YAML_SUFFIXES)
    in_scenarios = path.parent == Path("scenarios") and path.suffix in ("", *YAML_SUFFIXES)
    if path.stem in builtins and (bare or in_scenarios):
        return builtins[path.stem]
    return path


# --------------------------------------------------------------------------------------------
# YAML


# --------------------------------------------------------------------------------------------
# One sweep's caches (a sweep resolves the same files and the same architectures at every point)

#: Parsed files while a :func:`sweep_cache` block is active: (resolved path, mtime, size) → data.
_PARSED: contextvars.ContextVar[dict[tuple[str, int, int], Any] | None] = contextvars.ContextVar(
    "hetsim_parsed_yaml", default=None
)
#: Resolved sections (architecture, runtime, workload) while a :func:`sweep_cache` block is active.
_RESOLVED: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("hetsim_resolved", default=None)

T = typing.TypeVar("T")


@contextlib.contextmanager
def sweep_cache() -> Iterator[None]:
    """Within the block, each YAML file is parsed once and each distinct section is resolved once.

    A sweep resolves the same base architecture and runtime at every point: parsing was half of a
    small point's cost, and validating a million points one by one takes hours. Inside the block
    :func:`read_yaml` keeps each file's parse (keyed by path, mtime and size: an edited file is
    parsed again) and hands out deep copies, and :func:`resolve_once` keeps each section's result
    and problems keyed by its raw mapping and where it was written. Both live only as long as the
    block: nothing is cached across commands, and results are stored by the hash of the *resolved*
    inputs (:mod:`simulator.sweep.keys`), never by these raw keys.
    """
    parsed, resolved = _PARSED.set({}), _RESOLVED.set({})
    try:
        yield
    finally:
        _PARSED.reset(parsed)
        _RESOLVED.reset(resolved)


def resolve_once(key: tuple[Any, ...], problems: list[Problem], compute: typing.Callable[[list[Problem]], T]) -> T:
    """``compute(problems)``, or inside :func:`sweep_cache` the result and problems of its first call for ``key``.

    ``key`` holds the raw section (parsed YAML) and its context; a key that is not plain JSON data
    is not cached.
    """
    memo = _RESOLVED.get()
    if memo is None:
        return compute(problems)
    try:
        text = json.dumps(key, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return compute(problems)
    if text not in memo:
        found: list[Problem] = []
        memo[text] = (compute(found), found)
    result, found = memo[text]
    problems.extend(found)
    return typing.cast(T, result)


def read_yaml(path: Path, *, what: str = "file") -> Any:
    """Parse one YAML file.

    A missing, non-regular (``/dev/zero``), huge or non-UTF-8 file, or a syntax error, is a
    :class:`UserError` naming the file (and the line and column of a syntax error). Inside
    :func:`sweep_cache` each file is parsed once.
    """
    cache = _PARSED.get()
    if cache is None:
        return _read_yaml(path, what)
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except (OSError, ValueError):
        return _read_yaml(path, what)  # the uncached path says what is wrong with it
    if key not in cache:
        cache[key] = _read_yaml(path, what)
    return copy.deepcopy(cache[key])  # callers may edit what they get (variants, sweep overrides)


def _read_yaml(path: Path, what: str) -> Any:
    try:
        text = read_text(path, what=f"YAML {what}")
    except InputFileError as exc:
        raise UserError([Problem(exc.path, (), exc.message)]) from None
    return parse_yaml(text, file=str(path))


def parse_yaml(text: str, *, file: str) -> Any:
    """Parse YAML text (:mod:`workloads.safe_yaml`: no duplicate keys, bounded depth and aliases).

    Syntax errors name ``file:line:column`` and the complaint.
    """
    try:
        return load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        label = "YAML refused" if isinstance(exc, YAMLBoundError) else "YAML syntax error"
        raise UserError([Problem(where, (), f"{label}: {what}")]) from None
    except yaml.YAMLError as exc:
        raise UserError([Problem(file, (), f"YAML error: {exc}")]) from None


def once_per_object(obj: Any, compute: typing.Callable[[Any], T]) -> T:
    """``compute(obj)``, or inside :func:`sweep_cache` its first result for this object and function (read-only).

    For derived forms of the sections :func:`resolve_once` shares between points (their YAML form,
    their digest); the object is kept alive with the result, so its id cannot be reused meanwhile.
    """
    memo = _RESOLVED.get()
    if memo is None:
        return compute(obj)
    key = f"object:{compute.__module__}.{compute.__qualname__}:{id(obj)}"
    hit = memo.get(key)
    if hit is None or hit[0] is not obj:
        hit = (obj, compute(obj))
        memo[key] = hit
    return typing.cast(T, hit[1])


# --------------------------------------------------------------------------------------------
# pydantic errors → problems


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the interesting type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def model_at(model: type[BaseModel] | None, loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model found by walking ``loc`` (YAML keys, dict keys, list indices) from ``model``."""
    annotation: Any = model
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if not isinstance(part, str):
                return None
            annotation = _field_by_key(annotation, part)
            if annotation is None:
                return None
            continue
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is dict and len(args) == 2:
            annotation = args[1]
        elif origin in (list, tuple) and args:
            annotation = args[0]
        else:
            return None
    annotation = _unwrap(annotation)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def yaml_keys(model: type[BaseModel]) -> list[str]:
    """The keys a YAML mapping for ``model`` may hold (aliases where a field has one)."""
    return sorted(info.alias or name for name, info in model.model_fields.items())


def _message(error: Mapping[str, Any], model: type[BaseModel] | None, loc: Loc) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = model_at(model, loc[:-1])
        valid = f"; valid keys: {', '.join(yaml_keys(parent))}" if parent else ""
        near = ""
        if parent and isinstance(loc[-1], str):
            close = difflib.get_close_matches(loc[-1], yaml_keys(parent), n=1)
            near = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key{near}{valid}"
    if kind == "missing":
        return "required key is missing"
    msg = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if kind != "value_error" and "input" in error and not isinstance(error["input"], dict | list):
        msg += f" (got {error['input']!r})"
    return msg


def _yaml_loc(model: type[BaseModel] | None, loc: Loc) -> tuple[Loc, int | None]:
    """``loc`` as the user wrote it, and where in it a union was met (``None``: no union).

    pydantic adds parts the YAML does not have: ``[key]`` for a bad mapping key, and the member's
    tag after a union field (``tree.str``, ``model.dict[str,any]``); both are dropped.
    """
    out: list[str | int] = []
    union_at: int | None = None
    annotation: Any = model
    for part in loc:
        if part == "[key]":
            continue
        annotation = _unwrap(annotation)
        if typing.get_origin(annotation) in (Union, types.UnionType):
            union_at = len(out) if union_at is None else union_at
            annotation = None  # which member the rest of the path is in is not worth guessing
            continue
        out.append(part)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = _field_by_key(annotation, part) if isinstance(part, str) else None
        elif typing.get_origin(annotation) is dict and len(typing.get_args(annotation)) == 2:
            annotation = typing.get_args(annotation)[1]
        elif typing.get_origin(annotation) in (list, tuple) and typing.get_args(annotation):
            annotation = typing.get_args(annotation)[0]
        else:
            annotation = None
    return tuple(out), union_at


def validation_problems(
    exc: ValidationError, *, file: str | None, prefix: Loc = (), model: type[BaseModel] | None = None
) -> list[Problem]:
    """Turn a pydantic error into problems with YAML key paths (aliases) under ``prefix``.

    A value that fits no member of a union gets one problem: the member errors that go deepest into
    the value (the member the user evidently meant), or, when every member failed on the value as a
    whole, their messages joined by "or".
    """
    found: list[tuple[Loc, int | None, str]] = []
    for error in exc.errors():
        raw: Loc = tuple(error["loc"])
        loc, union_at = _yaml_loc(model, raw)
        found.append((loc, union_at, _message(error, model, raw)))
    deepest: dict[Loc, int] = {}
    for loc, union_at, _ in found:
        if union_at is not None:
            key = loc[:union_at]
            deepest[key] = max(deepest.get(key, 0), len(loc))
    merged: dict[Loc, list[str]] = {}
    for loc, union_at, message in found:
        if union_at is not None and len(loc) < deepest[loc[:union_at]]:
            continue  # a member that failed on the whole value, while another got further in
        merged.setdefault(loc, []).append(message)
    return [Problem(file, prefix + loc, _either(messages)) for loc, messages in merged.items()]


def _either(messages: list[str]) -> str:
    """``Input should be a valid string or a valid dictionary (got 5)`` from one message per union member."""
    messages = list(dict.fromkeys(messages))
    lead, got = "Input should be ", messages[0][messages[0].rfind(" (got ") :] if " (got " in messages[0] else ""
    if len(messages) > 1 and all(m.startswith(lead) for m in messages):
        messages = [messages[0]] + [m[len(lead) :] for m in messages[1:]]
    if len(messages) > 1 and got and all(m.endswith(got) for m in messages):
        messages = [m[: -len(got)] for m in messages[:-1]] + [messages[-1]]
    return " or ".join(messages)


def validate_model(model: type[BaseModel], data: Any, *, file: str | None, prefix: Loc, problems: list[Problem]) -> Any:
    """Validate ``data`` as ``model``; on failure add the problems and return None."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, file=file, prefix=prefix, model=model))
        return None


# --------------------------------------------------------------------------------------------
# dotted paths (variants and sweeps)


def set_dotted(data: dict[str, Any], dotted: str, value: Any, *, model: type[BaseModel] | None = None) -> None:
    """Set ``a.b.0.c`` in a raw YAML tree; an unknown path raises ``KeyError`` naming the valid keys.

    Intermediate keys must exist (integers index lists); the last key may be new when ``model``
    (the schema of the tree's root) says it is a valid key at that level, so defaulted fields
    such as ``efficiency`` can be set.
    """
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    node: Any = data
    walked: list[str | int] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not isinstance(part, int) or not 0 <= part < len(node):
                raise KeyError(
                    f"{_dotted(walked) or 'top level'} is a list of {len(node)}; use an index 0..{len(node) - 1}"
                )
            if last:
                node[part] = value
                return
            node = node[part]
        elif isinstance(node, dict):
            key = str(part)
            schema = model_at(model, walked) if model else None
            if key not in node:
                allowed = sorted(set(map(str, node)) | set(yaml_keys(schema) if schema else ()))
                if last and schema and key in yaml_keys(schema):
                    node[key] = value
                    return
                raise KeyError(f"no key {key!r} at {_dotted(walked) or 'top level'}; valid keys: {', '.join(allowed)}")
            if last:
                node[key] = value
                return
            node = node[key]
        else:
            raise KeyError(f"{_dotted(walked)} is a value, not a mapping; cannot go into {part!r}")
        walked.append(part)


def _dotted(parts: Iterable[str | int]) -> str:
    return ".".join(str(p) for p in parts)


# --------------------------------------------------------------------------------------------
# architectures and runtimes


def suggest(name: str, names: Iterable[str]) -> str:
    """``(did you mean 'x'?); built-in names: ...; or give a path to a YAML file`` for an unknown name."""
    names = list(names)
    hint = did_you_mean(name, names)
    return f"{hint}; built-in names: {', '.join(names) or '(none found)'}; or give a path to a YAML file"


def looks_like_path(ref: str) -> bool:
    """Whether an architecture/runtime reference is a file path rather than a built-in name."""
    return ref.endswith(YAML_SUFFIXES) or "/" in ref or "\\" in ref


class _Ctx:
    """Where a reference was written (for error messages and relative paths) and what is being resolved."""

    def __init__(self, file: str | None, base_dir: Path, roots: Sequence[Path] | None) -> None:
        self.file = file
        self.base_dir = base_dir
        self.roots = roots


def _resolve_architecture_raw(
    ref: Any, ctx: _Ctx, loc: Loc, problems: list[Problem], chain: tuple[str, ...] = ()
) -> tuple[dict[str, Any], str | None, Loc] | None:
    """Raw architecture mapping for ``ref`` plus the file and key prefix its own errors belong to."""
    if isinstance(ref, str):
        if looks_like_path(ref):
            path = (ctx.base_dir / ref).resolve()
        else:
            names = builtin_architectures(ctx.roots)
            if ref not in names:
                problems.append(Problem(ctx.file, loc, f"unknown architecture {ref!r}{suggest(ref, names)}"))
                return None
            path = names[ref]
        key = str(path)
        if key in chain:
            problems.append(Problem(ctx.file, loc, f"architecture bases form a cycle: {' -> '.join([*chain, key])}"))
            return None
        try:
            raw = read_yaml(path, what="architecture file")
        except UserError as exc:
            problems.extend(_relocate(exc.problems, ctx.file, loc) if not path.is_file() else exc.problems)
            return None
        if not isinstance(raw, dict):
            problems.append(Problem(str(path), (), "an architecture file must be a YAML mapping"))
            return None
        file_ctx = _Ctx(str(path), path.parent, ctx.roots)
        if "base" in raw:  # a variant stored in its own file
            return _resolve_variant(raw, file_ctx, (), problems, (*chain, key))
        _inline_chips(raw, file_ctx, (), problems, (*chain, key))
        return raw, str(path), ()
    if isinstance(ref, dict):
        if "base" in ref:
            return _resolve_variant(ref, ctx, loc, problems, chain)
        raw = copy.deepcopy(ref)
        _inline_chips(raw, ctx, loc, problems, chain)
        return raw, ctx.file, loc
    problems.append(
        Problem(ctx.file, loc, f"expected an architecture name, a path or a mapping, got {type(ref).__name__}")
    )
    return None


def _inline_chips(raw: dict[str, Any], ctx: _Ctx, loc: Loc, problems: list[Problem], chain: tuple[str, ...]) -> None:
    """Replace each ``devices[i].chip`` reference (name, path, variant) by its raw mapping, in place.

    Inlined, a chip can be changed by a variant of the system (``devices.0.chip.memories.hbm.bandwidth``).
    """
    groups = raw.get("devices")
    if not isinstance(groups, list):
        return
    for i, group in enumerate(groups):
        if not isinstance(group, dict) or "chip" not in group:
            continue
        chip = group["chip"]
        if isinstance(chip, dict) and "base" not in chip:
            continue  # already a mapping (validated with the system)
        resolved = _resolve_architecture_raw(chip, ctx, (*loc, "devices", i, "chip"), problems, chain)
        if resolved is not None:
            group["chip"] = resolved[0]


def _relocate(problems: Iterable[Problem], file: str | None, loc: Loc) -> list[Problem]:
    """A missing referenced file (or a folder) is a problem of the file that references it."""
    return [Problem(file, loc, f"{p.file}: {p.message}") for p in problems]


def _resolve_variant(
    ref: dict[str, Any], ctx: _Ctx, loc: Loc, problems: list[Problem], chain: tuple[str, ...]
) -> tuple[dict[str, Any], str | None, Loc] | None:
    before = len(problems)
    for key in ref:
        if key not in VARIANT_KEYS:
            problems.append(
                Problem(ctx.file, (*loc, key), f"unknown key in a variant; valid keys: {', '.join(VARIANT_KEYS)}")
            )
    sets = ref.get("set") or {}
    if not isinstance(sets, dict):
        problems.append(Problem(ctx.file, (*loc, "set"), "expected a mapping of dotted path → value"))
        sets = {}
    base = _resolve_architecture_raw(ref["base"], ctx, (*loc, "base"), problems, chain)
    if base is None or len(problems) > before:
        return None
    raw = copy.deepcopy(base[0])
    for dotted, value in sets.items():
        try:
            set_dotted(raw, str(dotted), value, model=ArchitectureSpec)
        except KeyError as exc:
            problems.append(Problem(ctx.file, (*loc, "set", str(dotted)), str(exc.args[0])))
    raw["name"] = ref.get("name") or f"{raw.get('name', 'architecture')}-variant"
    if "description" in ref:
        raw["description"] = ref["description"]
    elif sets:
        changes = ", ".join(f"{k} = {v}" for k, v in sets.items())
        raw["description"] = f"{raw.get('description', '')} [variant: {changes}]".strip()
    return raw, ctx.file, loc


def _architecture(
    ref: Any, ctx: _Ctx, loc: Loc, problems: list[Problem]
) -> tuple[ArchitectureSpec, dict[str, Any]] | None:
    key = ("architecture", ref, ctx.file, str(ctx.base_dir), ctx.roots, loc)
    return resolve_once(key, problems, lambda found: _architecture_uncached(ref, ctx, loc, found))


def _architecture_uncached(
    ref: Any, ctx: _Ctx, loc: Loc, problems: list[Problem]
) -> tuple[ArchitectureSpec, dict[str, Any]] | None:
    before = len(problems)
    resolved = _resolve_architecture_raw(ref, ctx, loc, problems)
    if resolved is None or len(problems) > before:
        return None
    raw, file, prefix = resolved
    spec = validate_model(ArchitectureSpec, raw, file=file, prefix=prefix, problems=problems)
    if spec is None or len(problems) > before:
        return None
    found = check_architecture(spec, file=file, prefix=prefix)
    problems.extend(found)
    return (spec, raw) if not found else None


def load_architecture(
    ref: Any,
    *,
    file: str | None = None,
    base_dir: Path | None = None,
    roots: Sequence[Path] | None = None,
) -> ArchitectureSpec:
    """Resolve and validate an architecture: built-in name, path, inline mapping or variant."""
    problems: list[Problem] = []
    result = _architecture(ref, _Ctx(file, base_dir or Path.cwd(), roots), (), problems)
    if result is None:
        raise UserError(problems or [Problem(file, (), "invalid architecture")])
    return result[0]


def _runtime(ref: Any, ctx: _Ctx, loc: Loc, problems: list[Problem]) -> RuntimeSpec | None:
    key = ("runtime", ref, ctx.file, str(ctx.base_dir), ctx.roots, loc)
    return resolve_once(key, problems, lambda found: _runtime_uncached(ref, ctx, loc, found))


def _runtime_uncached(ref: Any, ctx: _Ctx, loc: Loc, problems: list[Problem]) -> RuntimeSpec | None:
    if ref is None:
        ref = "ideal"
    if isinstance(ref, str):
        if looks_like_path(ref):
            path = (ctx.base_dir / ref).resolve()
        else:
            names = builtin_runtimes(ctx.roots)
            if ref not in names:
                problems.append(Problem(ctx.file, loc, f"unknown runtime {ref!r}{suggest(ref, names)}"))
                return None
            path = names[ref]
        try:
            raw = read_yaml(path, what="runtime file")
        except UserError as exc:
            problems.extend(_relocate(exc.problems, ctx.file, loc) if not path.is_file() else exc.problems)
            return None
        file: str | None = str(path)
        prefix: Loc = ()
    elif isinstance(ref, dict):
        raw, file, prefix = ref, ctx.file, loc
    else:
        problems.append(
            Problem(ctx.file, loc, f"expected a runtime name, a path or a mapping, got {type(ref).__name__}")
        )
        return None
    spec: RuntimeSpec | None = validate_model(RuntimeSpec, raw, file=file, prefix=prefix, problems=problems)
    if spec is None:
        return None
    found = check_runtime(spec, file=file, prefix=prefix)
    problems.extend(found)
    return None if found else spec


def load_runtime(
    ref: Any = "ideal",
    *,
    file: str | None = None,
    base_dir: Path | None = None,
    roots: Sequence[Path] | None = None,
) -> RuntimeSpec:
    """Resolve and validate a runtime: built-in name (``ideal``, ``eager``, ``graphs``), path or mapping."""
    problems: list[Problem] = []
    spec = _runtime(ref, _Ctx(file, base_dir or Path.cwd(), roots), (), problems)
    if spec is None:
        raise UserError(problems or [Problem(file, (), "invalid runtime")])
    return spec
