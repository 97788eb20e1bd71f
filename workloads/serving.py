"""The ``serving`` workload: a stream of requests, each a prompt to prefill and tokens to generate.

This module says *what arrives* — arrival times, prompt and output lengths, the algorithm each request
decodes with and the scheduler's knobs — and nothing about *how* it runs (the continuous-batching
scheduler and the per-step costs are in :mod:`simulator.serving`). Requests are drawn from numpy's
``Generator(PCG64(seed))``: same seed, same requests.

Arrivals: ``poisson`` (exponential gaps at ``rate``), ``gamma`` (gaps with mean 1/rate and coefficient of
variation ``cv``; cv > 1 is bursty, cv = 1 is Poisson), or a request trace file (JSON Lines, one object per
request: ``arrival_s``, ``prompt_tokens``, ``generate_tokens``).

Lengths: a number, a distribution ``{dist: lognormal, mean, sigma, max}`` / ``{dist: uniform, min, max}``
/ ``{dist: exponential, mean, max}``, or a shipped preset name (:data:`LENGTH_PRESETS`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workloads.base import WorkloadBase
from workloads.llm import ComputeDtype, WeightDtype
from workloads.medusa import MedusaSpec
from workloads.models import TransformerConfig, load_model
from workloads.serving_step import MedusaShape, SnapShape, StepModel, StepShape, step_trace
from workloads.snapkv import SnapKVSpec
from workloads.trace import Trace

if TYPE_CHECKING:  # numpy is imported when requests are drawn, not when a scenario is validated
    import numpy as np

# --------------------------------------------------------------------------------------------
# small quantities (workloads may not import simulator.units; the grammar here is deliberately tiny)

_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0, "h": 3600.0}
_QTY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z/]*)\s*$")


def parse_rate(value: Any) -> float:
    """Requests per second from ``'2/s'``, ``'120/min'`` or ``'0.5/ms'`` (a bare number is rejected)."""
    if isinstance(value, str):
        m = _QTY.match(value)
        if m and m.group(2).startswith("/") and m.group(2)[1:] in _TIME_UNITS:
            rate = float(m.group(1)) / _TIME_UNITS[m.group(2)[1:]]
            if rate > 0:
                return rate
    raise ValueError(f"expected a positive request rate with its unit, like '2/s' or '120/min', got {value!r}")


def parse_seconds(value: Any) -> float:
    """Seconds from ``'60 s'``, ``'500 ms'``, ``'10 min'``, ``'1 h'`` (a bare number is rejected)."""
    if isinstance(value, str):
        m = _QTY.match(value)
        if m and m.group(2) in _TIME_UNITS:
            return float(m.group(1)) * _TIME_UNITS[m.group(2)]
    raise ValueError(f"expected a duration with its unit, like '60 s', '500 ms' or '10 min', got {value!r}")


def parse_bandwidth(value: Any) -> float:
    """Bytes per second from ``'31.5 GB/s'`` (decimal prefixes k, M, G, T)."""
    if isinstance(value, str):
        m = _QTY.match(value)
        prefixes = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
        if m and m.group(2).endswith("B/s") and m.group(2)[:-3] in prefixes:
            bw = float(m.group(1)) * prefixes[m.group(2)[:-3]]
            if bw > 0:
                return bw
    raise ValueError(f"expected a positive bandwidth with its unit, like '31.5 GB/s', got {value!r}")


# --------------------------------------------------------------------------------------------
# length distributions


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LognormalLengths(_Strict):
    """Lognormal token counts with the given mean (the usual shape of chat prompt and answer lengths)."""

    dist: Literal["lognormal"] = Field(description="distribution")
    mean: float = Field(gt=0, description="mean tokens (before truncation at max)")
    sigma: float = Field(1.0, gt=0, description="std of log(tokens); 1.0 is an assumption, state yours")
    min: int = Field(1, ge=1, description="smallest length (tokens)")
    max: int = Field(ge=1, description="largest length (tokens); longer draws are clipped")


class UniformLengths(_Strict):
    """Token counts uniform on [min, max]."""

    dist: Literal["uniform"] = Field(description="distribution")
    min: int = Field(ge=1, description="smallest length (tokens)")
    max: int = Field(ge=1, description="largest length (tokens)")


class ExponentialLengths(_Strict):
    """Exponential token counts (a long tail of long answers)."""

    dist: Literal["exponential"] = Field(description="distribution")
    mean: float = Field(gt=0, description="mean tokens (before truncation at max)")
    min: int = Field(1, ge=1, description="smallest length (tokens)")
    max: int = Field(ge=1, description="largest length (tokens); longer draws are clipped")


LengthDist = Annotated[LognormalLengths | UniformLengths | ExponentialLengths, Field(discriminator="dist")]

#: Shipped length presets. They are *illustrative shapes*, not fits to a dataset (no dataset statistics are in
#: the project's references): short chat turns, and long-document summarisation where prompts dominate.
LENGTH_PRESETS: dict[str, dict[str, Any]] = {
    "chat-prompt": {"dist": "lognormal", "mean": 256, "sigma": 1.0, "max": 1536},
    "chat-output": {"dist": "lognormal", "mean": 128, "sigma": 0.8, "max": 512},
    "summarise-prompt": {"dist": "uniform", "min": 1024, "max": 3072},
    "summarise-output": {"dist": "uniform", "min": 64, "max": 256},
}

Length = int | str | LengthDist


def length_max(length: Length) -> int:
    """The largest length a spec can draw."""
    if isinstance(length, int):
        return length
    if isinstance(length, str):
        return int(LENGTH_PRESETS[length]["max"])
    return length.max


def _resolve_length(length: Length) -> int | LognormalLengths | UniformLengths | ExponentialLengths:
    if isinstance(length, str):
        preset = LENGTH_PRESETS[length]
        cls = {"lognormal": LognormalLengths, "uniform": UniformLengths, "exponential": ExponentialLengths}
        return cls[preset["dist"]].model_validate(preset)  # type: ignore[attr-defined,no-any-return]
    return length


def draw_lengths(length: Length, n: int, rng: np.random.Generator) -> list[int]:
    """``n`` token counts from a length spec (integers, within [min, max])."""
    spec = _resolve_length(length)
    if isinstance(spec, int):
        return [spec] * n
    if isinstance(spec, UniformLengths):
        return [int(x) for x in rng.integers(spec.min, spec.max + 1, size=n)]
    if isinstance(spec, LognormalLengths):
        mu = math.log(spec.mean) - spec.sigma**2 / 2  # so that E[X] = mean
        raw = rng.lognormal(mu, spec.sigma, size=n)
    else:
        raw = rng.exponential(spec.mean, size=n)
    return [int(min(spec.max, max(spec.min, round(float(x))))) for x in raw]


# --------------------------------------------------------------------------------------------
# arrivals, scheduler and SLO sections


class ArrivalSpec(_Strict):
    """How requests arrive: a process with a rate, or a trace file."""

    process: Literal["poisson", "gamma"] | None = Field(None, description="arrival process (omit with `trace`)")
    rate: float | None = Field(None, description="mean arrival rate with a unit, e.g. '2/s' or '120/min'")
    cv: float = Field(1.0, gt=0, description="gamma: coefficient of variation of the gaps (1 = Poisson, >1 bursty)")
    trace: str | None = Field(
        None,
        description="JSON Lines request trace (arrival_s, prompt_tokens, generate_tokens per line), relative "
        "to the scenario file",
    )

    @field_validator("rate", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> Any:
        return None if value is None else parse_rate(value)

    @model_validator(mode="after")
    def _one_source(self) -> ArrivalSpec:
        if self.trace is not None:
            if self.process is not None or self.rate is not None:
                raise ValueError("give either `trace` or `process` with `rate`, not both")
        elif self.process is None or self.rate is None:
            raise ValueError("expected `process` (poisson or gamma) with `rate` (e.g. '2/s'), or `trace`")
        return self


class SchedulerSpec(_Strict):
    """The serving engine's batching policy and KV-cache memory (defaults: vLLM's, docs/references.md#vllm-defaults)."""

    policy: Literal["continuous", "static"] = Field(
        "continuous", description="continuous: iteration-level batching (Orca/vLLM); static: a batch runs to its end"
    )
    max_batched_tokens: int = Field(
        2048,
        ge=1,
        description="tokens per step, prefill chunks and decode tokens together (vLLM "
        "max_num_batched_tokens with chunked prefill: 2048)",
    )
    max_sequences: int = Field(256, ge=1, description="sequences per step (vLLM max_num_seqs: 256)")
    chunked_prefill: bool = Field(
        True,
        description="split long prompts over steps, decodes first (Sarathi/vLLM); false: a prompt waits "
        "until it fits whole",
    )
    block_tokens: int = Field(16, ge=1, description="tokens per KV-cache block (vLLM block_size: 16)")
    memory_fraction: float = Field(
        0.9,
        gt=0,
        le=1,
        description="share of the KV-cache memory the engine may use, weights included (vLLM "
        "gpu_memory_utilization: 0.9)",
    )
    preemption: Literal["recompute", "swap"] = Field(
        "recompute",
        description="when blocks run out: drop the newest sequence's cache and recompute it later, or "
        "swap its blocks to host memory and back (vLLM's two modes)",
    )
    swap_bandwidth: str = Field(
        "31.5 GB/s",
        description="host link for swapping (PCIe 4.0 x16: 16 GT/s x 16 lanes x 128/130 = 31.5 GB/s, "
        "docs/references.md#pcie-40)",
    )

    @field_validator("swap_bandwidth")
    @classmethod
    def _bw(cls, value: str) -> str:
        parse_bandwidth(value)
        return value


class SLOSpec(_Strict):
    """A latency target: a request counts toward goodput when it meets both."""

    ttft: str = Field("1 s", description="time to first token target (default 1 s: an assumption, state yours)")
    tpot: str = Field("100 ms", description="time per output token target (default 100 ms: an assumption)")

    @field_validator("ttft", "tpot")
    @classmethod
    def _time(cls, value: str) -> str:
        parse_seconds(value)
        return value


Algorithm = Literal["baseline", "medusa", "snapkv", "medusa+snapkv"]


@dataclass(frozen=True, slots=True)
class Request:
    """One request: when it arrives (s) and its prompt and output lengths (tokens)."""

    id: int
    arrival_s: float
    prompt_tokens: int
    generate_tokens: int


class ServingSpec(WorkloadBase):
    """Requests arriving at a serving engine that batches them step by step."""

    kind: Literal["serving"] = Field("serving", description="workload kind")
    model: str | dict[str, Any] = Field(description="built-in model name, path to a HF config.json, or inline mapping")
    algorithm: Algorithm = Field("baseline", description="decoding algorithm of every request")
    requests: int | None = Field(None, ge=1, description="requests to simulate (with `duration`, whichever ends first)")
    duration: str | None = Field(None, description="stop arrivals after this time, e.g. '60 s'")
    arrivals: ArrivalSpec = Field(description="arrival process or request trace")
    prompt_tokens: Length | None = Field(
        None, description="prompt length: a number, a distribution or a preset name (not with a request trace)"
    )
    generate_tokens: Length | None = Field(
        None, description="output length: a number, a distribution or a preset name (not with a request trace)"
    )
    dtype: ComputeDtype = Field("fp16", description="activation, KV-cache and compute dtype")
    weight_dtype: WeightDtype | None = Field(None, description="weight storage dtype; default: dtype")
    scheduler: SchedulerSpec = Field(default_factory=lambda: SchedulerSpec(), description="batching policy")
    slo: SLOSpec = Field(default_factory=lambda: SLOSpec(), description="latency target for goodput")
    medusa: dict[str, Any] = Field(
        default_factory=dict,
        description="Medusa keys as in `kind: medusa` (heads, tree, accepted_tokens_per_step, "
        "head_topk_accuracy, accuracies, tail_decay, variant, heads_on); acceptance is sampled per request",
    )
    snapkv: dict[str, Any] = Field(
        default_factory=dict,
        description="SnapKV keys as in `kind: snapkv` (window, capacity, kernel, pooling, per_kv_head)",
    )

    @field_validator("model")
    @classmethod
    def _model_resolves(cls, value: str | dict[str, Any]) -> str | dict[str, Any]:
        load_model(value)
        return value

    @field_validator("prompt_tokens", "generate_tokens")
    @classmethod
    def _length(cls, value: Length | None) -> Length | None:
        if value is None:
            return value
        if isinstance(value, bool):
            raise ValueError("expected a token count, a distribution or a preset name")
        if isinstance(value, int) and value < 1:
            raise ValueError(f"expected at least 1 token, got {value}")
        if isinstance(value, str) and value not in LENGTH_PRESETS:
            raise ValueError(f"unknown length preset {value!r}; presets: {', '.join(LENGTH_PRESETS)}")
        if isinstance(value, UniformLengths | LognormalLengths | ExponentialLengths) and value.min > value.max:
            raise ValueError(f"min(={value.min}) must be <= max(={value.max})")
        return value

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and parse_seconds(value) <= 0:
            raise ValueError("expected a positive duration")
        return value

    @model_validator(mode="after")
    def _check(self) -> ServingSpec:
        if self.arrivals.trace is None:
            if self.requests is None and self.duration is None:
                raise ValueError("give `requests` or `duration` (how long requests keep arriving)")
            if self.prompt_tokens is None or self.generate_tokens is None:
                raise ValueError("give `prompt_tokens` and `generate_tokens` (numbers, distributions or presets)")
        elif self.prompt_tokens is not None or self.generate_tokens is not None:
            raise ValueError("a request trace gives every request's lengths: drop `prompt_tokens`/`generate_tokens`")
        if self.medusa and "medusa" not in self.algorithm:
            raise ValueError(f"`medusa` keys given but algorithm is {self.algorithm!r}")
        if self.snapkv and "snapkv" not in self.algorithm:
            raise ValueError(f"`snapkv` keys given but algorithm is {self.algorithm!r}")
        self.medusa_spec()  # validates the Medusa keys
        self.snapkv_spec()
        return self

    # -- resolved parts ------------------------------------------------------------------------

    @property
    def config(self) -> TransformerConfig:
        """The resolved model shapes."""
        return load_model(self.model)

    @property
    def wdtype(self) -> str:
        """The effective weight dtype."""
        return self.weight_dtype or self.dtype

    def medusa_spec(self) -> MedusaSpec | None:
        """The Medusa settings as a validated ``kind: medusa`` spec (None unless the algorithm uses Medusa)."""
        if "medusa" not in self.algorithm:
            return None
        mode = {} if "accepted_tokens_per_step" in self.medusa else {"mode": "sampled"}
        # heads on the accepted position only (the minimal-work variant; see docs/serving.md#medusa-under-load)
        return MedusaSpec.model_validate(
            {
                "model": self.model,
                "prompt_tokens": 1,
                "generate_tokens": 2,
                "dtype": self.dtype,
                "heads_on": "accepted",
                **mode,
                **self.medusa,
            }
        )

    def snapkv_spec(self) -> SnapKVSpec | None:
        """The SnapKV settings as a validated ``kind: snapkv`` spec (None unless the algorithm uses SnapKV)."""
        if "snapkv" not in self.algorithm:
            return None
        return SnapKVSpec.model_validate(
            {
                "model": self.model,
                "prompt_tokens": 1,
                "generate_tokens": 1,
                "dtype": self.dtype,
                **self.snapkv,
            }
        )

    def step_model(self) -> StepModel:
        """The model, dtypes and algorithm shapes every step of this workload shares."""
        cfg = self.config
        medusa = self.medusa_spec()
        snap = self.snapkv_spec()
        kv_heads = snap.stored_heads(cfg) if snap else cfg.num_kv_heads
        tree = medusa.medusa_tree if medusa else None
        return StepModel(
            config=cfg,
            dtype=self.dtype,
            weight_dtype=self.wdtype,
            kv_heads=kv_heads,
            medusa=MedusaShape(
                medusa.heads, medusa.head_layers, tree.tokens, tree.leaves, tree.depth, medusa.heads_on == "all"
            )
            if medusa and tree
            else None,
            snap=SnapShape(snap.window, snap.capacity, snap.kernel, kv_heads) if snap else None,
        )

    def probe_step(self) -> Trace:
        """One representative step: a prompt chunk finishing beside a decoding sequence.

        It holds every operator kind and weight of a serving run, for checks that read a trace (preflight).
        """
        prompt = length_max(self.prompt_tokens) if self.prompt_tokens is not None else 512
        chunk = min(prompt, self.scheduler.max_batched_tokens)
        snap = self.snapkv_spec()
        select = (chunk,) if snap is not None and chunk >= snap.capacity else ()
        return step_trace(self.step_model(), StepShape(1, prompt, ((chunk, 0),), 1, select))

    def header(self) -> dict[str, Any]:
        """What a result records about the workload (offered load, algorithm, lengths)."""
        return {
            "format": "hetsim-serving",
            "workload": "serving",
            "model": self.config.name,
            "algorithm": self.algorithm,
            "arrival_process": self.arrivals.process or "trace",
            "arrival_rate_per_s": self.arrivals.rate,
            "requests": self.requests,
            "policy": self.scheduler.policy,
            "dtype": self.dtype,
            "weight_dtype": self.wdtype,
            "seed": self.seed,
        }


# --------------------------------------------------------------------------------------------
# request generation


def read_request_trace(path: str | Path) -> list[Request]:
    """Requests from a JSON Lines file; raises ``ValueError`` naming the file and line on bad data."""
    out: list[Request] = []
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                req = Request(len(out), float(row["arrival_s"]), int(row["prompt_tokens"]), int(row["generate_tokens"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(
                    f"{path}:{line_no}: expected an object with arrival_s (s), prompt_tokens and generate_tokens "
                    f"({type(exc).__name__}: {exc})"
                ) from None
            if (
                req.arrival_s < 0
                or req.prompt_tokens < 1
                or req.generate_tokens < 1
                or (out and req.arrival_s < out[-1].arrival_s)
            ):
                raise ValueError(f"{path}:{line_no}: arrival_s must be >= 0 and non-decreasing, token counts >= 1")
            out.append(req)
    if not out:
        raise ValueError(f"{path}: the request trace is empty")
    return out


def generate_requests(spec: ServingSpec) -> list[Request]:
    """The requests of a spec, in arrival order (deterministic in ``seed``)."""
    import numpy as np

    rng = np.random.Generator(np.random.PCG64(spec.seed))
    limit = parse_seconds(spec.duration) if spec.duration else math.inf
    if spec.arrivals.trace is not None:
        reqs = [r for r in read_request_trace(spec.arrivals.trace) if r.arrival_s < limit]
        return reqs[: spec.requests] if spec.requests else reqs
    rate = spec.arrivals.rate
    assert rate is not None  # checked by ArrivalSpec
    n_max = spec.requests if spec.requests is not None else None
    times: list[float] = []
    t = 0.0
    while n_max is None or len(times) < n_max:
        if spec.arrivals.process == "poisson":
            gap = float(rng.exponential(1.0 / rate))
        else:  # gamma with mean 1/rate and cv: shape k = 1/cv², scale = 1/(rate·k)
            k = 1.0 / spec.arrivals.cv**2
            gap = float(rng.gamma(k, 1.0 / (rate * k)))
        t += gap
        if t >= limit:
            break
        times.append(t)
    assert spec.prompt_tokens is not None and spec.generate_tokens is not None  # checked by ServingSpec
    prompts = draw_lengths(spec.prompt_tokens, len(times), rng)
    outputs = draw_lengths(spec.generate_tokens, len(times), rng)
    return [Request(i, a, p, g) for i, (a, p, g) in enumerate(zip(times, prompts, outputs, strict=True))]


class MedusaAcceptance:
    """Tokens one request gets from each Medusa step: accepted candidates + the bonus token.

    With per-rank head accuracies, each head's correct token has rank r with probability a_k(r) (else none)
    and the accepted length is the longest tree path matched, drawn from the request's own generator
    (``PCG64([seed, request id])``: requests differ, runs repeat). With ``accepted_tokens_per_step`` the
    expected value is used for every step (fractional tokens).
    """

    def __init__(self, spec: MedusaSpec, seed: int, request_id: int) -> None:
        import numpy as np

        self.tree = spec.medusa_tree
        self.fixed = spec.accepted_tokens_per_step
        self.rng = np.random.Generator(np.random.PCG64([seed, request_id]))
        depth = self.tree.depth
        accs = spec.rank_accuracies() if self.fixed is None else []
        self.cum: list[np.ndarray[Any, Any]] = []
        for k in range(depth if self.fixed is None else 0):
            row = list(accs[k])
            self.cum.append(np.cumsum(row))

    def draw(self) -> float:
        """Tokens produced by one verification step of this request."""
        if self.fixed is not None:
            return self.fixed
        ranks: list[int | None] = []
        for cum in self.cum:
            u = float(self.rng.random())
            r = int(cum.searchsorted(u, side="right"))
            ranks.append(r if r < len(cum) else None)
        return float(self.tree.accept_length(ranks) + 1)


__all__ = [
    "LENGTH_PRESETS",
    "ArrivalSpec",
    "MedusaAcceptance",
    "Request",
    "SLOSpec",
    "SchedulerSpec",
    "ServingSpec",
    "draw_lengths",
    "generate_requests",
    "length_max",
    "parse_bandwidth",
    "parse_rate",
    "parse_seconds",
    "read_request_trace",
]
