"""Semantic cross-checks on validated specs: names that must exist, graphs that must connect.

The schema (pydantic) checks each value on its own; these checks look across fields, as ZigZag's
validator does, and return *all* problems (never raise), each with its YAML key path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import pairwise

from simulator.config.architecture import ArchitectureSpec, ComputeUnitSpec, DeviceGroupSpec, RuntimeSpec
from simulator.config.devices import expand
from simulator.config.topology import adjacency_of, link_problems, route_nodes, unreachable, usable_units
from simulator.errors import Problem
from workloads.trace import OP_KINDS

Loc = tuple[str | int, ...]


def _names(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "(none)"


def check_architecture(spec: ArchitectureSpec, *, file: str | None = None, prefix: Loc = ()) -> list[Problem]:
    """Names referred to exist, bandwidths are non-zero, and every unit can reach every placement memory."""
    if spec.devices:
        return _check_system(spec, file=file, prefix=prefix)
    problems: list[Problem] = []

    def add(path: Loc, message: str) -> None:
        problems.append(Problem(file, prefix + path, message))

    if not spec.placement:
        add(("placement",), "required for a single-chip architecture (one home memory per tensor class)")
    units, memories = set(spec.compute_units), set(spec.memories)
    for both in sorted(units & memories):
        add(("compute_units", both), f"name {both!r} is used by both a compute unit and a memory; names must be unique")
    if not units:
        add(("compute_units",), "an architecture needs at least one compute unit")
    for both in sorted(set(spec.switches) & (units | memories)):
        add(("switches", both), f"name {both!r} is used by a switch and a unit or memory; names must be unique")

    for name, mem in spec.memories.items():
        if mem.bandwidth_bytes_per_s == 0:  # the engine shares each memory's bandwidth among flows: it must be > 0
            add(("memories", name, "bandwidth"), "must be greater than 0, such as '2.039 TB/s'")
    for tensor_class, memory in spec.placement.items():
        if memory not in memories:
            add(("placement", tensor_class), f"unknown memory {memory!r}; memories: {_names(memories)}")
    for unit_name, unit in spec.compute_units.items():
        if unit.buffer is not None and unit.buffer not in memories:
            add(("compute_units", unit_name, "buffer"), f"unknown memory {unit.buffer!r}; memories: {_names(memories)}")
        for i, kind in enumerate(unit.ops or ()):
            if kind not in OP_KINDS:
                add(
                    ("compute_units", unit_name, "ops", i), f"unknown operator kind {kind!r}; kinds: {_names(OP_KINDS)}"
                )
    for path, message in link_problems(spec):
        add(path, message)
    for i, link in enumerate(spec.links):
        if link.bandwidth_bytes_per_s == 0:
            add(("links", i, "bandwidth"), "must be greater than 0, such as '25 GB/s'")
    problems.extend(check_mapping(spec.mapping, spec, file=file, prefix=(*prefix, "mapping")))
    problems.extend(reachability_problems(spec, file=file, prefix=prefix))
    return problems


def reachability_problems(
    spec: ArchitectureSpec, overrides: Mapping[str, str] | None = None, *, file: str | None = None, prefix: Loc = ()
) -> list[Problem]:
    """Placement memories a usable unit cannot reach (:mod:`simulator.config.topology`), one problem per memory."""
    cut: dict[str, tuple[list[str], list[str]]] = {}
    for cls, memory, cut_unit in unreachable(spec, overrides):
        classes, units_cut = cut.setdefault(memory, ([], []))
        if cls not in classes:
            classes.append(cls)
        if cut_unit not in units_cut:
            units_cut.append(cut_unit)
    return [
        Problem(
            file,
            (*prefix, "placement", classes[0]),
            f"memory {memory!r} (home of {', '.join(classes)}) cannot be reached from compute unit(s) "
            f"{', '.join(units_cut)}{' (as the scenario maps operators)' if overrides else ''}: routes pass through "
            "memories only, never through another compute unit; add a link from each such unit to a memory on the "
            "way, or map no operator to it",
        )
        for memory, (classes, units_cut) in cut.items()
    ]


def _check_system(spec: ArchitectureSpec, *, file: str | None, prefix: Loc) -> list[Problem]:
    """A multi-device architecture: each chip on its own, then the expansion, placement overrides and reachability."""
    problems: list[Problem] = []

    def add(path: Loc, message: str) -> None:
        problems.append(Problem(file, prefix + path, message))

    for g, group in enumerate(spec.devices):
        problems.extend(check_architecture(group.chip, file=file, prefix=(*prefix, "devices", g, "chip")))
    if problems:
        return problems
    expanded = expand(spec)
    for loc, message in expanded.problems:
        add(loc, message)
    for name, mem in spec.memories.items():
        if mem.bandwidth_bytes_per_s == 0:
            add(("memories", name, "bandwidth"), "must be greater than 0, such as '64 GB/s'")
    for i, link in enumerate(spec.links):
        if link.between[0] == link.between[1]:
            add(("links", i, "between"), "a link needs two different endpoints")
        if link.bandwidth_bytes_per_s == 0:
            add(("links", i, "bandwidth"), "must be greater than 0, such as '300 GB/s'")
    for tensor_class, memory in spec.placement.items():
        if memory not in spec.memories:
            add(
                ("placement", tensor_class),
                f"unknown system memory {memory!r} (a device's own memories come from its chip's placement); "
                f"system memories: {_names(spec.memories)}",
            )
    units: dict[str, ComputeUnitSpec] = dict(spec.compute_units)
    for group in spec.devices:
        units.update(group.chip.compute_units)
    problems.extend(check_mapping(spec.mapping, spec, file=file, prefix=(*prefix, "mapping"), units=units))
    if problems:
        return problems
    nodes = [*expanded.units, *expanded.memories, *expanded.switches]
    adj = adjacency_of(nodes, [link.between for link, _ in expanded.links])
    passable = [*expanded.memories, *expanded.switches]
    explicit = dict(spec.mapping) if "mapping" in spec.model_fields_set else {}
    for device, group in zip(expanded.devices, _groups(spec), strict=True):
        usable = [device.units[u] for u in usable_units(group.chip, explicit)]
        for cls, memory in sorted(device.placement.items()):
            cut = [u for u in usable if route_nodes(adj, passable, memory, u) is None]
            if cut:
                add(
                    ("placement", cls),
                    f"memory {memory!r} cannot be reached from compute unit(s) {', '.join(cut)}: routes pass through "
                    "memories and switches only; add a link on the way",
                )
    for a, b in pairwise(expanded.devices):
        if route_nodes(adj, passable, a.attach, b.attach) is None:
            add(("links",), f"device {a.name!r} cannot reach device {b.name!r} over the links")
    return problems


def _groups(spec: ArchitectureSpec) -> list[DeviceGroupSpec]:
    """The device group of each expanded device, in device order."""
    return [group for group in spec.devices for _ in range(group.count)]


def check_mapping(
    mapping: Mapping[str, str],
    spec: ArchitectureSpec,
    *,
    file: str | None = None,
    prefix: Loc = ("mapping",),
    units: Mapping[str, ComputeUnitSpec] | None = None,
) -> list[Problem]:
    """Mapping keys are operator kinds (or ``'*'``); values are unit names (or ``auto``) able to run them.

    With devices, unit names are the chip's (``tensor``, not ``gpu3.tensor``) or the system's.
    """
    problems: list[Problem] = []
    if units is None:
        units = dict(spec.compute_units)
        for group in spec.devices:
            units.update(group.chip.compute_units)
    for kind, unit in mapping.items():
        if kind != "*" and kind not in OP_KINDS:
            problems.append(
                Problem(file, (*prefix, kind), f"unknown operator kind; use '*' or one of: {_names(OP_KINDS)}")
            )
        if unit == "auto":
            continue
        if unit not in units:
            problems.append(
                Problem(
                    file,
                    (*prefix, kind),
                    f"unknown compute unit {unit!r} in {spec.name!r}; units: {_names(units)}, or 'auto'",
                )
            )
            continue
        allowed = units[unit].ops
        if kind != "*" and allowed is not None and kind not in allowed:
            problems.append(
                Problem(file, (*prefix, kind), f"compute unit {unit!r} cannot run {kind!r}; its ops: {_names(allowed)}")
            )
    return problems


def check_runtime(spec: RuntimeSpec, *, file: str | None = None, prefix: Loc = ()) -> list[Problem]:
    """Per-kind keys and ``sync_on`` entries are operator kinds (a typo would silently cost nothing)."""
    problems = [
        Problem(file, (*prefix, key, kind), f"unknown operator kind; kinds: {_names(OP_KINDS)}")
        for key, counts in (("kernels_per_op", spec.kernels_per_op), ("host_ops_per_op", spec.host_ops_per_op))
        for kind in counts
        if kind not in OP_KINDS
    ]
    keys = [p.keys for p in spec.attention_efficiency]
    if len(set(keys)) != len(keys):
        problems.append(Problem(file, (*prefix, "attention_efficiency"), f"keys must be distinct (got {keys})"))
    problems += [
        Problem(file, (*prefix, "sync_on", i), f"unknown operator kind {kind!r}; kinds: {_names(OP_KINDS)}")
        for i, kind in enumerate(spec.sync_on)
        if kind not in OP_KINDS
    ]
    return problems
