"""Semantic cross-checks on validated specs: names that must exist, graphs that must connect.

The schema (pydantic) checks each value on its own; these checks look across fields, as ZigZag's
validator does, and return *all* problems (never raise), each with its YAML key path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import pairwise

import networkx as nx

from simulator.config.architecture import ArchitectureSpec, ComputeUnitSpec, RuntimeSpec
from simulator.config.devices import expand
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
    nodes = units | memories | set(spec.switches)

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
    for i, link in enumerate(spec.links):
        for j, end in enumerate(link.between):
            if end not in nodes:
                add(("links", i, "between", j), f"unknown endpoint {end!r}; units and memories: {_names(nodes)}")
        if link.between[0] == link.between[1]:
            add(("links", i, "between"), "a link needs two different endpoints")
        if link.bandwidth_bytes_per_s == 0:
            add(("links", i, "bandwidth"), "must be greater than 0, such as '25 GB/s'")
    problems.extend(check_mapping(spec.mapping, spec, file=file, prefix=(*prefix, "mapping")))

    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(link.between for link in spec.links if set(link.between) <= nodes)
    for unit_name in sorted(units):
        for tensor_class, memory in sorted(spec.placement.items()):
            if memory in memories and not nx.has_path(graph, unit_name, memory):
                add(
                    ("placement", tensor_class),
                    f"memory {memory!r} cannot be reached from compute unit {unit_name!r} over the links; "
                    "add a link path between them",
                )
    return problems


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
    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from([*expanded.units, *expanded.memories, *expanded.switches])
    graph.add_edges_from(link.between for link, _ in expanded.links)
    for device in expanded.devices:
        for cls, memory in sorted(device.placement.items()):
            for unit in device.units.values():
                if not nx.has_path(graph, unit, memory):
                    add(
                        ("placement", cls),
                        f"memory {memory!r} cannot be reached from compute unit {unit!r} over the links",
                    )
                    break
    for a, b in pairwise(expanded.devices):
        if not nx.has_path(graph, a.attach, b.attach):
            add(("links",), f"device {a.name!r} cannot reach device {b.name!r} over the links")
    return problems


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
    """``kernels_per_op`` keys and ``sync_on`` entries are operator kinds (a typo would silently cost nothing)."""
    problems = [
        Problem(file, (*prefix, "kernels_per_op", kind), f"unknown operator kind; kinds: {_names(OP_KINDS)}")
        for kind in spec.kernels_per_op
        if kind not in OP_KINDS
    ]
    problems += [
        Problem(file, (*prefix, "sync_on", i), f"unknown operator kind {kind!r}; kinds: {_names(OP_KINDS)}")
        for i, kind in enumerate(spec.sync_on)
        if kind not in OP_KINDS
    ]
    return problems
