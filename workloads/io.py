"""Trace files: JSON Lines, gzip-compressed when the path ends in ``.gz``.

Line 1 is the header object (``{"format": "hetsim-trace", "version": 1, "model": …, "workload": …}``),
every following line one operator (:meth:`Operator.to_json`). Writing streams the operators;
reading returns a :class:`Trace` that re-opens the file on every iteration, so neither side holds
the whole trace. The format is documented in ``workloads/README.md``.
"""

from __future__ import annotations

import bisect
import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import Field

from workloads.base import WorkloadBase
from workloads.trace import Operator, Trace

FORMAT = "hetsim-trace"
#: Versions this reader understands (bump on an incompatible change of the operator fields).
SUPPORTED_VERSIONS = (1,)
CURRENT_VERSION = 1
#: Keys every operator line must have (the others default, see ``workloads/README.md``).
REQUIRED_KEYS = ("id", "name", "kind", "phase", "flops")


class TraceFormatError(ValueError):
    """A trace file that does not follow the format; names the file, the line and what was expected.

    ``args`` is ``(path, line, message)`` so that ``type(e)(*e.args)`` (how SimPy re-raises an error
    from inside a process, and how pickle rebuilds one from a worker process) gives an equal error.
    """

    def __init__(self, path: str | Path, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(self.path, line, message)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line > 0 else f"{self.path}: {self.message}"


def _open(path: Path, mode: Literal["rt", "wt"]) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, mode, encoding="utf-8")
    return path.open(mode[0], encoding="utf-8")


def write_trace(trace: Trace, path: str | Path) -> int:
    """Write ``trace`` to ``path`` (streaming); returns the number of operators written."""
    path = Path(path)
    header: dict[str, Any] = {"format": FORMAT, "version": CURRENT_VERSION, **dict(trace.header)}
    header["format"], header["version"] = FORMAT, CURRENT_VERSION
    count = 0
    # a temporary file renamed over the target: a failure leaves the old file whole, and a symlink at
    # ``path`` is replaced rather than written through
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")  # same suffix: gzip or not
    try:
        with _open(tmp, "wt") as f:
            f.write(json.dumps(header, separators=(",", ":")) + "\n")
            for op in trace:
                f.write(json.dumps(op.to_json(), separators=(",", ":")) + "\n")
                count += 1
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def _read_header(path: Path) -> dict[str, Any]:
    try:
        with _open(path, "rt") as f:
            first = f.readline()
    except OSError as exc:
        raise TraceFormatError(path, 0, f"cannot read the file ({exc})") from None
    except (EOFError, UnicodeDecodeError) as exc:  # a truncated gzip, or binary data
        raise TraceFormatError(path, 1, f"the file is truncated or not a text trace ({exc})") from None
    if not first.strip():
        expected = f'{{"format": "{FORMAT}", "version": {CURRENT_VERSION}, …}}'
        raise TraceFormatError(path, 1, f"expected a header line {expected}, got nothing")
    try:
        header = json.loads(first)
    except json.JSONDecodeError as exc:
        raise TraceFormatError(path, 1, f"expected a JSON header object ({exc.msg})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TraceFormatError(path, 1, f'expected a header object with "format": "{FORMAT}"')
    if header.get("version") not in SUPPORTED_VERSIONS:
        raise TraceFormatError(
            path, 1, f"unsupported version {header.get('version')!r}; this reader supports {SUPPORTED_VERSIONS}"
        )
    return header


def _parse_operator(path: Path, lineno: int, line: str) -> Operator:
    """One operator line, or a :class:`TraceFormatError` naming the line and what was expected."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise TraceFormatError(path, lineno, f"expected a JSON operator object ({exc.msg})") from None
    if not isinstance(data, dict):
        raise TraceFormatError(path, lineno, "expected a JSON operator object")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise TraceFormatError(
            path, lineno, f"operator is missing {', '.join(map(repr, missing))} (required: {', '.join(REQUIRED_KEYS)})"
        )
    try:
        return Operator.from_json(data)
    except KeyError as exc:
        raise TraceFormatError(path, lineno, f"operator is missing the key {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise TraceFormatError(path, lineno, f"invalid operator: {exc}") from None


def _iter_operators(path: Path) -> Iterator[Operator]:
    # Ids strictly increase, so "dep is an earlier operator" only needs the ids *skipped* so far, kept
    # as half-open ranges: memory stays flat however long the file is (usually there are no gaps).
    gap_starts: list[int] = []
    gap_ends: list[int] = []
    first: int | None = None
    last = -1
    lineno = 1
    try:
        with _open(path, "rt") as f:
            f.readline()
            for lineno, line in enumerate(f, start=2):
                if not line.strip():
                    continue
                op = _parse_operator(path, lineno, line)
                if op.id <= last:
                    raise TraceFormatError(path, lineno, f"operator id {op.id} must exceed the previous ({last})")
                if first is None:
                    first = op.id
                elif op.id > last + 1:
                    gap_starts.append(last + 1)
                    gap_ends.append(op.id)
                for dep in op.deps:
                    gap = bisect.bisect_right(gap_starts, dep) - 1
                    if dep < first or dep >= op.id or (gap >= 0 and dep < gap_ends[gap]):
                        raise TraceFormatError(path, lineno, f"operator {op.id} depends on {dep}, not an earlier one")
                last = op.id
                yield op
    except (EOFError, OSError, UnicodeDecodeError) as exc:  # a gzip cut short, a read error, binary data
        raise TraceFormatError(path, lineno + 1, f"the file is truncated or corrupt ({exc})") from None


def read_trace(path: str | Path) -> Trace:
    """A lazily re-iterable trace over a file; the header is checked now, operators while iterating."""
    path = Path(path)
    header = _read_header(path)
    return Trace(header, lambda: _iter_operators(path))


class TraceFileSpec(WorkloadBase):
    """Replay a trace file written by ``write_trace`` or another tool following the format."""

    kind: Literal["trace"] = Field("trace", description="workload kind")
    path: str = Field(description="trace file (.jsonl, or .jsonl.gz for gzip), see workloads/README.md")


def build_trace_file(spec: TraceFileSpec) -> Trace:
    """The trace stored in ``spec.path``."""
    return read_trace(spec.path)


__all__ = ["TraceFileSpec", "TraceFormatError", "build_trace_file", "read_trace", "write_trace"]
