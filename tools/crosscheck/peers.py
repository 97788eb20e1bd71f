"""Adapters that run the peer tools and return their numbers in hetsim's units (s, B, pJ, cycles).

The peers are *not* hetsim dependencies: ``make crosscheck`` installs ``genz-llm``,
``llm-analysis`` and ``zigzag-dse`` into ``.venv-crosscheck`` (where these adapters import them)
and ``scalesim`` into ``.venv-scalesim`` (run through :mod:`tools.crosscheck.scalesim_runner`
in a subprocess, because it needs ``numpy<2``). Each adapter imports its peer inside the function,
so this module imports anywhere.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import subprocess
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from tools.crosscheck.hetsim_side import (
    A100_HBM_BYTES,
    A100_HBM_BYTES_PER_S,
    A100_PEAK_FP16_FLOPS,
    ARRAY_COLS,
    ARRAY_ROWS,
    CONV,
    CONV_LEVELS,
    ConvNumbers,
    LLMNumbers,
    conv_input_hw,
)

#: Which ZigZag memory instance belongs to which level of the printed split.
ZIGZAG_LEVEL_OF: dict[str, str] = {"rf_128B": "RF", "rf_2B": "RF", "sram_2MB": "GB (SRAM)", "dram": "DRAM"}


def version(dist: str) -> str:
    """Installed version of a distribution, or ``'not installed'``."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _peer(module: str) -> Any:
    """Import a peer's module by name (peers are not hetsim dependencies, so nothing types them)."""
    return importlib.import_module(module)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Swallow a peer's prints and progress bars (its numbers come back as values)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


# ------------------------------------------------------------------------------------------------
# LLM peers


def genz_llm(prompt_tokens: int = 1024) -> LLMNumbers:
    """GenZ (``genz-llm``): Llama-2-7B prefill and one decode step on an A100-like system.

    GenZ's system dict takes ``Flops`` in TFLOP/s (10¹²) but ``Memory_BW`` in *binary* GB/s
    (``GenZ.unit.Unit`` converts bandwidth with 2³⁰), so 2.039 TB/s is passed as 2.039e12 / 2³⁰.
    ``bits='bf16'`` (GenZ has no ``fp16`` key; both are 2 bytes at the same A100 peak). The decode
    step uses ``Bb=1`` (GenZ's default decodes 4 beams) and ``output_tokens=1``: 1024 cached
    tokens plus the new one, as hetsim's first decode step.
    """
    genz = _peer("GenZ")
    prefill_moddeling, decode_moddeling = genz.prefill_moddeling, genz.decode_moddeling

    system = {
        "Flops": A100_PEAK_FP16_FLOPS / 1e12,
        "Memory_size": A100_HBM_BYTES / 1e9,
        "Memory_BW": A100_HBM_BYTES_PER_S / 2**30,
        "ICN": 150,  # placeholder (GB/s): GenZ uses the interconnect only across devices; this is one GPU
        "real_values": True,
    }
    common: dict[str, Any] = {"model": "llama2_7b", "batch_size": 1, "system_name": system, "system_eff": 1}
    with _quiet():
        prefill = prefill_moddeling(input_tokens=prompt_tokens, bits="bf16", **common)
        decode = decode_moddeling(input_tokens=prompt_tokens, output_tokens=1, Bb=1, bits="bf16", **common)
    mib = 2**20  # GenZ's 'MB' is binary as well

    def total_bytes(out: Any) -> float:
        return float(out["summary_table"]["Total Data (MB)"].values[0]) * mib

    def total_flops(out: Any) -> float:
        # GenZ's column says 'MACs (MFLOP)'; its values are FLOPs (2 per MAC) in units of 10⁶
        return float(out["summary_table"]["MACs (MFLOP)"].values[0]) * 1e6

    return LLMNumbers(
        prefill_s=float(prefill["Latency"]) / 1e3,
        decode_s=float(decode["Latency"]) / 1e3,
        prefill_bytes=total_bytes(prefill),
        decode_bytes=total_bytes(decode),
        prefill_flops=total_flops(prefill),
        decode_flops=total_flops(decode),
    )


def llm_analysis(prompt_tokens: int = 1024) -> LLMNumbers:
    """llm-analysis: ``infer`` for Llama-2-7B on its ``a100-sxm-80gb`` config at efficiency 1.

    The config's peaks (312 TFLOP/s fp16, 2039 GB/s, decimal) are the ones hetsim uses; they are
    also passed as ``achieved_*`` so a changed config file cannot drift silently. ``w16a16e16`` is
    fp16 weights, activations and embeddings; ``num_tokens_to_generate=1`` makes its decode step
    see 1024 + 1 tokens of KV cache, as hetsim's. It reports latencies, not bytes.
    """
    infer = _peer("llm_analysis.analysis").infer

    with _quiet():
        out = infer(
            model_name="NousResearch_Llama-2-7b-hf",
            gpu_name="a100-sxm-80gb",
            dtype_name="w16a16e16",
            batch_size_per_gpu=1,
            seq_len=prompt_tokens,
            num_tokens_to_generate=1,
            layernorm_dtype_bytes=2,
            achieved_tflops=A100_PEAK_FP16_FLOPS / 1e12,
            achieved_memory_bandwidth_GBs=A100_HBM_BYTES_PER_S / 1e9,
            log_level="ERROR",
        )
    return LLMNumbers(
        prefill_s=float(out["prefill_latency"]),
        decode_s=float(out["decode_latency"]),
        prefill_flops=float(out["prefill_num_flops_fwd_total"]),
        decode_flops=float(out["decode_num_flops_fwd_total"]),
    )


# ------------------------------------------------------------------------------------------------
# Conv peers


def zigzag_workload() -> list[dict[str, Any]]:
    """The conv layer in ZigZag's workload format (int8 I/W, 16-bit partial sums, int8 output)."""
    d = CONV
    return [
        {
            "id": 0,
            "name": "conv3x3",
            "operator_type": "Conv",
            "equation": "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]",
            "dimension_relations": [f"ix={d['stride']}*ox+1*fx", f"iy={d['stride']}*oy+1*fy"],
            "loop_dims": ["B", "K", "C", "OY", "OX", "FY", "FX"],
            "loop_sizes": [d["N"], d["K"], d["C"], d["H"], d["W"], d["R"], d["S"]],
            "operand_precision": {"W": 8, "I": 8, "O": 16, "O_final": 8},
        }
    ]


def zigzag_conv() -> ConvNumbers:
    """ZigZag (``zigzag-dse``) on its own ``tpu_like`` hardware and mapping files, minimum energy.

    The per-level split sums ZigZag's ``mem_energy_breakdown`` (per layer operand, per memory level
    of that operand) by memory instance; cycles are ``latency_total2`` (computation, on-loading
    and off-loading, stalls included).
    """
    import yaml

    get_hardware_performance_zigzag = _peer("zigzag.api").get_hardware_performance_zigzag
    inputs = Path(_peer("zigzag").__file__).parent / "inputs"
    with tempfile.TemporaryDirectory(prefix="zigzag-") as tmp, _quiet():
        workload = Path(tmp) / "conv3x3.yaml"
        workload.write_text(yaml.safe_dump(zigzag_workload()))
        result = get_hardware_performance_zigzag(
            str(workload),
            str(inputs / "hardware" / "tpu_like.yaml"),
            str(inputs / "mapping" / "tpu_like.yaml"),
            opt="energy",
            dump_folder=str(Path(tmp) / "out"),
            loma_show_progress_bar=False,
        )
    logging.getLogger().setLevel(logging.WARNING)  # ZigZag's API sets the root logger to INFO
    cme = result[2][0][1][0][0]  # the single layer's CostModelEvaluation
    levels = dict.fromkeys(CONV_LEVELS, 0.0)
    levels["MAC"] = float(cme.mac_energy)
    links = cme.memory_operand_links
    for layer_op, per_level in cme.mem_energy_breakdown.items():
        hierarchy = cme.mem_hierarchy_dict[links.layer_to_mem_op(layer_op)]
        for memory, energy in zip(hierarchy, per_level, strict=True):
            levels[ZIGZAG_LEVEL_OF[memory.name]] += float(energy)
    return ConvNumbers(total_pj=float(cme.energy_total), levels_pj=levels, cycles=float(cme.latency_total2))


def scalesim_conv(python: str | Path) -> dict[str, float]:
    """SCALE-Sim through :mod:`tools.crosscheck.scalesim_runner` in the interpreter ``python``."""
    ih, iw = conv_input_hw()
    d = CONV
    runner = Path(__file__).with_name("scalesim_runner.py")
    cmd = [
        str(python), str(runner), "--rows", str(ARRAY_ROWS), "--cols", str(ARRAY_COLS),
        "--ifmap", str(ih), str(iw), "--filter", str(d["R"]), str(d["S"]),
        "--channels", str(d["C"]), "--filters", str(d["K"]), "--stride", str(d["stride"]),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"SCALE-Sim runner failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def scalesim_version(python: str | Path) -> str:
    """``scalesim``'s version in the interpreter ``python``."""
    code = "import importlib.metadata as m; print(m.version('scalesim'))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "not installed"
