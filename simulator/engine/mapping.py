"""Mapping: which compute unit runs an operator, and what running it there costs (cached).

Rules come from the architecture's ``mapping`` overridden by the scenario's: the rule for the
operator's kind, else ``'*'``, else ``auto``. A unit name pins the kind to that unit; ``auto``
lists every unit whose ``ops`` allow the kind and whose peak has the dtype (sorted by name), and
the engine picks the earliest estimated finish among them when the operator is issued.

:class:`OpCost` is everything static about an operator signature on one unit, computed once and
shared by every operator with the same kind, dtype, FLOPs, dims and tensors: compute time,
flows (after on-chip reuse), route latency, energies, capacity effects and roofline terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from simulator.errors import UserError
from simulator.hardware.reuse import gemm_reuse_factors
from simulator.hardware.system import Route, System
from simulator.hardware.utilisation import gemm_dims, utilisation
from simulator.metrics.ledger import OpEnergy
from workloads.trace import Operator

if TYPE_CHECKING:  # the host module imports execution, which imports this module
    from simulator.engine.host import HostProfile

#: Memory levels counted as off-chip in the roofline's bandwidth term.
OFF_CHIP_LEVELS = frozenset({"dram", "hbm"})


class OpCost:
    """Static cost of one operator signature on one unit (seconds, bytes, joules)."""

    __slots__ = (
        "activations",
        "compute_s",
        "energy",
        "evicted",
        "flops",
        "flows",
        "kv_writes",
        "latency_s",
        "launch_s",
        "memory_bytes",
        "roofline_bytes",
        "roofline_compute_s",
        "runs",
        "standalone_s",
        "transfer_bytes",
        "unit",
        "unit_index",
        "weights",
    )

    def __init__(self) -> None:
        self.unit = ""
        self.unit_index = 0
        self.compute_s = 0.0
        self.flows: list[tuple[tuple[int, ...], float]] = []
        self.latency_s = 0.0
        #: the runtime's device-side kernel launch time, included in ``latency_s``
        self.launch_s = 0.0
        self.standalone_s = 0.0
        self.transfer_bytes = 0.0
        self.flops = 0.0
        self.energy = OpEnergy("", "", 0.0, ())
        #: (memory, bytes) of activations live while the operator runs
        self.activations: tuple[tuple[str, int], ...] = ()
        #: (tensor, memory, bytes) of weights read: resident from their first read
        self.weights: tuple[tuple[str, str, int], ...] = ()
        #: (tensor, memory, bytes) of KV cache written: grows the cache
        self.kv_writes: tuple[tuple[str, str, int], ...] = ()
        #: memory -> bytes read and written there (after reuse)
        self.memory_bytes: tuple[tuple[str, float], ...] = ()
        #: off-chip memory -> compulsory bytes (before reuse), for the roofline
        self.roofline_bytes: tuple[tuple[str, float], ...] = ()
        self.roofline_compute_s = 0.0
        #: operators of this signature finished so far (engine bookkeeping)
        self.runs = 0
        #: dropped from the engine's signature cache (its runs are tallied as they finish)
        self.evicted = False


def _describe(op: Operator) -> str:
    return f"operator {op.id} ({op.name}, {op.kind} {op.dtype})"


class Mapper:
    """Resolves operators to candidate units and builds their :class:`OpCost` on each."""

    def __init__(
        self,
        system: System,
        overrides: Mapping[str, str] | None = None,
        host: HostProfile | None = None,
    ) -> None:
        self.system = system
        self.host = host
        self.rules: dict[str, str] = {**system.arch.mapping, **(overrides or {})}
        self.unit_names = list(system.units)
        self.unit_index = {name: i for i, name in enumerate(self.unit_names)}
        self._candidates: dict[tuple[str, str], tuple[str, ...]] = {}
        self._capable_cache: dict[tuple[str, str], list[str]] = {}

    def _capable(self, kind: str, dtype: str) -> list[str]:
        key = (kind, dtype)
        capable = self._capable_cache.get(key)
        if capable is None:
            capable = [
                name
                for name, unit in self.system.units.items()
                if (unit.ops is None or kind in unit.ops) and dtype in unit.peak_flops_per_s
            ]
            self._capable_cache[key] = capable
        return capable

    def candidates(self, op: Operator) -> tuple[str, ...]:
        """Units that may run ``op`` (one for a pinned rule); raises ``UserError`` if none can."""
        key = (op.kind, op.dtype)
        cached = self._candidates.get(key)
        if cached is not None:
            return cached
        rule = self.rules.get(op.kind, self.rules.get("*", "auto"))
        capable = self._capable(op.kind, op.dtype)
        if rule == "auto":
            if not capable:
                raise UserError(
                    f"{_describe(op)}: no compute unit can run kind {op.kind!r} with dtype {op.dtype!r} "
                    f"(units: {', '.join(self.unit_names)}; check their 'ops' and 'peak')"
                )
            result = tuple(capable)
        else:
            unit = self.system.units.get(rule)
            can = f"units that can: {', '.join(capable) if capable else 'none'}"
            if unit is None:
                raise UserError(
                    f"{_describe(op)}: mapping rule names unknown unit {rule!r} "
                    f"(units: {', '.join(self.unit_names)}); {can}"
                )
            if unit.ops is not None and op.kind not in unit.ops:
                raise UserError(f"{_describe(op)}: unit {rule!r} does not run kind {op.kind!r}; {can}")
            if op.dtype not in unit.peak_flops_per_s:
                raise UserError(f"{_describe(op)}: unit {rule!r} has no peak for dtype {op.dtype!r}; {can}")
            result = (rule,)
        self._candidates[key] = result
        return result

    def roofline_compute_s(self, op: Operator) -> float:
        """``flops`` over the summed peak of every unit able to run the op (a bound even in parallel)."""
        peak = sum(self.system.units[u].peak_flops_per_s[op.dtype] for u in self._capable(op.kind, op.dtype))
        return op.flops / peak if peak > 0 else 0.0

    def cost(self, op: Operator, unit_name: str) -> OpCost:
        """Build the static cost of ``op`` on ``unit_name`` (callers cache it by signature)."""
        system = self.system
        arch = system.arch
        unit = system.units[unit_name]
        cost = OpCost()
        cost.unit = unit_name
        cost.unit_index = self.unit_index[unit_name]
        cost.flops = op.flops
        shape_util = utilisation(unit.utilisation, unit.kind, op.kind, op.dims)
        factor = self.host.rate_factor(op, unit, shape_util) if self.host is not None else unit.efficiency * shape_util
        rate = unit.peak_flops_per_s[op.dtype] * factor
        if op.flops > 0 and rate <= 0:
            raise UserError(f"{_describe(op)}: unit {unit_name!r} has zero peak for dtype {op.dtype!r}")
        cost.compute_s = op.flops / rate if op.flops > 0 else 0.0
        cost.roofline_compute_s = self.roofline_compute_s(op)

        # on-chip reuse factors for GEMM-like operators
        factor_a = factor_b = 1.0
        buffer = unit.buffer
        if buffer is not None and buffer not in system.memories:
            raise UserError(f"compute_units.{unit_name}.buffer: {buffer!r} is not a memory")
        shape = gemm_dims(op.kind, op.dims)
        if shape is not None and buffer is not None:
            factor_a, factor_b = gemm_reuse_factors(
                *shape, float(op.bytes_moved), system.memories[buffer].capacity_bytes
            )

        def home(cls: str, tensor: str) -> str:
            mem = arch.placement.get(cls)  # type: ignore[call-overload]
            if mem is None or mem not in system.memories:
                raise UserError(
                    f"{_describe(op)}: tensor {tensor!r} of class {cls!r} has no home memory "
                    f"(placement: {dict(arch.placement)})"
                )
            return str(mem)

        flows: dict[tuple[str, str], float] = {}
        routes: dict[tuple[str, str], Route] = {}
        energy: dict[str, float] = {}
        mem_bytes: dict[str, float] = {}
        roof: dict[str, float] = {}
        acts: dict[str, int] = {}
        weights: list[tuple[str, str, int]] = []
        kv: list[tuple[str, str, int]] = []
        latency = 0.0
        for is_read, tensors in ((True, op.reads), (False, op.writes)):
            for t in tensors:
                mem = home(t.cls, t.tensor)
                spec = system.memories[mem]
                if spec.level in OFF_CHIP_LEVELS:
                    roof[mem] = roof.get(mem, 0.0) + t.bytes
                if t.cls == "activation":
                    acts[mem] = acts.get(mem, 0) + t.bytes
                elif t.cls == "weight" and is_read:
                    weights.append((t.tensor, mem, t.bytes))
                elif t.cls == "kv_cache" and not is_read:
                    kv.append((t.tensor, mem, t.bytes))
                nbytes = float(t.bytes)
                if is_read and mem != buffer:
                    nbytes *= factor_a if t.cls == "activation" else factor_b
                if nbytes <= 0:
                    continue
                route = system.route(mem, unit_name) if is_read else system.route(unit_name, mem)
                key = (mem, "r" if is_read else "w")
                flows[key] = flows.get(key, 0.0) + nbytes
                routes[key] = route
                latency = max(latency, route.latency_s)
                mem_bytes[mem] = mem_bytes.get(mem, 0.0) + nbytes
                per_byte = spec.read_energy_j_per_byte if is_read else spec.write_energy_j_per_byte
                energy[mem] = energy.get(mem, 0.0) + nbytes * per_byte
                for link, link_energy in route.links:
                    energy[link] = energy.get(link, 0.0) + nbytes * link_energy
                for node in route.nodes:  # levels the stream crosses (a cache between HBM and the unit)
                    passed = system.memories.get(node)
                    if node != mem and passed is not None and passed.pass_energy_j_per_byte:
                        energy[node] = energy.get(node, 0.0) + nbytes * passed.pass_energy_j_per_byte
                if unit.sram_energy_j_per_byte and mem != buffer:  # through the unit's SRAM (the buffer's are charged)
                    sram = f"{unit_name}.sram"
                    energy[sram] = energy.get(sram, 0.0) + nbytes * unit.sram_energy_j_per_byte
        transfer_est = 0.0
        for key, nbytes in sorted(flows.items()):
            route = routes[key]
            cost.flows.append((route.resources, nbytes))
            cost.transfer_bytes += nbytes
            transfer_est += nbytes / min(system.capacities[r] for r in route.resources)
        cost.launch_s = self.host.launch_cost_s(op) if self.host is not None else 0.0
        latency += cost.launch_s
        cost.latency_s = latency
        cost.standalone_s = max(cost.compute_s, transfer_est) + latency
        register = unit.register_energy_j_per_flop.get(op.dtype, 0.0)
        if register and op.flops > 0:  # operands in and out of the register files
            energy[f"{unit_name}.registers"] = op.flops * register
        cost.energy = OpEnergy(
            op.kind,
            unit_name,
            op.flops * unit.energy_per_flop_j[op.dtype],
            tuple(sorted(energy.items())),
        )
        cost.activations = tuple(sorted(acts.items()))
        cost.weights = tuple(weights)
        cost.kv_writes = tuple(kv)
        cost.memory_bytes = tuple(sorted(mem_bytes.items()))
        cost.roofline_bytes = tuple(sorted(roof.items()))
        return cost
