"""hetsim's side of the cross-checks: the architectures, traces and numbers compared with the peers.

Two checks (GitHub issue #4, part 4):

* **LLM.** Llama-2-7B fp16 on an A100 with efficiency 1 and the ``ideal`` runtime: prefill of
  1024 tokens (batch 1) and one decode step (1024 cached tokens + the new one). The architecture
  is the built-in ``a100-80gb`` with the knobs the analytical peers do not have turned to their
  roofline values (:data:`LLM_ROOFLINE_SET`); a second variant changes only the efficiencies
  (:data:`LLM_EFFICIENCY_SET`) to show what the full model adds.
* **Conv.** One 3×3 convolution, 64→64 channels, 56×56 output, int8, on a 32×32 weight-stationary
  array whose per-access energies are copied from ZigZag's ``tpu_like`` example
  (:data:`ZIGZAG_TPU_LIKE`), timed with the ``systolic`` utilisation model.

Everything here is plain arithmetic on hetsim's own API (no peer is imported), so it is tested in CI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from simulator.config.architecture import ArchitectureSpec, RuntimeSpec
from simulator.config.loader import builtin_runtimes, load_architecture
from simulator.engine import simulate
from simulator.metrics.result import RunResult
from workloads.llm import BaselineSpec, build_baseline
from workloads.trace import Operator, TensorRef, Trace

# ------------------------------------------------------------------------------------------------
# LLM check

#: Peak numbers both sides are configured to (docs/references.md#a100, A100 SXM4 80 GB).
A100_PEAK_FP16_FLOPS: Final = 312e12
A100_HBM_BYTES_PER_S: Final = 2.039e12
A100_HBM_BYTES: Final = 80e9

#: Efficiency 1: the only measured sustained fraction in ``a100-80gb`` is HBM's 0.868.
LLM_EFFICIENCY_SET: Final[dict[str, Any]] = {
    "memories.hbm.efficiency": 1.0,
    "compute_units.tensor.efficiency": 1.0,
    "compute_units.cuda.efficiency": 1.0,
}

#: Efficiency 1 plus the two things no analytical peer models: shape-dependent utilisation of the
#: tensor cores (tile and wave quantisation) and per-operator memory access latency.
LLM_ROOFLINE_SET: Final[dict[str, Any]] = {
    **LLM_EFFICIENCY_SET,
    "compute_units.tensor.utilisation.model": "ideal",
    "memories.hbm.latency": 0,
    "memories.l2.latency": 0,
}

MODEL: Final = "llama-2-7b"


def llm_architecture(roofline: bool = True) -> ArchitectureSpec:
    """The ``a100-80gb`` variant used for the LLM check (``roofline=False``: efficiencies only)."""
    name = "a100-80gb-roofline" if roofline else "a100-80gb-eff1"
    sets = LLM_ROOFLINE_SET if roofline else LLM_EFFICIENCY_SET
    return load_architecture({"base": "a100-80gb", "name": name, "set": dict(sets)})


def ideal_runtime() -> RuntimeSpec:
    """The built-in ``ideal`` runtime (no host or launch overhead)."""
    path = builtin_runtimes()["ideal"]
    return RuntimeSpec.model_validate(yaml.safe_load(Path(path).read_text()))


@dataclass(frozen=True)
class LLMNumbers:
    """One side's answer for the LLM check (seconds and bytes; bytes ``None`` where not reported)."""

    prefill_s: float
    decode_s: float
    prefill_bytes: float | None = None
    decode_bytes: float | None = None
    prefill_flops: float | None = None
    decode_flops: float | None = None


def llm_trace(prompt_tokens: int, generate_tokens: int) -> Trace:
    """Baseline Llama-2-7B fp16 trace, batch 1: prefill plus ``generate_tokens - 1`` decode steps."""
    spec = BaselineSpec(
        model=MODEL, batch=1, prompt_tokens=prompt_tokens, generate_tokens=generate_tokens, dtype="fp16"
    )
    return build_baseline(spec)


def _off_chip_bytes(result: RunResult) -> float:
    return float(result.bytes_by_memory.get("hbm", 0.0))


def hetsim_llm(prompt_tokens: int = 1024, roofline: bool = True) -> LLMNumbers:
    """Prefill and one decode step of Llama-2-7B on the efficiency-1 A100, ``ideal`` runtime.

    Two runs: prefill only (``generate_tokens=1``) and prefill plus one decode step
    (``generate_tokens=2``). Latencies are the runs' per-phase spans; HBM bytes of the decode
    step are the difference of the two runs' HBM traffic (after hetsim's on-chip reuse).
    """
    arch, runtime = llm_architecture(roofline), ideal_runtime()
    prefill_only = simulate(arch, llm_trace(prompt_tokens, 1), runtime)
    with_decode = simulate(arch, llm_trace(prompt_tokens, 2), runtime)
    flops = {"prefill": 0.0, "decode": 0.0}
    for op in llm_trace(prompt_tokens, 2):
        flops[op.phase] = flops.get(op.phase, 0.0) + op.flops
    return LLMNumbers(
        prefill_s=prefill_only.latency_by_phase_s["prefill"],
        decode_s=with_decode.latency_by_phase_s["decode"],
        prefill_bytes=_off_chip_bytes(prefill_only),
        decode_bytes=_off_chip_bytes(with_decode) - _off_chip_bytes(prefill_only),
        prefill_flops=flops["prefill"],
        decode_flops=flops["decode"],
    )


def llm_bytes_by_class(prompt_tokens: int = 1024) -> dict[str, dict[str, float]]:
    """Compulsory bytes (before reuse) per phase and tensor class, from the trace (for the notes)."""
    out: dict[str, dict[str, float]] = {}
    for op in llm_trace(prompt_tokens, 2):
        phase = out.setdefault(op.phase, {})
        for t in (*op.reads, *op.writes):
            key = f"{t.cls}:{'embed' if t.tensor == 'embed_tokens' else 'lm_head' if t.tensor == 'lm_head' else 'rest'}"
            phase[key] = phase.get(key, 0.0) + t.bytes
    return out


# ------------------------------------------------------------------------------------------------
# Conv check


@dataclass(frozen=True)
class Access:
    """One ZigZag memory: per-access energies (pJ) and the access width (bits) they are quoted for."""

    read_pj: float
    write_pj: float
    width_bits: int

    @property
    def read_pj_per_byte(self) -> float:
        """Read energy per byte: the per-access energy over the bytes one access moves."""
        return self.read_pj / (self.width_bits / 8)

    @property
    def write_pj_per_byte(self) -> float:
        """Write energy per byte."""
        return self.write_pj / (self.width_bits / 8)


#: Copied from zigzag-dse 3.9.1, ``zigzag/inputs/hardware/tpu_like.yaml`` (``r_cost``/``w_cost`` in
#: pJ per access; the access width is the port's ``bandwidth_max`` in bits, which ZigZag charges
#: one access per word of: e.g. the 3.6 MB of input the array reads from ``sram_2MB`` are 14 112
#: accesses of 2048 bits).
ZIGZAG_TPU_LIKE: Final[dict[str, Access]] = {
    "rf_128B": Access(0.095, 0.095, 8),  # per-PE weight register (operand I2 = W), 8-bit port
    "rf_2B": Access(0.021, 0.021, 16),  # per-PE partial-sum register (O), 16-bit ports
    "sram_2MB": Access(416.16, 378.4, 2048),  # global buffer (I1 = inputs, O), 2048-bit ports
    "dram": Access(700.0, 750.0, 64),  # off-chip (all operands), 64-bit port
}
#: ``operational_array.unit_energy`` in the same file: pJ per MAC of the 32×32 array.
ZIGZAG_MAC_PJ: Final = 0.04
ARRAY_ROWS: Final = 32
ARRAY_COLS: Final = 32

#: The clock hetsim's rates are stated at: one MAC per PE per cycle and each port's width per
#: cycle, so that hetsim seconds convert to the peers' cycles. ZigZag and SCALE-Sim count cycles.
CONV_CLOCK_HZ: Final = 1e9

#: The layer: 3×3, 64→64 channels, 56×56 output, stride 1, batch 1. The input is the 58×58
#: already-padded feature map (as ZigZag's ``ix = ox + fx`` and SCALE-Sim's valid convolution
#: see it), int8 inputs and weights, int8 final outputs (ZigZag ``O_final: 8``).
CONV: Final[dict[str, int]] = {"N": 1, "C": 64, "H": 56, "W": 56, "K": 64, "R": 3, "S": 3, "stride": 1, "groups": 1}


def conv_macs(dims: dict[str, int] = CONV) -> int:
    """Multiply-accumulates of the convolution."""
    return dims["N"] * dims["K"] * dims["H"] * dims["W"] * (dims["C"] // dims["groups"]) * dims["R"] * dims["S"]


def conv_input_hw(dims: dict[str, int] = CONV) -> tuple[int, int]:
    """Height and width of the (padded) input feature map."""
    s = dims["stride"]
    return (dims["H"] - 1) * s + dims["R"], (dims["W"] - 1) * s + dims["S"]


def conv_operator(dims: dict[str, int] = CONV) -> Operator:
    """The one-op conv trace's operator: FLOPs = 2·MACs, int8 input/weights read, int8 output written."""
    ih, iw = conv_input_hw(dims)
    return Operator(
        id=0,
        name="conv3x3",
        kind="conv2d",
        phase="inference",
        dtype="int8",
        flops=2.0 * conv_macs(dims),
        reads=(
            TensorRef("ifmap", "activation", dims["N"] * dims["C"] * ih * iw),
            TensorRef("weights", "weight", dims["K"] * (dims["C"] // dims["groups"]) * dims["R"] * dims["S"]),
        ),
        writes=(TensorRef("ofmap", "activation", dims["N"] * dims["K"] * dims["H"] * dims["W"]),),
        dims=dict(dims),
    )


def conv_trace(dims: dict[str, int] = CONV) -> Trace:
    """A trace of the single conv operator."""
    return Trace.from_operators({"model": "conv3x3-64x64-56", "workload": "conv", "batch": 1}, [conv_operator(dims)])


#: Register-file energy per MAC (pJ) in the weight-stationary array: every MAC reads its 8-bit
#: weight from the PE's ``rf_128B`` and reads and writes its 16-bit partial sum in ``rf_2B``.
#: hetsim charges memories per tensor byte moved between a home memory and a unit, not per MAC, so
#: these PE-local accesses are folded into the unit's energy per FLOP (like a datasheet figure).
RF_PJ_PER_MAC: Final = ZIGZAG_TPU_LIKE["rf_128B"].read_pj + 2 * ZIGZAG_TPU_LIKE["rf_2B"].read_pj
#: The array's energy per FLOP: (MAC + register files) per MAC over 2 FLOPs per MAC.
CONV_PJ_PER_FLOP: Final = (ZIGZAG_MAC_PJ + RF_PJ_PER_MAC) / 2


def conv_architecture() -> ArchitectureSpec:
    """The 32×32 weight-stationary array with ZigZag ``tpu_like``'s energies, as a hetsim spec.

    Inputs, weights and outputs live in DRAM; every byte passes through the 2 MB global buffer on
    its way to or from the array. hetsim does not charge memories passed through, so the buffer's
    per-byte energies sit on the two links around it: a byte into the array crosses ``dram–gb``
    (the buffer's write) then ``gb–array`` (its read); a byte out crosses them the other way, the
    same sum.
    """
    sram, dram = ZIGZAG_TPU_LIKE["sram_2MB"], ZIGZAG_TPU_LIKE["dram"]
    clock = CONV_CLOCK_HZ
    macs_per_cycle = ARRAY_ROWS * ARRAY_COLS
    raw = {
        "name": "zigzag-tpu-like-32x32",
        "description": "32x32 weight-stationary array, energies from ZigZag's tpu_like example (zigzag-dse 3.9.1)",
        "sources": ("zigzag-dse 3.9.1 zigzag/inputs/hardware/tpu_like.yaml",),
        "compute_units": {
            "array": {
                "kind": "matrix",
                "clock": f"{clock / 1e9} GHz",
                "peak": {"int8": f"{2 * macs_per_cycle * clock / 1e12} TOP/s"},
                "energy_per_flop": {"int8": f"{CONV_PJ_PER_FLOP} pJ/OP"},
                "utilisation": {"model": "systolic", "rows": ARRAY_ROWS, "cols": ARRAY_COLS},
                "buffer": "gb",
            }
        },
        "memories": {
            "gb": {
                "level": "sram",
                "capacity": "2 MiB",
                "bandwidth": f"{sram.width_bits / 8 * clock / 1e9} GB/s",
                "read_energy": f"{sram.read_pj_per_byte} pJ/B",
                "write_energy": f"{sram.write_pj_per_byte} pJ/B",
            },
            "dram": {
                "level": "dram",
                "capacity": "1 GB",
                "bandwidth": f"{dram.width_bits / 8 * clock / 1e9} GB/s",
                "read_energy": f"{dram.read_pj_per_byte} pJ/B",
                "write_energy": f"{dram.write_pj_per_byte} pJ/B",
            },
        },
        "links": (
            {
                "between": ("array", "gb"),
                "bandwidth": f"{sram.width_bits / 8 * clock / 1e9} GB/s",
                "energy": f"{sram.read_pj_per_byte} pJ/B",
            },
            {
                "between": ("gb", "dram"),
                "bandwidth": f"{dram.width_bits / 8 * clock / 1e9} GB/s",
                "energy": f"{sram.write_pj_per_byte} pJ/B",
            },
        ),
        "placement": {"weight": "dram", "activation": "dram", "kv_cache": "dram"},
        "mapping": {"*": "array"},
    }
    return load_architecture(raw)


@dataclass(frozen=True)
class ConvNumbers:
    """One side's answer for the conv check: energy per level (pJ) and cycles (``None``: not given)."""

    total_pj: float
    levels_pj: dict[str, float]
    cycles: float | None = None


#: Level names of the per-level split, in print order.
CONV_LEVELS: Final = ("MAC", "RF", "GB (SRAM)", "DRAM")


def hetsim_conv() -> ConvNumbers:
    """Simulate the conv on :func:`conv_architecture` and split its energy by level.

    DRAM and global-buffer energies come from the run's per-component ledger (``dram`` and the two
    links); the unit's compute energy is split into MAC and RF by the constants it was built from.
    """
    result = simulate(conv_architecture(), conv_trace(), ideal_runtime())
    by = result.energy_by_component_j
    dram_j = sum(by.get("dram", {}).values())
    # the buffer's own entry (0: nothing lives there) plus the links around it, "array-gb" and "gb-dram"
    gb_j = sum(sum(parts.values()) for name, parts in by.items() if name not in ("dram", "array", "system"))
    compute_j = result.energy.compute_j
    macs = result.flops / 2
    mac_j = macs * ZIGZAG_MAC_PJ * 1e-12
    levels = {"MAC": mac_j, "RF": compute_j - mac_j, "GB (SRAM)": gb_j, "DRAM": dram_j}
    levels_pj = {k: v * 1e12 for k, v in levels.items()}
    return ConvNumbers(
        total_pj=result.energy.total_j * 1e12, levels_pj=levels_pj, cycles=result.latency_s * CONV_CLOCK_HZ
    )


def expected_conv_energy_pj() -> dict[str, float]:
    """The per-level split hetsim should produce, by hand (the tests hold the engine to it)."""
    op = conv_operator()
    macs = conv_macs()
    sram, dram = ZIGZAG_TPU_LIKE["sram_2MB"], ZIGZAG_TPU_LIKE["dram"]
    moved = op.bytes_read + op.bytes_written
    return {
        "MAC": macs * ZIGZAG_MAC_PJ,
        "RF": macs * RF_PJ_PER_MAC,
        "GB (SRAM)": moved * (sram.read_pj_per_byte + sram.write_pj_per_byte),
        "DRAM": op.bytes_read * dram.read_pj_per_byte + op.bytes_written * dram.write_pj_per_byte,
    }


def expected_conv_cycles() -> float:
    """Systolic-model cycles: ⌈K/rows⌉·⌈N/cols⌉ passes of ``M + rows + cols`` cycles (implicit GEMM)."""
    d = CONV
    m = d["N"] * d["H"] * d["W"]
    k = d["C"] * d["R"] * d["S"]
    n = d["K"]
    passes = -(-k // ARRAY_ROWS) * -(-n // ARRAY_COLS)
    return float(passes * (m + ARRAY_ROWS + ARRAY_COLS))
