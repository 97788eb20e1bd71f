"""Architecture and runtime specifications: the validated, immutable form of ``architectures/*.yaml``.

YAML keys are the natural words (``bandwidth: 2.039 TB/s``); Python attributes carry their SI unit
(``bandwidth_bytes_per_s``). Everything is frozen: a spec is data, and building hardware from it
is the job of :mod:`simulator.hardware`.
"""

from __future__ import annotations

from typing import Annotated, Literal

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


class Spec(BaseModel):
    """Base for every YAML-facing model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


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
    static_power_w: Power = Field(0.0, alias="static_power", description="leakage and clock power while powered")
    ops: tuple[str, ...] | None = Field(None, description="operator kinds this unit can run (default: all)")

    @model_validator(mode="after")
    def _energy_for_every_dtype(self) -> ComputeUnitSpec:
        missing = sorted(set(self.peak_flops_per_s) - set(self.energy_per_flop_j))
        if missing:
            raise ValueError(f"energy_per_flop needs an entry for every dtype in peak; missing {missing}")
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


class RuntimeSpec(Spec):
    """The software stack's cost on top of the hardware: host time to issue each kernel.

    The host issues operators in trace order, ``per_kernel_overhead`` each (times the kernels an
    operator of that kind launches), running ahead of the device asynchronously; after an
    operator whose kind is in ``sync_on`` it waits for the device (e.g. a token read back to
    Python). On the device, each kernel also costs ``kernel_launch_latency`` on its unit before it
    does useful work (launch, grid fill and drain between dependent kernels). Both are reported
    as the ``runtime_overhead`` latency category, never hidden inside a hardware number.
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


DeviceGroupSpec.model_rebuild()
ArchitectureSpec.model_rebuild()
