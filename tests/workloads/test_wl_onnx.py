"""ONNX import on a graph the test builds itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import NodeProto, TensorProto, helper, numpy_helper  # noqa: E402

from workloads.onnx_import import OnnxSpec, build_onnx  # noqa: E402


def _init(name: str, shape: tuple[int, ...]) -> TensorProto:
    return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)


def _model(path: Path, extra_node: NodeProto | None = None) -> Path:
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "g", "b", "m", "v"], ["bn1"], name="bn1"),
        helper.make_node("Clip", ["bn1", "lo", "hi"], ["r1"], name="relu6"),
        helper.make_node("Conv", ["r1", "wd"], ["d1"], name="dw", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=8),
        helper.make_node("MaxPool", ["d1"], ["p1"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Concat", ["p1", "p1"], ["cat"], name="cat", axis=1),
        helper.make_node("GlobalAveragePool", ["cat"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flat"),
        helper.make_node("Gemm", ["flat", "fw", "fb"], ["y"], name="fc", transB=1),
    ]
    if extra_node is not None:
        nodes.append(extra_node)
    inits = [
        _init("w1", (8, 3, 3, 3)),
        _init("g", (8,)),
        _init("b", (8,)),
        _init("m", (8,)),
        _init("v", (8,)),
        _init("wd", (8, 1, 3, 3)),
        _init("fw", (5, 16)),
        _init("fb", (5,)),
        numpy_helper.from_array(np.array(0, dtype=np.float32), "lo"),
        numpy_helper.from_array(np.array(6, dtype=np.float32), "hi"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])],
        inits,
    )
    onnx.save(helper.make_model(graph), str(path))
    return path


def test_import(tmp_path: Path) -> None:
    trace = build_onnx(OnnxSpec(path=str(_model(tmp_path / "m.onnx")), batch=2))
    ops = list(trace)
    by = {op.name: op for op in ops}
    assert by["conv1"].kind == "conv2d" and by["conv1"].flops == 2 * 2 * 8 * 16 * 16 * 3 * 9
    assert by["dw"].kind == "dwconv2d" and by["dw"].dims["groups"] == 8
    assert by["pool"].dims["H"] == 8 and by["cat"].kind == "concat"
    assert by["fc"].kind == "matmul" and dict(by["fc"].dims) == {"B": 1, "M": 2, "N": 5, "K": 16}
    assert "flat" not in by  # zero-cost reshape
    assert by["fc"].deps == (by["gap"].id,)
    assert trace.header["frames"] == 2


def test_unsupported_op(tmp_path: Path) -> None:
    node = helper.make_node("LSTM", ["y"], ["z"], name="rnn")
    with pytest.raises(ValueError, match="unsupported ONNX op 'LSTM'"):
        build_onnx(OnnxSpec(path=str(_model(tmp_path / "m.onnx", node))))
