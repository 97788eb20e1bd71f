"""Decoder-only LLM inference traces: the shared transformer pass and the ``baseline`` workload.

``baseline``: prefill of P prompt tokens (batch B), whose ``sample`` op emits the first generated
token (its end is the time to first token), then G−1 decode steps of one token each, so the
sequence gets ``generate_tokens`` = G tokens in all (as HF ``generate(max_new_tokens=G)``).

Per layer (Llama-style): RMSNorm, Q/K/V projections (GQA-aware), RoPE on Q and K, ``kv_write``
appending K and V to ``kv.L{i}`` (class ``kv_cache``), fused ``attention`` (reads Q and the K/V
cache, writes O), output projection, residual add, RMSNorm, gate/up projections, SiLU·mul, down
projection, residual add. Then the final norm and the LM head (prefill: both on the last position
only, as HF generate) and ``sample``. GPT-J: one LayerNorm feeding attention and a non-gated GELU MLP in
parallel, biases where the model has them.

Counting conventions (FLOPs; a multiply-accumulate is 2):

* matmul ``2·M·N·K`` (+ ``M·N`` for a bias); dims ``M`` = batch·tokens, ``N`` out, ``K`` in.
* attention ``4·(B·H)·M·N·head_dim`` (QKᵀ and PV); softmax and masking are not counted. Causal
  prefill and the Medusa tree mask are counted as a *dense* kernel computes them (every query
  against every key, masked entries included): FlashAttention's causal block skipping would halve
  prefill attention FLOPs; that is a kernel choice, not modelled here.
* RMSNorm 4/element, LayerNorm 7/element; RoPE 3/element of Q and K; SiLU·mul 5/element
  (x·σ(x) = 4, gate product 1); GELU (tanh form) 8/element; residual add 1/element; greedy
  sampling 1/logit. These small-op constants are stated assumptions (vector work, not sourced).

Bytes: weights at ``weight_dtype``; weight-only ``int8``/``int4`` linear layers add one 16-bit scale
(and zero point, ``quant_zero_points``) per ``quant_group_size`` weights and a ``dequant`` operator
(the in-kernel unpacking work, see ``workloads.emitter.DEQUANT_OPS``); activations and KV cache at
``dtype``; token ids are int64 (8 bytes, as PyTorch).
Every operator reads its inputs and writes its outputs once (no cross-operator fusion); the
simulator applies on-chip reuse. Each op's ``deps`` are exactly the ops whose outputs it reads.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from workloads.base import WorkloadBase
from workloads.dtypes import tensor_bytes
from workloads.emitter import Emitter
from workloads.models import TransformerConfig, load_model
from workloads.trace import Operator, StepRun, TensorRef, Trace

#: Bytes of one token id (int64, PyTorch's default index type).
TOKEN_ID_BYTES = 8

#: Operators one decoder layer emits in one pass (an upper bound over the shipped layer layouts), for estimates.
OPS_PER_LAYER = 16

#: FLOPs per element of the small vector ops (stated assumptions, see the module docstring).
NORM_FLOPS = {"rmsnorm": 4, "layernorm": 7}
ROPE_FLOPS = 3
SILU_MUL_FLOPS = 5
SILU_FLOPS = 4
GELU_FLOPS = 8
ADD_FLOPS = 1

WeightDtype = Literal["fp32", "fp16", "bf16", "fp8", "int8", "int4"]
ComputeDtype = Literal["fp32", "fp16", "bf16", "fp8"]  # fp8: FP8 GEMMs and KV (TensorRT-LLM, H100)


#: ``after_attention(layer, rope_op, kv_write_op)`` of a :class:`PassPlan`; the return value is ignored.
AfterAttention = Callable[[int, int, int], object]


@dataclass(frozen=True)
class PassPlan:
    """What one forward pass of the base model looks like.

    ``tokens``: query positions per sequence; ``kv_read(layer)``: the (tensor, tokens) pairs the
    attention reads, new tokens included; ``kv_write(layer)``: the tensor the new K/V go to;
    ``kv_heads``: heads stored per token in that tensor; ``logits_tokens``: positions per sequence
    the LM head runs on; ``after_attention(layer, rope_op, kv_write_op)``: emits extra per-layer
    ops (SnapKV selection) after the layer's attention; nothing later in the pass depends on them
    (its return value is ignored); ``kv_dep(layer)``: an extra dependency of the attention (the op
    that produced a cache tensor outside the step chain).
    """

    phase: str
    step: int
    batch: int
    tokens: int
    kv_read: Callable[[int], tuple[tuple[str, int], ...]]
    kv_write: Callable[[int], str]
    kv_heads: int
    logits_tokens: int
    input_dep: int | None = None
    after_attention: AfterAttention | None = None
    kv_dep: Callable[[int], int | None] | None = None
    #: tokens already in the cache that the KV write copies (``kv_update: concat``), else 0
    kv_copy_tokens: int = 0


@dataclass
class PassResult:
    """Ids of the ops a caller may depend on after a pass."""

    hidden: int  # final norm output (hidden states before the LM head)
    logits: int
    kv_writes: tuple[int, ...]


def transformer_pass(em: Emitter, cfg: TransformerConfig, plan: PassPlan) -> Generator[Operator, None, PassResult]:
    """Yield the operators of one forward pass, layer by layer; the generator returns a PassResult."""
    ph, st, b, t = plan.phase, plan.step, plan.batch, plan.tokens
    m = b * t
    d, hd = cfg.hidden_size, cfg.head_dim
    pre = f"s{st}." if st else ""
    x = em.emit(
        f"{pre}embed", "embedding", ph, 0, (em.raw("token_ids", m * TOKEN_ID_BYTES), em.weight("embed_tokens", m * d)),
        (em.act("hidden", m * d),), (plan.input_dep,), {"M": m, "N": d}, st,
    )
    kv_writes: list[int] = []
    norm_flops = NORM_FLOPS[cfg.norm]
    for i in range(cfg.num_layers):
        L = f"{pre}L{i}."
        h = em.emit(
            L + "attn_norm", "norm", ph, norm_flops * m * d, (em.act("hidden", m * d), em.weight(f"L{i}.attn_norm",
            cfg.norm_params)), (em.act("normed", m * d),), (x,), {"M": m, "N": d}, st,
        )
        normed = em.act("normed", m * d)
        q = em.matmul(L + "q_proj", ph, st, m, cfg.q_dim, d, normed, f"L{i}.q_proj", "q", (h,))
        k = em.matmul(L + "k_proj", ph, st, m, cfg.kv_dim, d, normed, f"L{i}.k_proj", "k", (h,))
        v = em.matmul(L + "v_proj", ph, st, m, cfg.kv_dim, d, normed, f"L{i}.v_proj", "v", (h,))
        rot = cfg.rotary_dim or hd
        rope_elems = m * (cfg.num_heads + cfg.num_kv_heads) * rot
        qk_elems = m * (cfg.q_dim + cfg.kv_dim)
        r = em.emit(
            L + "rope", "elementwise", ph, ROPE_FLOPS * rope_elems, (em.act("q", m * cfg.q_dim), em.act("k", m *
            cfg.kv_dim)), (em.act("q_rot", m * cfg.q_dim), em.act("k_rot", m * cfg.kv_dim)), (q, k),
            {"M": m, "N": qk_elems // m}, st,
        )
        stored = m * plan.kv_heads * hd
        kv_tensor = plan.kv_write(i)
        new_kv: tuple[TensorRef, ...] = (em.act("k_rot", stored), em.act("v", stored))
        copied: tuple[TensorRef, ...] = ()
        if plan.kv_copy_tokens:
            # torch.cat into a fresh tensor: the whole old cache is read and written again (the copy is
            # transient, so it counts as an activation while the op runs: the 2x peak of a cat)
            old = 2 * b * plan.kv_copy_tokens * plan.kv_heads * hd
            new_kv += (em.kv(kv_tensor, old),)
            copied = (em.act(f"kv_concat.L{i}", old),)
        kvw = em.emit(
            L + "kv_write", "kv_write", ph, 0, new_kv,
            (em.kv(kv_tensor, 2 * stored), *copied), (r, v), {"M": m, "N": 2 * plan.kv_heads * hd}, st,
        )
        kv_writes.append(kvw)
        sources = plan.kv_read(i)
        n_keys = sum(n for _, n in sources)
        kv_reads = tuple(em.kv(name, 2 * b * n * plan.kv_heads * hd) for name, n in sources if n)
        att = em.emit(
            L + "attention", "attention", ph, 4 * b * cfg.num_heads * t * n_keys * hd,
            (em.act("q_rot", m * cfg.q_dim), *kv_reads), (em.act("attn_out", m * cfg.q_dim),),
            (r, kvw, plan.kv_dep(i) if plan.kv_dep else None),
            {"B": b * cfg.num_heads, "M": t, "N": n_keys, "K": hd}, st,
        )
        if plan.after_attention:
            plan.after_attention(i, r, kvw)
        o = em.matmul(L + "o_proj", ph, st, m, d, cfg.q_dim, em.act("attn_out", m * cfg.q_dim), f"L{i}.o_proj",
                      "attn_proj", (att,))
        if cfg.parallel_attn_mlp:
            mlp_in, mlp_dep = normed, h
        else:
            res = em.emit(
                L + "attn_residual", "elementwise", ph, ADD_FLOPS * m * d, (em.act("hidden", m * d),
                em.act("attn_proj", m * d)), (em.act("hidden", m * d),), (x, o), {"M": m, "N": d}, st,
            )
            h2 = em.emit(
                L + "mlp_norm", "norm", ph, norm_flops * m * d, (em.act("hidden", m * d),
                em.weight(f"L{i}.mlp_norm", cfg.norm_params)), (em.act("normed", m * d),), (res,),
                {"M": m, "N": d}, st,
            )
            mlp_in, mlp_dep, x = normed, h2, res
        f = cfg.intermediate_size
        if cfg.gated_mlp:
            g = em.matmul(L + "gate_proj", ph, st, m, f, d, mlp_in, f"L{i}.gate_proj", "gate", (mlp_dep,))
            u = em.matmul(L + "up_proj", ph, st, m, f, d, mlp_in, f"L{i}.up_proj", "up", (mlp_dep,))
            a = em.emit(
                L + "silu_mul", "elementwise", ph, SILU_MUL_FLOPS * m * f, (em.act("gate", m * f), em.act("up", m * f)),
                (em.act("act", m * f),), (g, u), {"M": m, "N": f}, st,
            )
        else:
            g = em.matmul(L + "fc_in", ph, st, m, f, d, mlp_in, f"L{i}.fc_in", "fc", (mlp_dep,), bias=cfg.mlp_bias)
            a = em.emit(
                L + "gelu", "elementwise", ph, GELU_FLOPS * m * f, (em.act("fc", m * f),), (em.act("act", m * f),),
                (g,), {"M": m, "N": f}, st,
            )
        dn = em.matmul(L + ("down_proj" if cfg.gated_mlp else "fc_out"), ph, st, m, d, f, em.act("act", m * f),
                       f"L{i}.{'down_proj' if cfg.gated_mlp else 'fc_out'}", "mlp_out", (a,), bias=cfg.mlp_bias)
        if cfg.parallel_attn_mlp:
            x = em.emit(
                L + "residual", "elementwise", ph, 2 * ADD_FLOPS * m * d, (em.act("hidden", m * d),
                em.act("attn_proj", m * d), em.act("mlp_out", m * d)), (em.act("hidden", m * d),), (x, o, dn),
                {"M": m, "N": d}, st,
            )
        else:
            x = em.emit(
                L + "mlp_residual", "elementwise", ph, ADD_FLOPS * m * d, (em.act("hidden", m * d),
                em.act("mlp_out", m * d)), (em.act("hidden", m * d),), (x, dn), {"M": m, "N": d}, st,
            )
        yield from em.drain()
    ml = b * plan.logits_tokens
    fn = em.emit(
        f"{pre}final_norm", "norm", ph, norm_flops * ml * d, (em.act("hidden", ml * d), em.weight("final_norm",
        cfg.norm_params)), (em.act("normed", ml * d),), (x,), {"M": ml, "N": d}, st,
    )
    head = "embed_tokens" if cfg.tie_word_embeddings else "lm_head"
    logits = em.matmul(f"{pre}lm_head", ph, st, ml, cfg.vocab_size, d, em.act("normed", ml * d), head, "logits", (fn,),
                       bias=cfg.lm_head_bias)
    yield from em.drain()
    return PassResult(fn, logits, tuple(kv_writes))


def emit_sample(em: Emitter, cfg: TransformerConfig, phase: str, step: int, batch: int, logits_dep: int,
                tokens: float, name: str = "sample") -> int:
    """Greedy token selection over the last position's logits; emits ``tokens`` per sequence."""
    v = cfg.vocab_size
    pre = f"s{step}." if step else ""
    return em.emit(
        pre + name, "sample", phase, v * batch, (em.act("logits", batch * v),),
        (em.raw("token_ids", batch * TOKEN_ID_BYTES),), (logits_dep,), {"M": batch, "N": v}, step, tokens=tokens,
    )


class LLMSpecBase(WorkloadBase):
    """Fields shared by every LLM decoding workload."""

    model: str | dict[str, Any] = Field(
        description="built-in model name (see `hetsim list`), path to a HF config.json, or an inline mapping of "
        "HF config fields"
    )
    batch: int = Field(1, ge=1, description="sequences decoded together")
    prompt_tokens: int = Field(ge=1, description="prompt length P per sequence (tokens)")
    generate_tokens: int = Field(ge=1, description="tokens G generated per sequence (the first comes from prefill)")
    dtype: ComputeDtype = Field("fp16", description="activation, KV-cache and compute dtype")
    weight_dtype: WeightDtype | None = Field(
        None, description="weight storage dtype (int8/int4 = weight-only quantisation); default: dtype"
    )
    quant_group_size: int = Field(
        128, ge=1, description="weights per quantisation group (int8/int4): one scale (and zero point) per group"
    )
    quant_zero_points: bool = Field(
        False, description="asymmetric quantisation: a 16-bit zero point per group beside the scale (gpt-fast int4)"
    )

    @field_validator("model")
    @classmethod
    def _model_resolves(cls, value: str | dict[str, Any]) -> str | dict[str, Any]:
        load_model(value)  # raises ValueError listing the built-in names
        return value

    @model_validator(mode="after")
    def _fits_context(self) -> LLMSpecBase:
        # positions taken: the P prompt tokens and the G - 1 generated tokens fed back; the last generated
        # token is produced but never fed (prefill's token takes a position only in the next step)
        cfg = self.config
        limit = cfg.max_position_embeddings
        needed = self.positions_needed()
        if limit and needed > limit:
            raise ValueError(
                f"prompt_tokens + generate_tokens - 1 (= {needed} positions) exceeds the model's "
                f"max_position_embeddings (= {limit})"
            )
        return self

    def positions_needed(self) -> int:
        """Highest sequence position the workload feeds the model (P + G - 1 for plain decoding)."""
        return self.prompt_tokens + self.generate_tokens - 1

    def estimated_operators(self) -> int:
        """About how many operators the trace holds: one forward pass per generated token at most."""
        per_pass = self.config.num_layers * OPS_PER_LAYER + 4
        return per_pass * self.generate_tokens

    @property
    def config(self) -> TransformerConfig:
        """The resolved model shapes."""
        return load_model(self.model)

    def emitter(self) -> Emitter:
        """An emitter at this workload's dtypes and weight-only quantisation format."""
        return Emitter(self.dtype, self.wdtype, self.quant_group_size, self.quant_zero_points)

    @property
    def wdtype(self) -> str:
        """The effective weight dtype."""
        return self.weight_dtype or self.dtype

    def header(self, workload: str, **extra: Any) -> dict[str, Any]:
        """The trace header common to LLM workloads."""
        cfg = self.config
        return {
            "format": "hetsim-trace",
            "version": 1,
            "model": cfg.name,
            "workload": workload,
            "batch": self.batch,
            "prompt_tokens": self.prompt_tokens,
            "generate_tokens": self.generate_tokens,
            "tokens_per_sequence": self.generate_tokens,
            "params": cfg.params,
            "weight_bytes": tensor_bytes(cfg.params, self.wdtype, "weight"),
            "dtype": self.dtype,
            "weight_dtype": self.wdtype,
            **({"quant_group_size": self.quant_group_size, "quant_zero_points": self.quant_zero_points}
               if self.wdtype in ("int8", "int4") else {}),
            **extra,
        }


#: How a decode step adds its K/V to the cache.
KVUpdate = Literal["inplace", "concat"]
KV_UPDATE_HELP = (
    "how decode steps add K/V to the cache: 'inplace' writes only the new token into a preallocated cache "
    "(vLLM, TensorRT-LLM, gpt-fast, Medusa's KVCache); 'concat' grows it with torch.cat, re-reading and "
    "re-writing the whole cache every step (HuggingFace transformers' dynamic cache, e.g. v4.37)"
)


class BaselineSpec(LLMSpecBase):
    """Plain autoregressive decoding: prefill, then one token per step."""

    kind: Literal["baseline"] = Field("baseline", description="workload kind")
    kv_update: KVUpdate = Field("inplace", description=KV_UPDATE_HELP)


def prefill_plan(cfg: TransformerConfig, batch: int, prompt: int,
                 after_attention: AfterAttention | None = None, logits_tokens: int = 1) -> PassPlan:
    """The prefill pass: P query tokens, causal over themselves, writing ``kv.L{i}``.

    ``logits_tokens``: positions the final norm and LM head run on (1: the last, as HF ``generate``).
    """
    return PassPlan(
        phase="prefill", step=0, batch=batch, tokens=prompt, kv_read=lambda i: ((f"kv.L{i}", prompt),),
        kv_write=lambda i: f"kv.L{i}", kv_heads=cfg.num_kv_heads, logits_tokens=logits_tokens,
        after_attention=after_attention,
    )


def decode_plan(cfg: TransformerConfig, batch: int, step: int, kv_len: int, input_dep: int | None,
                kv_tensor: str = "kv", kv_heads: int | None = None, kv_update: KVUpdate = "inplace") -> PassPlan:
    """One decode step: 1 query token against ``kv_len`` cached tokens plus itself."""
    return PassPlan(
        phase="decode", step=step, batch=batch, tokens=1, kv_read=lambda i: ((f"{kv_tensor}.L{i}", kv_len + 1),),
        kv_write=lambda i: f"{kv_tensor}.L{i}", kv_heads=kv_heads or cfg.num_kv_heads, logits_tokens=1,
        input_dep=input_dep, kv_copy_tokens=kv_len if kv_update == "concat" else 0,
    )


def collect_pass(gen: Generator[Operator, None, PassResult]) -> tuple[list[Operator], PassResult]:
    """The operators a pass yields, and what it returns."""
    ops: list[Operator] = []
    while True:
        try:
            ops.append(next(gen))
        except StopIteration as stop:
            return ops, stop.value


def build_baseline(spec: BaselineSpec) -> Trace:
    """Trace of prefill + (G−1) single-token decode steps (the decode steps as one :class:`StepRun`)."""
    cfg = spec.config

    def decode_step(step: int, first_id: int, tok: int) -> list[Operator]:
        em = spec.emitter()
        em.next_id = first_id
        kv_len = spec.prompt_tokens + step - 1
        plan = decode_plan(cfg, spec.batch, step, kv_len, tok, kv_update=spec.kv_update)
        ops, res = collect_pass(transformer_pass(em, cfg, plan))
        emit_sample(em, cfg, "decode", step, spec.batch, res.logits, 1.0)
        return ops + em.drain()

    def operators() -> Iterator[Operator | StepRun]:
        em = spec.emitter()
        res = yield from transformer_pass(em, cfg, prefill_plan(cfg, spec.batch, spec.prompt_tokens))
        tok = emit_sample(em, cfg, "prefill", 0, spec.batch, res.logits, 1.0)
        yield from em.drain()
        if spec.generate_tokens < 2:
            return
        first_id = em.next_id
        count = len(decode_step(1, first_id, tok))  # every decode step has the same operators

        def build(step: int) -> list[Operator]:
            start = first_id + (step - 1) * count
            return decode_step(step, start, tok if step == 1 else start - 1)  # the previous step's sample

        yield StepRun(1, spec.generate_tokens - 1, build)

    return Trace.from_plan(spec.header("baseline"), operators)
