"""Run every cross-check, print hetsim vs each peer side by side (``python -m tools.crosscheck``)."""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tools.crosscheck import hetsim_side as hs
from tools.crosscheck import peers
from tools.crosscheck.table import Row, render

T = TypeVar("T")

LLM = "Llama-2-7B fp16, A100 (312 TFLOP/s, 2.039 TB/s), efficiency 1, ideal runtime, batch 1"
CONV = "conv 3x3 64->64, 56x56 out, int8, 32x32 weight-stationary array (ZigZag tpu_like energies)"
DEFAULT_SCALESIM_PYTHON = Path(".venv-scalesim/bin/python")


def llm_rows(het: hs.LLMNumbers, peer: str, other: hs.LLMNumbers, note: str = "") -> list[Row]:
    """Latency, bytes and FLOPs of prefill and the decode step, where the peer reports them."""
    rows = [
        Row(LLM, "prefill latency (1024 tokens)", "s", het.prefill_s, peer, other.prefill_s, note),
        Row(LLM, "decode step latency", "s", het.decode_s, peer, other.decode_s),
    ]
    if other.prefill_bytes is not None:
        rows.append(Row(LLM, "prefill bytes (HBM)", "B", het.prefill_bytes, peer, other.prefill_bytes))
    if other.decode_bytes is not None:
        rows.append(Row(LLM, "decode step bytes (HBM)", "B", het.decode_bytes, peer, other.decode_bytes))
    if other.prefill_flops is not None:
        rows.append(Row(LLM, "prefill FLOPs", "FLOP", het.prefill_flops, peer, other.prefill_flops))
    if other.decode_flops is not None:
        rows.append(Row(LLM, "decode step FLOPs", "FLOP", het.decode_flops, peer, other.decode_flops))
    return rows


def conv_rows(het: hs.ConvNumbers, zz: hs.ConvNumbers) -> list[Row]:
    """Total energy, the per-level split and cycles against ZigZag."""
    rows = [Row(CONV, "energy total", "pJ", het.total_pj, "ZigZag", zz.total_pj)]
    notes = {
        "RF": "hetsim: per-MAC RF accesses folded into energy/FLOP",
        "GB (SRAM)": "hetsim: each byte once through the GB; no dataflow re-reads",
    }
    for level in hs.CONV_LEVELS:
        rows.append(
            Row(
                CONV, f"energy {level}", "pJ", het.levels_pj[level], "ZigZag", zz.levels_pj[level], notes.get(level, "")
            )
        )
    rows.append(Row(CONV, "cycles", "cycles", het.cycles, "ZigZag", zz.cycles, "ZigZag: incl. DRAM on-loading"))
    return rows


def scalesim_rows(het: hs.ConvNumbers, ss: dict[str, float]) -> list[Row]:
    """Cycles and traffic (int8: one word = one byte) against SCALE-Sim."""
    op = hs.conv_operator()
    ifmap = next(t.bytes for t in op.reads if t.tensor == "ifmap")
    return [
        Row(CONV, "cycles (compute)", "cycles", het.cycles, "SCALE-Sim", ss["compute_cycles"]),
        Row(
            CONV, "cycles (incl. prefetch)", "cycles", het.cycles, "SCALE-Sim", ss["total_cycles_with_prefetch"],
            "SCALE-Sim: first fill of the SRAMs not overlapped",
        ),
        Row(
            CONV, "DRAM reads (ifmap + filter)", "words", float(op.bytes_read), "SCALE-Sim",
            ss["dram_ifmap_reads"] + ss["dram_filter_reads"],
        ),
        Row(
            CONV, "GB reads of the ifmap", "words", float(ifmap), "SCALE-Sim", ss["sram_ifmap_reads"],
            "the array re-reads inputs per (filter offset, column fold)",
        ),
    ]  # fmt: skip


def _attempt(name: str, fn: Callable[[], T], failures: list[str]) -> T | None:
    """Run one side of a check; a failure is recorded (and printed) instead of stopping the others."""
    try:
        return fn()
    except Exception as exc:  # a peer's API can fail in any way; report it and go on
        failures.append(f"{name}: {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stderr)
        return None


def run(
    prompt_tokens: int, scalesim_python: Path | None, skip: Sequence[str]
) -> tuple[list[Row], list[str], dict[str, str]]:
    """Every check; returns the rows, the failures and the versions of the tools that ran."""
    rows: list[Row] = []
    failures: list[str] = []
    versions = {"hetsim": peers.version("hetsim")}
    het_llm = _attempt("hetsim LLM", lambda: hs.hetsim_llm(prompt_tokens, roofline=True), failures)
    het_eff = _attempt("hetsim LLM (efficiency only)", lambda: hs.hetsim_llm(prompt_tokens, roofline=False), failures)
    if "genz" not in skip:
        versions["genz-llm"] = peers.version("genz-llm")
        genz = _attempt("GenZ", lambda: peers.genz_llm(prompt_tokens), failures)
        if het_llm and genz:
            rows += llm_rows(het_llm, "GenZ", genz, "GenZ BW passed as 2.039e12/2^30 GiB/s")
        if het_eff and genz:
            rows += [
                Row(LLM, "prefill latency [a100-80gb utilisation+latency]", "s", het_eff.prefill_s, "GenZ",
                    genz.prefill_s, "tile/wave quantisation, 405 ns HBM latency"),
                Row(LLM, "decode latency [a100-80gb utilisation+latency]", "s", het_eff.decode_s, "GenZ",
                    genz.decode_s),
            ]  # fmt: skip
    if "llm-analysis" not in skip:
        versions["llm-analysis"] = peers.version("llm-analysis")
        la = _attempt("llm-analysis", lambda: peers.llm_analysis(prompt_tokens), failures)
        if het_llm and la:
            rows += llm_rows(het_llm, "llm-analysis", la)
    het_conv = _attempt("hetsim conv", hs.hetsim_conv, failures)
    if "zigzag" not in skip:
        versions["zigzag-dse"] = peers.version("zigzag-dse")
        zz = _attempt("ZigZag", peers.zigzag_conv, failures)
        if het_conv and zz:
            rows += conv_rows(het_conv, zz)
    if "scalesim" not in skip:
        if scalesim_python is None or not Path(scalesim_python).exists():
            failures.append(f"SCALE-Sim: no interpreter at {scalesim_python} (make crosscheck creates .venv-scalesim)")
        else:
            versions["scalesim"] = peers.scalesim_version(scalesim_python)
            ss = _attempt("SCALE-Sim", lambda: peers.scalesim_conv(scalesim_python), failures)
            if het_conv and ss:
                rows += scalesim_rows(het_conv, ss)
    return rows, failures, versions


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: run the checks, print the table (and optionally JSON); exit 1 if any side failed."""
    parser = argparse.ArgumentParser(prog="python -m tools.crosscheck", description=__doc__)
    parser.add_argument("--prompt-tokens", type=int, default=1024, help="prefill length (default 1024)")
    parser.add_argument(
        "--scalesim-python", type=Path, default=DEFAULT_SCALESIM_PYTHON,
        help=f"interpreter with scalesim installed (default {DEFAULT_SCALESIM_PYTHON})",
    )  # fmt: skip
    parser.add_argument(
        "--skip", action="append", default=[], choices=("genz", "llm-analysis", "zigzag", "scalesim"),
        help="leave a peer out (repeatable)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the rows, failures and versions here")
    args = parser.parse_args(argv)
    rows, failures, versions = run(args.prompt_tokens, args.scalesim_python, args.skip)
    print("hetsim cross-checks against peer tools (diff = (hetsim - peer) / peer)")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print()
    print(render(rows))
    for failure in failures:
        print(f"FAILED {failure}")
    if args.json:
        doc: dict[str, Any] = {"rows": [r.to_json() for r in rows], "failures": failures, "versions": versions}
        args.json.write_text(json.dumps(doc, indent=2))
    return 1 if failures else 0
