"""hetsim workloads: *what* runs. Operator traces of LLM decoding (baseline, Medusa, SnapKV) and CNNs.

No SimPy and no hardware here; the simulator replays these traces on architectures.
"""

from workloads.spec import WorkloadSpec, build_trace, workload_kinds
from workloads.trace import Operator, TensorRef, Trace

__all__ = ["Operator", "TensorRef", "Trace", "WorkloadSpec", "build_trace", "workload_kinds"]
