"""hetsim workloads: *what* runs. Operator traces of LLM decoding (baseline, Medusa, SnapKV) and CNNs.

No SimPy and no hardware here; the simulator replays these traces on architectures.
"""

from workloads.io import TraceFormatError, read_trace, write_trace
from workloads.models import TransformerConfig, builtin_models, load_model
from workloads.spec import WorkloadSpec, build_trace, workload_kinds
from workloads.trace import Operator, TensorRef, Trace

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
