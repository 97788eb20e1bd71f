"""ResNet-18/50 inference traces (torchvision ``resnet18``/``resnet50`` shapes, 3×224×224).

Standard torchvision layout: conv1 7×7/2 (64) + BN + ReLU, max-pool 3×3/2, four stages of
BasicBlocks ([2, 2, 2, 2], ResNet-18) or Bottlenecks ([3, 4, 6, 3], expansion 4, stride on the 3×3
conv as torchvision's v1.5, ResNet-50), a 1×1 conv + BN projection shortcut when the shape
changes, global average pool and FC 1000. BN runs as an inference-time per-channel affine
(γ, β: 2 parameters per channel) fused with the ReLU in one ``elementwise`` op (3 FLOPs/element:
mul, add, max; an assumption), so the parameter count equals torchvision's: 11,689,512 (ResNet-18)
and 25,557,032 (ResNet-50).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from workloads.base import WorkloadBase
from workloads.cnn import CNNBuilder, FeatureMap, cnn_header
from workloads.emitter import Emitter
from workloads.trace import Operator, Trace

#: Blocks per stage (torchvision ``resnet.py``: resnet18 BasicBlock [2,2,2,2]; resnet50 Bottleneck [3,4,6,3]).
RESNET_LAYERS: dict[int, tuple[str, tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    50: ("bottleneck", (3, 4, 6, 3)),
}
BN_RELU_FLOPS = 3
BN_FLOPS = 2
ADD_RELU_FLOPS = 2


class ResNetSpec(WorkloadBase):
    """A torchvision ResNet for comparison with SkyNet."""

    kind: Literal["resnet"] = Field("resnet", description="workload kind")
    depth: Literal[18, 50] = Field(18, description="ResNet depth: 18 (BasicBlock) or 50 (Bottleneck)")
    batch: int = Field(1, ge=1, description="images per run")
    dtype: Literal["fp32", "fp16", "bf16", "int8"] = Field(
        "fp32", description="weights and activations dtype (alias: precision)"
    )
    image_size: int = Field(224, ge=32, description="input height = width (torchvision default 224)")
    classes: int = Field(1000, ge=1, description="FC outputs (ImageNet: 1000)")


def _bn(nb: CNNBuilder, name: str, x: FeatureMap, relu: bool) -> FeatureMap:
    return nb.elementwise(name, (x,), BN_RELU_FLOPS if relu else BN_FLOPS, params=2 * x.c)


def resnet_operators(nb: CNNBuilder, depth: int, image: int, classes: int) -> Iterator[Operator]:
    """Yield the ResNet operators through ``nb`` (which accumulates parameters and MACs)."""
    block, counts = RESNET_LAYERS[depth]
    em = nb.em
    x = FeatureMap("image", 3, image, image, None)
    x = _bn(nb, "conv1.bn_relu", nb.conv("conv1", x, 64, 7, 2, 3), True)
    x = nb.pool("maxpool", x, 3, 2, 1)
    yield from em.drain()
    expansion = 4 if block == "bottleneck" else 1
    for stage, n_blocks in enumerate(counts, start=1):
        width = 64 * 2 ** (stage - 1)
        for i in range(n_blocks):
            stride = 2 if (i == 0 and stage > 1) else 1
            tag = f"layer{stage}.{i}"
            identity = x
            if block == "basic":
                y = _bn(nb, f"{tag}.bn1_relu", nb.conv(f"{tag}.conv1", x, width, 3, stride, 1), True)
                y = _bn(nb, f"{tag}.bn2", nb.conv(f"{tag}.conv2", y, width, 3, 1, 1), False)
            else:
                y = _bn(nb, f"{tag}.bn1_relu", nb.conv(f"{tag}.conv1", x, width, 1), True)
                y = _bn(nb, f"{tag}.bn2_relu", nb.conv(f"{tag}.conv2", y, width, 3, stride, 1), True)
                y = _bn(nb, f"{tag}.bn3", nb.conv(f"{tag}.conv3", y, width * expansion, 1), False)
            if stride != 1 or x.c != width * expansion:
                ds = nb.conv(f"{tag}.downsample", x, width * expansion, 1, stride)
                identity = _bn(nb, f"{tag}.downsample_bn", ds, False)
            x = nb.elementwise(f"{tag}.add_relu", (y, identity), ADD_RELU_FLOPS)
            yield from em.drain()
    x = nb.pool("avgpool", x, 1, 1, mode="avg", global_pool=True)
    nb.linear("fc", x, classes)
    yield from em.drain()


def resnet_totals(depth: int, image: int = 224, classes: int = 1000) -> tuple[int, int]:
    """(parameters, MACs per image)."""
    nb = CNNBuilder(Emitter("fp32", "fp32"), 1)
    for _ in resnet_operators(nb, depth, image, classes):
        pass
    return nb.params, nb.macs


def build_resnet(spec: ResNetSpec) -> Trace:
    """Trace of one batched ResNet inference."""
    params, macs = resnet_totals(spec.depth, spec.image_size, spec.classes)
    header = cnn_header(
        f"resnet{spec.depth}", "resnet", spec.batch, [3, spec.image_size, spec.image_size], params, macs, spec.dtype
    )

    def operators() -> Iterator[Operator]:
        nb = CNNBuilder(Emitter(spec.dtype, spec.dtype), spec.batch)
        yield from resnet_operators(nb, spec.depth, spec.image_size, spec.classes)

    return Trace(header, operators)
