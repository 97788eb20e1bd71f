"""The operators of one serving step: a batch of sequences, some prefilling a chunk, some decoding.

A serving engine runs one forward pass per step over every scheduled token (Orca's iteration-level
batching): the linear layers see all of them as one GEMM (``M`` = Σ tokens), while attention is per
sequence, each against its own cache. Here attention is emitted as (at most) two fused operators per
layer — one over the decoding sequences, one over the prefill chunks — whose FLOPs and bytes are the
exact sums over their sequences (``dims`` carry the mean lengths, for the utilisation model only).

Decoding sequences run ``decode_tokens`` query tokens each: 1, or the T tokens of a Medusa tree
(tree-verification, attention over the cache plus the tree, LM head on every tree position; then the
posterior argmax over the tree's leaf paths and the Medusa heads on each sequence's accepted row).
Sequences that finish their prompt in this step sample their first token (LM head on one row each);
SnapKV sequences run the per-layer selection of :mod:`workloads.snapkv` over their whole prompt then.

Nothing here knows about time: :mod:`simulator.serving` asks the engine what a step costs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from workloads.emitter import Emitter
from workloads.llm import (
    ADD_FLOPS,
    SILU_FLOPS,
    TOKEN_ID_BYTES,
    AfterAttention,
    PassPlan,
    emit_sample,
    transformer_pass,
)
from workloads.medusa_trees import TOPK
from workloads.models import TransformerConfig
from workloads.snapkv import SOFTMAX_FLOPS
from workloads.trace import Operator, Trace


@dataclass(frozen=True)
class MedusaShape:
    """Medusa's per-step work for each decoding sequence."""

    heads: int
    head_layers: int
    tree_tokens: int
    tree_leaves: int
    tree_depth: int
    #: heads on every tree position of a decoding sequence (``heads_on: all``) or on its accepted row only
    heads_on_all: bool = False


@dataclass(frozen=True)
class SnapShape:
    """SnapKV selection settings (:class:`workloads.snapkv.SnapKVSpec`)."""

    window: int
    capacity: int
    kernel: int
    stored_heads: int


@dataclass(frozen=True)
class StepShape:
    """What one step computes (tokens; ``decode_kv`` and the prefill contexts exclude the step's new tokens).

    ``decode_kv`` is the sum over decoding sequences of the tokens in their caches; ``prefill`` lists
    each prefilling sequence's (chunk tokens, tokens already cached); ``samples`` is how many of the
    prefilling sequences finish their prompt (and sample a first token) in this step; ``select`` lists the
    prompt lengths SnapKV compresses at the end of this step.
    """

    decode_seqs: int = 0
    decode_kv: int = 0
    prefill: tuple[tuple[int, int], ...] = ()
    samples: int = 0
    select: tuple[int, ...] = ()

    @property
    def prefill_tokens(self) -> int:
        """Prompt tokens computed in this step."""
        return sum(c for c, _ in self.prefill)


@dataclass(frozen=True)
class StepModel:
    """The model and algorithm every step of a workload shares."""

    config: TransformerConfig
    dtype: str
    weight_dtype: str
    kv_heads: int  # heads stored per cached token (SnapKV's per-query-head cache may store more)
    medusa: MedusaShape | None = None
    snap: SnapShape | None = None

    @property
    def decode_tokens(self) -> int:
        """Query tokens per decoding sequence per step."""
        return self.medusa.tree_tokens if self.medusa else 1


def step_trace(model: StepModel, shape: StepShape, layers: int | None = None) -> Trace:
    """The operators of one step; ``layers`` overrides the model's layer count (the cost model's extrapolation)."""
    cfg = model.config if layers is None else replace(model.config, num_layers=layers)
    t = model.decode_tokens
    nd = shape.decode_seqs
    h, hd = cfg.num_heads, cfg.head_dim
    dec_tokens = nd * t
    m = dec_tokens + shape.prefill_tokens
    if m <= 0:
        raise ValueError("a step needs at least one token")
    logits_rows = dec_tokens + shape.samples
    phase = "decode" if not shape.prefill else ("prefill" if not nd else "mixed")
    medusa = model.medusa

    def operators() -> Iterator[Operator]:
        em = Emitter(model.dtype, model.weight_dtype)

        def attention(i: int, rope: int, kvw: int) -> int:
            last: int | None = None
            if nd:
                # every decoding sequence's t queries against its cache plus its own t new tokens
                keys = shape.decode_kv + nd * t
                last = em.emit(
                    f"L{i}.decode_attention",
                    "attention",
                    "tree_verify" if medusa else "decode",
                    4 * h * t * keys * hd,
                    (em.act("q_rot", dec_tokens * cfg.q_dim), em.kv(f"kv.L{i}", 2 * keys * model.kv_heads * hd)),
                    (em.act("attn_out", dec_tokens * cfg.q_dim),),
                    (rope, kvw),
                    {"B": nd * h, "M": t, "N": max(1, round(keys / nd)), "K": hd},
                )
            if shape.prefill:
                # each chunk's queries against its cached context and itself (counted dense, as the baseline)
                pairs = sum(c * (ctx + c) for c, ctx in shape.prefill)
                keys = sum(ctx + c for c, ctx in shape.prefill)
                k = len(shape.prefill)
                pt = shape.prefill_tokens
                last = em.emit(
                    f"L{i}.prefill_attention",
                    "attention",
                    "prefill",
                    4 * h * pairs * hd,
                    (em.act("q_rot", pt * cfg.q_dim), em.kv(f"kv.L{i}", 2 * keys * model.kv_heads * hd)),
                    (em.act("attn_out", pt * cfg.q_dim),),
                    (rope, kvw, last),
                    {"B": k * h, "M": max(1, round(pt / k)), "N": max(1, round(keys / k)), "K": hd},
                )
            assert last is not None
            return last

        select = _snap_selector(em, model, shape) if model.snap and shape.select else None
        plan = PassPlan(
            phase=phase,
            step=0,
            batch=1,
            tokens=m,
            kv_read=lambda i: (),
            kv_write=lambda i: f"kv.L{i}",
            kv_heads=model.kv_heads,
            logits_tokens=logits_rows,
            attention=attention,
            after_attention=select,
        )
        res = yield from transformer_pass(em, cfg, plan)
        if medusa and (nd or shape.samples):
            yield from _medusa_tail(em, cfg, medusa, nd, shape.samples, res.logits, res.hidden)
        if shape.samples:
            emit_sample(em, cfg, "prefill" if not nd else phase, 0, shape.samples, res.logits, 1.0)
            yield from em.drain()
        if nd and not medusa:
            emit_sample(em, cfg, "decode", 0, nd, res.logits, 1.0)
            yield from em.drain()

    header = {
        "format": "hetsim-trace",
        "version": 1,
        "model": cfg.name,
        "workload": "serving-step",
        "batch": 1,
        "tokens_per_sequence": 0,
    }
    return Trace(header, operators)


def _medusa_tail(
    em: Emitter, cfg: TransformerConfig, md: MedusaShape, nd: int, samples: int, logits: int, hidden: int
) -> Iterator[Operator]:
    """Posterior over the decoding sequences' leaf paths and acceptance; then the heads on one row per sequence.

    The heads run on each decoding sequence's accepted row (every tree position with ``heads_on_all``) and on
    the last prompt position of each sequence finishing its prefill (its first tree comes from them).
    """
    v, d = cfg.vocab_size, cfg.hidden_size
    acc: int | None = None
    if nd:
        rows = nd * md.tree_leaves * (md.tree_depth + 1)
        g = em.emit(
            "retrieve_logits",
            "gather",
            "decode",
            0,
            (em.act("logits", rows * v),),
            (em.act("candidate_logits", rows * v),),
            (logits,),
            {"M": rows, "N": v},
        )
        arg_rows = nd * md.tree_leaves * md.tree_depth
        am = em.emit(
            "posterior_argmax",
            "topk",
            "decode",
            arg_rows * v,
            (em.act("candidate_logits", arg_rows * v),),
            (em.raw("posterior_ids", arg_rows * TOKEN_ID_BYTES),),
            (g,),
            {"M": arg_rows, "N": v, "K": 1},
        )
        acc = em.emit(
            "accept",
            "sample",
            "decode",
            arg_rows,
            (em.raw("posterior_ids", arg_rows * TOKEN_ID_BYTES),),
            (em.raw("token_ids", nd * TOKEN_ID_BYTES),),
            (am,),
            {"M": nd, "N": md.tree_leaves},
        )
    nd = nd * (md.tree_tokens if md.heads_on_all else 1) + samples  # rows the heads run on
    topks: list[int] = []
    for k in range(md.heads):
        x = hidden
        for layer in range(md.head_layers):
            r = em.matmul(
                f"medusa.H{k}.res{layer}",
                "medusa_heads",
                0,
                nd,
                d,
                d,
                em.act("normed", nd * d),
                f"medusa.H{k}.res",
                "medusa_pre",
                (x, acc if acc is not None else logits),
                bias=True,
            )
            x = em.emit(
                f"medusa.H{k}.silu_add{layer}",
                "elementwise",
                "medusa_heads",
                (SILU_FLOPS + ADD_FLOPS) * nd * d,
                (em.act("medusa_pre", nd * d), em.act("normed", nd * d)),
                (em.act("medusa_hidden", nd * d),),
                (r,),
                {"M": nd, "N": d},
            )
        p = em.matmul(
            f"medusa.H{k}.proj",
            "medusa_heads",
            0,
            nd,
            v,
            d,
            em.act("medusa_hidden", nd * d),
            f"medusa.H{k}.proj",
            "medusa_logits",
            (x,),
        )
        topks.append(
            em.emit(
                f"medusa.H{k}.topk",
                "topk",
                "medusa_heads",
                nd * v,
                (em.act("medusa_logits", nd * v),),
                (em.raw("medusa_topk", nd * TOPK * TOKEN_ID_BYTES),),
                (p,),
                {"M": nd, "N": v, "K": TOPK},
            )
        )
    em.emit(
        "generate_candidates",
        "gather",
        "medusa_heads",
        0,
        (em.raw("medusa_topk", nd * (1 + md.heads * TOPK) * TOKEN_ID_BYTES),),
        (em.raw("tree_tokens", nd * md.tree_tokens * TOKEN_ID_BYTES),),
        tuple(topks),
        {"M": nd, "N": md.tree_tokens},
    )
    yield from em.drain()


def _snap_selector(em: Emitter, model: StepModel, shape: StepShape) -> AfterAttention:
    """SnapKV's per-layer selection (:mod:`workloads.snapkv`, steps 2-7) for the prompts finishing now."""
    snap = model.snap
    assert snap is not None
    cfg = model.config
    h, hd, hs = cfg.num_heads, cfg.head_dim, snap.stored_heads
    w, c, kern = snap.window, snap.capacity, snap.kernel
    prompts = shape.select
    n = len(prompts)
    total_p = sum(prompts)
    prefix = sum(p - w for p in prompts)
    ph = "snapkv_select"

    def select(i: int, q_op: int, kv_op: int) -> None:
        tag = f"L{i}.snapkv."
        scores = h * w * total_p
        att = em.emit(
            tag + "window_attention",
            "matmul",
            ph,
            2 * scores * hd,
            (em.act("q_rot", n * w * h * hd), em.kv(f"kv.L{i}", total_p * model.config.num_kv_heads * hd)),
            (em.act("snap_scores", scores, "fp32"),),
            (q_op, kv_op),
            {"B": n * h, "M": w, "N": max(1, round(total_p / n)), "K": hd},
        )
        sm = em.emit(
            tag + "softmax",
            "softmax",
            ph,
            SOFTMAX_FLOPS * scores,
            (em.act("snap_scores", scores, "fp32"),),
            (em.act("snap_probs", scores, "fp32"),),
            (att,),
            {"M": n * h * w, "N": max(1, total_p // n)},
            dtype="fp32",
        )
        vote = em.emit(
            tag + "vote",
            "elementwise",
            ph,
            h * w * prefix,
            (em.act("snap_probs", h * w * prefix, "fp32"),),
            (em.act("snap_votes", hs * prefix, "fp32"),),
            (sm,),
            {"M": n * hs, "N": max(1, prefix // n)},
            dtype="fp32",
        )
        pool = em.emit(
            tag + "pool",
            "pool",
            ph,
            kern * hs * prefix,
            (em.act("snap_votes", hs * prefix, "fp32"),),
            (em.act("snap_pooled", hs * prefix, "fp32"),),
            (vote,),
            {"M": n * hs, "N": max(1, prefix // n), "R": kern, "stride": 1},
            dtype="fp32",
        )
        keep = c - w
        idx = em.raw("snap_indices", n * hs * keep * TOKEN_ID_BYTES)
        tk = em.emit(
            tag + "topk",
            "topk",
            ph,
            hs * prefix,
            (em.act("snap_pooled", hs * prefix, "fp32"),),
            (idx,),
            (pool,),
            {"M": n * hs, "N": max(1, prefix // n), "K": keep},
        )
        em.emit(
            tag + "gather",
            "gather",
            ph,
            0,
            (idx, em.kv(f"kv.L{i}", 2 * n * c * hs * hd)),
            (em.kv(f"kv_snap.L{i}", 2 * n * hs * hd * c),),
            (tk,),
            {"M": n * hs, "N": c, "K": 2 * hd},
        )

    return select


__all__ = ["MedusaShape", "SnapShape", "StepModel", "StepShape", "step_trace"]
