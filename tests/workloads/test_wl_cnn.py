"""SkyNet and ResNet: parameter and MAC totals against the published / torchvision numbers."""

from __future__ import annotations

import pytest

from workloads.resnet import ResNetSpec, build_resnet, resnet_totals
from workloads.skynet import SkyNetSpec, build_skynet, skynet_totals


def test_skynet_params_and_macs() -> None:
    params, macs = skynet_totals()
    assert params == 438_718  # 435,387 conv weights + 3,331 folded BN biases (docs/references.md#skynet-model)
    assert macs == pytest.approx(463.7e6, rel=1e-3)


def test_skynet_trace() -> None:
    ops = list(build_skynet(SkyNetSpec(batch=4)))
    conv_macs = sum(op.flops for op in ops if op.kind in ("conv2d", "dwconv2d")) / 2
    assert conv_macs == 4 * skynet_totals()[1]
    dw_macs = sum(op.flops for op in ops if op.kind == "dwconv2d") / 2
    assert dw_macs / 4 == pytest.approx(23.04e6, rel=1e-3)
    by = {op.name: op for op in ops}
    assert dict(by["dw1.dw"].dims) == {
        "N": 4,
        "C": 3,
        "H": 160,
        "W": 320,
        "K": 3,
        "R": 3,
        "S": 3,
        "stride": 1,
        "groups": 3,
    }
    assert by["reorg"].dims["C"] == 768 and by["reorg"].dims["H"] == 20
    assert by["concat"].dims["C"] == 1280
    assert by["dw6.pw"].dims["K"] == 96 and by["head.conv"].dims["K"] == 10
    assert by["head.conv"].dims["H"] == 20 and by["head.conv"].dims["W"] == 40
    weights = {t.tensor: t.bytes for op in ops for t in op.reads if t.cls == "weight"}
    assert sum(weights.values()) == 4 * 438_718
    header = build_skynet(SkyNetSpec(batch=4)).header
    assert header["frames"] == 4 and header["params"] == 438_718


def test_skynet_w11a9_bytes() -> None:
    ops = list(build_skynet(SkyNetSpec(batch=1, precision="w11a9")))
    first = ops[0]
    image = next(t for t in first.reads if t.tensor == "image")
    assert image.bytes == 3 * 160 * 320 * 9 // 8
    w = next(t for t in first.reads if t.cls == "weight")
    assert w.bytes == -(-27 * 11 // 8)
    assert first.dtype == "w11a9"


@pytest.mark.parametrize(("depth", "params", "gmacs"), [(18, 11_689_512, 1.814), (50, 25_557_032, 4.089)])
def test_resnet(depth: int, params: int, gmacs: float) -> None:
    p, macs = resnet_totals(depth)
    assert p == params
    assert macs / 1e9 == pytest.approx(gmacs, rel=1e-3)
    ops = list(build_resnet(ResNetSpec(depth=depth, batch=2)))
    assert ops[-1].kind == "matmul" and ops[-1].dims["N"] == 1000
    # batch 2: conv and FC MACs twice over, plus the FC bias adds (no conv has a bias: BN follows)
    assert sum(op.flops for op in ops if op.kind in ("conv2d", "matmul")) == 2 * 2 * macs + 2 * 1000
