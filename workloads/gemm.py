"""A single (batched) GEMM, repeated: the unit of kernel calibration cases and roofline lessons."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator

from workloads.base import WorkloadBase
from workloads.dtypes import DTYPES, tensor_bytes
from workloads.trace import Operator, TensorRef, Trace


class GemmSpec(WorkloadBase):
    """``C[M,N] = A[M,K] · B[K,N]``, ``batch`` independent copies, run ``repeat`` times in sequence.

    A is an activation and B a weight, as in a linear layer; C is written once.
    """

    kind: Literal["gemm"] = Field("gemm", description="workload kind")
    m: int = Field(alias="M", ge=1, description="rows of A and C (tokens)")
    n: int = Field(alias="N", ge=1, description="columns of B and C (output features)")
    k: int = Field(alias="K", ge=1, description="reduction dimension")
    batch: int = Field(1, ge=1, description="independent GEMMs in one operator")
    dtype: str = Field("fp16", description="compute and storage dtype")
    repeat: int = Field(1, ge=1, description="operators in sequence, each depending on the previous")

    @field_validator("dtype")
    @classmethod
    def _known_dtype(cls, value: str) -> str:
        if value not in DTYPES:
            raise ValueError(f"dtype(={value!r}) must be one of {DTYPES}")
        return value

    def estimated_operators(self) -> int:
        """One operator per repetition."""
        return self.repeat


def build_gemm(spec: GemmSpec) -> Trace:
    """Trace of ``repeat`` dependent GEMM operators."""
    m, n, k, b = spec.m, spec.n, spec.k, spec.batch
    header = {
        "format": "hetsim-trace",
        "version": 1,
        "model": f"gemm-{m}x{n}x{k}",
        "workload": "gemm",
        "batch": b,
        "params": spec.model_dump(by_alias=True, exclude={"name"}),
    }

    def operators() -> Iterator[Operator]:
        for i in range(spec.repeat):
            yield Operator(
                id=i,
                name=f"gemm{i}",
                kind="matmul",
                phase="inference",
                dtype=spec.dtype,
                flops=2.0 * b * m * n * k,
                reads=(
                    TensorRef("A", "activation", tensor_bytes(b * m * k, spec.dtype)),
                    TensorRef("B", "weight", tensor_bytes(b * k * n, spec.dtype, "weight")),
                ),
                writes=(TensorRef("C", "activation", tensor_bytes(b * m * n, spec.dtype)),),
                deps=(i - 1,) if i else (),
                dims={"B": b, "M": m, "N": n, "K": k},
            )

    return Trace(header, operators)
