"""Mapping: which compute unit runs an operator, and what running it there costs (cached).

Rules come from the architecture's ``mapping`` overridden by the scenario's: the rule for the
operator's kind, else ``'*'``, else ``auto``. A unit name pins the kind to that unit; ``auto``
lists every unit whose ``ops`` allow the kind and whose peak has the dtype (sorted by name), and
the engine picks the earliest estimated finish among them when the operator is issued.

In a system of chips an operator runs on its ``device``: rules name the chip's units (``tensor``
means ``gpu3.tensor`` for an operator of device 3), tensors live in that device's memories (or a
system memory the architecture's placement names: an offload tier), and a collective runs on the
first rank's communication unit as the flows of :mod:`simulator.engine.collectives`.

:class:`OpCost` is everything static about an operator signature on one unit, computed once and
shared by every operator with the same kind, dtype, FLOPs, dims and tensors: compute time,
flows (after on-chip reuse), route latency, energies, capacity effects and roofline terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from simulator.config.devices import Device
from simulator.engine.collectives import plan_collective
from simulator.errors import UserError
from simulator.hardware.reuse import gemm_reuse_factors
from simulator.hardware.system import Route, System
from simulator.hardware.utilisation import gemm_dims, operand_bytes_per_flop, utilisation
from simulator.metrics.ledger import OpEnergy
from workloads.dtypes import bits_per_element
from workloads.trace import COLLECTIVES, Operator

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
        "link_bytes",
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
        #: link -> bytes crossing it (both directions)
        self.link_bytes: tuple[tuple[str, float], ...] = ()
        #: off-chip memory -> compulsory bytes (before reuse), for the roofline
        self.roofline_bytes: tuple[tuple[str, float], ...] = ()
        self.roofline_compute_s = 0.0
        #: operators of this signature finished so far (engine bookkeeping)
        self.runs = 0
        #: dropped from the engine's signature cache (its runs are tallied as they finish)
        self.evicted = False


def _operand_bits(dtype: str) -> int:
    """Bits of one operand element as the matrix unit computes (a weight-only format computes in its activations)."""
    try:
        return bits_per_element(dtype, "activation")
    except ValueError:
        return 16


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
        self.overrides = dict(overrides or {})
        self.unit_names = list(system.units)
        self.unit_index = {name: i for i, name in enumerate(self.unit_names)}
        device_units = {u for d in system.devices for u in d.units.values()}
        #: units outside every device (a host CPU beside the GPUs); any device's operators may use them
        self.shared_units = [u for u in system.units if u not in device_units and not u.endswith(".comm")]
        self._candidates: dict[tuple[str, str, int], tuple[str, ...]] = {}
        self._capable_cache: dict[tuple[str, str, int], list[str]] = {}

    def device(self, op: Operator) -> Device:
        """The device ``op`` runs on; raises ``UserError`` when the architecture has no such device."""
        devices = self.system.devices
        if op.device < len(devices):
            return devices[op.device]
        raise UserError(
            f"{_describe(op)}: runs on device {op.device}, but architecture {self.system.arch.name!r} has "
            f"{len(devices)} device{'s' if len(devices) != 1 else ''} (0-{len(devices) - 1}); lower the workload's "
            "tensor_parallel/pipeline_parallel or pick a system with more devices"
        )

    def _capable(self, kind: str, dtype: str, device: int) -> list[str]:
        key = (kind, dtype, device)
        capable = self._capable_cache.get(key)
        if capable is None:
            names = sorted([*self.system.devices[device].units.values(), *self.shared_units])
            units = self.system.units
            capable = [
                name
                for name in names
                if (units[name].ops is None or kind in (units[name].ops or ()))
                and dtype in units[name].peak_flops_per_s
            ]
            self._capable_cache[key] = capable
        return capable

    def candidates(self, op: Operator) -> tuple[str, ...]:
        """Units that may run ``op`` (one for a pinned rule); raises ``UserError`` if none can."""
        key = (op.kind, op.dtype, op.device)
        cached = self._candidates.get(key)
        if cached is not None:
            return cached
        device = self.device(op)
        if op.kind in COLLECTIVES:
            for rank in op.group:
                if rank >= len(self.system.devices):
                    self.device(Operator(op.id, op.name, "norm", op.phase, 0.0, device=rank))
            comm = self.system.devices[op.group[0]].comm
            if not comm:
                raise UserError(f"{_describe(op)}: a collective needs a multi-device architecture")
            return (comm,)  # not cached: the comm unit follows the group, not the operator's device
        rule = self.overrides.get(op.kind) or device.rules.get(op.kind)
        rule = rule or self.overrides.get("*") or device.rules.get("*", "auto")
        capable = self._capable(op.kind, op.dtype, op.device)
        prefix = f"{device.name}." if device.name else ""
        local = [u.removeprefix(prefix) if prefix else u for u in capable]
        if rule == "auto":
            if not capable:
                raise UserError(
                    f"{_describe(op)}: no compute unit can run kind {op.kind!r} with dtype {op.dtype!r} "
                    f"(units: {', '.join(device.units)}; check their 'ops' and 'peak')"
                )
            result = tuple(capable)
        else:
            name = device.units.get(rule) or (rule if rule in self.shared_units else None)
            unit = self.system.units.get(name) if name is not None else None
            can = f"units that can: {', '.join(local) if local else 'none'}"
            if unit is None or name is None:
                raise UserError(
                    f"{_describe(op)}: mapping rule names unknown unit {rule!r} "
                    f"(units: {', '.join([*device.units, *self.shared_units])}); {can}"
                )
            if unit.ops is not None and op.kind not in unit.ops:
                raise UserError(f"{_describe(op)}: unit {rule!r} does not run kind {op.kind!r}; {can}")
            if op.dtype not in unit.peak_flops_per_s:
                raise UserError(f"{_describe(op)}: unit {rule!r} has no peak for dtype {op.dtype!r}; {can}")
            result = (name,)
        self._candidates[key] = result
        return result

    def roofline_compute_s(self, op: Operator) -> float:
        """``flops`` over the summed peak of every unit, on every device, able to run the op (a bound in parallel)."""
        units = self.system.units
        peak = sum(
            units[u].peak_flops_per_s[op.dtype]
            for d in range(len(self.system.devices))
            for u in self._capable(op.kind, op.dtype, d)
            if u not in self.shared_units or d == 0
        )
        return op.flops / peak if peak > 0 else 0.0

    def collective_cost(self, op: Operator, unit_name: str) -> OpCost:
        """A collective: the flows its algorithm sends between the ranks' attach memories (see collectives)."""
        system = self.system
        cost = OpCost()
        cost.unit = unit_name
        cost.unit_index = self.unit_index[unit_name]
        size = float(op.dims.get("bytes", 0)) if op.dims else 0.0
        if size <= 0:
            size = float(max(op.bytes_read, op.bytes_written))
        plan = plan_collective(system, op.kind, op.group, size, system.arch.collectives)
        energy: dict[str, float] = {}
        mem_bytes: dict[str, float] = {}
        link_bytes: dict[str, float] = {}
        transfer_est = 0.0
        for route, nbytes in plan.flows:
            if nbytes <= 0:
                continue
            cost.flows.append((route.resources, nbytes))
            cost.transfer_bytes += nbytes
            transfer_est = max(transfer_est, nbytes / min(system.capacities[r] for r in route.resources))
            src, dst = route.nodes[0], route.nodes[-1]
            for mem, per_byte in (
                (src, system.memories[src].read_energy_j_per_byte),
                (dst, system.memories[dst].write_energy_j_per_byte),
            ):
                mem_bytes[mem] = mem_bytes.get(mem, 0.0) + nbytes
                energy[mem] = energy.get(mem, 0.0) + nbytes * per_byte
            for link, link_energy in route.links:
                energy[link] = energy.get(link, 0.0) + nbytes * link_energy
                link_bytes[link] = link_bytes.get(link, 0.0) + nbytes
        cost.launch_s = self.host.launch_cost_s(op) if self.host is not None else 0.0
        cost.latency_s = plan.latency_s + cost.launch_s
        cost.standalone_s = transfer_est + cost.latency_s
        cost.energy = OpEnergy(op.kind, unit_name, 0.0, tuple(sorted(energy.items())))
        cost.memory_bytes = tuple(sorted(mem_bytes.items()))
        cost.link_bytes = tuple(sorted(link_bytes.items()))
        return cost

    def cost(self, op: Operator, unit_name: str) -> OpCost:
        """Build the static cost of ``op`` on ``unit_name`` (callers cache it by signature)."""
        if op.kind in COLLECTIVES:
            return self.collective_cost(op, unit_name)
        system = self.system
        device = self.device(op)
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
            mem = device.placement.get(cls)
            if mem is None or mem not in system.memories:
                raise UserError(
                    f"{_describe(op)}: tensor {tensor!r} of class {cls!r} has no home memory "
                    f"(placement: {dict(device.placement)})"
                )
            return str(mem)

        flows: dict[tuple[str, str], float] = {}
        routes: dict[tuple[str, str], Route] = {}
        energy: dict[str, float] = {}
        mem_bytes: dict[str, float] = {}
        link_bytes: dict[str, float] = {}
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
                    link_bytes[link] = link_bytes.get(link, 0.0) + nbytes
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
        if unit.sram_energy_j_per_byte and op.flops > 0:  # operand tiles re-read from shared memory at every K step
            per_flop = operand_bytes_per_flop(unit.utilisation, unit.kind, op.kind, op.dims, _operand_bits(op.dtype))
            if per_flop:
                sram = f"{unit_name}.sram"
                energy[sram] = energy.get(sram, 0.0) + op.flops * per_flop * unit.sram_energy_j_per_byte
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
        cost.link_bytes = tuple(sorted(link_bytes.items()))
        cost.roofline_bytes = tuple(sorted(roof.items()))
        return cost
