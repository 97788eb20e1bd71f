"""SimPy replay of operator traces on a :class:`~simulator.hardware.System`.

The public entry point is :func:`simulate`; :class:`FlowNetwork` and :func:`max_min_rates` are the
bandwidth-sharing model underneath, exported for tests and for users who want to study it alone.
"""

from simulator.engine.engine import simulate
from simulator.engine.flows import FlowNetwork, max_min_rates
from simulator.engine.host import RunProgress

__all__ = ["FlowNetwork", "RunProgress", "max_min_rates", "simulate"]
