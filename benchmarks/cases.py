"""The benchmark cases of ``python -m benchmarks`` and the code that runs one case.

A :class:`Case` is plain, picklable data (a name, a runner kind, parameters); :func:`execute` runs
it and returns its figures. The harness (:mod:`benchmarks.harness`) calls :func:`execute` in a
fresh ``spawn`` process per case, so each case's peak RSS is its own.

Kinds of case:

``micro``
    the engine micro-benchmarks of :mod:`benchmarks.micro` (made-up architecture, trace
    built as a list before timing: the engine alone).
``scenario``
    one architecture × one workload through :func:`simulator.runner.run_scenario`, the code path of
    ``hetsim run`` without the result files. The trace is generated lazily *while* it is simulated,
    so the wall time includes generation; ``trace_s`` is the time of one generation pass alone.
    ``min_time_s`` repeats a tiny scenario until that much time has passed (totals are reported).
``sweep``
    a scenario with a ``sweep:`` grid through :func:`simulator.sweep.run.sweep_scenario` (the code
    path of ``hetsim sweep``: validation, SQLite store, ``sweep.csv``, Pareto plot) with the serial
    executor.
``trace_write`` / ``trace_replay``
    stream a generated trace to a JSON Lines file, and replay that file as a ``{kind: trace}``
    workload (``trace_s``: one parse of the file alone).
"""

from __future__ import annotations

import importlib
import math
import os
import resource
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: LLM runs use the A100-80GB under the eager runtime (HuggingFace-style launches), as the flagship scenario.
LLM_ARCH = "a100-80gb"
RUNTIME = "eager"


@dataclass(frozen=True)
class Case:
    """One benchmark case: ``kind`` picks the runner, ``params`` its inputs, ``needs`` cases to run first."""

    name: str
    kind: str
    description: str
    params: Mapping[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()


def _baseline(prompt: int, generate: int, model: str = "llama-2-7b") -> dict[str, Any]:
    return {
        "kind": "baseline",
        "model": model,
        "batch": 1,
        "prompt_tokens": prompt,
        "generate_tokens": generate,
        "dtype": "fp16",
    }


def trace_tokens(operators: int, *, prompt: int, model: str = "llama-2-7b") -> int:
    """Generated tokens for a baseline trace of at least ``operators`` operators (one step's ops per token)."""
    from workloads.spec import WORKLOAD_ADAPTER, build_trace

    per_token = sum(1 for _ in build_trace(WORKLOAD_ADAPTER.validate_python(_baseline(prompt, 1, model))))
    return max(1, math.ceil(operators / per_token))


def default_cases(*, small: bool = False) -> list[Case]:
    """The benchmark cases in run order; ``small`` shrinks every size to seconds (smoke tests)."""
    from benchmarks.joint_sweep import joint_sweep_case

    prompt, generate = (16, 4) if small else (512, 512)
    snap_prompt, snap_capacity = (512, 128) if small else (32_768, 2048)
    grid = 2 if small else 8
    sweep_generate = 2 if small else 32
    # Three file sizes: the engine's bounded caches (signatures, finished operators) fill during the
    # first ~250k operators of this trace, so flatness is judged between the two largest files.
    traces = (
        (("1k", 1_000), ("2k", 2_000), ("5k", 5_000))
        if small
        else (("100k", 100_000), ("250k", 250_000), ("1m", 1_000_000))
    )
    trace_prompt = 16 if small else 512
    medusa = {**_baseline(prompt, generate, "vicuna-7b"), "kind": "medusa", "tree": "mc_sim_7b_63"}
    snapkv = {
        **_baseline(snap_prompt, 4 if small else 512, "lwm-text-chat-1m"),
        "kind": "snapkv",
        "capacity": snap_capacity,
        "window": 32,
        "kernel": 7,
        "pooling": "maxpool",
    }
    bandwidths = [f"{1.0 + 0.5 * i:g} TB/s" for i in range(grid)]
    accepted = [1.25 + 0.25 * i for i in range(grid)]
    sweep_base = {**_baseline(trace_prompt if small else 512, sweep_generate, "vicuna-7b"), "kind": "medusa"}
    sweep_base.update(tree="mc_sim_7b_63", accepted_tokens_per_step=2.0)
    return [
        Case(
            "micro.decode",
            "micro",
            "engine only: decode-like trace (32 layers × 14 ops + 1 per step) on a made-up 2-unit chip",
            {"case": "decode", "size": 2 if small else 250},
        ),
        Case(
            "micro.gemm_chain",
            "micro",
            "engine only: 100k identical dependent GEMMs on the made-up chip (every cost cached)",
            {"case": "gemm_chain", "size": 200 if small else 100_000},
        ),
        Case(
            "baseline-7b",
            "scenario",
            f"Llama-2-7B fp16 batch 1, {prompt} prompt + {generate} generated tokens, {LLM_ARCH}, {RUNTIME}",
            {"architecture": LLM_ARCH, "workload": _baseline(prompt, generate)},
        ),
        Case(
            "baseline-7b.ideal",
            "scenario",
            f"Llama-2-7B fp16 batch 1, {prompt} prompt + {generate} generated tokens, {LLM_ARCH}, ideal runtime",
            {"architecture": LLM_ARCH, "workload": _baseline(prompt, generate), "runtime": "ideal"},
        ),
        Case(
            "baseline-7b-tp8",
            "scenario",
            f"Llama-2-7B fp16 batch 1, {prompt} + {generate} tokens, tensor_parallel 8 on dgx-a100 (8 devices, "
            f"all-reduces as flows), {RUNTIME}: operators/s against baseline-7b's single device",
            {"architecture": "dgx-a100", "workload": {**_baseline(prompt, generate), "tensor_parallel": 8}},
        ),
        Case(
            "medusa-7b",
            "scenario",
            f"Vicuna-7B Medusa (mc_sim_7b_63 tree, accuracy model), {prompt} + {generate} tokens, {LLM_ARCH}",
            {"architecture": LLM_ARCH, "workload": medusa},
        ),
        Case(
            "snapkv-32k",
            "scenario",
            f"LWM-Text-Chat-1M (Llama-2-7B) SnapKV, {snap_prompt}-token prompt → capacity {snap_capacity}, "
            f"{snapkv['generate_tokens']} generated, {LLM_ARCH}",
            {"architecture": LLM_ARCH, "workload": snapkv},
        ),
        Case(
            "skynet-b32",
            "scenario",
            "SkyNet fp16 batch 32 on jetson-tx2 (tiny trace: repeated for ≥ 1 s, totals reported)",
            {
                "architecture": "jetson-tx2",
                "workload": {"kind": "skynet", "batch": 2 if small else 32, "precision": "fp16"},
                "min_time_s": 0.0 if small else 1.0,
            },
        ),
        Case(
            f"sweep-{grid * grid}",
            "sweep",
            f"{grid}×{grid} sweep, serial executor: A100 HBM bandwidth × Medusa accepted tokens/step "
            f"(Vicuna-7B, {sweep_base['prompt_tokens']} + {sweep_generate} tokens)",
            {
                "scenario": {
                    "name": "bench-sweep",
                    "runtime": RUNTIME,
                    "architectures": [LLM_ARCH],
                    "workloads": [sweep_base],
                    "sweep": {
                        "architectures.0.memories.hbm.bandwidth": bandwidths,
                        "workloads.0.accepted_tokens_per_step": accepted,
                    },
                    "outputs": ["json"],
                }
            },
        ),
        joint_sweep_case(small=small),
        *[
            Case(
                f"trace-{label}.write",
                "trace_write",
                f"stream a Llama-2-7B baseline trace of ≥{ops:,} ops to a JSON Lines file",
                {"file": f"trace-{label}.jsonl", "operators": ops, "prompt": trace_prompt},
            )
            for label, ops in traces
        ],
        *[
            Case(
                f"trace-{label}.replay",
                "trace_replay",
                f"replay the ≥{ops:,}-op file as a {{kind: trace}} workload on {LLM_ARCH}",
                {"architecture": LLM_ARCH, "file": f"trace-{label}.jsonl"},
                needs=(f"trace-{label}.write",),
            )
            for label, ops in traces
        ],
    ]


# --------------------------------------------------------------------------------------------
# Running one case (in the child process)


def max_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _scenario_dict(name: str, architecture: Any, workload: Mapping[str, Any], runtime: str) -> dict[str, Any]:
    return {
        "name": name,
        "runtime": runtime,
        "architectures": [architecture],
        "workloads": [dict(workload)],
        "outputs": ["json"],
    }


def _run_scenario(name: str, params: Mapping[str, Any], workdir: Path, workload: Mapping[str, Any]) -> dict[str, Any]:
    from simulator.config import scenario_from_dict
    from simulator.runner import run_scenario
    from workloads.spec import build_trace

    runtime = str(params.get("runtime", RUNTIME))
    spec = scenario_from_dict(_scenario_dict(name, params["architecture"], workload, runtime), base_dir=workdir)
    min_time = float(params.get("min_time_s", 0.0))
    runs, operators, events, engine_wall = 0, 0, 0, 0.0
    start = time.perf_counter()
    while True:
        run = run_scenario(spec).runs[0]
        runs += 1
        operators += run.operators
        events += run.events
        engine_wall += run.wall_s
        wall = time.perf_counter() - start
        if wall >= min_time:
            break
    # the same runs without the step fast path (only a trace with repeated steps can take it)
    exact_wall = wall
    step_run = build_trace(spec.workloads[0]).plan is not None
    if step_run:
        exact_start = time.perf_counter()
        for _ in range(runs):
            exact = run_scenario(spec, exact=True).runs[0]
        exact_wall = time.perf_counter() - exact_start
        if abs(exact.latency_s - run.latency_s) > 1e-9 * exact.latency_s:
            raise AssertionError(f"{name}: fast path latency {run.latency_s!r} != full simulation {exact.latency_s!r}")
    gen_start = time.perf_counter()
    generated = sum(1 for _ in build_trace(spec.workloads[0]))
    trace_s = time.perf_counter() - gen_start
    return {
        "exact_wall_s": exact_wall,
        "fast_speedup": exact_wall / wall if wall > 0 else None,
        "step_run": step_run,
        "operators": operators,
        "events": events,
        "wall_s": wall,
        "runs": runs,
        "operators_per_run": operators // runs,
        "engine_wall_s": engine_wall,
        "trace_s": trace_s * runs,
        "trace_operators": generated,
        "simulated_latency_s": run.latency_s,
        "tokens_per_s": run.tokens_per_s,
        "fps": run.fps,
    }


def _micro(case: Case, workdir: Path) -> dict[str, Any]:
    from benchmarks.micro import measure_micro

    return measure_micro(str(case.params["case"]), int(case.params["size"]))


def _scenario(case: Case, workdir: Path) -> dict[str, Any]:
    return _run_scenario(case.name, case.params, workdir, case.params["workload"])


def _sweep(case: Case, workdir: Path) -> dict[str, Any]:
    from simulator.sweep.executors import SerialExecutor
    from simulator.sweep.run import sweep_scenario

    path = workdir / f"{case.name}.yaml"
    path.write_text(yaml.safe_dump(dict(case.params["scenario"]), sort_keys=False), encoding="utf-8")
    out = workdir / f"{case.name}-out"
    start = time.perf_counter()
    outcome, rows = sweep_scenario(path, out, executor=SerialExecutor())
    wall = time.perf_counter() - start
    errors = [row["error"] for row in rows if row.get("error")]
    return {
        "operators": sum(int(row.get("operators") or 0) for row in rows),
        "events": None,  # sweep rows store the run metrics, not the SimPy event count
        "wall_s": wall,
        "points": outcome.total,
        "points_computed": outcome.computed,
        "points_per_s": outcome.computed / wall if wall > 0 else None,
        "engine_wall_s": sum(float(row.get("wall_s") or 0.0) for row in rows),
        "errors": len(errors),
        "executor": "serial",
    }


def _trace_write(case: Case, workdir: Path) -> dict[str, Any]:
    from workloads.io import write_trace
    from workloads.spec import WORKLOAD_ADAPTER, build_trace

    prompt = int(case.params["prompt"])
    tokens = trace_tokens(int(case.params["operators"]), prompt=prompt)
    spec = WORKLOAD_ADAPTER.validate_python(_baseline(prompt, tokens))
    path = workdir / str(case.params["file"])
    start = time.perf_counter()
    written = write_trace(build_trace(spec), path)
    wall = time.perf_counter() - start
    return {
        "operators": written,
        "events": None,
        "wall_s": wall,
        "generate_tokens": tokens,
        "file_bytes": path.stat().st_size,
    }


def _trace_replay(case: Case, workdir: Path) -> dict[str, Any]:
    path = (workdir / str(case.params["file"])).resolve()
    figures = _run_scenario(case.name, case.params, workdir, {"kind": "trace", "path": str(path)})
    figures["file_bytes"] = path.stat().st_size
    return figures


_RUNNERS: dict[str, Callable[[Case, Path], dict[str, Any]]] = {
    "micro": _micro,
    "scenario": _scenario,
    "sweep": _sweep,
    "trace_write": _trace_write,
    "trace_replay": _trace_replay,
}


def execute(case: Case, workdir: str) -> dict[str, Any]:
    """Run ``case`` (files go to ``workdir``) and return its figures, with this process's peak RSS.

    ``base_rss_mib`` is the peak RSS after importing the simulator, before the case ran; in a fresh
    process, ``peak_rss_mib - base_rss_mib`` is what the case itself needed.
    """
    # Imported first so that the base RSS includes the simulator and its dependencies.
    for module in ("simulator.engine", "simulator.runner", "simulator.sweep.run", "workloads.spec"):
        importlib.import_module(module)

    if case.kind not in _RUNNERS:
        raise ValueError(f"case {case.name!r}: unknown kind {case.kind!r}; known: {', '.join(_RUNNERS)}")
    base = max_rss_mib()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    figures = _RUNNERS[case.kind](case, Path(workdir))
    wall = figures["wall_s"]
    operators, events = figures["operators"], figures["events"]
    figures["operators_per_s"] = operators / wall if wall > 0 else None
    figures["events_per_s"] = events / wall if events is not None and wall > 0 else None
    figures["events_per_operator"] = events / operators if events is not None and operators else None
    figures["peak_rss_mib"] = max_rss_mib()
    figures["base_rss_mib"] = base
    figures["load_avg_1m"] = load
    figures["pid"] = os.getpid()
    return figures
