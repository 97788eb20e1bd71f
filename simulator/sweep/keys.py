"""Content keys of sweep points: a hash of everything that decides a point's result, and nothing else.

A point's key covers its *fully resolved* inputs — the runtime, every architecture after its bases,
``set`` entries and the sweep's substitutions, every workload with its defaults, ``only_on``,
the mapping and the seed — in a canonical serialisation (sorted keys, floats written exactly),
plus what the inputs point to (the contents of a trace or ONNX file, the resolved shapes of a
model config), the hetsim version, :data:`COST_MODEL_VERSION` and a digest of the source code
that computes results. A store keyed by it never hands back a stale result: editing an
architecture file, a model config or the cost model changes the key of every point it touches,
and those points are computed again. Names and outputs that do not change a result (the scenario's
name, description, outputs) and descriptions are left out, so the same point reached from two
scenarios is shared.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from simulator.version import __version__

if TYPE_CHECKING:
    from simulator.config.scenario import ScenarioSpec

#: Bump when the cost model changes results without a change in the packages hashed by :func:`code_digest`
#: (e.g. a data file the engine reads). Part of every key: stored points of an older model are recomputed.
COST_MODEL_VERSION = 1

#: Fields of the specs that are prose for people, read by nothing that computes a result (a variant's
#: description spells its ``set`` values as written: ``1 TB/s`` and ``1000 GB/s`` are one input).
PROSE = frozenset({"description"})

#: Packages whose source decides a result (the report layer, CLI and sweep machinery do not).
_RESULT_PACKAGES = ("simulator/engine", "simulator/hardware", "simulator/metrics", "simulator/config", "workloads")


@cache
def code_digest() -> str:
    """SHA-256 of the source files (``.py``, ``.yaml``, ``.json``) of the packages that compute results.

    A development checkout keeps one version string across many commits; hashing the code makes a
    changed cost model recompute stored points even then. Computed once per process (milliseconds).
    """
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for package in _RESULT_PACKAGES:
        folder = root / package
        if not folder.is_dir():  # pragma: no cover - an installed layout without this package
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".py", ".yaml", ".json") and path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(b"\0")
                digest.update(path.read_bytes())
                digest.update(b"\0")
    return digest.hexdigest()


def canonical(value: Any) -> Any:
    """A JSON-able, order-independent form of ``value``: mappings sorted, floats exact, models dumped.

    Floats become ``repr`` strings (exact round trip; ``nan``/``inf`` included), so two inputs that
    differ in the 17th digit get different keys and ``1`` (int) differs from ``1.0`` (float).
    """
    if isinstance(value, BaseModel):
        dumped = value.model_dump(mode="python", by_alias=False)
        return {"__model__": type(value).__name__, **canonical({k: v for k, v in dumped.items() if k not in PROSE})}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__dataclass__": type(value).__name__, **canonical(dataclasses.asdict(value))}
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return {"__float__": repr(value) if math.isfinite(value) else str(value)}
    if isinstance(value, set | frozenset):
        return sorted((canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return {"__repr__": repr(value)}


def digest(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``value``."""
    text = json.dumps(canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ReferencedFiles:
    """Digests of the files a workload points to (trace, ONNX) and of the model configs it names, once each.

    A sweep asks for the same file at many points; the digest is keyed by the file's path, size and
    mtime, so an edited file is read again.
    """

    def __init__(self) -> None:
        self._files: dict[tuple[str, int, int], str] = {}
        self._models: dict[str, str] = {}

    def file(self, path: str) -> str:
        """SHA-256 of the file's bytes (streamed); ``missing`` when it cannot be read (the run will say why)."""
        try:
            stat = Path(path).stat()
        except OSError:
            return "missing"
        key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)
        if key not in self._files:
            sha = hashlib.sha256()
            try:
                with open(path, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        sha.update(block)
            except OSError:
                return "missing"
            self._files[key] = sha.hexdigest()
        return self._files[key]

    def model(self, ref: str) -> str:
        """Digest of a model config's resolved shapes (built-in name or path): what the trace is built from."""
        if ref not in self._models:
            from workloads.models import load_model

            try:
                self._models[ref] = digest(load_model(ref))
            except (OSError, ValueError) as exc:
                self._models[ref] = f"unloadable: {exc}"
        return self._models[ref]

    def of_workload(self, workload: BaseModel) -> dict[str, str]:
        """Digests of what ``workload``'s fields point to: ``path`` (a file) and ``model`` (a name or path)."""
        out: dict[str, str] = {}
        path = getattr(workload, "path", None)
        if isinstance(path, str):
            out["path"] = self.file(path)
        model = getattr(workload, "model", None)
        if isinstance(model, str):
            out["model"] = self.model(model)
        return out


def _digest_once(value: Any) -> str:
    """:func:`digest` of a resolved section, once per object inside a sweep (points share their sections)."""
    from simulator.config.loader import once_per_object

    return once_per_object(value, digest)


def scenario_key(spec: ScenarioSpec, files: ReferencedFiles | None = None) -> str:
    """The content key of a resolved scenario (one sweep point): see the module docstring."""
    files = files or ReferencedFiles()
    return digest(
        {
            "hetsim": __version__,
            "cost_model": COST_MODEL_VERSION,
            "code": code_digest(),
            "runtime": _digest_once(spec.runtime),
            "architectures": [_digest_once(a) for a in spec.architectures],
            "workloads": [{"spec": _digest_once(w), "refers_to": files.of_workload(w)} for w in spec.workloads],
            "on": [list(o) if o is not None else None for o in spec.on],
            "mapping": spec.mapping,
            "seed": spec.seed,
        }
    )
