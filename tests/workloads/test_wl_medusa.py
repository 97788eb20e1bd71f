"""Medusa: published trees, acceptance model, expected-value and sampled modes."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from workloads.llm import BaselineSpec, build_baseline
from workloads.medusa import (
    MEDUSA_STEP_BOOKKEEPING,
    VICUNA_7B_MEDUSA1_TOPK_ACC,
    MedusaSpec,
    build_medusa,
    expected_tokens_per_step,
    medusa_params,
    per_rank_accuracies,
)
from workloads.medusa_trees import PUBLISHED_TREE_COUNTS, TREES, get_tree
from workloads.models import load_model


@pytest.mark.parametrize("name", sorted(TREES))
def test_shipped_trees_match_published_counts(name: str) -> None:
    tree = get_tree(name)
    levels, leaves = PUBLISHED_TREE_COUNTS[name]
    assert tree.nodes == 63 and tree.tokens == 64
    assert tree.level_counts() == tuple(c for c in levels if c)
    assert tree.leaves == leaves


def test_mc_sim_7b_63() -> None:
    tree = get_tree("mc_sim_7b_63")
    assert (tree.nodes, tree.depth, tree.level_counts(), tree.leaves) == (63, 4, (10, 28, 23, 2), 42)


def test_unshipped_tree_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not shipped verbatim"):
        get_tree("vicuna_13b_stage2")
    with pytest.raises(ValueError, match="no parent"):
        get_tree([[0, 1]])


def test_tiny_tree_expected_value_by_hand() -> None:
    paths = [[0], [1], [0, 0]]
    accs = [[0.5, 0.2], [0.4]]
    # E[accepted] = a0(0) + a0(1) + a0(0)·a1(0) = 0.5 + 0.2 + 0.2 = 0.9
    assert expected_tokens_per_step(paths, accs) == pytest.approx(1.9)


def test_expected_mode_step_count(tiny_model: dict[str, Any]) -> None:
    spec = MedusaSpec(
        model=tiny_model,
        prompt_tokens=5,
        generate_tokens=20,
        heads=2,
        tree=[[0], [1], [0, 0]],
        accuracies=[[0.5, 0.2], [0.4]],
    )
    ops = list(build_medusa(spec))
    accepts = [op for op in ops if op.kind == "sample" and op.phase == "decode"]
    assert len(accepts) == math.ceil(19 / 1.9 - 1e-9) == 10
    assert sum(op.tokens for op in ops) == pytest.approx(20)
    verify_att = next(op for op in ops if op.kind == "attention" and op.phase == "tree_verify")
    assert verify_att.dims["M"] == 4 and verify_att.dims["N"] == 5 + 4  # T = 3 nodes + root


def test_zero_accuracy_one_token_per_step(tiny_model: dict[str, Any]) -> None:
    spec = MedusaSpec(model=tiny_model, prompt_tokens=5, generate_tokens=9, accuracies=[[0.0] * 10] * 5)
    assert spec.tokens_per_step() == 1.0
    ops = list(build_medusa(spec))
    accepts = [op.tokens for op in ops if op.kind == "sample" and op.phase == "decode"]
    assert accepts == [1.0] * 8


def test_zero_accuracy_costs_more_than_baseline(tiny_model: dict[str, Any]) -> None:
    kw = {"model": tiny_model, "prompt_tokens": 5, "generate_tokens": 9}
    medusa = sum(op.flops for op in build_medusa(MedusaSpec(**kw, accuracies=[[0.0] * 10] * 5)))
    base = sum(op.flops for op in build_baseline(BaselineSpec(**kw)))
    assert medusa > base


def test_default_accuracies_and_tokens_per_step() -> None:
    ranks = per_rank_accuracies(VICUNA_7B_MEDUSA1_TOPK_ACC)
    for (top1, top5), row in zip(VICUNA_7B_MEDUSA1_TOPK_ACC, ranks, strict=True):
        assert row[0] == top1 and sum(row[:5]) == pytest.approx(top5) and sum(row) <= 1.0
    spec = MedusaSpec(model="vicuna-7b", prompt_tokens=16, generate_tokens=8)
    assert spec.tokens_per_step() == pytest.approx(2.432, abs=1e-3)


def test_sampled_mode_reproducible_and_unbiased(tiny_model: dict[str, Any]) -> None:
    kw = {"model": tiny_model, "prompt_tokens": 4, "generate_tokens": 3000, "mode": "sampled", "heads": 4}

    def tokens(seed: int) -> list[float]:
        ops = build_medusa(MedusaSpec(**kw, seed=seed))
        return [op.tokens for op in ops if op.kind == "sample" and op.phase == "decode"]

    a, b, c = tokens(7), tokens(7), tokens(8)
    assert a == b and a != c
    assert sum(a) == 2999 and all(t == int(t) and 1 <= t <= 5 for t in a)
    expected = MedusaSpec(**{**kw, "mode": "expected"}).tokens_per_step()
    assert sum(a[:-1]) / len(a[:-1]) == pytest.approx(expected, rel=0.05)


def test_heads_and_kv_update(tiny_model: dict[str, Any]) -> None:
    spec = MedusaSpec(
        model=tiny_model, prompt_tokens=5, generate_tokens=6, accepted_tokens_per_step=2.5, heads_on="accepted"
    )
    ops = list(build_medusa(spec))
    cfg = load_model(tiny_model)
    head_mm = [op for op in ops if op.phase == "medusa_heads" and op.kind == "matmul" and op.step == 1]
    assert len(head_mm) == 2 * 5 and all(op.dims["M"] == 1 for op in head_mm)
    head_w = sum(t.bytes for op in head_mm for t in op.reads if t.cls == "weight")
    assert head_w == 2 * medusa_params(cfg, 5)
    updates = [op for op in ops if op.name == "s1.L0.kv_update"]
    assert updates[0].frees == ("kv_tree.L0",)
    assert updates[0].bytes_written == 2 * 2.5 * cfg.kv_dim * 2
    lm = next(op for op in ops if op.name == "s1.lm_head")
    assert lm.dims["M"] == 64  # logits for every tree token
    header = build_medusa(spec).header
    assert header["params"] == cfg.params + medusa_params(cfg, 5)


def test_medusa_params_per_head_vicuna_7b() -> None:
    assert medusa_params(load_model("vicuna-7b"), 1) == 147_853_312  # docs/references.md#medusa-heads


def test_heads_on_all_positions_by_default_as_the_reference_forward(tiny_model: dict[str, Any]) -> None:
    spec = MedusaSpec(model=tiny_model, prompt_tokens=5, generate_tokens=4)
    assert spec.heads_on == "all"
    ops = list(build_medusa(spec))
    head_mm = [op for op in ops if op.phase == "medusa_heads" and op.kind == "matmul" and op.step == 1]
    assert head_mm and all(op.dims["M"] == 64 for op in head_mm)
    prefill_mm = [op for op in ops if op.phase == "medusa_heads" and op.kind == "matmul" and op.step == 0]
    assert prefill_mm and all(op.dims["M"] == 5 for op in prefill_mm)
    # the prefill's final norm and LM head run on every prompt position too, so the heads read real rows
    prefill_lm = next(op for op in ops if op.name == "lm_head")
    assert prefill_lm.dims["M"] == 5


def test_validation() -> None:
    with pytest.raises(ValidationError, match="tree depth"):
        MedusaSpec(model="vicuna-7b", prompt_tokens=4, generate_tokens=4, heads=3)
    with pytest.raises(ValidationError, match="medusa-2"):
        MedusaSpec(model="vicuna-7b", prompt_tokens=4, generate_tokens=4, variant="medusa-2")
    with pytest.raises(ValidationError, match="sampled"):
        MedusaSpec(model="vicuna-7b", prompt_tokens=4, generate_tokens=4, mode="sampled", accepted_tokens_per_step=2)
    ok = MedusaSpec(
        model="vicuna-7b", prompt_tokens=4, generate_tokens=4, variant="medusa-2", accepted_tokens_per_step=3.0
    )
    assert ok.tokens_per_step() == 3.0


def test_tree_verify_matmul_flops(tiny_model: dict[str, Any]) -> None:
    spec = MedusaSpec(model=tiny_model, prompt_tokens=5, generate_tokens=4, batch=2)
    cfg = load_model(tiny_model)
    ops = [op for op in build_medusa(spec) if op.step == 1 and op.phase == "tree_verify"]
    matmul = sum(op.flops for op in ops if op.kind == "matmul")
    rows = 2 * 64
    assert matmul == 2 * rows * (cfg.num_layers * (cfg.attention_params + cfg.mlp_params) + cfg.lm_head_params)
    att = [op for op in ops if op.kind == "attention"]
    assert all(op.dims["M"] == 64 and op.dims["N"] == 5 + 64 and op.dims["B"] == 2 * 8 for op in att)


@st.composite
def _tree_and_accuracies(draw: st.DrawFn) -> tuple[list[tuple[int, ...]], list[list[float]]]:
    paths: set[tuple[int, ...]] = set()
    for _ in range(draw(st.integers(1, 8))):
        depth = draw(st.integers(1, 3))
        path = tuple(draw(st.integers(0, 2)) for _ in range(depth))
        paths.update(path[:k] for k in range(1, depth + 1))
    accs = []
    for _ in range(3):
        raw = draw(st.lists(st.floats(0, 1), min_size=3, max_size=3))
        total = sum(raw) + draw(st.floats(0, 2))
        accs.append([r / total if total else 0.0 for r in raw])
    return sorted(paths), accs


@settings(max_examples=60, deadline=None)
@given(_tree_and_accuracies())
def test_expected_value_equals_exact_enumeration(case: tuple[list[tuple[int, ...]], list[list[float]]]) -> None:
    """The sampled mode's acceptance rule, averaged exactly over all rank outcomes, equals Σ Π a."""
    paths, accs = case
    tree = get_tree([list(p) for p in paths])
    outcomes = [0, 1, 2, None]
    exact = 0.0
    for ranks in itertools.product(outcomes, repeat=3):
        prob = 1.0
        for k, r in enumerate(ranks):
            prob *= accs[k][r] if r is not None else 1.0 - sum(accs[k])
        exact += prob * tree.accept_length(ranks)
    assert tree.expected_accept_length(accs) == pytest.approx(exact, abs=1e-9)


@pytest.mark.parametrize("heads_on", ["accepted", "all"])
def test_next_step_reads_the_copied_kv(tiny_model: dict[str, Any], heads_on: str) -> None:
    spec = MedusaSpec(model=tiny_model, prompt_tokens=5, generate_tokens=12, heads_on=heads_on)
    ops = list(build_medusa(spec))
    ancestors: dict[int, set[int]] = {}
    for op in ops:
        ancestors[op.id] = set(op.deps).union(*(ancestors[d] for d in op.deps))
    update = next(op for op in ops if op.name == "s1.L0.kv_update")
    for name in ("s2.L0.attention", "s2.L0.kv_write"):
        op = next(o for o in ops if o.name == name)
        assert update.id in ancestors[op.id], name


def test_per_step_python_bookkeeping_is_host_work(tiny_model: dict[str, Any]) -> None:
    spec = MedusaSpec(model=tiny_model, prompt_tokens=8, generate_tokens=9, accepted_tokens_per_step=2.0)
    ops = list(build_medusa(spec))
    steps = {op.step for op in ops if op.phase == "tree_verify"}
    bookkeeping = [op for op in ops if op.kind == "host"]
    assert len(bookkeeping) == len(steps)  # one per decoding step
    accept = {op.step: op.id for op in ops if op.name.endswith(".accept")}
    for op in bookkeeping:
        assert op.dims == MEDUSA_STEP_BOOKKEEPING and op.dims["syncs"] > 0  # reads values back to Python
        assert accept[op.step] in op.deps
        assert op.flops == 0 and not op.reads and not op.writes
