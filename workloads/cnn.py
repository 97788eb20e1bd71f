"""Shared helpers for CNN traces: NCHW convolutions, pooling and feature-map bookkeeping.

Conventions: conv FLOPs = 2·MACs, MACs = N·K·H·W·(C/groups)·R·S with H, W the *output* size;
dims follow the simulator's conv contract (N, C, H, W (output), K, R, S, stride, groups). A conv
reads its input feature map and its weight once and writes its output once. Per-channel affine /
activation work runs as separate ``elementwise`` ops (FLOP constants stated where they are used).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workloads.emitter import Emitter


@dataclass(frozen=True)
class FeatureMap:
    """A feature map produced by an operator: name, shape (per image) and producer id."""

    name: str
    c: int
    h: int
    w: int
    op: int | None

    def elements(self, batch: int) -> int:
        """Values in the whole batch."""
        return batch * self.c * self.h * self.w


class CNNBuilder:
    """Emits conv-net operators over an :class:`Emitter`, tracking parameters and MACs."""

    def __init__(self, em: Emitter, batch: int, phase: str = "inference") -> None:
        self.em = em
        self.batch = batch
        self.phase = phase
        self.params = 0
        self.macs = 0

    def conv(
        self,
        name: str,
        x: FeatureMap,
        k: int,
        r: int,
        stride: int = 1,
        pad: int = 0,
        groups: int = 1,
        bias: bool = False,
    ) -> FeatureMap:
        """``Conv2d(x.c, k, r×r, stride, pad, groups)``; depthwise (groups == C == K) → kind ``dwconv2d``."""
        if x.c % groups or k % groups:
            raise ValueError(f"conv {name}: channels {x.c}→{k} are not divisible by groups(={groups})")
        h = (x.h + 2 * pad - r) // stride + 1
        w = (x.w + 2 * pad - r) // stride + 1
        b = self.batch
        weights = k * (x.c // groups) * r * r + (k if bias else 0)
        macs = b * k * h * w * (x.c // groups) * r * r
        self.params += weights
        self.macs += macs
        kind = "dwconv2d" if groups > 1 and groups == x.c == k else "conv2d"
        em = self.em
        out = FeatureMap(f"fm.{name}", k, h, w, None)
        op = em.emit(
            name,
            kind,
            self.phase,
            2 * macs + (b * k * h * w if bias else 0),
            (em.act(x.name, x.elements(b)), em.weight(f"{name}.weight", weights)),
            (em.act(out.name, out.elements(b)),),
            (x.op,),
            {"N": b, "C": x.c, "H": h, "W": w, "K": k, "R": r, "S": r, "stride": stride, "groups": groups},
        )
        return FeatureMap(out.name, k, h, w, op)

    def elementwise(
        self, name: str, inputs: tuple[FeatureMap, ...], flops_per_element: int, params: int = 0
    ) -> FeatureMap:
        """An element-wise op over the first input's shape (per-channel ``params`` read as a weight)."""
        x = inputs[0]
        b = self.batch
        em = self.em
        self.params += params
        reads = tuple(em.act(i.name, i.elements(b)) for i in inputs)
        if params:
            reads = (*reads, em.weight(f"{name}.weight", params))
        out = FeatureMap(f"fm.{name}", x.c, x.h, x.w, None)
        op = em.emit(
            name,
            "elementwise",
            self.phase,
            flops_per_element * x.elements(b),
            reads,
            (em.act(out.name, out.elements(b)),),
            tuple(i.op for i in inputs),
            {"M": b * x.c, "N": x.h * x.w},
        )
        return FeatureMap(out.name, x.c, x.h, x.w, op)

    def pool(
        self, name: str, x: FeatureMap, r: int, stride: int, pad: int = 0, mode: str = "max", global_pool: bool = False
    ) -> FeatureMap:
        """Max/avg pooling r×r (FLOPs: r²−1 compares or adds per output, +1 divide for avg)."""
        if global_pool:
            r, stride, pad = x.h, 1, 0
        h = (x.h + 2 * pad - r) // stride + 1
        w = (x.w + 2 * pad - r) // stride + 1
        b = self.batch
        em = self.em
        per_out = r * r - 1 + (1 if mode == "avg" else 0)
        out = FeatureMap(f"fm.{name}", x.c, h, w, None)
        op = em.emit(
            name,
            "pool",
            self.phase,
            per_out * b * x.c * h * w,
            (em.act(x.name, x.elements(b)),),
            (em.act(out.name, out.elements(b)),),
            (x.op,),
            {"N": b, "C": x.c, "H": h, "W": w, "R": r, "S": r, "stride": stride},
        )
        return FeatureMap(out.name, x.c, h, w, op)

    def data_op(self, name: str, kind: str, inputs: tuple[FeatureMap, ...], c: int, h: int, w: int) -> FeatureMap:
        """A data-movement op (reorg, concat, reshape): no FLOPs, reads the inputs, writes the output."""
        b = self.batch
        em = self.em
        out = FeatureMap(f"fm.{name}", c, h, w, None)
        op = em.emit(
            name,
            kind,
            self.phase,
            0,
            tuple(em.act(i.name, i.elements(b)) for i in inputs),
            (em.act(out.name, out.elements(b)),),
            tuple(i.op for i in inputs),
            {"N": b, "C": c, "H": h, "W": w},
        )
        return FeatureMap(out.name, c, h, w, op)

    def linear(self, name: str, x: FeatureMap, n: int, bias: bool = True) -> FeatureMap:
        """A fully connected layer on the flattened feature map (``matmul``)."""
        b = self.batch
        k = x.c * x.h * x.w
        self.params += k * n + (n if bias else 0)
        self.macs += b * k * n
        em = self.em
        out = FeatureMap(f"fm.{name}", n, 1, 1, None)
        op = em.matmul(
            name, self.phase, 0, b, n, k, em.act(x.name, x.elements(b)), f"{name}.weight", out.name, (x.op,), bias=bias
        )
        return FeatureMap(out.name, n, 1, 1, op)


def cnn_header(
    model: str, workload: str, batch: int, input_shape: list[int], params: int, macs: int, precision: str
) -> dict[str, Any]:
    """The trace header of a CNN workload (one run = ``batch`` frames)."""
    return {
        "format": "hetsim-trace",
        "version": 1,
        "model": model,
        "workload": workload,
        "batch": batch,
        "frames": batch,
        "input": input_shape,
        "params": params,
        "macs_per_frame": macs,
        "dtype": precision,
        "weight_dtype": precision,
    }
