"""The workload registry: one discriminated union of specs (by ``kind``) and one builder per kind.

Adding a workload kind = a spec class with ``kind: Literal[...]``, a builder returning a
:class:`~workloads.trace.Trace`, and one line in each of ``WorkloadSpec`` and ``_BUILDERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from workloads.gemm import GemmSpec, build_gemm
from workloads.io import TraceFileSpec, build_trace_file
from workloads.llm import BaselineSpec, build_baseline
from workloads.medusa import MedusaSpec, build_medusa
from workloads.onnx_import import OnnxSpec, build_onnx
from workloads.resnet import ResNetSpec, build_resnet
from workloads.serving import ServingSpec
from workloads.skynet import SkyNetSpec, build_skynet
from workloads.snapkv import SnapKVSpec, build_snapkv
from workloads.trace import Trace


def _serving_probe(spec: ServingSpec) -> Trace:
    # a serving run has no single trace: its scheduler builds one per step (simulator.serving); this is one
    # representative step, for checks that read a trace (preflight)
    return spec.probe_step()


WorkloadSpec = Annotated[
    GemmSpec
    | BaselineSpec
    | MedusaSpec
    | SnapKVSpec
    | SkyNetSpec
    | ResNetSpec
    | TraceFileSpec
    | OnnxSpec
    | ServingSpec,
    Field(discriminator="kind"),
]

_BUILDERS: dict[type[Any], Callable[[Any], Trace]] = {
    GemmSpec: build_gemm,
    BaselineSpec: build_baseline,
    MedusaSpec: build_medusa,
    SnapKVSpec: build_snapkv,
    SkyNetSpec: build_skynet,
    ResNetSpec: build_resnet,
    TraceFileSpec: build_trace_file,
    OnnxSpec: build_onnx,
    ServingSpec: _serving_probe,
}

WORKLOAD_ADAPTER: TypeAdapter[WorkloadSpec] = TypeAdapter(WorkloadSpec)


def workload_kinds() -> tuple[str, ...]:
    """Names of the registered workload kinds (for ``hetsim list`` and error messages)."""
    return tuple(cls.model_fields["kind"].default for cls in _BUILDERS)


def build_trace(spec: Any) -> Trace:
    """Generate the trace of a validated workload spec (``serving``: one representative step)."""
    return _BUILDERS[type(spec)](spec)
