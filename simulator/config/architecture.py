"""Architecture and runtime specifications: the validated, immutable form of ``architectures/*.yaml``.

YAML keys are the natural words (``bandwidth: 2.039 TB/s``); Python attributes carry their SI unit
(``bandwidth_bytes_per_s``). Everything is frozen: a spec is data, and building hardware from it
is the job of :mod:`simulator.hardware`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.config.quantities import (
    Bandwidth,
    EnergyPerByte,
    EnergyPerFlop,
    FlopRate,
    Frequency,
    Power,
    Size,
    Time,
)
from workloads.base import check_number_inputs


class Spec(BaseModel):
    """Base for every YAML-facing model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_numbers(cls, data: Any) -> Any:
        """``instances: true`` or ``tile_m: "16"`` is a mistake, not 1 or 16 (pydantic's lax mode would accept it)."""
        check_number_inputs(cls, data)
        return data


class UtilisationSpec(Spec):
    """How much of a matrix unit's peak an operator's shape can use.

    - ``ideal``: every FLOP runs at peak (a teaching baseline).
    - ``tiles``: a GPU-style grid of output tiles spread over ``parallel_tiles`` workers (SMs); the
      loss is tile quantisation (ragged edges) times wave quantisation (last partial wave).
    - ``systolic``: a ``rows``×``cols`` weight-stationary array; the loss is ragged K/N tiles plus
      fill and drain of ``rows + cols`` cycles per pass of M rows.
    """

    model: Literal["ideal", "tiles", "systolic"] = Field("ideal", description="utilisation model")
    tile_m: int = Field(
        128, ge=1, description="output tile rows (tiles model); the largest tile when min_tile_m is set"
    )
    min_tile_m: int | None = Field(
        None,
        ge=1,
        description="smallest tile rows (tiles model): tile rows follow M (next power of two) between min_tile_m "
        "and tile_m, as GEMM libraries pick small-M tiles for skinny GEMMs",
    )
    tile_n: int = Field(128, ge=1, description="output tile columns (tiles model)")
    parallel_tiles: int = Field(1, ge=1, description="tiles in flight at once, e.g. SMs (tiles model)")
    rows: int = Field(1, ge=1, description="array rows, K dimension (systolic model)")
    cols: int = Field(1, ge=1, description="array columns, N dimension (systolic model)")


class ComputeUnitSpec(Spec):
    """A compute unit: its peak per dtype, energy per FLOP per dtype, and how well shapes fit it."""

    kind: Literal["matrix", "vector", "scalar", "fabric"] = Field(description="what the unit is built as")
    instances: int = Field(
        1, ge=1, description="identical copies folded into the peak (documentation; peak is the total)"
    )
    clock: Frequency | None = Field(None, alias="clock", description="clock frequency (documentation; peak is given)")
    peak_flops_per_s: dict[str, FlopRate] = Field(alias="peak", description="peak rate per dtype, whole unit")
    energy_per_flop_j: dict[str, EnergyPerFlop] = Field(
        alias="energy_per_flop", description="dynamic energy per FLOP per dtype"
    )
    efficiency: float = Field(1.0, gt=0, le=1, description="sustained fraction of peak on large shapes (measured)")
    utilisation: UtilisationSpec = Field(
        default_factory=UtilisationSpec, description="shape-dependent utilisation model"
    )
    buffer: str | None = Field(None, description="memory whose capacity bounds on-chip reuse (tiling)")
    sram_energy_j_per_byte: EnergyPerByte = Field(
        0.0,
        alias="sram_energy",
        description="energy per byte the unit moves through its own on-chip SRAM (shared memory/L1, BRAM, a local "
        "buffer) between its memories and its datapath; charged to '<unit>.sram' on every byte it reads or writes, "
        "except bytes homed in its `buffer` memory (already charged there)",
    )
    register_energy_j_per_flop: dict[str, EnergyPerFlop] = Field(
        default_factory=dict,
        alias="register_energy",
        description="register-file operand energy per FLOP per dtype, charged to '<unit>.registers' as data "
        "movement (on top of energy_per_flop, which is then the datapath alone)",
    )
    static_power_w: Power = Field(0.0, alias="static_power", description="leakage and clock power while powered")
    ops: tuple[str, ...] | None = Field(None, description="operator kinds this unit can run (default: all)")

    @model_validator(mode="after")
    def _energy_for_every_dtype(self) -> ComputeUnitSpec:
        missing = sorted(set(self.peak_flops_per_s) - set(self.energy_per_flop_j))
        if missing:
            raise ValueError(f"energy_per_flop needs an entry for every dtype in peak; missing {missing}")
        extra = sorted(set(self.register_energy_j_per_flop) - set(self.peak_flops_per_s))
        if extra:
            raise ValueError(f"register_energy has dtypes the unit has no peak for: {extra}")
        return self


class MemorySpec(Spec):
    """A memory level: capacity, port bandwidth, access latency, energy per byte, static power."""

    level: Literal["register", "sram", "cache", "dram", "hbm"] = Field(description="level in the hierarchy")
    capacity_bytes: Size = Field(alias="capacity", description="capacity")
    bandwidth_bytes_per_s: Bandwidth = Field(alias="bandwidth", description="peak port bandwidth")
    efficiency: float = Field(1.0, gt=0, le=1, description="sustained fraction of peak bandwidth (measured)")
    latency_s: Time = Field(
        0.0,
        alias="latency",
        description="access latency; an operator pays the largest latency of its routes (home memory + links) once",
    )
    read_energy_j_per_byte: EnergyPerByte = Field(alias="read_energy", description="energy per byte read")
    write_energy_j_per_byte: EnergyPerByte = Field(alias="write_energy", description="energy per byte written")
    static_power_w: Power = Field(0.0, alias="static_power", description="refresh/leakage power")
    pass_energy_j_per_byte: EnergyPerByte = Field(
        0.0,
        alias="pass_energy",
        description="energy per byte crossing this level on the way between another (home) memory and a unit, "
        "e.g. HBM data passing through L2; charged to this memory",
    )

    @property
    def sustained_bandwidth_bytes_per_s(self) -> float:
        """Peak bandwidth times the measured sustained fraction: what flows actually get."""
        return self.bandwidth_bytes_per_s * self.efficiency


class LinkSpec(Spec):
    """An interconnect edge between two nodes (memories, compute units, switches); bandwidth is per direction.

    In a multi-device architecture an endpoint may also name a device (``gpu3``: its attach memory),
    every device of a group (``gpu*``: one link per device) or a device's own node (``gpu3.hbm``).
    """

    between: tuple[str, str] = Field(description="the two endpoint names")
    bandwidth_bytes_per_s: Bandwidth = Field(alias="bandwidth", description="bandwidth per direction")
    efficiency: float = Field(
        1.0, gt=0, le=1, description="sustained fraction of the bandwidth that payload gets (protocol overhead)"
    )
    latency_s: Time = Field(0.0, alias="latency", description="one-way latency")
    energy_j_per_byte: EnergyPerByte = Field(0.0, alias="energy", description="energy per byte crossing the link")

    @property
    def sustained_bandwidth_bytes_per_s(self) -> float:
        """Bandwidth times the sustained fraction: what flows actually get."""
        return self.bandwidth_bytes_per_s * self.efficiency


class SwitchSpec(Spec):
    """A switch (NVSwitch, PCIe switch, network switch): a node that routes pass through, storing nothing.

    Its ports' bandwidths are those of the links attached to it; the switch adds its latency to every
    route through it and draws its static power.
    """

    description: str = Field("", description="one line for humans")
    latency_s: Time = Field(0.0, alias="latency", description="latency added to every route through the switch")
    static_power_w: Power = Field(0.0, alias="static_power", description="power drawn for the whole run")


class DeviceGroupSpec(Spec):
    """``count`` identical devices built from one chip architecture, named ``<name>0`` … ``<name>N-1``.

    Each device gets its own copy of the chip's compute units, memories and on-chip links, named
    ``<device>.<unit>`` (``gpu3.tensor``, ``gpu3.hbm``); its tensors live in its own memories by the
    chip's placement, and its operators run on its own units by the chip's mapping. System links name
    a device by itself (its ``attach`` memory), or all of a group's devices with ``<name>*``.
    """

    name: str = Field("gpu", pattern=r"^[A-Za-z][A-Za-z_-]*$", description="device name prefix (letters only)")
    count: int = Field(ge=1, description="number of devices")
    chip: ArchitectureSpec = Field(description="the chip: a built-in name, a path or an inline single-device mapping")
    attach: str | None = Field(
        None, description="chip memory that system links attach to (default: the chip's activation placement)"
    )


TensorClass = Literal["weight", "activation", "kv_cache"]


class CollectiveSpec(Spec):
    """How the system's collective library (NCCL) sends collectives: its latency table row and choices.

    ``fabric`` selects NCCL's per-step latencies for the links the ranks talk over (NVLink, PCIe or a
    network); ``algorithm`` and ``protocol`` force a choice, or ``auto`` picks the lowest estimated
    time as NCCL's tuner does (see docs/systems.md).
    """

    fabric: Literal["nvlink", "pcie", "network"] = Field("nvlink", description="NCCL latency table row")
    algorithm: Literal["auto", "ring", "tree"] = Field(
        "auto", description="collective algorithm (tree: all-reduce only)"
    )
    protocol: Literal["auto", "LL", "LL128", "Simple"] = Field("auto", description="NCCL protocol")


class ArchitectureSpec(Spec):
    """A whole system: compute units, memories, links, where tensors live and which unit runs what."""

    name: str = Field(description="identifier used in scenarios and reports")
    description: str = Field("", description="one line for humans")
    sources: tuple[str, ...] = Field((), description="datasheets and papers the numbers come from")
    devices: tuple[DeviceGroupSpec, ...] = Field(
        (), description="groups of identical devices (multi-device systems); empty for a single chip"
    )
    compute_units: dict[str, ComputeUnitSpec] = Field(
        default_factory=dict, description="compute units by name (with devices: host CPUs beside the devices)"
    )
    memories: dict[str, MemorySpec] = Field(
        default_factory=dict, description="memory levels by name (with devices: host memory beside the devices)"
    )
    switches: dict[str, SwitchSpec] = Field(default_factory=dict, description="switches by name (NVSwitch, PCIe)")
    links: tuple[LinkSpec, ...] = Field((), description="interconnect edges")
    placement: dict[TensorClass, str] = Field(
        default_factory=dict,
        description="home memory of each tensor class (required for a single chip; with devices it overrides the "
        "chip's placement for a class, e.g. kv_cache in host memory: an offload tier)",
    )
    mapping: dict[str, str] = Field(
        default_factory=lambda: {"*": "auto"},
        description="operator kind -> compute unit name or 'auto'; '*' is the default rule (with devices: the "
        "chip's unit names, overriding the chip's mapping)",
    )
    static_power_w: Power = Field(0.0, alias="static_power", description="uncore/board power not in any component")
    collectives: CollectiveSpec = Field(
        default_factory=CollectiveSpec, description="how collectives between devices are sent (NCCL model)"
    )
    active_idle_power_w: Power = Field(
        0.0,
        alias="active_idle_power",
        description="power above the static floor while the device is up and clocked (a CUDA context holds the "
        "boost clock), busy or waiting on the host; charged for the whole run",
    )


class AttentionEfficiencyPoint(Spec):
    """One point of a published attention-kernel efficiency curve."""

    keys: int = Field(ge=1, description="sequence length (keys per query) of the measurement")
    efficiency: float = Field(gt=0, le=1, description="achieved fraction of the dtype's peak at that length")
    head_dim: int | None = Field(None, ge=1, description="head dimension measured (documentation)")


class RuntimeSpec(Spec):
    """The software stack's cost on top of the hardware: how the host issues work, and what kernels achieve.

    The host issues operators in trace order. Each costs ``per_kernel_overhead`` per kernel it
    launches (``kernels_per_op``) plus ``per_host_op_overhead`` per framework call that launches
    nothing (``host_ops_per_op``: views, reshapes, module calls); a ``host`` operator (per-step
    framework bookkeeping a workload emits) carries its own counts in its dims. With
    ``host_device: overlap`` the host runs ahead of the device asynchronously and waits only after
    an operator whose kind is in ``sync_on`` (or a ``host`` operator with ``syncs``), e.g. a token
    read back to Python; with ``serialise`` it waits for every operator (a synchronize per call,
    as a Python timing loop does). On the device each kernel also costs ``kernel_launch_latency``
    on its unit. All of it is reported as the ``runtime_overhead`` latency category, never hidden
    inside a hardware number. ``kernels`` names the kernel library and its version, whose achieved
    fraction of the chip's rate per dtype (``kernel_efficiency``) and attention efficiency
    (``attention_efficiency``) belong to the software, not to the chip.
    """

    name: str = Field(description="profile name")
    description: str = Field("", description="one line for humans")
    sources: tuple[str, ...] = Field((), description="where the numbers come from")
    per_kernel_overhead_s: Time = Field(0.0, alias="per_kernel_overhead", description="host time per kernel launch")
    kernel_launch_latency_s: Time = Field(
        0.0,
        alias="kernel_launch_latency",
        description="device time per kernel spent launching and draining it (the unit does no work meanwhile)",
    )
    kernels_per_op: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, description="kernels launched per operator kind (default 1)"
    )
    sync_on: tuple[str, ...] = Field((), description="operator kinds after which the host waits for the device")
    host_device: Literal["overlap", "serialise"] = Field(
        "overlap",
        description="overlap: the host issues ahead of the device and waits only at sync points; serialise: it "
        "waits for every operator to finish before issuing the next (a synchronize per call)",
    )
    per_host_op_overhead_s: Time = Field(
        0.0,
        alias="per_host_op_overhead",
        description="host time per framework call that launches no kernel (a view, reshape or module call)",
    )
    host_ops_per_op: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, description="host-only framework calls per operator kind (default 0)"
    )
    kernels: str | None = Field(
        None, description="kernel library and version the efficiencies describe, e.g. 'trtllm-0.5' (documentation)"
    )
    kernel_efficiency: dict[str, Annotated[float, Field(gt=0, le=1)]] = Field(
        default_factory=dict,
        description="achieved fraction of a matrix unit's sustained rate per dtype with this kernel library "
        "(default 1: the chip's measured efficiency alone)",
    )
    attention_efficiency: tuple[AttentionEfficiencyPoint, ...] = Field(
        (),
        description="achieved fraction of peak of the attention kernel by keys per query (a published curve, "
        "interpolated in log(keys); default: the unit's GEMM efficiency)",
    )


DeviceGroupSpec.model_rebuild()
ArchitectureSpec.model_rebuild()
