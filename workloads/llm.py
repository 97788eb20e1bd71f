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

import math
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
#: ``attention(layer, rope_op, kv_write_op)`` of a :class:`PassPlan`: emits the layer's attention, returns its op id.
Attention = Callable[[int, int, int], int]


@dataclass(frozen=True)
class PassPlan:
    """What one forward pass of the base model looks like.

    ``tokens``: query positions per sequence; ``kv_read(layer)``: the (tensor, tokens) pairs the
    attention reads, new tokens included; ``kv_write(layer)``: the tensor the new K/V go to;
    ``kv_heads``: heads stored per token in that tensor; ``logits_tokens``: positions per sequence
    the LM head runs on; ``after_attention(layer, rope_op, kv_write_op)``: emits extra per-layer
    ops (SnapKV selection) after the layer's attention; nothing later in the pass depends on them
    (its return value is ignored); ``kv_dep(layer)``: an extra dependency of the attention (the op
    that produced a cache tensor outside the step chain); ``attention``: emits the layer's attention
    instead of the one uniform-batch op (a serving step mixes sequences of different lengths).
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
    attention: Attention | None = None


@dataclass
class PassResult:
    """Ids of the ops a caller may depend on after a pass."""

    hidden: int  # final norm output (hidden states before the LM head)
    logits: int
    kv_writes: tuple[int, ...]


def transformer_pass(em: Emitter, cfg: TransformerConfig, plan: PassPlan) -> Generator[Operator, None, PassResult]:
    """Yield the operators of one forward pass, layer by layer; the generator returns a PassResult.

    Under tensor parallelism (``em.tp`` > 1) every device of a stage runs its shard, Megatron-style:
    Q/K/V, gate/up and the LM head split by columns (heads, FFN columns, vocabulary), the output and
    down projections by rows, each followed by an all-reduce of the hidden state; the LM head's
    logits are all-gathered. K/V heads are split too (replicated when there are fewer than devices).
    Under pipeline parallelism (``em.pp`` > 1) stage s runs layers [s·L/pp, (s+1)·L/pp) and the
    hidden state moves to the next stage by send/recv; norms, embedding and sampling are replicated.
    """
    ph, st, t = plan.phase, plan.step, plan.tokens
    b = plan.batch // em.ep  # expert parallelism: attention is data-parallel, each device its share of the batch
    m = b * t
    d, hd = cfg.hidden_size, cfg.head_dim
    tp, pp = em.tp, em.pp
    heads = cfg.num_heads // tp
    proj_kv_heads = max(1, cfg.num_kv_heads // tp)  # K/V heads the projections produce on each device
    kv_heads = max(1, plan.kv_heads // tp)  # heads per token stored in (and read from) the cache
    q_dim, kv_dim = heads * hd, proj_kv_heads * hd
    f = cfg.intermediate_size // tp
    vocab = -(-cfg.vocab_size // tp)
    pre = f"s{st}." if st else ""
    stage = 0
    em.group = em.stage_group(0)
    inp = em.move(plan.input_dep, em.group, f"{pre}recv_tokens", ph, st, em.raw("token_ids", m * TOKEN_ID_BYTES))
    x = em.emit(
        f"{pre}embed",
        "embedding",
        ph,
        0,
        (em.raw("token_ids", m * TOKEN_ID_BYTES), em.weight("embed_tokens", m * d)),
        (em.act("hidden", m * d),),
        (inp,),
        {"M": m, "N": d},
        st,
    )
    kv_writes: list[int] = []
    norm_flops = NORM_FLOPS[cfg.norm]
    for i in range(cfg.num_layers):
        L = f"{pre}L{i}."
        if i * pp // cfg.num_layers != stage:
            stage = i * pp // cfg.num_layers
            group = em.stage_group(stage)
            moved = em.move(x, group, L + "send_hidden", ph, st, em.act("hidden", m * d))
            assert moved is not None
            x = moved
            em.group = group
        h = em.emit(
            L + "attn_norm",
            "norm",
            ph,
            norm_flops * m * d,
            (em.act("hidden", m * d), em.weight(f"L{i}.attn_norm", cfg.norm_params)),
            (em.act("normed", m * d),),
            (x,),
            {"M": m, "N": d},
            st,
        )
        normed = em.act("normed", m * d)
        q = em.matmul(L + "q_proj", ph, st, m, q_dim, d, normed, f"L{i}.q_proj", "q", (h,))
        k = em.matmul(L + "k_proj", ph, st, m, kv_dim, d, normed, f"L{i}.k_proj", "k", (h,))
        v = em.matmul(L + "v_proj", ph, st, m, kv_dim, d, normed, f"L{i}.v_proj", "v", (h,))
        rot = cfg.rotary_dim or hd
        rope_elems = m * (heads + proj_kv_heads) * rot
        qk_elems = m * (q_dim + kv_dim)
        r = em.emit(
            L + "rope",
            "elementwise",
            ph,
            ROPE_FLOPS * rope_elems,
            (em.act("q", m * q_dim), em.act("k", m * kv_dim)),
            (em.act("q_rot", m * q_dim), em.act("k_rot", m * kv_dim)),
            (q, k),
            {"M": m, "N": qk_elems // m},
            st,
        )
        stored = m * kv_heads * hd
        kv_tensor = plan.kv_write(i)
        new_kv: tuple[TensorRef, ...] = (em.act("k_rot", stored), em.act("v", stored))
        copied: tuple[TensorRef, ...] = ()
        if plan.kv_copy_tokens:
            # torch.cat into a fresh tensor: the whole old cache is read and written again (the copy is
            # transient, so it counts as an activation while the op runs: the 2x peak of a cat)
            old = 2 * b * plan.kv_copy_tokens * kv_heads * hd
            new_kv += (em.kv(kv_tensor, old),)
            copied = (em.act(f"kv_concat.L{i}", old),)
        kvw = em.emit(
            L + "kv_write",
            "kv_write",
            ph,
            0,
            new_kv,
            (em.kv(kv_tensor, 2 * stored), *copied),
            (r, v),
            {"M": m, "N": 2 * kv_heads * hd},
            st,
        )
        kv_writes.append(kvw)
        if plan.attention is not None:
            att = plan.attention(i, r, kvw)
        else:
            sources = plan.kv_read(i)
            n_keys = sum(n for _, n in sources)
            kv_reads = tuple(em.kv(name, 2 * b * n * kv_heads * hd) for name, n in sources if n)
            att = em.emit(
                L + "attention",
                "attention",
                ph,
                4 * b * heads * t * n_keys * hd,
                (em.act("q_rot", m * q_dim), *kv_reads),
                (em.act("attn_out", m * q_dim),),
                (r, kvw, plan.kv_dep(i) if plan.kv_dep else None),
                {"B": b * heads, "M": t, "N": n_keys, "K": hd},
                st,
            )
        if plan.after_attention:
            plan.after_attention(i, r, kvw)
        o = em.matmul(
            L + "o_proj", ph, st, m, d, q_dim, em.act("attn_out", m * q_dim), f"L{i}.o_proj", "attn_proj", (att,)
        )
        if tp > 1:
            o = em.collective("all_reduce", L + "attn_all_reduce", ph, st, em.act("attn_proj", m * d), o)
        if cfg.parallel_attn_mlp:
            mlp_in, mlp_dep = normed, h
        else:
            res = em.emit(
                L + "attn_residual",
                "elementwise",
                ph,
                ADD_FLOPS * m * d,
                (em.act("hidden", m * d), em.act("attn_proj", m * d)),
                (em.act("hidden", m * d),),
                (x, o),
                {"M": m, "N": d},
                st,
            )
            h2 = em.emit(
                L + "mlp_norm",
                "norm",
                ph,
                norm_flops * m * d,
                (em.act("hidden", m * d), em.weight(f"L{i}.mlp_norm", cfg.norm_params)),
                (em.act("normed", m * d),),
                (res,),
                {"M": m, "N": d},
                st,
            )
            mlp_in, mlp_dep, x = normed, h2, res
        if cfg.is_moe_layer(i):
            dn = emit_moe(em, cfg, L, i, ph, st, m, mlp_in, mlp_dep)
        elif cfg.gated_mlp:
            g = em.matmul(L + "gate_proj", ph, st, m, f, d, mlp_in, f"L{i}.gate_proj", "gate", (mlp_dep,))
            u = em.matmul(L + "up_proj", ph, st, m, f, d, mlp_in, f"L{i}.up_proj", "up", (mlp_dep,))
            a = em.emit(
                L + "silu_mul",
                "elementwise",
                ph,
                SILU_MUL_FLOPS * m * f,
                (em.act("gate", m * f), em.act("up", m * f)),
                (em.act("act", m * f),),
                (g, u),
                {"M": m, "N": f},
                st,
            )
        else:
            g = em.matmul(L + "fc_in", ph, st, m, f, d, mlp_in, f"L{i}.fc_in", "fc", (mlp_dep,), bias=cfg.mlp_bias)
            a = em.emit(
                L + "gelu",
                "elementwise",
                ph,
                GELU_FLOPS * m * f,
                (em.act("fc", m * f),),
                (em.act("act", m * f),),
                (g,),
                {"M": m, "N": f},
                st,
            )
        if not cfg.is_moe_layer(i):
            dn = em.matmul(
                L + ("down_proj" if cfg.gated_mlp else "fc_out"),
                ph,
                st,
                m,
                d,
                f,
                em.act("act", m * f),
                f"L{i}.{'down_proj' if cfg.gated_mlp else 'fc_out'}",
                "mlp_out",
                (a,),
                bias=cfg.mlp_bias,
            )
        if tp > 1:
            dn = em.collective("all_reduce", L + "mlp_all_reduce", ph, st, em.act("mlp_out", m * d), dn)
        if cfg.parallel_attn_mlp:
            x = em.emit(
                L + "residual",
                "elementwise",
                ph,
                2 * ADD_FLOPS * m * d,
                (em.act("hidden", m * d), em.act("attn_proj", m * d), em.act("mlp_out", m * d)),
                (em.act("hidden", m * d),),
                (x, o, dn),
                {"M": m, "N": d},
                st,
            )
        else:
            x = em.emit(
                L + "mlp_residual",
                "elementwise",
                ph,
                ADD_FLOPS * m * d,
                (em.act("hidden", m * d), em.act("mlp_out", m * d)),
                (em.act("hidden", m * d),),
                (x, dn),
                {"M": m, "N": d},
                st,
            )
        yield from em.drain()
    ml = b * plan.logits_tokens
    fn = em.emit(
        f"{pre}final_norm",
        "norm",
        ph,
        norm_flops * ml * d,
        (em.act("hidden", ml * d), em.weight("final_norm", cfg.norm_params)),
        (em.act("normed", ml * d),),
        (x,),
        {"M": ml, "N": d},
        st,
    )
    head = "embed_tokens" if cfg.tie_word_embeddings else "lm_head"
    logits = em.matmul(
        f"{pre}lm_head", ph, st, ml, vocab, d, em.act("normed", ml * d), head, "logits", (fn,), bias=cfg.lm_head_bias
    )
    if tp > 1:
        logits = em.collective(
            "all_gather", f"{pre}logits_all_gather", ph, st, em.act("logits", ml * cfg.vocab_size), logits
        )
    yield from em.drain()
    return PassResult(fn, logits, tuple(kv_writes))


def active_experts(cfg: TransformerConfig, tokens: int, step: int, layer: int) -> list[int]:
    """The experts a layer's ``tokens`` use, under uniform (balanced) routing, chosen deterministically.

    Each token picks k of E experts; with routing spread evenly the expected number of distinct experts
    is E·(1 − (1 − k/E)^tokens) (at least k, at most E). Which ones rotates with the step and layer, so
    over a run every expert is read (and becomes resident) as on real traffic.
    """
    e, k = cfg.num_experts, cfg.experts_per_token
    n = min(e, max(k, math.ceil(e * (1.0 - (1.0 - k / e) ** tokens) - 1e-9)))
    start = ((step * 31 + layer * 17) * k) % e
    return sorted((start + j) % e for j in range(n))


def emit_moe(
    em: Emitter,
    cfg: TransformerConfig,
    prefix: str,
    layer: int,
    phase: str,
    step: int,
    m: int,
    inp: TensorRef,
    dep: int,
) -> int:
    """One MoE block: router, top-k, the active experts as grouped GEMMs, shared experts, weighted combine.

    Each routed expert is its own weight tensor (``L{i}.expert{j}.gate_proj`` …), read only when active;
    an expert's GEMM runs the tokens routed to it (m·k / active experts on average). Under tensor
    parallelism every expert's width is split over the devices (as vLLM's fused MoE under TP); the router
    is replicated. Under expert parallelism (``em.ep`` devices) each device holds E/ep whole experts
    (named by local slot) and the tokens travel to their experts and back by two all-to-alls (dispatch,
    combine); routing is balanced, so each device runs its share of the active experts. Returns the op
    whose output (``mlp_out``) the residual (after an all-reduce under TP) adds.
    """
    d, k, e, ep = cfg.hidden_size, cfg.experts_per_token, cfg.num_experts, em.ep
    fe = cfg.expert_intermediate_size // em.tp
    fs = cfg.shared_expert_intermediate_size // em.tp
    routed = m * k  # token-expert pairs of this device's tokens (and, balanced, of its experts)
    router = em.matmul(prefix + "router", phase, step, m, e, d, inp, f"L{layer}.router", "router_logits", (dep,))
    sel = em.emit(
        prefix + "expert_topk",
        "topk",
        phase,
        m * e,
        (em.act("router_logits", m * e),),
        (em.raw("expert_ids", routed * TOKEN_ID_BYTES), em.act("expert_weights", routed)),
        (router,),
        {"M": m, "N": e},
        step,
    )
    active = active_experts(cfg, m * ep, step, layer)
    if ep > 1:  # this device's share of the active experts, by local slot among its E/ep
        local = e // ep
        n_local = math.ceil(len(active) / ep)
        start = active[0] % local
        active = sorted((start + j) % local for j in range(n_local))
        sel = em.collective(
            "all_to_all", prefix + "dispatch_all_to_all", phase, step, em.act("dispatched", routed * d), sel
        )
    per_expert = math.ceil(routed / len(active))

    def grouped(name: str, proj: str, n: int, kk: int, x: TensorRef, out: str, deps: tuple[int, ...]) -> int:
        weights = tuple(em.weight(f"L{layer}.expert{j}.{proj}", kk * n, linear=True) for j in active)
        return em.emit(
            prefix + name,
            "matmul",
            phase,
            2 * routed * n * kk,
            (x, *weights),
            (em.act(out, routed * n),),
            deps,
            {"B": len(active), "M": per_expert, "N": n, "K": kk},
            step,
        )

    dispatched = em.act("normed", routed * d)  # each token's hidden state read once per expert it goes to
    g = grouped("experts_gate", "gate_proj", fe, d, dispatched, "gate", (sel, dep))
    u = grouped("experts_up", "up_proj", fe, d, dispatched, "up", (sel, dep))
    a = em.emit(
        prefix + "experts_silu_mul",
        "elementwise",
        phase,
        SILU_MUL_FLOPS * routed * fe,
        (em.act("gate", routed * fe), em.act("up", routed * fe)),
        (em.act("act", routed * fe),),
        (g, u),
        {"M": routed, "N": fe},
        step,
    )
    dn = grouped("experts_down", "down_proj", d, fe, em.act("act", routed * fe), "expert_out", (a,))
    if ep > 1:
        dn = em.collective(
            "all_to_all", prefix + "combine_all_to_all", phase, step, em.act("expert_out", routed * d), dn
        )
    reads: tuple[TensorRef, ...] = (em.act("expert_out", routed * d), em.act("expert_weights", routed))
    deps: tuple[int, ...] = (dn, sel)
    if fs:
        sg = em.matmul(
            prefix + "shared_gate_proj", phase, step, m, fs, d, inp, f"L{layer}.shared.gate_proj", "shared_gate", (dep,)
        )
        su = em.matmul(
            prefix + "shared_up_proj", phase, step, m, fs, d, inp, f"L{layer}.shared.up_proj", "shared_up", (dep,)
        )
        sa = em.emit(
            prefix + "shared_silu_mul",
            "elementwise",
            phase,
            SILU_MUL_FLOPS * m * fs,
            (em.act("shared_gate", m * fs), em.act("shared_up", m * fs)),
            (em.act("shared_act", m * fs),),
            (sg, su),
            {"M": m, "N": fs},
            step,
        )
        sd = em.matmul(
            prefix + "shared_down_proj",
            phase,
            step,
            m,
            d,
            fs,
            em.act("shared_act", m * fs),
            f"L{layer}.shared.down_proj",
            "shared_out",
            (sa,),
        )
        reads += (em.act("shared_out", m * d),)
        deps += (sd,)
    return em.emit(
        prefix + "experts_combine",
        "elementwise",
        phase,
        2 * routed * d + (m * d if fs else 0),
        reads,
        (em.act("mlp_out", m * d),),
        deps,
        {"M": m, "N": d},
        step,
    )


def emit_sample(
    em: Emitter,
    cfg: TransformerConfig,
    phase: str,
    step: int,
    batch: int,
    logits_dep: int,
    tokens: float,
    name: str = "sample",
) -> int:
    """Greedy token selection over the last position's logits; emits ``tokens`` per sequence."""
    v = cfg.vocab_size
    batch //= em.ep  # expert parallelism: each device samples its own sequences
    pre = f"s{step}." if step else ""
    return em.emit(
        pre + name,
        "sample",
        phase,
        v * batch,
        (em.act("logits", batch * v),),
        (em.raw("token_ids", batch * TOKEN_ID_BYTES),),
        (logits_dep,),
        {"M": batch, "N": v},
        step,
        tokens=tokens,
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
    tensor_parallel: int = Field(
        1, ge=1, description="devices per pipeline stage, Megatron-style: heads, FFN columns and vocabulary split"
    )
    pipeline_parallel: int = Field(
        1, ge=1, description="pipeline stages: stage s runs layers [s*L/pp, (s+1)*L/pp) on its own devices"
    )
    expert_parallel: int = Field(
        1,
        ge=1,
        description="devices an MoE model's experts are spread over (whole experts, all-to-all dispatch "
        "and combine); attention runs data-parallel, each device on batch/expert_parallel sequences",
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

    @model_validator(mode="after")
    def _splits_evenly(self) -> LLMSpecBase:
        cfg = self.config
        tp, pp = self.tensor_parallel, self.pipeline_parallel
        if tp > 1:
            widths = [("num_heads", cfg.num_heads), ("intermediate_size", cfg.intermediate_size)]
            if cfg.is_moe:
                widths = [widths[0], ("expert width", cfg.expert_intermediate_size)]
                if cfg.dense_layers:
                    widths.append(("intermediate_size", cfg.intermediate_size))
                if cfg.shared_expert_intermediate_size:
                    widths.append(("shared expert width", cfg.shared_expert_intermediate_size))
            for what, n in widths:
                if n % tp:
                    raise ValueError(f"tensor_parallel (= {tp}) must divide the model's {what} (= {n})")
            if cfg.num_kv_heads % tp and tp % cfg.num_kv_heads:
                raise ValueError(
                    f"tensor_parallel (= {tp}) and the model's num_kv_heads (= {cfg.num_kv_heads}) must divide one "
                    "another (K/V heads are split, or replicated when there are fewer than devices)"
                )
        ep = self.expert_parallel
        if ep > 1:
            problems = [
                why
                for bad, why in (
                    (not cfg.is_moe, "needs a mixture-of-experts model"),
                    (
                        cfg.is_moe and cfg.num_experts % ep != 0,
                        f"must divide the number of experts ({cfg.num_experts})",
                    ),
                    (self.batch % ep != 0, f"must divide batch (= {self.batch}): attention is data-parallel"),
                    (tp > 1 or pp > 1, "is not combined with tensor_parallel or pipeline_parallel"),
                    (getattr(self, "kind", "baseline") != "baseline", "runs with the baseline workload only"),
                )
                if bad
            ]
            if problems:
                raise ValueError(f"expert_parallel (= {ep}) " + "; ".join(problems))
        if pp > cfg.num_layers:
            raise ValueError(f"pipeline_parallel (= {pp}) exceeds the model's num_layers (= {cfg.num_layers})")
        return self

    def positions_needed(self) -> int:
        """Highest sequence position the workload feeds the model (P + G - 1 for plain decoding)."""
        return self.prompt_tokens + self.generate_tokens - 1

    def estimated_operators(self) -> int:
        """About how many operators the trace holds: one forward pass per generated token at most."""
        per_pass = self.config.num_layers * OPS_PER_LAYER + 4
        devices = self.tensor_parallel * self.pipeline_parallel * self.expert_parallel
        return per_pass * self.generate_tokens * devices

    @property
    def config(self) -> TransformerConfig:
        """The resolved model shapes."""
        return load_model(self.model)

    @property
    def devices(self) -> int:
        """Devices the workload runs on (tensor × pipeline × expert parallelism)."""
        return self.tensor_parallel * self.pipeline_parallel * self.expert_parallel

    def emitter(self) -> Emitter:
        """The emitter of this workload's operators (dtypes, quantisation format, parallelism)."""
        return Emitter(
            self.dtype,
            self.wdtype,
            self.quant_group_size,
            self.quant_zero_points,
            tensor_parallel=self.tensor_parallel,
            pipeline_parallel=self.pipeline_parallel,
            expert_parallel=self.expert_parallel,
        )

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
            "tensor_parallel": self.tensor_parallel,
            "pipeline_parallel": self.pipeline_parallel,
            "expert_parallel": self.expert_parallel,
            **(
                {"quant_group_size": self.quant_group_size, "quant_zero_points": self.quant_zero_points}
                if self.wdtype in ("int8", "int4")
                else {}
            ),
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


def prefill_plan(
    cfg: TransformerConfig,
    batch: int,
    prompt: int,
    after_attention: AfterAttention | None = None,
    logits_tokens: int = 1,
) -> PassPlan:
    """The prefill pass: P query tokens, causal over themselves, writing ``kv.L{i}``.

    ``logits_tokens``: positions the final norm and LM head run on (1: the last, as HF ``generate``).
    """
    return PassPlan(
        phase="prefill",
        step=0,
        batch=batch,
        tokens=prompt,
        kv_read=lambda i: ((f"kv.L{i}", prompt),),
        kv_write=lambda i: f"kv.L{i}",
        kv_heads=cfg.num_kv_heads,
        logits_tokens=logits_tokens,
        after_attention=after_attention,
    )


def decode_plan(
    cfg: TransformerConfig,
    batch: int,
    step: int,
    kv_len: int,
    input_dep: int | None,
    kv_tensor: str = "kv",
    kv_heads: int | None = None,
    kv_update: KVUpdate = "inplace",
) -> PassPlan:
    """One decode step: 1 query token against ``kv_len`` cached tokens plus itself."""
    return PassPlan(
        phase="decode",
        step=step,
        batch=batch,
        tokens=1,
        kv_read=lambda i: ((f"{kv_tensor}.L{i}", kv_len + 1),),
        kv_write=lambda i: f"{kv_tensor}.L{i}",
        kv_heads=kv_heads or cfg.num_kv_heads,
        logits_tokens=1,
        input_dep=input_dep,
        kv_copy_tokens=kv_len if kv_update == "concat" else 0,
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
        if spec.devices > 1:
            # a parallel pass links each device's operators by the emitter's handles, which span steps:
            # the decode steps are emitted in order by the same emitter (no step-level fast path)
            for step in range(1, spec.generate_tokens):
                kv_len = spec.prompt_tokens + step - 1
                plan = decode_plan(cfg, spec.batch, step, kv_len, tok, kv_update=spec.kv_update)
                res = yield from transformer_pass(em, cfg, plan)
                tok = emit_sample(em, cfg, "decode", step, spec.batch, res.logits, 1.0)
                yield from em.drain()
            return
        first_id = em.next_id
        count = len(decode_step(1, first_id, tok))  # every decode step has the same operators

        def build(step: int) -> list[Operator]:
            start = first_id + (step - 1) * count
            return decode_step(step, start, tok if step == 1 else start - 1)  # the previous step's sample

        yield StepRun(1, spec.generate_tokens - 1, build)

    return Trace.from_plan(spec.header("baseline"), operators)
