"""Import a CNN from an ONNX graph into hetsim operators (optional extra ``hetsim[onnx]``).

The graph is shape-inferred (``onnx.shape_inference``); symbolic dimensions (a dynamic batch) are
set to ``batch``. Supported ops and their mapping:

* ``Conv`` → ``conv2d`` (``dwconv2d`` when group == C == K > 1), FLOPs 2·MACs (+ bias adds);
* ``Gemm`` / ``MatMul`` → ``matmul`` (initializer operands are weights);
* ``Relu`` (1 FLOP/element), ``Clip`` (2), ``Add``/``Mul``/``Sub``/``Div`` (1), ``Sigmoid`` (4),
  ``BatchNormalization`` (inference affine, 2 FLOPs/element, 2 parameters per channel) →
  ``elementwise``; ``Softmax`` → ``softmax`` (5/element);
* ``MaxPool`` / ``AveragePool`` / ``GlobalAveragePool`` → ``pool``;
* ``Concat`` → ``concat``;
* ``Reshape``, ``Flatten``, ``Squeeze``, ``Unsqueeze``, ``Identity``, ``Dropout`` → zero cost (no
  operator; consumers depend on the producer of the input).

Any other op is an error naming the node and the op type.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from workloads.base import WorkloadBase, WorkloadInputError
from workloads.emitter import Emitter
from workloads.trace import Operator, TensorRef, Trace

ELEMENTWISE_FLOPS = {
    "Relu": 1,
    "Clip": 2,
    "Add": 1,
    "Mul": 1,
    "Sub": 1,
    "Div": 1,
    "Sigmoid": 4,
    "BatchNormalization": 2,
}
ALIAS_OPS = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout")
SUPPORTED_OPS = (
    "Conv",
    "Gemm",
    "MatMul",
    *ELEMENTWISE_FLOPS,
    "Softmax",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Concat",
    *ALIAS_OPS,
)


class OnnxSpec(WorkloadBase):
    """A network imported from a (shape-inferable) ONNX file."""

    kind: Literal["onnx"] = Field("onnx", description="workload kind")
    path: str = Field(description="ONNX model file")
    batch: int = Field(1, ge=1, description="value for symbolic (dynamic) dimensions such as the batch")
    dtype: Literal["fp32", "fp16", "bf16", "int8", "w11a9"] = Field(
        "fp32", description="dtype of weights and activations (alias: precision)"
    )

    @field_validator("path")
    @classmethod
    def _file_loads(cls, value: str) -> str:
        """The file exists, is an ONNX model, infers shapes and uses only supported ops (checked at load)."""
        _load_graph(value)
        return value


def _load_graph(path: str) -> Any:
    """The shape-inferred graph of an ONNX file, or ``ValueError`` saying what is wrong with the file.

    Cached by path, size and modification time: validation and trace generation load it once.
    """
    file = Path(path)
    try:
        info = file.stat()
    except (OSError, ValueError):
        raise ValueError(f"ONNX file not found: {path}") from None
    if not file.is_file():
        raise ValueError(f"{path}: expected an ONNX model file, found a directory or device")
    return _load_graph_cached(str(file.resolve()), info.st_size, info.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _load_graph_cached(path: str, size: int, mtime_ns: int) -> Any:
    onnx = _require_onnx()
    try:
        model = onnx.load(path)
        model = onnx.shape_inference.infer_shapes(model)
    except Exception as exc:  # protobuf DecodeError, InferenceError, ...: a third-party parser on user bytes
        raise ValueError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {exc})") from None
    graph = model.graph
    if not graph.node:
        raise ValueError(f"{path}: the ONNX graph has no nodes (is it an ONNX model file?)")
    for i, node in enumerate(graph.node):
        if node.op_type not in SUPPORTED_OPS:
            raise ValueError(
                f"{path}: node {node.name or i!r}: unsupported ONNX op {node.op_type!r}; supported: "
                f"{', '.join(SUPPORTED_OPS)}"
            )
    return graph


def _require_onnx() -> Any:
    try:
        import onnx
    except ImportError:  # pragma: no cover - depends on the environment
        raise ValueError("kind 'onnx' needs the optional dependency: pip install 'hetsim[onnx]'") from None
    return onnx


def _attr(node: Any, name: str, default: Any) -> Any:
    onnx = _require_onnx()
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def build_onnx(spec: OnnxSpec) -> Trace:
    """Trace of one inference of the ONNX graph at ``spec.path``."""
    path = Path(spec.path)
    try:
        graph = _load_graph(spec.path)
    except ValueError as exc:  # the file changed since validation
        raise WorkloadInputError(str(exc)) from None
    shapes: dict[str, tuple[int, ...]] = {}
    for vi in (*graph.input, *graph.value_info, *graph.output):
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = tuple(
            d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else spec.batch for d in dims
        )
    weights = {t.name: tuple(t.dims) for t in graph.initializer}
    shapes.update(weights)
    params = sum(math.prod(s) for s in weights.values())
    header = {
        "format": "hetsim-trace",
        "version": 1,
        "model": path.stem,
        "workload": "onnx",
        "batch": spec.batch,
        "frames": spec.batch,
        "params": params,
        "dtype": spec.dtype,
        "weight_dtype": spec.dtype,
    }

    def shape(name: str, node: Any) -> tuple[int, ...]:
        if name not in shapes:
            raise WorkloadInputError(f"{path}: node {node.name!r}: no inferred shape for tensor {name!r}")
        return shapes[name]

    at = [""]  # the node being imported, for error messages

    def operators() -> Iterator[Operator]:
        try:
            yield from node_operators()
        except (ValueError, IndexError, KeyError, TypeError) as exc:  # a graph shape this importer cannot read
            if isinstance(exc, WorkloadInputError):
                raise
            raise WorkloadInputError(
                f"{path}: node {at[0]!r}: cannot import it ({type(exc).__name__}: {exc})"
            ) from None

    def node_operators() -> Iterator[Operator]:
        em = Emitter(spec.dtype, spec.dtype)
        producer: dict[str, int] = {}
        alias: dict[str, str] = {}

        def ref(name: str, node: Any) -> TensorRef:
            name = alias.get(name, name)
            elems = math.prod(shape(name, node))
            return em.weight(name, elems) if name in weights else em.act(name, elems)

        def dep(name: str) -> int | None:
            return producer.get(alias.get(name, name))

        for i, node in enumerate(graph.node):
            name = node.name or f"{node.op_type}_{i}"
            at[0] = name
            ins = [x for x in node.input if x]
            out = node.output[0]
            if node.op_type in ALIAS_OPS:
                alias[out] = alias.get(ins[0], ins[0])
                continue
            oshape = shape(out, node)
            oelems = math.prod(oshape)
            reads = tuple(ref(x, node) for x in ins)
            deps = tuple(dep(x) for x in ins)
            writes = (em.act(out, oelems),)
            t = node.op_type
            if t == "Conv":
                n, c, _, _ = shape(ins[0], node)
                k, cg, r, s = shape(ins[1], node)
                group = int(_attr(node, "group", 1))
                stride = int(_attr(node, "strides", [1, 1])[0])
                ho, wo = oshape[2], oshape[3]
                macs = n * k * ho * wo * cg * r * s
                kind = "dwconv2d" if group > 1 and group == c == k else "conv2d"
                flops = 2 * macs + (n * k * ho * wo if len(ins) > 2 else 0)
                dims = {"N": n, "C": c, "H": ho, "W": wo, "K": k, "R": r, "S": s, "stride": stride, "groups": group}
                producer[out] = em.emit(name, kind, "inference", flops, reads, writes, deps, dims)
            elif t in ("Gemm", "MatMul"):
                a_shape = shape(ins[0], node)
                trans_a = int(_attr(node, "transA", 0)) if t == "Gemm" else 0
                kdim = a_shape[-2] if trans_a else a_shape[-1]
                m, nn = (oshape[-2], oshape[-1]) if len(oshape) >= 2 else (1, oshape[-1])
                batch = math.prod(oshape[:-2]) if len(oshape) > 2 else 1
                flops = 2 * batch * m * nn * kdim + (m * nn if t == "Gemm" and len(ins) > 2 else 0)
                producer[out] = em.emit(
                    name, "matmul", "inference", flops, reads, writes, deps, {"B": batch, "M": m, "N": nn, "K": kdim}
                )
            elif t in ELEMENTWISE_FLOPS:
                if t == "BatchNormalization":  # inference: folded to a per-channel scale and shift
                    ch = shape(ins[0], node)[1]
                    reads = (ref(ins[0], node), em.weight(f"{name}.affine", 2 * ch))
                    deps = (dep(ins[0]),)
                producer[out] = em.emit(
                    name,
                    "elementwise",
                    "inference",
                    ELEMENTWISE_FLOPS[t] * oelems,
                    reads,
                    writes,
                    deps,
                    {"M": oshape[0], "N": oelems // max(oshape[0], 1)},
                )
            elif t == "Softmax":
                producer[out] = em.emit(
                    name,
                    "softmax",
                    "inference",
                    5 * oelems,
                    reads,
                    writes,
                    deps,
                    {"M": oelems // oshape[-1], "N": oshape[-1]},
                )
            elif t in ("MaxPool", "AveragePool", "GlobalAveragePool"):
                ishape = shape(ins[0], node)
                if t == "GlobalAveragePool":
                    r, s, stride = ishape[2], ishape[3], 1
                else:
                    r, s = (int(v) for v in _attr(node, "kernel_shape", [1, 1]))
                    stride = int(_attr(node, "strides", [1, 1])[0])
                per_out = r * s - 1 + (0 if t == "MaxPool" else 1)
                producer[out] = em.emit(
                    name,
                    "pool",
                    "inference",
                    per_out * oelems,
                    reads,
                    writes,
                    deps,
                    {"N": oshape[0], "C": oshape[1], "H": oshape[2], "W": oshape[3], "R": r, "S": s, "stride": stride},
                )
            else:  # Concat
                producer[out] = em.emit(
                    name,
                    "concat",
                    "inference",
                    0,
                    reads,
                    writes,
                    deps,
                    {"N": oshape[0], "C": oshape[1] if len(oshape) > 1 else 1},
                )
            yield from em.drain()

    return Trace(header, operators)


__all__ = ["SUPPORTED_OPS", "OnnxSpec", "build_onnx"]
