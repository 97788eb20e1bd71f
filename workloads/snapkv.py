"""SnapKV traces (Li et al. 2024, arXiv 2404.14469; FasterDecoding/SnapKV ``e216ddc``).

Prefill as ``baseline``; in every layer, after the prefill attention, the selection of
``SnapKVCluster.update_kv`` (docs/references.md#snapkv-algorithm) with its real cost, phase ``snapkv_select``:

1. (GQA, per query head) ``repeat_kv``: K and V expanded to all query heads (the reference calls
   it *before* compression, "[SnapKV] move to ahead"), a ``gather`` writing an activation;
2. observation-window attention: the last W queries against all P keys, per head (``matmul``,
   B = batch·heads, M = W, N = P, K = head_dim);
3. causal mask inside the window and softmax in fp32 (``softmax``, 5 FLOPs/score, assumption);
4. voting: sum over the W window queries for each of the P−W prefix positions (``elementwise``);
   with ``per_kv_head`` the scores of the query heads of a group are summed as well;
5. 1-D pooling, kernel k, stride 1, padding k//2 (``pool``, k FLOPs per output);
6. per-head top-(C−W) (``topk``, int64 indices);
7. ``gather`` of K and V at the indices plus the window's own K/V into ``kv_snap.L{i}`` (class
   ``kv_cache``, heads_stored·C tokens), freeing ``kv.L{i}``.

Decode then appends each new token to ``kv_snap.L{i}`` and attends over C + generated tokens.
``heads_stored`` = ``num_attention_heads`` (reference behaviour for GQA, docs/references.md#snapkv-algorithm GQA detail)
or ``num_key_value_heads`` with ``per_kv_head: true``.

If P < C nothing is compressed (the reference's ``q_len < max_capacity_prompt`` check) and the
trace is the baseline trace (same tensors, same FLOPs and bytes). At P = C the reference still runs
the selection (cost paid, nothing dropped); for a GQA model in per-query-head mode the cache then
grows to all query heads, as the reference's would. Modelling assumption: when nothing is
compressed we keep the baseline's per-KV-head cache, although the reference's moved ``repeat_kv``
stores query heads in any case.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from workloads.emitter import Emitter
from workloads.llm import (
    KV_UPDATE_HELP,
    TOKEN_ID_BYTES,
    KVUpdate,
    LLMSpecBase,
    collect_pass,
    decode_plan,
    emit_sample,
    prefill_plan,
    transformer_pass,
)
from workloads.models import TransformerConfig
from workloads.trace import Operator, StepRun, TensorRef, Trace

#: Softmax FLOPs per score (max, subtract, exp, sum, divide): a stated assumption.
SOFTMAX_FLOPS = 5


class SnapKVSpec(LLMSpecBase):
    """SnapKV: compress each layer's prompt KV cache to ``capacity`` entries per head at prefill."""

    kind: Literal["snapkv"] = Field("snapkv", description="workload kind")
    window: int = Field(
        32,
        ge=1,
        description="observation window W (model default 32, `init_snapkv`, docs/references.md#snapkv-algorithm)",
    )
    capacity: int = Field(
        2048,
        ge=2,
        description="max_capacity_prompt C: KV entries kept per head "
        "(model default 2048, docs/references.md#snapkv-algorithm)",
    )
    kernel: int = Field(
        5, ge=1, description="pooling kernel size k (model default 5, docs/references.md#snapkv-algorithm)"
    )
    pooling: Literal["avgpool", "maxpool"] = Field(
        "avgpool",
        description="clustering pool (model default avgpool, docs/references.md#snapkv-algorithm; "
        "LongBench used maxpool k=7, docs/references.md#snapkv-settings); "
        "'avg'/'max' are accepted as aliases",
    )
    kv_update: KVUpdate = Field("inplace", description=KV_UPDATE_HELP)
    per_kv_head: bool = Field(
        False,
        description="select and store per KV head (GQA groups vote together) instead of per query head as the "
        "reference code does",
    )

    @field_validator("pooling", mode="before")
    @classmethod
    def _pool_alias(cls, value: object) -> object:
        return {"avg": "avgpool", "max": "maxpool"}.get(value, value) if isinstance(value, str) else value

    @field_validator("capacity")
    @classmethod
    def _capacity_exceeds_window(cls, value: int, info: ValidationInfo) -> int:
        # a field validator (window is declared first), so the error names `capacity`
        window = info.data.get("window")
        if window is not None and value <= window:
            raise ValueError(f"capacity(={value}) must exceed window(={window})")
        return value

    @property
    def compresses(self) -> bool:
        """Whether the selection runs (the reference skips it when q_len < max_capacity_prompt)."""
        return self.prompt_tokens >= self.capacity

    def stored_heads(self, cfg: TransformerConfig) -> int:
        """Heads per token in the compressed cache."""
        return cfg.num_kv_heads if self.per_kv_head else cfg.num_heads


#: Host-only calls the SnapKV hijack adds to each layer's attention forward at decode, counted from
#: FasterDecoding/SnapKV ``snapkv/monkeypatch/llama_hijack_4_37.py``: ``init_snapkv(self)``, the
#: ``kv_seq_len`` attribute test and update, and the prefill-or-decode shape test = 4. Priced by the runtime.
SNAPKV_HOST_OPS_PER_LAYER = 4


def build_snapkv(spec: SnapKVSpec) -> Trace:
    """Trace of prefill + per-layer SnapKV selection + decode over the compressed cache."""
    cfg = spec.config
    b, p, w, c, k = spec.batch, spec.prompt_tokens, spec.window, spec.capacity, spec.kernel
    hs = spec.stored_heads(cfg)
    h, kvh, hd = cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
    header = spec.header(
        "snapkv",
        window=w,
        capacity=c,
        kernel=k,
        pooling=spec.pooling,
        per_kv_head=spec.per_kv_head,
        compressed=spec.compresses,
        stored_heads=hs if spec.compresses else kvh,
    )

    def operators() -> Iterator[Operator | StepRun]:
        em = spec.emitter()
        gathers: dict[int, int] = {}
        ph = "snapkv_select"

        def select(i: int, q_op: int, kv_op: int) -> None:
            tag = f"L{i}.snapkv."
            src, src_heads, src_dep = f"kv.L{i}", kvh, kv_op
            src_cls = "kv_cache"
            if not spec.per_kv_head and kvh != h:
                src_dep = em.emit(
                    tag + "repeat_kv",
                    "gather",
                    ph,
                    0,
                    (em.kv(src, 2 * b * p * kvh * hd),),
                    (em.act(f"kv_rep.L{i}", 2 * b * p * h * hd),),
                    (kv_op,),
                    {"M": b * p, "N": 2 * h * hd},
                )
                src, src_heads, src_cls = f"kv_rep.L{i}", h, "activation"

            def src_ref(tokens: int, parts: int) -> TensorRef:
                elems = parts * b * tokens * src_heads * hd
                return em.kv(src, elems) if src_cls == "kv_cache" else em.act(src, elems)

            scores = b * h * w * p
            att = em.emit(
                tag + "window_attention",
                "matmul",
                ph,
                2 * scores * hd,
                (em.act("q_rot", b * w * h * hd), src_ref(p, 1)),
                (em.act("snap_scores", scores, "fp32"),),
                (q_op, src_dep),
                {"B": b * h, "M": w, "N": p, "K": hd},
            )
            sm = em.emit(
                tag + "softmax",
                "softmax",
                ph,
                SOFTMAX_FLOPS * scores,
                (em.act("snap_scores", scores, "fp32"),),
                (em.act("snap_probs", scores, "fp32"),),
                (att,),
                {"M": b * h * w, "N": p},
                dtype="fp32",
            )
            prefix = p - w
            vote_flops = b * h * w * prefix + (b * (h - kvh) * prefix if spec.per_kv_head else 0)
            vote = em.emit(
                tag + "vote",
                "elementwise",
                ph,
                vote_flops,
                (em.act("snap_probs", b * h * w * prefix, "fp32"),),
                (em.act("snap_votes", b * hs * prefix, "fp32"),),
                (sm,),
                {"M": b * hs, "N": prefix},
                dtype="fp32",
            )
            pool = em.emit(
                tag + spec.pooling,
                "pool",
                ph,
                k * b * hs * prefix,
                (em.act("snap_votes", b * hs * prefix, "fp32"),),
                (em.act("snap_pooled", b * hs * prefix, "fp32"),),
                (vote,),
                {"M": b * hs, "N": prefix, "R": k, "stride": 1},
                dtype="fp32",
            )
            keep = c - w
            indices = em.raw("snap_indices", b * hs * keep * TOKEN_ID_BYTES)
            tk = em.emit(
                tag + "topk",
                "topk",
                ph,
                b * hs * prefix,
                (em.act("snap_pooled", b * hs * prefix, "fp32"),),
                (indices,),
                (pool,),
                {"M": b * hs, "N": prefix, "K": keep},
            )
            # src_heads == hs here: the source is kv.L{i} (per KV head, or MHA) or the repeated kv_rep.L{i}
            gathers[i] = em.emit(
                tag + "gather",
                "gather",
                ph,
                0,
                (indices, src_ref(c, 2)),
                (em.kv(f"kv_snap.L{i}", 2 * b * hs * hd * c),),
                (tk, src_dep),
                {"M": b * hs, "N": c, "K": 2 * hd},
                frees=(f"kv.L{i}",),
            )

        def decode(em: Emitter, step: int, tok: int) -> list[Operator]:
            if spec.compresses:
                dp = decode_plan(
                    cfg, b, step, c + step - 1, tok, kv_tensor="kv_snap", kv_heads=hs, kv_update=spec.kv_update
                )
                if step == 1:  # the first decode step reads what the selection gathered
                    dp = replace(dp, kv_dep=gathers.get)
            else:
                dp = decode_plan(cfg, b, step, p + step - 1, tok, kv_update=spec.kv_update)
            if spec.compresses:
                # the hijacked attention forward's own bookkeeping, every layer of every step
                em.host(
                    f"s{step}.snapkv_bookkeeping",
                    "decode",
                    step,
                    (tok,),
                    kernels=0,
                    host_ops=SNAPKV_HOST_OPS_PER_LAYER * cfg.num_layers,
                    syncs=0,
                )
            ops, res = collect_pass(transformer_pass(em, cfg, dp))
            emit_sample(em, cfg, "decode", step, b, res.logits, 1.0)
            return ops + em.drain()

        def alone(step: int, first_id: int) -> list[Operator]:
            """Decode step ``step`` (≥ 2) on its own: its ids start at ``first_id``, the last op is its sample."""
            em = spec.emitter()
            em.next_id = first_id
            return decode(em, step, first_id - 1)  # the previous step's sample

        plan = prefill_plan(cfg, b, p, select if spec.compresses else None)
        res = yield from transformer_pass(em, cfg, plan)
        tok = emit_sample(em, cfg, "prefill", 0, b, res.logits, 1.0)
        yield from em.drain()
        if spec.generate_tokens >= 2:
            yield from decode(em, 1, tok)
        if spec.generate_tokens >= 3 and spec.devices > 1:  # parallel handles span steps: one emitter, in order
            for step in range(2, spec.generate_tokens):
                yield from decode(em, step, em.next_id - len(em.stage_group(spec.pipeline_parallel - 1)))
        elif spec.generate_tokens >= 3:  # steps 2.. repeat one shape (step 1 also depends on the selection)
            first_id = em.next_id
            count = len(alone(2, first_id))
            yield StepRun(2, spec.generate_tokens - 1, lambda step: alone(step, first_id + (step - 2) * count))

    return Trace.from_plan(header, operators)


__all__ = ["SnapKVSpec", "build_snapkv"]
