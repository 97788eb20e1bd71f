"""Typed hardware facts carried by every :class:`~simulator.metrics.result.RunResult`.

Reports need to know, for the run they show, each unit's peak FLOP/s per dtype, each memory's
level and bandwidth, which ledger components are links, and the energy numbers the model used.
They used to dig those out of the resolved YAML mapping (re-parsing unit strings, guessing field
names, recognising links by a regex on their names): a renamed key silently dropped a roofline.
Here they are built once, at run time, from the :class:`~simulator.hardware.system.System` the
engine simulated, in SI units, under the same names the energy ledger uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.config.architecture import RuntimeSpec
    from simulator.hardware.system import System

#: The energy ledger's components that belong to no unit, memory or link: the uncore and active-idle power.
SYSTEM_COMPONENTS = ("system", "active_idle")

#: Memory levels that count as off-chip for the roofline's slanted roof (the bandwidth that bounds decode).
OFF_CHIP_LEVELS = ("hbm", "dram")


@dataclass(frozen=True)
class UnitFacts:
    """A compute unit: what it is built as, its peak and energy per FLOP per dtype, its static power."""

    name: str
    kind: str
    peak_flops_per_s: Mapping[str, float]
    energy_per_flop_j: Mapping[str, float]
    static_power_w: float = 0.0
    #: energy per byte through the unit's own SRAM (charged to ``<unit>.sram``)
    sram_energy_j_per_byte: float = 0.0
    #: register-file operand energy per FLOP per dtype (charged to ``<unit>.registers``)
    register_energy_j_per_flop: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class MemoryFacts:
    """A memory level: its bandwidths (peak and sustained = peak × efficiency), capacity and energies."""

    name: str
    level: str
    capacity_bytes: float
    bandwidth_bytes_per_s: float
    sustained_bandwidth_bytes_per_s: float
    read_energy_j_per_byte: float
    write_energy_j_per_byte: float
    static_power_w: float = 0.0


@dataclass(frozen=True)
class LinkFacts:
    """A link under the ledger's component name (``a-b``) and its per-direction timeline tracks (``a->b``)."""

    name: str
    between: tuple[str, str]
    directions: tuple[str, str]
    bandwidth_bytes_per_s: float
    energy_j_per_byte: float


@dataclass(frozen=True)
class HardwareFacts:
    """Everything about the simulated hardware that reports show, typed and in SI units."""

    name: str = ""
    description: str = ""
    sources: tuple[str, ...] = ()
    units: Mapping[str, UnitFacts] = field(default_factory=dict)
    memories: Mapping[str, MemoryFacts] = field(default_factory=dict)
    links: tuple[LinkFacts, ...] = ()
    #: tensor class -> home memory
    placement: Mapping[str, str] = field(default_factory=dict)
    #: uncore / board power not in any component (the ledger's ``system`` component)
    static_power_w: float = 0.0
    #: the clocked-up state's power above the floor, for the whole run (the ledger's ``active_idle`` component)
    active_idle_power_w: float = 0.0
    #: every component the energy ledger can charge -> its kind: ``unit``, a memory level, ``sram`` and
    #: ``register`` (a unit's own SRAM and register files, ``<unit>.sram``/``<unit>.registers``), ``link``,
    #: ``inter_device`` (a link between chips), ``system`` (the uncore ``system`` and ``active_idle``, each
    #: device's uncore and active idle, switches)
    components: Mapping[str, str] = field(default_factory=dict)

    def component_kind(self, component: str) -> str:
        """Kind of a ledger component or a timeline link track (``a->b``); ``""`` if unknown."""
        kind = self.components.get(component)
        if kind is not None:
            return kind
        if component in self.units:  # facts built by hand, without the components map
            return "unit"
        if component in self.memories:
            return self.memories[component].level
        if any(component == link.name or component in link.directions for link in self.links):
            return "link"
        return "system" if component in SYSTEM_COMPONENTS else ""

    def data_movement_levels(self) -> dict[str, str]:
        """Component -> level for the components that move data (the ledger's by-level view)."""
        return {name: kind for name, kind in self.components.items() if kind not in ("unit", "system")}

    def peak_flops_per_s(self, dtype: str | None = None) -> float:
        """The fastest unit's peak for ``dtype`` (0 if no unit runs it); any dtype when ``None``."""
        peaks = [
            rate
            for unit in self.units.values()
            for d, rate in unit.peak_flops_per_s.items()
            if dtype is None or d == dtype
        ]
        return max(peaks, default=0.0)

    def roof_memory(self) -> MemoryFacts | None:
        """The memory whose sustained bandwidth is the roofline's slanted roof.

        The fastest off-chip memory (``hbm``/``dram``), else the weights' home memory, else ``None``.
        """
        off_chip = [m for m in self.memories.values() if m.level in OFF_CHIP_LEVELS]
        if off_chip:
            return max(off_chip, key=lambda m: (m.sustained_bandwidth_bytes_per_s, m.name))
        home = self.placement.get("weight")
        return self.memories.get(home) if home is not None else None

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``results.json`` (SI units, names as in the energy ledger)."""
        return {
            "name": self.name,
            "units": {
                n: {
                    "kind": u.kind,
                    "peak_flops_per_s": dict(u.peak_flops_per_s),
                    "energy_per_flop_j": dict(u.energy_per_flop_j),
                    "static_power_w": u.static_power_w,
                    "sram_energy_j_per_byte": u.sram_energy_j_per_byte,
                    "register_energy_j_per_flop": dict(u.register_energy_j_per_flop),
                }
                for n, u in self.units.items()
            },
            "memories": {
                n: {
                    "level": m.level,
                    "capacity_bytes": m.capacity_bytes,
                    "bandwidth_bytes_per_s": m.bandwidth_bytes_per_s,
                    "sustained_bandwidth_bytes_per_s": m.sustained_bandwidth_bytes_per_s,
                    "read_energy_j_per_byte": m.read_energy_j_per_byte,
                    "write_energy_j_per_byte": m.write_energy_j_per_byte,
                    "static_power_w": m.static_power_w,
                }
                for n, m in self.memories.items()
            },
            "links": [
                {
                    "name": link.name,
                    "between": list(link.between),
                    "bandwidth_bytes_per_s": link.bandwidth_bytes_per_s,
                    "energy_j_per_byte": link.energy_j_per_byte,
                }
                for link in self.links
            ],
            "placement": dict(self.placement),
            "static_power_w": self.static_power_w,
            "active_idle_power_w": self.active_idle_power_w,
        }


@dataclass(frozen=True)
class RuntimeFacts:
    """The runtime profile a scenario ran under, for the report's assumptions section."""

    name: str = ""
    description: str = ""
    sources: tuple[str, ...] = ()
    per_kernel_overhead_s: float = 0.0
    kernel_launch_latency_s: float = 0.0


def hardware_facts(system: System) -> HardwareFacts:
    """The facts of a built system, named as the ledger and the timeline name its components.

    Every mapping is sorted by name, so the facts (and ``results.json``) do not depend on the order of
    keys in the architecture file.
    """
    arch = system.arch
    links = []
    for spec, name in sorted({name: (spec, name) for spec, name in system.edges.values()}.values(), key=lambda e: e[1]):
        x, y = spec.between  # the edge's name follows the file's order
        links.append(
            LinkFacts(
                name=name,
                between=(x, y),
                directions=(f"{x}->{y}", f"{y}->{x}"),
                bandwidth_bytes_per_s=spec.bandwidth_bytes_per_s,
                energy_j_per_byte=spec.energy_j_per_byte,
            )
        )
    components: dict[str, str] = {name: "unit" for name in system.units}
    components.update({name: mem.level for name, mem in system.memories.items()})
    for name in system.units:  # the names the mapping charges a unit's own SRAM and register energy to
        components[f"{name}.sram"] = "sram"
        components[f"{name}.registers"] = "register"
    components.update({link.name: "link" for link in links})
    # between chips: links of a system of chips are their own data-movement level
    components.update(dict.fromkeys(system.inter_device_links, "inter_device"))
    components.update(dict.fromkeys(SYSTEM_COMPONENTS, "system"))
    for name in system.uncore_w:  # each device's uncore, the switches
        components.setdefault(name, "system")
    for device in system.devices:
        if device.name:
            components[f"{device.name}.active_idle"] = "system"
    return HardwareFacts(
        name=arch.name,
        description=arch.description,
        sources=tuple(arch.sources),
        units={
            name: UnitFacts(
                name=name,
                kind=unit.kind,
                peak_flops_per_s=dict(sorted(unit.peak_flops_per_s.items())),
                energy_per_flop_j=dict(sorted(unit.energy_per_flop_j.items())),
                static_power_w=unit.static_power_w,
                sram_energy_j_per_byte=unit.sram_energy_j_per_byte,
                register_energy_j_per_flop=dict(sorted(unit.register_energy_j_per_flop.items())),
            )
            for name, unit in system.units.items()
        },
        memories={
            name: MemoryFacts(
                name=name,
                level=mem.level,
                capacity_bytes=mem.capacity_bytes,
                bandwidth_bytes_per_s=mem.bandwidth_bytes_per_s,
                sustained_bandwidth_bytes_per_s=mem.sustained_bandwidth_bytes_per_s,
                read_energy_j_per_byte=mem.read_energy_j_per_byte,
                write_energy_j_per_byte=mem.write_energy_j_per_byte,
                static_power_w=mem.static_power_w,
            )
            for name, mem in system.memories.items()
        },
        links=tuple(links),
        placement={str(cls): memory for cls, memory in sorted(arch.placement.items())},
        static_power_w=arch.static_power_w,
        active_idle_power_w=arch.active_idle_power_w,
        components=dict(sorted(components.items())),
    )


def runtime_facts(runtime: RuntimeSpec | None) -> RuntimeFacts | None:
    """The facts of a runtime profile (``None`` stays ``None``: the ideal runtime of a bare ``simulate``)."""
    if runtime is None:
        return None
    return RuntimeFacts(
        name=runtime.name,
        description=runtime.description,
        sources=tuple(runtime.sources),
        per_kernel_overhead_s=runtime.per_kernel_overhead_s,
        kernel_launch_latency_s=runtime.kernel_launch_latency_s,
    )
