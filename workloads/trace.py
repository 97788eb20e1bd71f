"""Operators and traces: *what* runs, with its exact work (FLOPs) and data (bytes per tensor).

A :class:`Trace` is a header plus a stream of :class:`Operator` records in a topological order
(every dependency names an earlier operator). It is produced lazily, so a million-operator trace
is never held whole: iterating a trace calls its factory again and yields operators one by one.

Nothing here knows about hardware or SimPy: the simulator decides *how* and *where* it runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

#: Tensor classes tracked for capacity and placement. Weights are resident for the whole run,
#: the KV cache grows as it is written (and shrinks when an operator ``frees`` it), activations
#: are transient: live only while the operator that touches them runs.
TENSOR_CLASSES: Final = ("weight", "activation", "kv_cache")

#: Operator kinds the simulator knows how to time. ``matmul``/``attention``/``conv2d``/``dwconv2d``
#: use a matrix unit's utilisation model when mapped to one; the rest are vector work.
OP_KINDS: Final = (
    "matmul",  # dims M, N, K and optional batch count B; FLOPs = 2·B·M·N·K
    "attention",  # fused attention: dims B (batch·heads), M (queries), N (keys), K (head dim)
    "conv2d",  # dims N, C, H, W (output), K (out channels), R, S, stride, groups
    "dwconv2d",  # depthwise conv: groups == C
    "softmax",
    "norm",
    "elementwise",
    "embedding",
    "kv_write",
    "topk",
    "pool",
    "sample",  # token selection at the end of a step: emits tokens
    "gather",
    "reorg",
    "concat",
    "dequant",  # weight-only dequantisation inside a GEMM kernel: dims M, N (the weight), work in registers
    "host",  # framework bookkeeping on the host: dims kernels (small kernels), host_ops (calls), syncs (read-backs)
    # collectives between devices (tensor/pipeline parallelism): dims ``bytes`` = the buffer per rank;
    # the ranks are the operator's ``group`` in ring order; the simulator sends them as NCCL's algorithms do
    "all_reduce",
    "all_gather",  # ``bytes`` = the gathered (output) buffer per rank
    "reduce_scatter",  # ``bytes`` = the input buffer per rank
    "send_recv",  # group (src, dst): ``bytes`` sent from the first device to the second
    "all_to_all",  # ``bytes`` = the buffer per rank, 1/N of it to each rank (MoE dispatch and combine)
)

#: Operator kinds that are collectives (run between the devices of their ``group``).
COLLECTIVES: Final = ("all_reduce", "all_gather", "reduce_scatter", "send_recv", "all_to_all")

#: Phase tags used by the built-in generators. Free-form strings are allowed; these are the ones
#: reports know how to order.
PHASES: Final = ("prefill", "decode", "medusa_heads", "tree_verify", "snapkv_select", "inference")


@dataclass(frozen=True, slots=True)
class TensorRef:
    """One tensor an operator reads or writes: its name, its class and the bytes touched."""

    tensor: str
    cls: str
    bytes: int

    def __post_init__(self) -> None:
        if self.cls not in TENSOR_CLASSES:
            raise ValueError(f"tensor {self.tensor!r}: class(={self.cls!r}) must be one of {TENSOR_CLASSES}")
        if self.bytes < 0:
            raise ValueError(f"tensor {self.tensor!r}: bytes(={self.bytes}) must be >= 0")

    def to_json(self) -> dict[str, Any]:
        """The trace-file form: ``{"tensor", "class", "bytes"}``."""
        return {"tensor": self.tensor, "class": self.cls, "bytes": self.bytes}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> TensorRef:
        """Inverse of :meth:`to_json`; strict about types (a trace file is user input)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"expected a tensor object {{tensor, class, bytes}}, got {data!r}")
        return TensorRef(_text(data, "tensor"), _text(data, "class"), _count(data, "bytes"))


_EMPTY: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Operator:
    """One node of a trace.

    ``flops`` counts floating-point (or integer) operations, a multiply-accumulate being two.
    ``reads`` and ``writes`` carry the bytes each tensor moves at this operator, before any
    on-chip reuse (the simulator applies its tiling model). ``deps`` name earlier operator ids.
    ``tokens`` is the number of output tokens per sequence this operator completes (a ``sample``
    op of a decode step: 1; of a Medusa step: the accepted length + 1, possibly fractional in
    expected-value mode); ``frees`` releases KV-cache tensors (SnapKV drops the full prompt cache,
    Medusa the tree's K/V). ``device`` is the device (0 … N−1) the operator runs on in a system of
    chips; tensor names are per device (each device holds its own shard). A collective lists its
    ranks in ``group`` (ring order) and runs on the first rank's communication unit.
    """

    id: int
    name: str
    kind: str
    phase: str
    flops: float
    reads: tuple[TensorRef, ...] = ()
    writes: tuple[TensorRef, ...] = ()
    deps: tuple[int, ...] = ()
    dtype: str = "fp16"
    dims: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    step: int = 0
    tokens: float = 0.0
    frees: tuple[str, ...] = ()
    device: int = 0
    group: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in OP_KINDS:
            raise ValueError(f"operator {self.id} ({self.name}): kind(={self.kind!r}) must be one of {OP_KINDS}")
        if not 0 <= self.flops < math.inf:  # also false for NaN
            raise ValueError(f"operator {self.id} ({self.name}): flops(={self.flops}) must be finite and >= 0")
        if not 0 <= self.tokens < math.inf:
            raise ValueError(f"operator {self.id} ({self.name}): tokens(={self.tokens}) must be finite and >= 0")
        if self.device < 0:
            raise ValueError(f"operator {self.id} ({self.name}): device(={self.device}) must be >= 0")
        if self.kind in COLLECTIVES:
            if len(self.group) < 2 or len(set(self.group)) != len(self.group) or min(self.group) < 0:
                raise ValueError(
                    f"operator {self.id} ({self.name}): a {self.kind} needs a group of two or more distinct devices "
                    f"(got {list(self.group)})"
                )
            if self.kind == "send_recv" and len(self.group) != 2:
                raise ValueError(f"operator {self.id} ({self.name}): send_recv's group is (source, destination)")
        elif self.group:
            raise ValueError(f"operator {self.id} ({self.name}): only collectives have a group")
        for dep in self.deps:
            if dep >= self.id:
                raise ValueError(f"operator {self.id} ({self.name}): dependency {dep} is not an earlier operator")

    @property
    def bytes_read(self) -> int:
        """Bytes of all tensors read."""
        return sum(t.bytes for t in self.reads)

    @property
    def bytes_written(self) -> int:
        """Bytes of all tensors written."""
        return sum(t.bytes for t in self.writes)

    @property
    def bytes_moved(self) -> int:
        """Bytes read plus bytes written: the operator's minimum traffic with no reuse across ops."""
        return self.bytes_read + self.bytes_written

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte moved (roofline x-axis); infinite for an operator that moves nothing."""
        moved = self.bytes_moved
        return self.flops / moved if moved else float("inf")

    def to_json(self) -> dict[str, Any]:
        """The trace-file form (one JSON object per line); default-valued fields are omitted."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "phase": self.phase,
            "dtype": self.dtype,
            "flops": self.flops,
            "reads": [t.to_json() for t in self.reads],
            "writes": [t.to_json() for t in self.writes],
            "deps": list(self.deps),
        }
        if self.dims:
            out["dims"] = dict(self.dims)
        if self.step:
            out["step"] = self.step
        if self.tokens:
            out["tokens"] = self.tokens
        if self.frees:
            out["frees"] = list(self.frees)
        if self.device:
            out["device"] = self.device
        if self.group:
            out["group"] = list(self.group)
        return out

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Operator:
        """Inverse of :meth:`to_json`, strict about types: a trace file is user input.

        Raises ``KeyError`` (a required field is missing) or ``ValueError`` naming the field: a
        string where a number belongs, a fractional or negative byte count, ``NaN`` FLOPs,
        ``deps`` that is not a list, a boolean count.
        """
        dims = data.get("dims", {})
        if not isinstance(dims, Mapping):
            raise ValueError(f"dims: expected an object of name -> whole number, got {dims!r}")
        return Operator(
            id=_count(data, "id"),
            name=_text(data, "name"),
            kind=_text(data, "kind"),
            phase=_text(data, "phase"),
            dtype=_text(data, "dtype", "fp16"),
            flops=_amount(data, "flops"),
            reads=_tensors(data, "reads"),
            writes=_tensors(data, "writes"),
            deps=tuple(_whole(d, "deps") for d in _list(data, "deps")),
            dims=MappingProxyType({str(k): _whole(v, f"dims.{k}") for k, v in dims.items()}),
            step=_count(data, "step", 0),
            tokens=_amount(data, "tokens", 0.0),
            frees=tuple(_whole_text(f, "frees") for f in _list(data, "frees")),
            device=_count(data, "device", 0),
            group=tuple(_whole(g, "group") for g in _list(data, "group")),
        )


# Strict field readers for trace files: JSON numbers only (no strings, no booleans), finite, >= 0.
_MISSING: Any = object()


def _get(data: Mapping[str, Any], key: str, default: Any) -> Any:
    value = data.get(key, default)
    if value is _MISSING:
        raise KeyError(key)
    return value


def _whole(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key}: expected a whole number, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{key}: expected a whole number, got {value!r}")
        return int(value)
    return int(value)


def _count(data: Mapping[str, Any], key: str, default: Any = _MISSING) -> int:
    value = _whole(_get(data, key, default), key)
    if value < 0:
        raise ValueError(f"{key}: expected a whole number >= 0, got {value}")
    return value


def _amount(data: Mapping[str, Any], key: str, default: Any = _MISSING) -> float:
    value = _get(data, key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise ValueError(f"{key}: expected a finite number >= 0, got {value!r}")
    return float(value)


def _text(data: Mapping[str, Any], key: str, default: Any = _MISSING) -> str:
    return _whole_text(_get(data, key, default), key)


def _whole_text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {value!r}")
    return value


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{key}: expected a list, got {value!r}")
    return value


def _tensors(data: Mapping[str, Any], key: str) -> tuple[TensorRef, ...]:
    out = []
    for i, item in enumerate(_list(data, key)):
        try:
            out.append(TensorRef.from_json(item))
        except KeyError as exc:
            raise ValueError(
                f"{key}[{i}]: missing the key {exc.args[0]!r} (a tensor is {{tensor, class, bytes}})"
            ) from None
        except ValueError as exc:
            raise ValueError(f"{key}[{i}]: {exc}") from None
    return tuple(out)


@dataclass(frozen=True)
class StepRun:
    """Steps ``first`` .. ``last`` (inclusive) of a trace that repeat one shape, built on demand.

    ``build(s)`` returns step ``s``'s operators. The generator promises that every step has the
    same number of operators with consecutive ids, and that operator ``i`` of every step has the
    same kind, dtype, phase, tensor names and classes, dims keys, ``frees`` and dependency offsets,
    while its numeric fields (FLOPs, tensor bytes, dims values, tokens) are affine in ``s``
    (decode steps over a growing KV cache). The simulator may then simulate a few steps in full
    and advance the rest in closed form; it checks the promise on the steps it simulates.
    """

    first: int
    last: int
    build: Callable[[int], Sequence[Operator]]

    def operators(self) -> Iterator[Operator]:
        """Every operator of every step, in order."""
        for step in range(self.first, self.last + 1):
            yield from self.build(step)


#: One item of a trace's plan: an operator, or a run of repeated steps standing for their operators.
PlanItem = Operator | StepRun


def _expand(plan: Callable[[], Iterable[PlanItem]]) -> Iterator[Operator]:
    for item in plan():
        if isinstance(item, StepRun):
            yield from item.operators()
        else:
            yield item


@dataclass(frozen=True)
class Trace:
    """A header plus a re-iterable, lazily produced stream of operators.

    The header is a JSON-able mapping. Keys the simulator reads: ``model``, ``workload`` (kind),
    ``batch`` (sequences or images processed together), ``frames`` (images per run, for FPS),
    ``tokens_per_sequence`` (generated tokens, for throughput). Generators add their parameters.

    ``plan`` (optional, from :meth:`from_plan`) is the same stream with its repeated steps as
    :class:`StepRun` items: iterating the trace expands them, the simulator's fast path need not.
    """

    header: Mapping[str, Any]
    _factory: Callable[[], Iterable[Operator]]
    plan: Callable[[], Iterable[PlanItem]] | None = None

    def __iter__(self) -> Iterator[Operator]:
        return iter(self._factory())

    @staticmethod
    def from_operators(header: Mapping[str, Any], operators: Iterable[Operator]) -> Trace:
        """A trace over an in-memory list (tests, small hand-written traces)."""
        ops = tuple(operators)
        return Trace(dict(header), lambda: ops)

    @staticmethod
    def from_plan(header: Mapping[str, Any], plan: Callable[[], Iterable[PlanItem]]) -> Trace:
        """A trace whose operators are ``plan()`` with every :class:`StepRun` expanded."""
        return Trace(header, lambda: _expand(plan), plan)
