"""hetsim workloads: *what* runs. Operator traces of LLM decoding (baseline, Medusa, SnapKV) and CNNs.

No SimPy and no hardware here; the simulator replays these traces on architectures.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workloads.io import TraceFormatError, read_trace, write_trace
    from workloads.models import TransformerConfig, builtin_models, load_model
    from workloads.spec import WorkloadSpec, build_trace, workload_kinds
    from workloads.trace import Operator, TensorRef, Trace

#: Public name -> defining module, imported on first use (PEP 562): importing ``workloads.trace``
#: alone must not load every generator (and numpy, pydantic) with it.
_EXPORTS = {
    "Operator": "workloads.trace",
    "TensorRef": "workloads.trace",
    "Trace": "workloads.trace",
    "TraceFormatError": "workloads.io",
    "TransformerConfig": "workloads.models",
    "WorkloadSpec": "workloads.spec",
    "build_trace": "workloads.spec",
    "builtin_models": "workloads.models",
    "load_model": "workloads.models",
    "read_trace": "workloads.io",
    "workload_kinds": "workloads.spec",
    "write_trace": "workloads.io",
}

__all__ = [
    "Operator",
    "TensorRef",
    "Trace",
    "TraceFormatError",
    "TransformerConfig",
    "WorkloadSpec",
    "build_trace",
    "builtin_models",
    "load_model",
    "read_trace",
    "workload_kinds",
    "write_trace",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workloads' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
