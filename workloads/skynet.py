"""SkyNet (Zhang et al., MLSys 2020; TomG008/SkyNet ``007e445`` ``GPU/models.py``): the DAC-SDC detector.

Layer table of docs/references.md#skynet-model at 3×160×320, batch B. A bundle ``conv_dw(inp, oup)`` is a 3×3
depthwise conv (groups = inp, no bias) + BN + ReLU6, then a 1×1 pointwise conv (no bias) + BN +
ReLU6. BN is folded into a per-channel bias, so each conv is followed by one ``elementwise`` op
"bias + ReLU6" (3 FLOPs/element: add, max, min; reads the folded bias as a weight). MaxPool 2×2/2
after bundles 1, 2 and 3 (main path); ``reorg`` (space-to-depth, stride 2) of the dw3 output as a
bypass; ``concat`` [reorg 768, dw5 512]; bundle 6 (1280→96); 1×1 conv 96→10 (no bias, no BN); the
2-anchor region head (sigmoid on x, y, conf; exp on w, h) as one ``elementwise`` op at an assumed
4 FLOPs/element.

Totals (docs/references.md#skynet-model): 435,387 conv weights + 3,331 folded BN biases = 438,718 parameters;
463.7 M MACs at 160×320.

Precision: ``fp32`` / ``fp16`` (GPU), or ``w11a9`` (FPGA: ``ap_fixed<11,4>`` weights and biases,
``ap_fixed<9,3>`` feature maps, docs/references.md#skynet-fpga).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from workloads.base import WorkloadBase
from workloads.cnn import CNNBuilder, FeatureMap, cnn_header
from workloads.emitter import Emitter
from workloads.trace import Operator, Trace

#: (name, in channels, out channels, max-pool after) — docs/references.md#skynet-model table.
SKYNET_BUNDLES: tuple[tuple[str, int, int, bool], ...] = (
    ("dw1", 3, 48, True),
    ("dw2", 48, 96, True),
    ("dw3", 96, 192, True),  # the reorg bypass taps the output before the pool
    ("dw4", 192, 384, False),
    ("dw5", 384, 512, False),
    ("dw6", 1280, 96, False),  # input: concat [reorg(dw3) 768, dw5 512]
)
#: Output channels: 2 anchors × (x, y, w, h, conf) (docs/references.md#skynet-model head).
SKYNET_HEAD_CHANNELS = 10
#: Input resolution H×W (``self.height = 160``, ``self.width = 320``, docs/references.md#skynet-model).
SKYNET_INPUT = (160, 320)
BIAS_RELU6_FLOPS = 3
REGION_FLOPS = 4


class SkyNetSpec(WorkloadBase):
    """The SkyNet DAC-SDC detector (docs/references.md#skynet-model)."""

    kind: Literal["skynet"] = Field("skynet", description="workload kind")
    batch: int = Field(
        1, ge=1, description="images per run (the FPGA design stitches 4, docs/references.md#skynet-fpga)"
    )
    dtype: Literal["fp32", "fp16", "w11a9"] = Field(
        "fp32", description="fp32/fp16 (GPU) or w11a9 (FPGA: 11-bit weights, 9-bit feature maps); alias: precision"
    )
    height: int = Field(
        SKYNET_INPUT[0], ge=8, description="input height (default 160, docs/references.md#skynet-model)"
    )
    width: int = Field(SKYNET_INPUT[1], ge=8, description="input width (default 320, docs/references.md#skynet-model)")


def _bundle(nb: CNNBuilder, name: str, x: FeatureMap, oup: int) -> FeatureMap:
    dw = nb.conv(f"{name}.dw", x, x.c, 3, 1, 1, groups=x.c)
    dw = nb.elementwise(f"{name}.dw_bias_relu6", (dw,), BIAS_RELU6_FLOPS, params=x.c)
    pw = nb.conv(f"{name}.pw", dw, oup, 1)
    return nb.elementwise(f"{name}.pw_bias_relu6", (pw,), BIAS_RELU6_FLOPS, params=oup)


def skynet_operators(nb: CNNBuilder, height: int, width: int) -> Iterator[Operator]:
    """Yield the SkyNet operators through ``nb`` (which accumulates parameters and MACs)."""
    em = nb.em
    x = FeatureMap("image", 3, height, width, None)
    bypass: FeatureMap | None = None
    for name, inp, oup, pool in SKYNET_BUNDLES:
        if name == "dw6" and bypass is not None:
            x = nb.data_op("concat", "concat", (bypass, x), bypass.c + x.c, x.h, x.w)
        if x.c != inp:
            raise ValueError(f"SkyNet {name}: expected {inp} input channels, got {x.c}")
        x = _bundle(nb, name, x, oup)
        if name == "dw3":
            bypass = nb.data_op("reorg", "reorg", (x,), 4 * x.c, x.h // 2, x.w // 2)
        if pool:
            x = nb.pool(f"{name}.maxpool", x, 2, 2)
        yield from em.drain()
    x = nb.conv("head.conv", x, SKYNET_HEAD_CHANNELS, 1)
    nb.elementwise("head.region", (x,), REGION_FLOPS)
    yield from em.drain()


def skynet_totals(height: int = SKYNET_INPUT[0], width: int = SKYNET_INPUT[1]) -> tuple[int, int]:
    """(parameters with BN folded, MACs per image) of SkyNet at the given input size."""
    nb = CNNBuilder(Emitter("fp32", "fp32"), 1)
    for _ in skynet_operators(nb, height, width):
        pass
    return nb.params, nb.macs


def build_skynet(spec: SkyNetSpec) -> Trace:
    """Trace of one batched SkyNet inference."""
    params, macs = skynet_totals(spec.height, spec.width)
    header = cnn_header("skynet", "skynet", spec.batch, [3, spec.height, spec.width], params, macs, spec.dtype)

    def operators() -> Iterator[Operator]:
        nb = CNNBuilder(Emitter(spec.dtype, spec.dtype), spec.batch)
        yield from skynet_operators(nb, spec.height, spec.width)

    return Trace(header, operators)
