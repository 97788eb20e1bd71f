"""Mixture-of-experts models: config fields, active experts, the MoE block's operators, sharding under TP."""

from __future__ import annotations

import pytest

from workloads.llm import active_experts
from workloads.models import load_model
from workloads.spec import WORKLOAD_ADAPTER, build_trace


def test_moe_configs_count_total_and_active_parameters() -> None:
    mixtral = load_model("mixtral-8x7b")
    assert mixtral.is_moe and mixtral.num_experts == 8 and mixtral.experts_per_token == 2
    assert mixtral.params == pytest.approx(46.7e9, rel=0.01)  # Mistral AI: 46.7 B total, 12.9 B active
    assert mixtral.active_params == pytest.approx(12.9e9, rel=0.01)
    qwen = load_model("qwen3-30b-a3b")
    assert qwen.params == pytest.approx(30.5e9, rel=0.01) and qwen.active_params == pytest.approx(3.3e9, rel=0.03)
    assert not load_model("qwen3-32b").is_moe


def test_deepseek_style_shared_experts_and_dense_first_layers() -> None:
    cfg = load_model(
        {
            "name": "ds-moe",
            "hidden_size": 2048,
            "num_hidden_layers": 4,
            "num_attention_heads": 16,
            "intermediate_size": 10944,
            "moe_intermediate_size": 1408,
            "n_routed_experts": 64,
            "n_shared_experts": 2,
            "num_experts_per_tok": 6,
            "first_k_dense_replace": 1,
            "vocab_size": 1000,
        }
    )
    assert cfg.shared_expert_intermediate_size == 2 * 1408 and cfg.dense_layers == 1
    assert not cfg.is_moe_layer(0) and cfg.is_moe_layer(1)
    assert cfg.active_params < cfg.params


@pytest.mark.parametrize(
    ("field", "value", "what"),
    [
        ("kv_lora_rank", 512, "multi-head latent attention"),
        ("decoder_sparse_step", 2, "only some layers"),
        ("mlp_only_layers", [3], "only some layers"),
    ],
)
def test_unmodelled_moe_variants_are_errors_naming_the_field(field: str, value: object, what: str) -> None:
    base = {
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 128,
        "num_experts": 4,
        "num_experts_per_tok": 2,
        "vocab_size": 100,
    }
    with pytest.raises(ValueError, match=f"{field}.*{what}"):
        load_model({**base, field: value})


def test_active_experts_follow_uniform_routing() -> None:
    cfg = load_model("qwen3-30b-a3b")
    assert len(active_experts(cfg, 1, 1, 0)) == 8
    assert len(active_experts(cfg, 32, 1, 0)) == 112  # 128 * (1 - (1 - 8/128)**32) = 111.8
    assert len(active_experts(cfg, 512, 1, 0)) == 128
    assert active_experts(cfg, 1, 1, 0) != active_experts(cfg, 1, 2, 0)  # rotates over steps


def test_moe_block_operators_and_tensor_parallel_shards() -> None:
    def trace(tp: int) -> list:
        spec = {
            "kind": "baseline",
            "model": "mixtral-8x7b",
            "prompt_tokens": 4,
            "generate_tokens": 2,
            "tensor_parallel": tp,
        }
        return list(build_trace(WORKLOAD_ADAPTER.validate_python(spec)))

    ops = trace(1)
    decode_gate = next(op for op in ops if op.name == "s1.L0.experts_gate")
    assert decode_gate.dims["B"] == 2 and decode_gate.dims["M"] == 1 and decode_gate.dims["N"] == 14336
    assert sum(1 for t in decode_gate.reads if t.cls == "weight") == 2
    assert decode_gate.flops == 2 * 2 * 14336 * 4096
    assert {op.kind for op in ops if "L0.expert" in op.name or "router" in op.name} == {"matmul", "topk", "elementwise"}
    sharded = next(op for op in trace(2) if op.name == "s1.L0.experts_gate" and op.device == 1)
    assert sharded.dims["N"] == 14336 // 2


def test_expert_parallel_spreads_whole_experts_and_sends_tokens_by_all_to_all() -> None:
    spec = {
        "kind": "baseline",
        "model": "qwen3-30b-a3b",
        "batch": 8,
        "prompt_tokens": 4,
        "generate_tokens": 2,
        "expert_parallel": 4,
    }
    ops = list(build_trace(WORKLOAD_ADAPTER.validate_python(spec)))
    a2a = [op for op in ops if op.kind == "all_to_all"]
    assert len(a2a) == 2 * 48 * 2 and all(op.group == (0, 1, 2, 3) for op in a2a)  # dispatch + combine per layer
    assert not [op for op in ops if op.kind == "all_reduce"]  # attention is data-parallel, not split
    gate = next(op for op in ops if op.name == "s1.L0.experts_gate" and op.device == 3)
    assert gate.dims["N"] == 768  # whole experts
    experts = {t.tensor for op in ops if op.device == 0 for t in op.reads if ".expert" in t.tensor}
    assert max(int(name.split(".")[1].removeprefix("expert")) for name in experts) < 128 // 4
    attention = next(op for op in ops if op.name == "s1.L0.attention" and op.device == 0)
    assert attention.dims["B"] == 2 * 32  # batch 8 over 4 devices, all 32 heads
    assert sum(op.tokens for op in ops) == 2


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"model": "llama-2-7b"}, "mixture-of-experts"),
        ({"batch": 6}, "divide batch"),
        ({"tensor_parallel": 2}, "not combined"),
        ({"expert_parallel": 3}, "number of experts"),
    ],
)
def test_expert_parallel_limits_are_errors(fields: dict, why: str) -> None:
    spec = {
        "kind": "baseline",
        "model": "qwen3-30b-a3b",
        "batch": 8,
        "prompt_tokens": 4,
        "generate_tokens": 1,
        "expert_parallel": 4,
        **fields,
    }
    with pytest.raises(ValueError, match=why):
        WORKLOAD_ADAPTER.validate_python(spec)
