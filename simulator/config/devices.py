"""Multi-device expansion: a system of chips as one flat set of named units, memories, switches and links.

An architecture with ``devices`` holds ``count`` copies of a chip per group. Expansion gives every
copy its own nodes, named ``<device>.<node>`` (``gpu3.tensor``, ``gpu3.hbm``), keeps the chip's
on-chip links inside each device, adds a ``<device>.comm`` unit that runs the device's collectives,
and expands the system-level links: an endpoint ``gpu3`` is that device's attach memory, ``gpu*``
one link per device of the group. A single-chip architecture expands to itself as one device whose
names are unchanged, so everything downstream sees one shape.

System-level links are the *inter-device* interconnect (NVLink, NVSwitch ports, PCIe, NVLink-C2C,
NICs): their traffic and energy are reported on their own level.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.config.architecture import (
    ArchitectureSpec,
    ComputeUnitSpec,
    LinkSpec,
    MemorySpec,
    SwitchSpec,
)
from workloads.trace import COLLECTIVES

#: Operator kinds that are collectives: they run on a device's communication unit, as flows between devices.
COLLECTIVE_KINDS = COLLECTIVES

#: Name of the per-device unit that runs collectives (NCCL's kernels and copy engines, as one stream).
COMM_UNIT = "comm"

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Device:
    """One device of an expanded architecture: its global node names and how its operators are placed."""

    name: str
    index: int
    #: chip unit name -> global name
    units: dict[str, str]
    #: chip memory name -> global name
    memories: dict[str, str]
    #: global memory that system links attach to
    attach: str
    #: tensor class -> global home memory (system placement overrides the chip's)
    placement: dict[str, str]
    #: mapping rules in chip unit names (or system unit names)
    rules: dict[str, str]
    #: global name of the unit that runs this device's collectives ("" on a single chip)
    comm: str = ""
    #: power above the static floor while the device is up but runs no operator (its chip's active_idle_power)
    active_idle_w: float = 0.0


@dataclass
class Expanded:
    """The flat view: nodes and links by global name, the devices, and what went wrong (key paths)."""

    units: dict[str, ComputeUnitSpec] = field(default_factory=dict)
    memories: dict[str, MemorySpec] = field(default_factory=dict)
    switches: dict[str, SwitchSpec] = field(default_factory=dict)
    #: (link with global endpoints, True when it is a system-level (inter-device) link)
    links: list[tuple[LinkSpec, bool]] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    #: component -> static power not in any unit or memory (per-device uncore, the system's, switches)
    uncore_w: dict[str, float] = field(default_factory=dict)
    problems: list[tuple[Loc, str]] = field(default_factory=list)


def _comm_unit() -> ComputeUnitSpec:
    return ComputeUnitSpec.model_validate(
        {"kind": "fabric", "peak": {}, "energy_per_flop": {}, "ops": list(COLLECTIVE_KINDS)}
    )


def expand(arch: ArchitectureSpec) -> Expanded:
    """Flatten ``arch``; problems (unknown endpoints, name clashes) are collected, never raised."""
    out = Expanded()
    if not arch.devices:
        out.units = dict(arch.compute_units)
        out.memories = dict(arch.memories)
        out.switches = dict(arch.switches)
        out.links = [(link, False) for link in arch.links]
        out.devices = [
            Device(
                name="",
                index=0,
                units={u: u for u in arch.compute_units},
                memories={m: m for m in arch.memories},
                attach=arch.placement.get("activation", next(iter(arch.memories), "")),
                placement={str(cls): mem for cls, mem in arch.placement.items()},
                rules=dict(arch.mapping),
                active_idle_w=arch.active_idle_power_w,
            )
        ]
        out.uncore_w["system"] = arch.static_power_w
        for name, sw in arch.switches.items():
            out.uncore_w[name] = sw.static_power_w
        return out

    out.units = dict(arch.compute_units)
    out.memories = dict(arch.memories)
    out.switches = dict(arch.switches)
    system_names = set(arch.compute_units) | set(arch.memories) | set(arch.switches)
    groups: dict[str, list[Device]] = {}
    explicit_rules = dict(arch.mapping) if "mapping" in arch.model_fields_set else {}
    index = 0
    for g, group in enumerate(arch.devices):
        chip = group.chip
        if group.name in groups:
            out.problems.append((("devices", g, "name"), f"device name {group.name!r} is used by two groups"))
            continue
        if chip.devices:
            out.problems.append((("devices", g, "chip"), "a chip must be a single device (it has devices itself)"))
            continue
        attach = group.attach or chip.placement.get("activation", "")
        if attach not in chip.memories:
            out.problems.append(
                (("devices", g, "attach"), f"unknown chip memory {attach!r}; memories: {', '.join(chip.memories)}")
            )
            continue
        if COMM_UNIT in chip.compute_units:
            out.problems.append((("devices", g, "chip", "compute_units", COMM_UNIT), "the name is reserved"))
            continue
        members: list[Device] = []
        for i in range(group.count):
            dev = f"{group.name}{i}"
            if dev in system_names:
                out.problems.append((("devices", g, "name"), f"device {dev!r} clashes with a system node name"))
                continue
            units = {u: f"{dev}.{u}" for u in chip.compute_units}
            mems = {m: f"{dev}.{m}" for m in chip.memories}
            for u, unit in chip.compute_units.items():
                buffer = mems.get(unit.buffer) if unit.buffer is not None else None
                out.units[units[u]] = unit.model_copy(update={"buffer": buffer})
            for m, memory in chip.memories.items():
                out.memories[mems[m]] = memory
            comm = f"{dev}.{COMM_UNIT}"
            out.units[comm] = _comm_unit()
            for link in chip.links:
                a, b = link.between
                ends = (units.get(a) or mems.get(a) or a, units.get(b) or mems.get(b) or b)
                out.links.append((link.model_copy(update={"between": ends}), False))
            placement = {str(cls): mems[m] for cls, m in chip.placement.items() if m in mems}
            placement.update({str(cls): m for cls, m in arch.placement.items()})
            rules = {**chip.mapping, **explicit_rules}
            members.append(
                Device(dev, index, units, mems, mems[attach], placement, rules, comm, chip.active_idle_power_w)
            )
            out.uncore_w[dev] = chip.static_power_w
            index += 1
        groups[group.name] = members
        out.devices.extend(members)
    out.uncore_w["system"] = arch.static_power_w
    for name, sw in arch.switches.items():
        out.uncore_w[name] = sw.static_power_w

    by_name = {d.name: d for d in out.devices}
    known = set(out.units) | set(out.memories) | set(out.switches)

    def resolve(end: str) -> list[str] | None:
        if end.endswith("*") and end[:-1] in groups:
            return [d.attach for d in groups[end[:-1]]]
        if end in by_name:
            return [by_name[end].attach]
        if end in known:
            return [end]
        return None

    for i, link in enumerate(arch.links):
        resolved = [resolve(e) for e in link.between]
        bad = [j for j, e in enumerate(resolved) if e is None]
        for j in bad:
            out.problems.append(
                (
                    ("links", i, "between", j),
                    f"unknown endpoint {link.between[j]!r}; devices: {', '.join(by_name) or '(none)'}"
                    f" (or '<group>*'), system nodes: {', '.join(sorted(system_names)) or '(none)'}",
                )
            )
        if bad:
            continue
        a_list, b_list = resolved
        assert a_list is not None and b_list is not None
        if len(a_list) > 1 and len(b_list) > 1:
            out.problems.append((("links", i, "between"), "at most one endpoint may name every device ('<group>*')"))
            continue
        for a in a_list:
            for b in b_list:
                out.links.append((link.model_copy(update={"between": (a, b)}), True))
    return out
