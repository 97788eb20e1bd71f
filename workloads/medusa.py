"""Medusa decoding traces (Cai et al. 2024, arXiv 2401.10774; FasterDecoding/Medusa ``e2a5d20``).

Heads (docs/references.md#medusa-heads): each of K heads is ``ResBlock(d)`` (``x + SiLU(W1·x + b1)``, W1 d×d with a
bias) followed by an LM-head-sized ``Linear(d, V)``; default 5 heads, 1 layer (``MedusaConfig``).
With ``head_layers`` > 1 the same ResBlock object is repeated (shared weights, docs/references.md#medusa-heads).

Trace: prefill as ``baseline`` (its ``sample`` emits the first token) plus the heads on the last
position and candidate generation; then steps until G tokens are generated, each step:

1. ``tree_verify``: one pass of the base model over the T = nodes+1 tree tokens with the tree
   mask (attention M=T, N=kv_len+T, counted dense), K/V of the T tokens written to
   ``kv_tree.L{i}``; the LM head runs on all T positions (docs/references.md#medusa-verification).
2. ``decode``: logits gathered at ``retrieve_indices`` (leaves × (depth+1) rows), argmax per row
   (``topk``), acceptance (``sample`` emitting the step's tokens = accept length + 1), and per
   layer a ``kv_write`` copying the accepted tokens' K/V from ``kv_tree.L{i}`` into ``kv.L{i}``
   (freeing ``kv_tree.L{i}``).
3. ``medusa_heads``: by default on every position of the pass (``heads_on: all``: P prompt
   positions at prefill, with the LM head on all P too, and T tree positions per step), as the
   reference ``MedusaModel.forward`` applies the LM head and every head to all hidden states before
   the accepted row is selected [recalled from FasterDecoding/Medusa ``medusa_model.py``; docs/references.md
   does not quote it]; or only on the position they are needed for (``heads_on: accepted``, the
   minimal-work variant),
   top-10 per head (``TOPK``) and the gather that builds the next step's tree tokens.

Acceptance: ``accepted_tokens_per_step`` (mean tokens per step, bonus token included), or derived
from per-head, per-rank accuracies ``a_k(r)``: E[accepted] = Σ_nodes Π_k a_k(r_k) (docs/references.md#medusa-acceptance)
and tokens/step = E[accepted] + 1. This treats heads as independent and is the tree construction's
own model. Published accuracies are only top-1 and top-5 per head (Vicuna-7B-v1.3, Medusa-1,
docs/references.md#medusa-acceptance); per-rank accuracies are derived by the **stated assumption**: rank 0 = top-1,
ranks 1–4 share (top5 − top1) equally, ranks 5–9 decay geometrically from rank 4 by ``tail_decay``
(default 0.5, an assumption). ``accuracies`` sets them per rank directly. Medusa-2 differs from
Medusa-1 only in head accuracies; none are published in the reference, so ``variant: medusa-2``
requires ``accuracies``, ``head_topk_accuracy`` or ``accepted_tokens_per_step``.

Modes: ``expected`` (fractional tokens per step, steps = ceil((G−1)/tokens_per_step) after the
prefill token, the last step emitting the remainder) and ``sampled`` (per step, head k's correct
token has rank r with probability a_k(r), else none; the accepted length is the longest tree path
matched; numpy ``Generator(seed)``, so the same seed gives the same trace).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Literal

from pydantic import Field, field_validator, model_validator

from workloads.emitter import Emitter
from workloads.llm import (
    ADD_FLOPS,
    SILU_FLOPS,
    TOKEN_ID_BYTES,
    LLMSpecBase,
    PassPlan,
    emit_sample,
    prefill_plan,
    transformer_pass,
)
from workloads.medusa_trees import TOPK, MedusaTree, get_tree
from workloads.models import TransformerConfig
from workloads.trace import Operator, Trace

#: Per-head (top-1, top-5) accuracy, Vicuna-7B-v1.3, Medusa-1, 5 heads, 1 layer
#: (docs/references.md#medusa-acceptance, repo ``assets/medusa_acc.csv`` run "7b").
VICUNA_7B_MEDUSA1_TOPK_ACC: tuple[tuple[float, float], ...] = (
    (0.560, 0.780),
    (0.316, 0.563),
    (0.201, 0.417),
    (0.147, 0.340),
    (0.118, 0.300),
)


#: Per-step Python bookkeeping of ``medusa_generate`` not emitted as device operators above, counted from
#: FasterDecoding/Medusa ``medusa/model/utils.py`` (greedy path): generate_candidates (argmax, cat, tree-index
#: gather, cat with a zero, retrieve gather: 6 kernels, 4 views), tree_decoding (position-id add, the medusa-logits
#: gather: 2 kernels, 2 calls), evaluate_posterior (eq, argmax, int, cumprod, sum, max, argmax: 7 kernels, 3 slices,
#: the ``accept_length == 0`` test reads a value back: 1 sync), update_inference_inputs (index add, cat, index,
#: copy, two logits slices: 6 kernels, 6 calls; slicing by the accepted length and the ``new_token`` limit test:
#: 2 syncs) and the loop's end-of-sequence test (eq, any: 2 kernels, 2 calls, 1 sync). Counts, not timings: the
#: runtime prices them (docs/references.md#eager-host-bound).
MEDUSA_STEP_BOOKKEEPING = {"kernels": 23, "host_ops": 17, "syncs": 4}


def per_rank_accuracies(topk_acc: Sequence[tuple[float, float]], tail_decay: float = 0.5) -> list[list[float]]:
    """Per-rank accuracies (ranks 0..9) from (top-1, top-5) per head, by the module's stated assumption."""
    out: list[list[float]] = []
    for top1, top5 in topk_acc:
        if not 0.0 <= top1 <= top5 <= 1.0:
            raise ValueError(f"head accuracy (top1={top1}, top5={top5}) must satisfy 0 <= top1 <= top5 <= 1")
        mid = (top5 - top1) / 4.0
        ranks = [top1, mid, mid, mid, mid]
        tail = [mid * tail_decay ** (r - 4) for r in range(5, TOPK)]
        # the tail cannot exceed the probability left after top-5
        scale = min(1.0, (1.0 - top5) / sum(tail)) if sum(tail) > 0 else 1.0
        out.append(ranks + [t * scale for t in tail])
    return out


class MedusaSpec(LLMSpecBase):
    """Medusa speculative decoding with a sparse candidate tree."""

    kind: Literal["medusa"] = Field("medusa", description="workload kind")
    heads: int = Field(5, ge=1, description="Medusa heads K (MedusaConfig default 5, docs/references.md#medusa-heads)")
    head_layers: int = Field(1, ge=1, description="ResBlocks per head (default 1; repeated blocks share weights)")
    tree: str | list[list[int]] = Field(
        "mc_sim_7b_63",
        description="candidate tree: a shipped name (mc_sim_7b_63, vicuna_7b_stage2) or a list of "
        "paths of per-head ranks (docs/references.md#medusa-trees)",
    )

    variant: Literal["medusa-1", "medusa-2"] = Field(
        "medusa-1", description="head training recipe; only changes the head accuracies"
    )
    accepted_tokens_per_step: float | None = Field(
        None,
        ge=1.0,
        description="mean tokens per step incl. the bonus token (e.g. 2.31, Spec-Bench Vicuna-7B, "
        "docs/references.md#medusa-acceptance); overrides the accuracy model",
    )
    accuracies: list[list[float]] | None = Field(
        None, description="per-head list of per-rank accuracies a_k(r), r = 0..9 (overrides head_topk_accuracy)"
    )
    head_topk_accuracy: list[tuple[float, float]] | None = Field(
        None,
        description="per-head (top-1, top-5) accuracy; default: Vicuna-7B-v1.3 Medusa-1 "
        "(docs/references.md#medusa-acceptance)",
    )
    tail_decay: float = Field(
        0.5, gt=0.0, lt=1.0, description="[assumption] geometric decay of rank 5..9 accuracy from rank 4"
    )
    mode: Literal["expected", "sampled"] = Field(
        "expected", description="expected: fractional tokens per step; sampled: accept lengths drawn with `seed`"
    )
    heads_on: Literal["accepted", "all"] = Field(
        "all",
        description="heads (and the prefill's LM head) run on every position of each forward pass (all P "
        "prompt tokens, all T tree tokens) as the reference MedusaModel.forward computes them [recalled from the "
        "repository, not quoted in docs/references.md], or only on the one position they are needed for (accepted)",
    )

    @field_validator("tree")
    @classmethod
    def _tree_exists(cls, value: str | list[list[int]]) -> str | list[list[int]]:
        get_tree(value)  # raises ValueError naming the shipped trees, reported at `tree`
        return value

    @model_validator(mode="after")
    def _check(self) -> MedusaSpec:
        tree = get_tree(self.tree)
        if self.heads < tree.depth:
            raise ValueError(f"heads(={self.heads}) must be >= the tree depth (= {tree.depth})")
        if self.accepted_tokens_per_step is not None:
            if self.accepted_tokens_per_step > tree.depth + 1:
                raise ValueError(
                    f"accepted_tokens_per_step(={self.accepted_tokens_per_step}) cannot exceed tree depth + 1 "
                    f"(= {tree.depth + 1})"
                )
            if self.mode == "sampled":
                raise ValueError("mode 'sampled' needs the accuracy model; drop accepted_tokens_per_step")
        elif self.variant == "medusa-2" and self.accuracies is None and self.head_topk_accuracy is None:
            raise ValueError(
                "variant 'medusa-2' has no published accuracies in the reference: give accuracies, "
                "head_topk_accuracy or accepted_tokens_per_step"
            )
        if self.accuracies is not None:
            for k, row in enumerate(self.accuracies):
                if any(not 0.0 <= a <= 1.0 for a in row) or sum(row) > 1.0 + 1e-9 or len(row) > TOPK:
                    raise ValueError(f"accuracies[{k}] must have <= {TOPK} values in [0, 1] summing to <= 1")
        rows = self.rank_accuracies()
        if len(rows) < tree.depth and self.accepted_tokens_per_step is None:
            raise ValueError(f"accuracies are given for {len(rows)} heads; the tree needs {tree.depth}")
        return self

    @property
    def medusa_tree(self) -> MedusaTree:
        """The resolved candidate tree."""
        return get_tree(self.tree)

    def rank_accuracies(self) -> list[list[float]]:
        """Per-head, per-rank accuracies used by the acceptance model."""
        if self.accuracies is not None:
            return [list(r) for r in self.accuracies]
        return per_rank_accuracies(self.head_topk_accuracy or VICUNA_7B_MEDUSA1_TOPK_ACC, self.tail_decay)

    def tokens_per_step(self) -> float:
        """Expected tokens per step (accepted candidates + the bonus token)."""
        if self.accepted_tokens_per_step is not None:
            return self.accepted_tokens_per_step
        return 1.0 + self.medusa_tree.expected_accept_length(self.rank_accuracies())


def medusa_params(cfg: TransformerConfig, heads: int) -> int:
    """Head parameters: d² + d (shared ResBlock) + d·V per head (docs/references.md#medusa-heads)."""
    d, v = cfg.hidden_size, cfg.vocab_size
    return heads * (d * d + d + d * v)


def _emit_heads(
    em: Emitter,
    cfg: TransformerConfig,
    spec: MedusaSpec,
    step: int,
    rows: int,
    hidden_dep: int,
    extra_dep: int | None,
    tree: MedusaTree,
    after: tuple[int, ...] = (),
) -> int:
    """Heads on ``rows`` positions (batch included), top-10 each, and the next tree's candidate gather.

    ``after``: operators the gather must also wait for (the step's KV-cache updates, so the next
    tree-verification pass, which starts from the candidates, reads the copied cache).
    """
    d, v = cfg.hidden_size, cfg.vocab_size
    ph = "medusa_heads"
    pre = f"s{step}." if step else ""
    topks: list[int] = []
    for k in range(spec.heads):
        x = hidden_dep
        for layer in range(spec.head_layers):
            tag = f"{pre}medusa.H{k}."
            r = em.matmul(
                tag + f"res{layer}",
                ph,
                step,
                rows,
                d,
                d,
                em.act("normed", rows * d),
                f"medusa.H{k}.res",
                "medusa_pre",
                (x, extra_dep),
                bias=True,
            )
            x = em.emit(
                tag + f"silu_add{layer}",
                "elementwise",
                ph,
                (SILU_FLOPS + ADD_FLOPS) * rows * d,
                (em.act("medusa_pre", rows * d), em.act("normed", rows * d)),
                (em.act("medusa_hidden", rows * d),),
                (r, hidden_dep),
                {"M": rows, "N": d},
                step,
            )
        p = em.matmul(
            f"{pre}medusa.H{k}.proj",
            ph,
            step,
            rows,
            v,
            d,
            em.act("medusa_hidden", rows * d),
            f"medusa.H{k}.proj",
            "medusa_logits",
            (x,),
        )
        topks.append(
            em.emit(
                f"{pre}medusa.H{k}.topk",
                "topk",
                ph,
                rows * v,
                (em.act("medusa_logits", rows * v),),
                (em.raw("medusa_topk", rows * TOPK * TOKEN_ID_BYTES),),
                (p,),
                {"M": rows, "N": v, "K": TOPK},
                step,
            )
        )
    b = spec.batch
    return em.emit(
        f"{pre}generate_candidates",
        "gather",
        ph,
        0,
        (em.raw("medusa_topk", b * (1 + spec.heads * TOPK) * TOKEN_ID_BYTES),),
        (em.raw("tree_tokens", b * tree.tokens * TOKEN_ID_BYTES),),
        (*topks, extra_dep, *after),
        {"M": b, "N": tree.tokens},
        step,
    )


def build_medusa(spec: MedusaSpec) -> Trace:
    """Trace of Medusa decoding (see the module docstring)."""
    cfg = spec.config
    tree = spec.medusa_tree
    tps = spec.tokens_per_step()
    b, t_tree, depth = spec.batch, tree.tokens, tree.depth
    header = spec.header(
        "medusa",
        params=cfg.params + medusa_params(cfg, spec.heads),
        base_params=cfg.params,
        medusa_params=medusa_params(cfg, spec.heads),
        heads=spec.heads,
        tree=tree.name,  # "custom" for a list of paths
        tree_tokens=t_tree,
        tree_depth=depth,
        mode=spec.mode,
        variant=spec.variant,
        expected_tokens_per_step=tps,
        seed=spec.seed,
    )
    accs = spec.rank_accuracies()

    def step_tokens() -> Iterator[float]:
        remaining = float(spec.generate_tokens - 1)
        if spec.mode == "expected":
            n = math.ceil(remaining / tps - 1e-9)
            for _ in range(n - 1):
                yield tps
            if n:
                yield remaining - (n - 1) * tps
            return
        import numpy as np  # only sampled mode draws; importing it costs every command ~0.1 s otherwise

        rng = np.random.Generator(np.random.PCG64(spec.seed))
        probs = []
        for k in range(depth):
            row = list(accs[k]) + [0.0] * (TOPK - len(accs[k]))
            probs.append(np.array([*row, max(0.0, 1.0 - sum(row))]))
        while remaining > 0:
            ranks: list[int | None] = []
            for k in range(depth):
                r = int(rng.choice(TOPK + 1, p=probs[k] / probs[k].sum()))
                ranks.append(r if r < TOPK else None)
            got = float(min(tree.accept_length(ranks) + 1, remaining))
            remaining -= got
            yield got

    def operators() -> Iterator[Operator]:
        em = spec.emitter()
        v, hd = cfg.vocab_size, cfg.head_dim
        all_rows = spec.heads_on == "all"
        plan = prefill_plan(cfg, b, spec.prompt_tokens, logits_tokens=spec.prompt_tokens if all_rows else 1)
        res = yield from transformer_pass(em, cfg, plan)
        tok = emit_sample(em, cfg, "prefill", 0, b, res.logits, 1.0)
        prefill_rows = b if spec.heads_on == "accepted" else b * spec.prompt_tokens
        cand = _emit_heads(em, cfg, spec, 0, prefill_rows, res.hidden, tok, tree)
        yield from em.drain()
        kv_len = float(spec.prompt_tokens)
        leaves = tree.leaves
        for step, tokens in enumerate(step_tokens(), start=1):
            n_ctx = round(kv_len)

            def kv_read(i: int, n: int = n_ctx) -> tuple[tuple[str, int], ...]:
                return (f"kv.L{i}", n), (f"kv_tree.L{i}", t_tree)

            plan = PassPlan(
                phase="tree_verify",
                step=step,
                batch=b,
                tokens=t_tree,
                kv_read=kv_read,
                kv_write=lambda i: f"kv_tree.L{i}",
                kv_heads=cfg.num_kv_heads,
                logits_tokens=t_tree,
                input_dep=cand,
            )
            res = yield from transformer_pass(em, cfg, plan)
            rows = b * leaves * (depth + 1)
            g = em.emit(
                f"s{step}.retrieve_logits",
                "gather",
                "decode",
                0,
                (em.act("logits", rows * v),),
                (em.act("candidate_logits", rows * v),),
                (res.logits,),
                {"M": rows, "N": v},
                step,
            )
            am = em.emit(
                f"s{step}.posterior_argmax",
                "topk",
                "decode",
                b * leaves * depth * v,
                (em.act("candidate_logits", b * leaves * depth * v),),
                (em.raw("posterior_ids", b * leaves * depth * TOKEN_ID_BYTES),),
                (g,),
                {"M": b * leaves * depth, "N": v, "K": 1},
                step,
            )
            acc = em.emit(
                f"s{step}.accept",
                "sample",
                "decode",
                b * leaves * depth,
                (
                    em.raw("posterior_ids", b * leaves * depth * TOKEN_ID_BYTES),
                    em.raw("tree_tokens", b * t_tree * TOKEN_ID_BYTES),
                ),
                (em.raw("token_ids", b * (depth + 1) * TOKEN_ID_BYTES),),
                (am,),
                {"M": b * leaves, "N": depth},
                step,
                tokens=tokens,
            )
            em.host(f"s{step}.bookkeeping", "decode", step, (acc,), **MEDUSA_STEP_BOOKKEEPING)
            accepted_kv = b * tokens * cfg.num_kv_heads * hd * 2  # K and V elements of the accepted tokens
            updates: list[int] = []
            for i in range(cfg.num_layers):
                updates.append(
                    em.emit(
                        f"s{step}.L{i}.kv_update",
                        "kv_write",
                        "decode",
                        0,
                        (em.kv(f"kv_tree.L{i}", accepted_kv),),
                        (em.kv(f"kv.L{i}", accepted_kv),),
                        (acc, res.kv_writes[i]),
                        {"M": b, "N": 2 * cfg.num_kv_heads * hd},
                        step,
                        frees=(f"kv_tree.L{i}",),
                    )
                )
            rows_heads = b if spec.heads_on == "accepted" else b * t_tree
            cand = _emit_heads(
                em,
                cfg,
                spec,
                step,
                rows_heads,
                res.hidden,
                acc if spec.heads_on == "accepted" else None,
                tree,
                after=tuple(updates),
            )
            if spec.heads_on == "all":  # candidates need the accepted row too
                cand = em.emit(
                    f"s{step}.select_candidates",
                    "gather",
                    "medusa_heads",
                    0,
                    (em.raw("tree_tokens", b * t_tree * TOKEN_ID_BYTES),),
                    (em.raw("tree_tokens", b * t_tree * TOKEN_ID_BYTES),),
                    (cand, acc, *updates),
                    {"M": b, "N": t_tree},
                    step,
                )
            kv_len += tokens
            yield from em.drain()

    return Trace(header, operators)


def expected_tokens_per_step(tree: str | Sequence[Sequence[int]], accuracies: Sequence[Sequence[float]]) -> float:
    """Tokens per step (accepted + 1) of a tree under per-rank accuracies."""
    return 1.0 + get_tree(tree).expected_accept_length(accuracies)


__all__ = ["MedusaSpec", "build_medusa", "expected_tokens_per_step", "medusa_params", "per_rank_accuracies"]
