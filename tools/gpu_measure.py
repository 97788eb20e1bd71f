"""Measure an NVIDIA GPU for hetsim's fidelity suite: GEMM, GEMV, bandwidth, Llama decode, power and energy.

This is how the ``measured-*`` fidelity cases were taken (docs/fidelity.md#measured-cases). It needs PyTorch,
and for the eager HuggingFace case ``transformers``; energy and power come from NVML (``nvidia-ml-py``). None
of these is a hetsim dependency: the script runs on the GPU machine alone and writes one JSON file, which a
person reads and copies into ``simulator/fidelity/data/measured.yaml`` with the method stated.

    python tools/gpu_measure.py --out DIR            # on the GPU machine
    python tools/gpu_measure.py --out DIR --smoke    # a few seconds on a CPU: checks the script, not a GPU

Methods (each result records its own):
- device time with CUDA events around a replayed CUDA graph (no host cost), median of repeats;
- ``timed_call``: ``time.time()`` around one call and a synchronize, as LLMCompass's GEMM benchmark does;
- energy: the board's energy counter (``nvmlDeviceGetTotalEnergyConsumption``) over a window of >= 3 s,
  power and clocks sampled every 50 ms beside it.
Weights are random (the timing of dense kernels does not depend on the values); shapes are hetsim's
built-in ``llama-2-7b``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

#: hetsim's built-in llama-2-7b (workloads/models): 32 layers, d 4096, 32 heads of 128, FFN 11008, vocab 32000
LLAMA_7B = {"layers": 32, "dim": 4096, "heads": 32, "kv_heads": 32, "ffn": 11008, "vocab": 32000}
TINY = {"layers": 2, "dim": 64, "heads": 4, "kv_heads": 4, "ffn": 128, "vocab": 256}
#: LLMCompass's A100 GEMM shapes (the fidelity suite's gemm cases), measured again here
GEMM_SHAPES = [
    (64, 12288, 12288),
    (256, 12288, 12288),
    (1024, 12288, 12288),
    (4096, 12288, 12288),
    (16384, 12288, 12288),
    (8192, 64, 64),
    (8192, 256, 256),
    (8192, 1024, 1024),
    (8192, 4096, 4096),
    (8192, 16384, 16384),
]
#: decode GEMV shapes of one llama-2-7b layer as (N out, K in): fused QKV, output, fused gate+up, down, LM head
GEMV_SHAPES = [(12288, 4096), (4096, 4096), (22016, 4096), (4096, 11008), (11008, 4096), (32000, 4096)]


class Recorder:
    """Results so far, rewritten after every section so that a run cut short keeps what it measured."""

    def __init__(self, path: Path, budget_s: float) -> None:
        self.path = path
        self.start = time.perf_counter()
        self.budget_s = budget_s
        self.data: dict[str, Any] = {"sections": {}}

    def elapsed(self) -> float:
        """Seconds since the run began."""
        return time.perf_counter() - self.start

    @contextlib.contextmanager
    def section(self, name: str, cost_s: float = 10.0) -> Iterator[dict[str, Any]]:
        """Run one section; an error is recorded and the next section still runs."""
        out: dict[str, Any] = {}
        if self.elapsed() + cost_s > self.budget_s:
            self.data["sections"][name] = {"skipped": f"time budget ({self.elapsed():.0f} s used)"}
            self.save()
            print(f"[{self.elapsed():6.1f}s] skip {name}", flush=True)
            yield out
            return
        print(f"[{self.elapsed():6.1f}s] {name} ...", flush=True)
        t0 = time.perf_counter()
        try:
            yield out
        except Exception:
            out["error"] = traceback.format_exc(limit=6)
            print(out["error"], flush=True)
        out["section_wall_s"] = round(time.perf_counter() - t0, 2)
        self.data["sections"][name] = out
        self.save()
        print(f"[{self.elapsed():6.1f}s] {name} done", flush=True)

    def save(self) -> None:
        """Write the results atomically (a temporary file, then a rename)."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=str))
        os.replace(tmp, self.path)


class Nvml:
    """Board energy, power and clocks through NVML; every reading is None where NVML is absent."""

    def __init__(self) -> None:
        self.ok = False
        try:
            import pynvml

            pynvml.nvmlInit()
            self.nv = pynvml
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            self.ok = True
        except Exception as exc:
            self.error = repr(exc)

    def energy_j(self) -> float | None:
        """Board energy counter, J."""
        return self.nv.nvmlDeviceGetTotalEnergyConsumption(self.handle) / 1e3 if self.ok else None

    def power_w(self) -> float | None:
        """Board power, W."""
        return self.nv.nvmlDeviceGetPowerUsage(self.handle) / 1e3 if self.ok else None

    def state(self) -> dict[str, Any]:
        """Clocks, P-state and temperature now."""
        if not self.ok:
            return {}
        nv, h = self.nv, self.handle
        return {
            "sm_mhz": nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM),
            "mem_mhz": nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_MEM),
            "pstate": nv.nvmlDeviceGetPerformanceState(h),
            "temp_c": nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU),
        }

    def static_facts(self) -> dict[str, Any]:
        """Power limit, maximum clocks, driver and name."""
        if not self.ok:
            return {"nvml": self.error}
        nv, h = self.nv, self.handle
        facts: dict[str, Any] = {}
        for key, call in {
            "power_limit_w": lambda: nv.nvmlDeviceGetEnforcedPowerLimit(h) / 1e3,
            "max_sm_mhz": lambda: nv.nvmlDeviceGetMaxClockInfo(h, nv.NVML_CLOCK_SM),
            "max_mem_mhz": lambda: nv.nvmlDeviceGetMaxClockInfo(h, nv.NVML_CLOCK_MEM),
            "driver": lambda: nv.nvmlSystemGetDriverVersion(),
            "name": lambda: nv.nvmlDeviceGetName(h),
        }.items():
            try:
                facts[key] = call()
            except Exception as exc:
                facts[key] = repr(exc)
        return facts


class Window:
    """Energy over a stretch of work: the counter's difference, and power/clocks sampled every 50 ms."""

    def __init__(self, nvml: Nvml) -> None:
        self.nvml = nvml
        self.samples: list[tuple[float, float | None, dict[str, Any]]] = []
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.samples.append((time.perf_counter(), self.nvml.power_w(), self.nvml.state()))

    def __enter__(self) -> Window:
        self.e0 = self.nvml.energy_j()
        self.t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.t1 = time.perf_counter()
        self.e1 = self.nvml.energy_j()
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, Any]:
        """Energy, average power, sampled power and clocks over the window."""
        seconds = self.t1 - self.t0
        out: dict[str, Any] = {"seconds": round(seconds, 4)}
        if self.e0 is not None and self.e1 is not None:
            out["energy_j"] = round(self.e1 - self.e0, 4)
            out["avg_power_w"] = round((self.e1 - self.e0) / seconds, 2)
        powers = [p for _, p, _ in self.samples if p is not None]
        if powers:
            out["sampled_power_w"] = {"median": round(statistics.median(powers), 1), "max": round(max(powers), 1)}
        clocks = [s["sm_mhz"] for _, _, s in self.samples if s]
        if clocks:
            out["sm_mhz"] = {"median": statistics.median(clocks), "min": min(clocks), "max": max(clocks)}
            out["mem_mhz_median"] = statistics.median(s["mem_mhz"] for _, _, s in self.samples if s)
            out["pstates"] = sorted({s["pstate"] for _, _, s in self.samples if s})
        return out


def sync(dev: torch.device) -> None:
    """Wait for the GPU."""
    if dev.type == "cuda":
        torch.cuda.synchronize()


def device_ms(fn: Callable[[], object], dev: torch.device, repeats: int = 10, warmup: int = 3) -> list[float]:
    """Device time per call with CUDA events (perf_counter around a synchronize on a CPU)."""
    for _ in range(warmup):
        fn()
    sync(dev)
    times = []
    for _ in range(repeats):
        if dev.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def graphed(fn: Callable[[], object], dev: torch.device) -> tuple[Callable[[], object], bool]:
    """``fn`` captured in a CUDA graph (host cost gone), or ``fn`` itself where capture is not possible."""
    if dev.type != "cuda":
        return fn, False
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay, True


def stats(times: list[float]) -> dict[str, float]:
    """Median, minimum and count of a list of times in ms."""
    return {"median_ms": round(statistics.median(times), 5), "min_ms": round(min(times), 5), "n": len(times)}


# ----------------------------------------------------------------------------------------------- sections


def environment(out: dict[str, Any], nvml: Nvml, dev: torch.device) -> None:
    """Software versions, the host CPU and the GPU's facts."""
    out["python"] = sys.version.split()[0]
    out["torch"] = torch.__version__
    out["cuda"] = torch.version.cuda
    out["host"] = platform.platform()
    out["cpu"] = platform.processor()
    with contextlib.suppress(Exception):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        out["cpu"] = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
        out["cpus"] = sum(line.startswith("processor") for line in lines)
    if dev.type == "cuda":
        props = torch.cuda.get_device_properties(0)
        out["gpu"] = props.name
        out["sms"] = props.multi_processor_count
        out["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        out["l2_mib"] = round(getattr(props, "L2_cache_size", 0) / 2**20, 1)
    out.update(nvml.static_facts())
    with contextlib.suppress(Exception):
        smi = subprocess.run(["nvidia-smi", "-q", "-d", "POWER,CLOCK,PERFORMANCE"], capture_output=True, text=True)
        out["nvidia_smi_q"] = smi.stdout[-6000:]


def power_states(out: dict[str, Any], nvml: Nvml, dev: torch.device, seconds: float) -> None:
    """Board power in the states hetsim's power model distinguishes, each over ``seconds``.

    idle_no_context: no CUDA context (the static floor); context_idle: a context, no work; host_bound: one tiny
    kernel every ~20 us, the GPU waiting on the host as under eager decode (active idle: clocks up, no work);
    stream_copy: a 1 GiB device copy back to back (HBM bound); dense_gemm: 8192^3 bf16 (tensor-core bound).
    """
    with Window(nvml) as w:
        time.sleep(seconds)
    out["idle_no_context"] = w.summary()
    a = torch.zeros(1, device=dev)
    big_src = torch.empty(2**29, dtype=torch.float16, device=dev).normal_()
    big_dst = torch.empty_like(big_src)
    sync(dev)
    with Window(nvml) as w:
        time.sleep(seconds)
    out["context_idle"] = w.summary()

    def spin(us: float) -> None:
        end = time.perf_counter() + us * 1e-6
        while time.perf_counter() < end:
            pass

    launches = 0
    with Window(nvml) as w:
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            for _ in range(100):
                a.add_(1.0)
                spin(20)
            launches += 100
        sync(dev)
    out["host_bound"] = w.summary() | {
        "kernels": launches,
        "us_per_kernel": round(w.summary()["seconds"] / launches * 1e6, 2),
    }

    copy, graph = graphed(lambda: big_dst.copy_(big_src), dev)
    copies = 0
    with Window(nvml) as w:
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            for _ in range(20):
                copy()
            copies += 20
            sync(dev)
    s = w.summary()
    moved = copies * 2 * big_src.numel() * 2  # read + write bytes
    out["stream_copy"] = s | {
        "bytes_moved": moved,
        "achieved_tb_s": round(moved / s["seconds"] / 1e12, 3),
        "graph": graph,
    }

    n = 8192 if dev.type == "cuda" else 256
    dt = torch.bfloat16 if dev.type == "cuda" else torch.float32
    x, y = torch.randn(n, n, device=dev, dtype=dt), torch.randn(n, n, device=dev, dtype=dt)
    gemms = 0
    with Window(nvml) as w:
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            for _ in range(20):
                torch.mm(x, y)
            gemms += 20
            sync(dev)
    s = w.summary()
    out["dense_gemm"] = s | {
        "flop": gemms * 2 * n**3,
        "achieved_tflop_s": round(gemms * 2 * n**3 / s["seconds"] / 1e12, 1),
    }


def busy_power(out: dict[str, Any], nvml: Nvml, dev: torch.device, seconds: float) -> None:
    """Board power while one kind of kernel runs back to back from a replayed CUDA graph, each over ``seconds``.

    read_stream: a reduction over 2 GiB (HBM reads through the SMs); gemv_chain: batch-1 bf16 GEMVs over 2 GB
    of distinct weights (decode's access pattern); tiny_kernels: 1,000 elementwise kernels on 4,096 values
    (busy SMs, almost no data); gemm_4096: 4096^3 bf16 products. Subtracting the context-idle power gives the
    energy each byte or FLOP adds while the clocks are up.
    """
    small = dev.type != "cuda"
    src = torch.empty(2**16 if small else 2**30, dtype=torch.float16, device=dev).normal_()
    acc = torch.empty((), dtype=torch.float32, device=dev)
    k = 64 if small else 4096
    weights = [torch.randn(3 * k, k, device=dev, dtype=src.dtype) for _ in range(2 if small else 20)]
    x = torch.randn(1, k, device=dev, dtype=src.dtype)
    outs = [torch.empty(1, 3 * k, device=dev, dtype=src.dtype) for _ in weights]
    vec = torch.zeros(4096, device=dev)
    a = torch.randn(k, k, device=dev, dtype=src.dtype)

    def gemv_chain() -> None:
        for w_i, o_i in zip(weights, outs, strict=True):
            torch.matmul(x, w_i.t(), out=o_i)

    def tiny() -> None:
        for _ in range(1000):
            vec.add_(1.0)

    work: dict[str, tuple[Callable[[], object], float, float]] = {
        # name: (call, bytes read per call, FLOPs per call)
        "read_stream": (lambda: torch.sum(src, dim=0, dtype=torch.float32, out=acc), src.numel() * 2.0, 0.0),
        "gemv_chain": (gemv_chain, sum(w.numel() * 2.0 for w in weights), sum(2.0 * w.numel() for w in weights)),
        "tiny_kernels": (tiny, 1000 * 4096 * 8.0, 1000 * 4096.0),
        "gemm_4096": (lambda: torch.mm(a, a), 3 * k * k * 2.0, 2.0 * k**3),
    }
    with Window(nvml) as w:
        time.sleep(seconds)
    out["context_idle"] = w.summary()
    for name, (call, nbytes, flops) in work.items():
        fn, graph = graphed(call, dev)
        calls = 0
        with Window(nvml) as w:
            stop = time.perf_counter() + seconds
            while time.perf_counter() < stop:
                for _ in range(10):
                    fn()
                calls += 10
                sync(dev)
        s = w.summary()
        out[name] = s | {
            "calls": calls,
            "us_per_call": round(s["seconds"] / calls * 1e6, 2),
            "tb_s": round(calls * nbytes / s["seconds"] / 1e12, 3),
            "tflop_s": round(calls * flops / s["seconds"] / 1e12, 2),
            "graph": graph,
        }


def prefill_lengths(out: dict[str, Any], dev: torch.device, smoke: bool) -> None:
    """Batch-1 prefill of the llama-2-7b shape at several prompt lengths (plain PyTorch, causal SDPA)."""
    shape = TINY if smoke else LLAMA_7B
    dt = torch.bfloat16 if dev.type == "cuda" else torch.float32
    lengths = (32, 64) if smoke else (512, 1024, 4096)
    model = Llama(shape, max(lengths), 1, dt, dev)
    for n in lengths:
        ids = torch.randint(1, shape["vocab"], (1, n), device=dev)
        p = torch.arange(n, device=dev)
        t = device_ms(lambda ids=ids, p=p: model.forward(ids, p, prefill=True), dev, repeats=5)
        out[f"prefill_{n}_ms"] = stats(t)
    n = lengths[-1]
    ids = torch.randint(1, shape["vocab"], (1, n), device=dev)
    p = torch.arange(n, device=dev)
    out[f"prefill_{n}_profile"] = kernel_profile(lambda: model.forward(ids, p, prefill=True), dev)


def kernel_names(out: dict[str, Any], dev: torch.device, smoke: bool) -> None:
    """Every kernel of one decode step and of a 512-token prefill of the plain-PyTorch Llama, in launch order.

    These lists are how the per-operator kernel counts of the ``graphed_eager`` runtime were counted.
    """
    from torch.profiler import ProfilerActivity, profile

    shape = TINY if smoke else LLAMA_7B
    dt = torch.bfloat16 if dev.type == "cuda" else torch.float32
    model = Llama(shape, 640, 1, dt, dev)
    tok = torch.ones(1, 1, dtype=torch.long, device=dev)
    pos = torch.tensor([600], dtype=torch.long, device=dev)
    ids = torch.randint(1, shape["vocab"], (1, 512), device=dev)
    p = torch.arange(512, device=dev)
    for label, call in {
        "decode": lambda: model.forward(tok, pos, prefill=False),
        "prefill_512": lambda: model.forward(ids, p, prefill=True),
    }.items():
        call()
        sync(dev)
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
        with profile(activities=acts) as prof:
            call()
            sync(dev)
        kernels = [
            (ev.name, round(ev.device_time_total, 2))
            for ev in prof.events()
            if dev.type == "cuda" and str(ev.device_type).endswith("CUDA")
        ]
        layer0 = len(kernels) // max(1, shape["layers"])
        out[label] = {"kernels": len(kernels), "first_60": kernels[:60], "last_12": kernels[-12:]}
        out[label]["approx_per_layer"] = layer0


def hf_prefill(out: dict[str, Any], dev: torch.device, smoke: bool) -> None:
    """HuggingFace eager forward over a 2,048-token prompt, fp16, batch 1 (time to first token of generate)."""
    shape = TINY if smoke else LLAMA_7B
    dt = torch.float16 if dev.type == "cuda" else torch.float32
    model = _hf_llama(shape, dt, dev)
    for n in (64,) if smoke else (2048,):
        ids = torch.randint(100, shape["vocab"] - 1, (1, n), device=dev)
        kwargs = {"do_sample": False, "eos_token_id": None, "pad_token_id": 0, "max_new_tokens": 1}
        with torch.inference_mode():
            model.generate(ids, **kwargs)
            times = []
            for _ in range(5):
                sync(dev)
                t0 = time.perf_counter()
                model.generate(ids, **kwargs)
                sync(dev)
                times.append((time.perf_counter() - t0) * 1e3)
        out[f"ttft_{n}_ms"] = stats(times)


def host_dispatch(out: dict[str, Any], dev: torch.device) -> None:
    """The host's Python-side cost of one framework call (the eager runtime's constants, measured here)."""
    a, b = torch.zeros(16, device=dev), torch.zeros(16, device=dev)
    n = 20000
    for label, op in {
        "add_kernel": lambda: torch.add(a, b),
        "inplace_add_kernel": lambda: a.add_(b),
        "view_no_kernel": lambda: a.view(4, 4),
        "transpose_no_kernel": lambda: a.view(4, 4).t(),
    }.items():
        for _ in range(1000):
            op()
        sync(dev)
        t0 = time.perf_counter()
        for _ in range(n):
            op()
        host = time.perf_counter() - t0
        sync(dev)
        out[label + "_us"] = round(host / n * 1e6, 3)
    module = torch.nn.Identity()
    t0 = time.perf_counter()
    for _ in range(n):
        module(a)
    out["empty_module_call_us"] = round((time.perf_counter() - t0) / n * 1e6, 3)


def bandwidth(out: dict[str, Any], dev: torch.device, smoke: bool) -> None:
    """Streaming copy and read, and decode GEMVs (batch 1..32) over weights far larger than the L2."""
    numel = 2**16 if smoke else 2**30  # 2 GiB of fp16
    src = torch.empty(numel, dtype=torch.float16, device=dev).normal_()
    dst = torch.empty_like(src)
    fn, graph = graphed(lambda: dst.copy_(src), dev)
    t = device_ms(fn, dev)
    out["copy"] = stats(t) | {"tb_s": round(2 * numel * 2 / (statistics.median(t) * 1e-3) / 1e12, 3), "graph": graph}
    acc = torch.empty((), dtype=torch.float32, device=dev)
    fn, graph = graphed(lambda: torch.sum(src, dim=0, dtype=torch.float32, out=acc), dev)
    t = device_ms(fn, dev)
    out["read_sum"] = stats(t) | {"tb_s": round(numel * 2 / (statistics.median(t) * 1e-3) / 1e12, 3), "graph": graph}
    dt = torch.bfloat16 if dev.type == "cuda" else torch.float32
    gemv: dict[str, Any] = {}
    shapes = [(64, 32), (128, 64)] if smoke else GEMV_SHAPES
    for n_out, k in shapes:
        for m in (1, 8, 32) if (n_out, k) == shapes[0] else (1,):
            copies = max(2, math.ceil((1e6 if smoke else 2e9) / (n_out * k * 2)))
            weights = [torch.randn(n_out, k, device=dev, dtype=dt) for _ in range(copies)]
            x = torch.randn(m, k, device=dev, dtype=dt)
            outs = [torch.empty(m, n_out, device=dev, dtype=dt) for _ in range(copies)]

            def run(
                weights: list[torch.Tensor] = weights, x: torch.Tensor = x, outs: list[torch.Tensor] = outs
            ) -> None:
                for w_i, o_i in zip(weights, outs, strict=True):
                    torch.matmul(x, w_i.t(), out=o_i)

            fn, graph = graphed(run, dev)
            t = device_ms(fn, dev, repeats=5)
            per = statistics.median(t) / copies
            gemv[f"m{m}_n{n_out}_k{k}"] = {
                "us_per_gemv": round(per * 1e3, 2),
                "weight_tb_s": round(n_out * k * 2 / (per * 1e-3) / 1e12, 3),
                "copies": copies,
                "graph": graph,
            }
    out["gemv_bf16"] = gemv
    if dev.type == "cuda":
        out["gemv_quantised"] = quantised_gemv(dev)


def quantised_gemv(dev: torch.device) -> dict[str, Any]:
    """Weight-only int8 and int4 (group 32 and 128, scales and zero points) GEMVs through PyTorch's own kernels.

    These are the ATen kernels gpt-fast's quantised models call (``_weight_int8pack_mm``, tinygemm's
    ``_weight_int4pack_mm``); a format the installed PyTorch cannot run on this GPU records its error.
    """
    results: dict[str, Any] = {}
    n_out, k = 11008, 4096
    x = torch.randn(1, k, device=dev, dtype=torch.bfloat16)

    def timed(label: str, make: Callable[[], Callable[[], object]], weight_bytes: float, copies: int) -> None:
        try:
            fn, graph = graphed(make(), dev)
            per = statistics.median(device_ms(fn, dev, repeats=5)) / copies
            results[label] = {
                "us_per_gemv": round(per * 1e3, 2),
                "weight_tb_s": round(weight_bytes / (per * 1e-3) / 1e12, 3),
                "graph": graph,
            }
        except Exception as exc:
            results[label] = {"error": repr(exc)[:400]}

    copies = 40
    w8 = [torch.randint(-127, 127, (n_out, k), device=dev, dtype=torch.int8) for _ in range(copies)]
    scales = torch.rand(n_out, device=dev, dtype=torch.bfloat16)

    def make_int8() -> Callable[[], object]:
        return lambda: [torch.ops.aten._weight_int8pack_mm(x, w, scales) for w in w8]

    timed("int8_n11008_k4096", make_int8, n_out * k + n_out * 2, copies)
    for group in (32, 128):

        def make_int4(group: int = group) -> Callable[[], object]:
            raw = [torch.randint(0, 255, (n_out, k // 2), device=dev, dtype=torch.uint8) for _ in range(copies)]
            packed = [torch.ops.aten._convert_weight_to_int4pack(r, 8) for r in raw]
            sz = torch.rand(k // group, n_out, 2, device=dev, dtype=torch.bfloat16)
            return lambda: [torch.ops.aten._weight_int4pack_mm(x, p, group, sz) for p in packed]

        timed(f"int4_g{group}_n11008_k4096", make_int4, n_out * k / 2 + (k // group) * n_out * 4, copies)
    return results


def gemm(out: dict[str, Any], dev: torch.device, smoke: bool) -> None:
    """LLMCompass's GEMM shapes in fp16: device time (events) and the timed_call method (time.time + sync)."""
    dt = torch.float16 if dev.type == "cuda" else torch.float32
    shapes = [(64, 64, 64), (128, 32, 32)] if smoke else GEMM_SHAPES
    for m, n, k in shapes:
        a, b = torch.randn(m, k, device=dev, dtype=dt), torch.randn(k, n, device=dev, dtype=dt)
        events = device_ms(lambda a=a, b=b: torch.matmul(a, b), dev, repeats=20)
        calls = []
        for _ in range(20):
            t0 = time.time()
            torch.matmul(a, b)
            sync(dev)
            calls.append((time.time() - t0) * 1e3)
        med = statistics.median(events)
        out[f"m{m}_n{n}_k{k}"] = {
            "device": stats(events),
            "timed_call": stats(calls),
            "tflop_s_device": round(2 * m * n * k / (med * 1e-3) / 1e12, 1),
        }


class Llama:
    """A plain-PyTorch Llama with a static KV cache (gpt-fast's structure): random weights, no tokenizer.

    Decode attends over the whole static cache with a causal mask row, as gpt-fast does; the cache is sized to
    the run so masked positions add little. Prefill uses causal SDPA on the new keys (FlashAttention path).
    """

    def __init__(self, shape: dict[str, int], max_seq: int, batch: int, dtype: torch.dtype, dev: torch.device) -> None:
        d, h, kvh, f = shape["dim"], shape["heads"], shape["kv_heads"], shape["ffn"]
        self.d, self.h, self.kvh, self.hd = d, h, kvh, d // h
        self.dev, self.dtype = dev, dtype

        def w(*size: int) -> torch.Tensor:
            return torch.randn(*size, device=dev, dtype=dtype) * (1.0 / math.sqrt(size[-1]))

        self.layers = [
            {
                "attn_norm": torch.ones(d, device=dev, dtype=dtype),
                "wqkv": w((h + 2 * kvh) * self.hd, d),
                "wo": w(d, d),
                "ffn_norm": torch.ones(d, device=dev, dtype=dtype),
                "w13": w(2 * f, d),
                "w2": w(d, f),
                "k": torch.zeros(batch, kvh, max_seq, self.hd, device=dev, dtype=dtype),
                "v": torch.zeros(batch, kvh, max_seq, self.hd, device=dev, dtype=dtype),
            }
            for _ in range(shape["layers"])
        ]
        self.embed = w(shape["vocab"], d)
        self.norm = torch.ones(d, device=dev, dtype=dtype)
        self.head = w(shape["vocab"], d)
        inv = 1.0 / (10000 ** (torch.arange(0, self.hd, 2, device=dev, dtype=torch.float32) / self.hd))
        ang = torch.outer(torch.arange(max_seq, device=dev, dtype=torch.float32), inv)
        self.cos, self.sin = ang.cos(), ang.sin()
        self.mask = torch.tril(torch.ones(max_seq, max_seq, dtype=torch.bool, device=dev))

    def _rope(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        xs = x.float().reshape(*x.shape[:-1], -1, 2)
        cos, sin = self.cos[pos].view(1, -1, 1, xs.shape[-2]), self.sin[pos].view(1, -1, 1, xs.shape[-2])
        out = torch.stack([xs[..., 0] * cos - xs[..., 1] * sin, xs[..., 1] * cos + xs[..., 0] * sin], -1)
        return out.flatten(3).type_as(x)

    def forward(self, tokens: torch.Tensor, pos: torch.Tensor, prefill: bool) -> torch.Tensor:
        """Logits of the last position; writes the new keys and values into the static cache."""
        b, t = tokens.shape
        x = F.embedding(tokens, self.embed)
        for layer in self.layers:
            hn = F.rms_norm(x, (self.d,), layer["attn_norm"], 1e-5)
            q, k, v = F.linear(hn, layer["wqkv"]).split([self.h * self.hd, self.kvh * self.hd, self.kvh * self.hd], -1)
            q = self._rope(q.view(b, t, self.h, self.hd), pos).transpose(1, 2)
            k = self._rope(k.view(b, t, self.kvh, self.hd), pos).transpose(1, 2)
            v = v.view(b, t, self.kvh, self.hd).transpose(1, 2)
            layer["k"].index_copy_(2, pos, k)
            layer["v"].index_copy_(2, pos, v)
            if prefill:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                y = F.scaled_dot_product_attention(
                    q, layer["k"], layer["v"], attn_mask=self.mask[pos].view(1, 1, t, -1)
                )
            x = x + F.linear(y.transpose(1, 2).reshape(b, t, self.d), layer["wo"])
            hn = F.rms_norm(x, (self.d,), layer["ffn_norm"], 1e-5)
            gate, up = F.linear(hn, layer["w13"]).chunk(2, -1)
            x = x + F.linear(F.silu(gate) * up, layer["w2"])
        return F.linear(F.rms_norm(x[:, -1:], (self.d,), self.norm, 1e-5), self.head)


def kernel_profile(fn: Callable[[], object], dev: torch.device) -> dict[str, Any]:
    """Kernels one call launches and their device time by kind (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with profile(activities=acts) as prof:
        fn()
        sync(dev)
    kinds: dict[str, list[float]] = {}
    count = 0
    for ev in prof.events():
        if dev.type == "cuda" and str(ev.device_type).endswith("CUDA"):
            name = ev.name.lower()
            kind = (
                "gemm"
                if any(s in name for s in ("gemm", "gemv", "sm90", "cutlass", "ampere", "splitk"))
                else "attention"
                if any(s in name for s in ("flash", "fmha", "attention", "efficient"))
                else "other"
            )
            kinds.setdefault(kind, []).append(ev.device_time_total)
            count += 1
    return {
        "kernels": count,
        "device_us_by_kind": {k: round(sum(v), 1) for k, v in kinds.items()},
        "count_by_kind": {k: len(v) for k, v in kinds.items()},
    }


def llama_graphs(out: dict[str, Any], nvml: Nvml, dev: torch.device, smoke: bool, energy_s: float) -> None:
    """Batch-1 decode and prefill of the llama-2-7b shape: decode steps replayed as one CUDA graph per token."""
    shape = TINY if smoke else LLAMA_7B
    dt = torch.bfloat16 if dev.type == "cuda" else torch.float32
    prompt, gen = 128, 128
    model = Llama(shape, prompt + gen, 1, dt, dev)
    out["weights_gb"] = round(
        sum(t.numel() * t.element_size() for lay in model.layers for n, t in lay.items() if n not in ("k", "v")) / 1e9
        + 2 * model.embed.numel() * model.embed.element_size() / 1e9,
        3,
    )
    tok = torch.ones(1, 1, dtype=torch.long, device=dev)
    pos = torch.tensor([prompt], dtype=torch.long, device=dev)
    prompt_tokens = torch.randint(1, shape["vocab"], (1, prompt), device=dev)
    prompt_pos = torch.arange(prompt, device=dev)

    def step() -> None:
        logits = model.forward(tok, pos, prefill=False)
        tok.copy_(logits[:, -1].argmax(-1).view(1, 1))
        pos.add_(1)

    prefill_t = device_ms(lambda: model.forward(prompt_tokens, prompt_pos, prefill=True), dev, repeats=5)
    out["prefill_128_ms"] = stats(prefill_t)
    out["decode_step_profile"] = kernel_profile(step, dev)
    pos.fill_(prompt)
    replay, graph = graphed(step, dev)
    out["graph"] = graph

    def generate() -> None:
        model.forward(prompt_tokens, prompt_pos, prefill=True)
        pos.fill_(prompt)
        for _ in range(gen):
            replay()

    t = device_ms(generate, dev, repeats=3, warmup=1)
    decode_only = []
    for _ in range(3):
        model.forward(prompt_tokens, prompt_pos, prefill=True)
        pos.fill_(prompt)
        sync(dev)
        decode_only.append(device_ms(lambda: [replay() for _ in range(gen)], dev, repeats=1, warmup=0)[0])
    out["prompt_tokens"], out["generate_tokens"] = prompt, gen
    out["end_to_end_ms"] = stats(t)
    out["tokens_per_s_end_to_end"] = round(gen / (statistics.median(t) * 1e-3), 2)
    out["tpot_ms"] = round(statistics.median(decode_only) / gen, 4)
    out["weight_tb_s_per_step"] = round(out["weights_gb"] / (out["tpot_ms"] * 1e-3) / 1e3, 3)
    runs = 0
    with Window(nvml) as w:
        stop = time.perf_counter() + energy_s
        while time.perf_counter() < stop:
            pos.fill_(prompt)
            for _ in range(gen):
                replay()
            runs += 1
            sync(dev)
    s = w.summary()
    out["decode_energy"] = s | {"tokens": runs * gen}
    if "energy_j" in s:
        out["decode_energy"]["j_per_token"] = round(s["energy_j"] / (runs * gen), 4)
    # one forward over T new tokens at position 128 (Medusa-style verification of T candidates; causal rows)
    verify: dict[str, Any] = {}
    for t_new in (1, 4, 16, 64):
        ids = torch.randint(1, shape["vocab"], (1, t_new), device=dev)
        p = torch.arange(prompt, prompt + t_new, device=dev)
        fn, _ = graphed(lambda ids=ids, p=p: model.forward(ids, p, prefill=False), dev)
        verify[f"tokens_{t_new}"] = stats(device_ms(fn, dev, repeats=10))
    out["forward_new_tokens_at_128"] = verify

    for prompt_len in (2048,) if not smoke else (64,):
        model = Llama(shape, prompt_len, 1, dt, dev)
        ids = torch.randint(1, shape["vocab"], (1, prompt_len), device=dev)
        p = torch.arange(prompt_len, device=dev)
        t = device_ms(lambda model=model, ids=ids, p=p: model.forward(ids, p, prefill=True), dev, repeats=5)
        out[f"prefill_{prompt_len}_ms"] = stats(t)
        out[f"prefill_{prompt_len}_profile"] = kernel_profile(
            lambda model=model, ids=ids, p=p: model.forward(ids, p, True), dev
        )


def _hf_llama(shape: dict[str, int], dt: torch.dtype, dev: torch.device) -> Any:
    """A random-weight HuggingFace LlamaForCausalLM of ``shape`` (sdpa attention), built on ``dev`` in ``dt``."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        hidden_size=shape["dim"],
        intermediate_size=shape["ffn"],
        num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"],
        num_key_value_heads=shape["kv_heads"],
        vocab_size=shape["vocab"],
        max_position_embeddings=4096,
        rms_norm_eps=1e-5,
        attn_implementation="sdpa",
    )
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dt)
    try:
        with torch.device(dev):
            model = LlamaForCausalLM(cfg)
    finally:
        torch.set_default_dtype(previous)
    return model.to(dt).eval()


def hf_eager(out: dict[str, Any], nvml: Nvml, dev: torch.device, smoke: bool) -> None:
    """HuggingFace transformers ``generate`` in eager mode, fp16, batch 1 (the Medusa/SnapKV/ML.ENERGY stack)."""
    import transformers

    shape = TINY if smoke else LLAMA_7B
    dt = torch.float16 if dev.type == "cuda" else torch.float32
    model = _hf_llama(shape, dt, dev)
    out["transformers"] = transformers.__version__
    out["attn_implementation"] = getattr(model.config, "_attn_implementation", "?")
    prompt, gen = 256, (16 if smoke else 128)
    ids = torch.randint(100, shape["vocab"] - 1, (1, prompt), device=dev)
    kwargs = {"do_sample": False, "eos_token_id": None, "pad_token_id": 0}

    def run(new: int) -> float:
        sync(dev)
        t0 = time.perf_counter()
        with torch.inference_mode():
            res = model.generate(ids, max_new_tokens=new, min_new_tokens=new, **kwargs)
        sync(dev)
        assert res.shape[1] == prompt + new, res.shape
        return time.perf_counter() - t0

    run(4)
    out["ttft_ms"] = round(statistics.median(run(1) for _ in range(3)) * 1e3, 3)
    with Window(nvml) as w:
        total = run(gen)
    s = w.summary()
    out["prompt_tokens"], out["generate_tokens"] = prompt, gen
    out["end_to_end_s"] = round(total, 4)
    out["tokens_per_s"] = round(gen / total, 3)
    out["tpot_ms"] = round((total - out["ttft_ms"] / 1e3) / (gen - 1) * 1e3, 3)
    out["energy"] = s
    if "energy_j" in s:
        out["energy"]["j_per_token"] = round(s["energy_j"] / gen, 4)
    with torch.inference_mode():
        cache_ids = ids[:, :1]
        past = model(ids, use_cache=True).past_key_values
        out["decode_step_profile"] = kernel_profile(lambda: model(cache_ids, past_key_values=past, use_cache=True), dev)


def main(argv: list[str] | None = None) -> int:
    """Run every section in turn; the JSON file is rewritten after each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--smoke", action="store_true", help="tiny shapes on whatever device there is")
    parser.add_argument("--budget-s", type=float, default=420.0, help="skip sections that would run past this")
    parser.add_argument("--window-s", type=float, default=4.0, help="seconds per power-state window")
    parser.add_argument("--only", default="", help="comma-separated sections to run (default: all)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rec = Recorder(args.out / "measurements.json", args.budget_s)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    nvml = Nvml()
    rec.data["taken"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    rec.data["script"] = "tools/gpu_measure.py"
    window = 0.3 if args.smoke else args.window_s
    sections: dict[str, tuple[float, Callable[[dict[str, Any]], None]]] = {
        # the idle reading must come before anything creates a CUDA context: power states first
        "power_states": (6 * window, lambda out: power_states(out, nvml, dev, window)),
        "environment": (2, lambda out: environment(out, nvml, dev)),
        "host_dispatch": (5, lambda out: host_dispatch(out, dev)),
        "bandwidth": (20, lambda out: bandwidth(out, dev, args.smoke)),
        "gemm": (20, lambda out: gemm(out, dev, args.smoke)),
        "busy_power": (6 * window, lambda out: busy_power(out, nvml, dev, window)),
        "llama_graphs": (40, lambda out: llama_graphs(out, nvml, dev, args.smoke, window)),
        "prefill_lengths": (30, lambda out: prefill_lengths(out, dev, args.smoke)),
        "hf_eager": (60, lambda out: hf_eager(out, nvml, dev, args.smoke)),
        "hf_prefill": (40, lambda out: hf_prefill(out, dev, args.smoke)),
        "kernel_names": (20, lambda out: kernel_names(out, dev, args.smoke)),
    }
    chosen = args.only.split(",") if args.only else list(sections)
    for name in chosen:
        cost, run = sections[name]
        with rec.section(name, cost) as out:
            run(out)
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    rec.data["wall_s"] = round(rec.elapsed(), 1)
    rec.save()
    print(f"wrote {rec.path} in {rec.elapsed():.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
