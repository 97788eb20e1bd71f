"""What can be known about a scenario's runs before running them, and how to fix what cannot run.

``hetsim validate`` used to say "ok" for a scenario that ``hetsim run`` then stopped on: an
operator no compute unit can run in its dtype, a model whose weights do not fit the memory they
live in. :func:`scenario_problems` finds these for every (architecture, workload) pair the
scenario will run, using the engine's own mapping rules (:class:`~simulator.engine.mapping.Mapper`)
on a *probe* of each trace: its operators up to the third step (at most
:data:`PROBE_OPERATORS`), which covers every operator kind and every weight of the shipped
generators (all weights are read in the first pass). Weight residency is charged exactly as the
engine charges it (each weight tensor's first read, never freed), so a reported overflow is
certain; KV cache and activations come on top and are left to the run.

:func:`fix_for` says how to fix a pair that failed (``only_on``, ``mapping``, ``dtype``,
``weight_dtype``), for ``validate`` and for ``run``, which reports failed pairs after writing the
finished ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from simulator.config.architecture import ArchitectureSpec
from simulator.config.scenario import ScenarioSpec
from simulator.errors import CapacityError, Problem, UserError
from simulator.units import format_quantity
from workloads.base import WorkloadInputError
from workloads.io import TraceFormatError
from workloads.spec import build_trace
from workloads.trace import Operator

#: Most operators read from a trace to probe it (a 7B prefill and two decode steps are ~1,500).
PROBE_OPERATORS = 20_000
#: Steps probed: the prefill (0), a decode step (1) and one more (Medusa's steps differ from its first).
PROBE_STEPS = 3


@dataclass
class Probe:
    """The start of one workload's trace: one operator per (kind, dtype), and the weights it reads."""

    first: dict[tuple[str, str], Operator] = field(default_factory=dict)
    #: (device, tensor) -> bytes of its first read (tensor names are per device)
    weights: dict[tuple[int, str], int] = field(default_factory=dict)
    #: devices the trace uses (1 for a single-device trace)
    devices: int = 1
    weight_dtype: str = ""
    problem: Problem | None = None


def probe(workload: Any, *, file: str | None = None, index: int = 0) -> Probe:
    """Read the start of ``workload``'s trace; a bad trace line or model file becomes ``Probe.problem``."""
    out = Probe()
    try:
        trace = build_trace(workload)
        out.weight_dtype = str(trace.header.get("weight_dtype", ""))
        for op in itertools.islice(trace, PROBE_OPERATORS):
            if op.step >= PROBE_STEPS:
                break
            out.first.setdefault((op.kind, op.dtype), op)
            out.devices = max(out.devices, op.device + 1, *(rank + 1 for rank in op.group))
            for t in op.reads:
                if t.cls == "weight":
                    out.weights.setdefault((op.device, t.tensor), t.bytes)
    except TraceFormatError as exc:
        at: tuple[str | int, ...] = (f"line {exc.line}",) if exc.line > 0 else ()
        out.problem = Problem(exc.path, at, exc.message)
    except WorkloadInputError as exc:
        out.problem = Problem(file, ("workloads", index), str(exc))
    return out


@dataclass(frozen=True)
class PairProblem:
    """Why one (architecture, workload) pair cannot run, and how to fix it."""

    message: str
    fix: str


def pair_problems(
    arch: ArchitectureSpec, workload: Any, found: Probe, mapping: dict[str, str] | None = None
) -> list[PairProblem]:
    """Operators no unit can run (by the engine's mapping rules) and weights that overflow their memory."""
    from simulator.engine.mapping import Mapper
    from simulator.hardware.system import System

    out: list[PairProblem] = []
    system = System(arch)
    if found.devices > len(system.devices):
        have = len(system.devices)
        return [
            PairProblem(
                f"the workload runs on {found.devices} devices but {arch.name!r} has {have}",
                "lower tensor_parallel, pipeline_parallel or expert_parallel to fit the system, pick a system of "
                f"chips with more devices (dgx-a100, dgx-h100, hgx-h200), or use {_only_on(arch)}",
            )
        ]
    mapper = Mapper(system, mapping or None)
    unmapped: dict[str, list[str]] = {}
    for (kind, dtype), op in sorted(found.first.items()):
        try:
            mapper.candidates(op)
        except UserError as exc:
            unmapped.setdefault(dtype, []).append(kind)
            message = exc.problems[0].message.split(": ", 1)[-1]  # drop "operator N (name, kind dtype)"
            out.append(PairProblem(f"{kind} in {dtype}: {message}", ""))
    if unmapped:
        fix = _mapping_fix(arch, workload, unmapped)
        out = [PairProblem(p.message, fix) for p in out]
    by_home: dict[str, int] = {}
    for (device, _), nbytes in found.weights.items():
        home = system.devices[device].placement.get("weight") if device < len(system.devices) else None
        if home in system.memories:
            by_home[home] = by_home.get(home, 0) + nbytes
    for home, weight_bytes in sorted(by_home.items()):
        capacity = system.memories[home].capacity_bytes
        if weight_bytes > capacity:
            out.append(
                PairProblem(
                    f"the weights need {format_quantity(weight_bytes, 'size')}"
                    f"{f' at {found.weight_dtype}' if found.weight_dtype else ''} but memory {home!r} holds "
                    f"{format_quantity(capacity, 'size')}",
                    _capacity_fix(arch, workload),
                )
            )
            break  # the devices of a tensor-parallel group overflow alike: one problem says it
    return out


def _only_on(arch: ArchitectureSpec) -> str:
    return f"`only_on: [...]` naming the architectures other than {arch.name!r} this workload should run on"


def _mapping_fix(arch: ArchitectureSpec, workload: Any, unmapped: dict[str, list[str]]) -> str:
    dtypes = sorted({d for unit in arch.compute_units.values() for d in unit.peak_flops_per_s})
    units = {
        dtype: sorted(n for n, u in arch.compute_units.items() if dtype in u.peak_flops_per_s) for dtype in unmapped
    }
    options = [f"a `dtype` {arch.name!r} has ({', '.join(dtypes)})"] if "dtype" in type(workload).model_fields else []
    kinds = sorted({k for ks in unmapped.values() for k in ks})
    pinned = [k for k in kinds if arch.mapping.get(k, arch.mapping.get("*", "auto")) != "auto"]
    if any(units.values()) and pinned:
        able = "; ".join(f"{dtype}: {', '.join(names)}" for dtype, names in units.items() if names)
        options.append(f"a scenario `mapping:` rule sending {', '.join(pinned)} to a unit with that dtype ({able})")
    options.append(_only_on(arch))
    return "use " + ", or ".join(options)


def _capacity_fix(arch: ArchitectureSpec, workload: Any) -> str:
    options = []
    if "weight_dtype" in type(workload).model_fields:
        options.append("`weight_dtype: int8` or `int4` (weight-only quantisation)")
    if "tensor_parallel" in type(workload).model_fields:
        options.append("`tensor_parallel: N` on a system of chips (dgx-a100, dgx-h100, hgx-h200)")
    options += ["a smaller model or batch", _only_on(arch)]
    return "use " + ", or ".join(options)


def fix_for(exc: UserError, arch: ArchitectureSpec, workload: Any, mapping: dict[str, str] | None = None) -> str:
    """How to fix a pair whose run raised ``exc`` (a mapping or capacity problem, or anything else)."""
    if isinstance(exc, CapacityError):
        return _capacity_fix(arch, workload)
    found = probe(workload)
    problems = pair_problems(arch, workload, found, mapping) if found.problem is None else []
    return problems[0].fix if problems else f"fix the input named above, or use {_only_on(arch)}"


def pairs(spec: ScenarioSpec) -> Iterable[tuple[ArchitectureSpec, int, Any]]:
    """The (architecture, workload index, workload) pairs a scenario runs, in run order."""
    on: Sequence[tuple[str, ...] | None] = spec.on or (None,) * len(spec.workloads)
    for arch in spec.architectures:
        for index, (workload, where) in enumerate(zip(spec.workloads, on, strict=True)):
            if where is None or arch.name in where:
                yield arch, index, workload


def scenario_problems(spec: ScenarioSpec) -> list[Problem]:
    """Every pair problem of a validated scenario, each once, with its fix (for ``hetsim validate``)."""
    probes: dict[int, Probe] = {}
    out: list[Problem] = []
    for arch, index, workload in pairs(spec):
        if index not in probes:
            probes[index] = probe(workload, file=spec.file, index=index)
            problem = probes[index].problem
            if problem is not None:
                out.append(problem)
        found = probes[index]
        if found.problem is not None:
            continue
        for p in pair_problems(arch, workload, found, spec.mapping):
            out.append(Problem(spec.file, ("workloads", index), f"on {arch.name}: {p.message}; {p.fix}"))
    return list(dict.fromkeys(out))
