"""Hardware built from an :class:`~simulator.config.architecture.ArchitectureSpec`.

:class:`System` is the typed graph of compute units, memories and links, with cached routes and the
flow-network resources each route crosses; :mod:`.utilisation` and :mod:`.reuse` are the shape
models that turn an operator into compute time and off-chip traffic.
"""

from simulator.hardware.reuse import gemm_reuse_factors
from simulator.hardware.system import Route, System
from simulator.hardware.utilisation import gemm_dims, utilisation

__all__ = ["Route", "System", "gemm_dims", "gemm_reuse_factors", "utilisation"]
