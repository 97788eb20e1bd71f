"""Baseline LLM trace: FLOPs and bytes against independent arithmetic, structure, streaming."""

from __future__ import annotations

import inspect
import itertools
from collections import Counter, defaultdict
from typing import Any

import pytest
from pydantic import ValidationError

from workloads.llm import BaselineSpec, build_baseline
from workloads.models import load_model
from workloads.spec import WORKLOAD_ADAPTER, build_trace
from workloads.trace import Operator


def _step_ops(spec: BaselineSpec, step: int) -> list[Operator]:
    return [op for op in build_baseline(spec) if op.step == step]


def test_llama2_7b_decode_flops_per_token() -> None:
    spec = BaselineSpec(model="llama-2-7b", prompt_tokens=1023, generate_tokens=3)
    cfg = load_model("llama-2-7b")
    d, layers = cfg.hidden_size, cfg.num_layers
    ops = _step_ops(spec, 1)  # kv_len = 1023 cached + 1 new = 1024 keys
    keys = 1024
    matmul_params = layers * (cfg.attention_params + cfg.mlp_params) + cfg.lm_head_params
    matmul = sum(op.flops for op in ops if op.kind == "matmul")
    attention = sum(op.flops for op in ops if op.kind == "attention")
    assert matmul == 2 * matmul_params
    assert attention == 4 * layers * d * keys
    total = sum(op.flops for op in ops)
    expected = 2 * matmul_params + 4 * layers * d * keys
    assert total == pytest.approx(expected, rel=5e-3)  # small vector ops on top
    assert total == pytest.approx(13.75e9, rel=1e-2)


def test_int4_weight_only_quantises_linear_layers_with_group_scales() -> None:
    """AWQ/GPTQ-style: linear layers at 4 bits + one fp16 scale per 128 weights; norms, LM head, embedding fp16."""
    spec = BaselineSpec(model="llama-2-7b", prompt_tokens=16, generate_tokens=2, weight_dtype="int4")
    cfg = load_model("llama-2-7b")
    ops = _step_ops(spec, 1)
    weight_bytes = sum(t.bytes for op in ops for t in op.reads if t.cls == "weight")
    d, layers = cfg.hidden_size, cfg.num_layers
    linear = layers * (cfg.attention_params + cfg.mlp_params)
    fp16 = 2 * (layers * 2 * d + d + cfg.vocab_size * d + d)  # norms, final norm, LM head, one embedding row
    assert weight_bytes == linear // 2 + linear // 128 * 2 + fp16
    kv_read = sum(t.bytes for op in ops if op.kind == "attention" for t in op.reads if t.cls == "kv_cache")
    assert kv_read == 2 * cfg.num_layers * 17 * cfg.kv_dim * 2  # fp16 K and V of 17 tokens


def test_gpt_fast_int4_groups_of_32_with_zero_points_and_dequant_work() -> None:
    """gpt-fast int4: a 16-bit scale and zero point per 32 weights; unpacking work inside the GEMM kernel."""
    spec = BaselineSpec(
        model="llama-2-7b",
        prompt_tokens=16,
        generate_tokens=2,
        weight_dtype="int4",
        quant_group_size=32,
        quant_zero_points=True,
    )
    cfg = load_model("llama-2-7b")
    ops = _step_ops(spec, 1)
    q = next(op for op in ops if op.name == "s1.L0.q_proj")
    elements = cfg.hidden_size * cfg.q_dim
    assert [t.bytes for t in q.reads if t.cls == "weight"] == [elements // 2 + elements // 32 * 4]
    deq = next(op for op in ops if op.name == "s1.L0.q_proj.dequant")
    assert deq.kind == "dequant" and deq.id in q.deps
    assert deq.flops == 5 * elements  # shift, mask, convert, fused (q - z) * s
    assert not deq.reads and not deq.writes  # in registers, inside the GEMM's kernel
    assert not any(op.name == "s1.lm_head.dequant" for op in ops)  # the LM head stays fp16
    linear = cfg.num_layers * (cfg.attention_params + cfg.mlp_params)
    assert sum(op.flops for op in ops if op.kind == "dequant") == 5 * linear
    header = build_baseline(spec).header
    assert header["quant_group_size"] == 32 and header["quant_zero_points"] is True
    int8 = BaselineSpec(model="llama-2-7b", prompt_tokens=16, generate_tokens=2, weight_dtype="int8")
    assert sum(op.flops for op in _step_ops(int8, 1) if op.kind == "dequant") == 2 * linear  # convert, scale
    fp16 = BaselineSpec(model="llama-2-7b", prompt_tokens=16, generate_tokens=2)
    assert not any(op.kind == "dequant" for op in _step_ops(fp16, 1))


def test_structure_and_tokens(tiny_model: dict[str, Any]) -> None:
    spec = BaselineSpec(model=tiny_model, prompt_tokens=7, generate_tokens=5, batch=3)
    ops = list(build_baseline(spec))
    header = build_baseline(spec).header
    assert header["tokens_per_sequence"] == 5 and header["batch"] == 3
    samples = [op for op in ops if op.kind == "sample"]
    assert [op.tokens for op in samples] == [1.0] * 5
    assert samples[0].phase == "prefill" and {op.phase for op in samples[1:]} == {"decode"}
    kinds = Counter(op.kind for op in ops if op.step == 2)
    assert kinds["attention"] == kinds["kv_write"] == 2
    assert kinds["matmul"] == 2 * 7 + 1
    prefill_lm = next(op for op in ops if op.name == "lm_head")
    assert prefill_lm.dims["M"] == 3  # last position only, per sequence
    att = next(op for op in ops if op.kind == "attention" and op.step == 0)
    assert dict(att.dims) == {"B": 3 * 8, "M": 7, "N": 7, "K": 8}
    att = next(op for op in ops if op.kind == "attention" and op.step == 4)
    assert att.dims["N"] == 7 + 4


def test_deps_are_consumed_producers(tiny_model: dict[str, Any]) -> None:
    ops = list(build_baseline(BaselineSpec(model=tiny_model, prompt_tokens=4, generate_tokens=3)))
    by_id = {op.id: op for op in ops}
    assert [op.id for op in ops] == list(range(len(ops)))
    for op in ops:
        for dep in op.deps:
            assert dep < op.id and dep in by_id
        assert op.flops >= 0 and op.bytes_read >= 0 and op.bytes_written >= 0
    # every decode step starts from the previous step's sample
    embeds = [op for op in ops if op.kind == "embedding" and op.step > 0]
    for e in embeds:
        assert by_id[e.deps[0]].kind == "sample"
    # the attention depends on the RoPE and the cache write of its layer
    for op in ops:
        if op.kind == "attention":
            assert {by_id[d].kind for d in op.deps} == {"elementwise", "kv_write"}


def test_kv_cache_grows_by_written_bytes(tiny_model: dict[str, Any]) -> None:
    ops = list(build_baseline(BaselineSpec(model=tiny_model, prompt_tokens=10, generate_tokens=4)))
    written: dict[str, int] = defaultdict(int)
    for op in ops:
        for t in op.writes:
            if t.cls == "kv_cache":
                written[t.tensor] += t.bytes
    kv_dim = 2 * 8  # 2 kv heads × head_dim 8
    assert written["kv.L0"] == 2 * (10 + 3) * kv_dim * 2


def test_streamed_generator_for_large_g() -> None:
    spec = BaselineSpec(model="lwm-text-chat-1m", prompt_tokens=128, generate_tokens=500_000)
    it = iter(build_baseline(spec))
    assert inspect.isgenerator(it)
    first = list(itertools.islice(it, 50))
    assert len(first) == 50


def test_gptj_parallel_block() -> None:
    spec = BaselineSpec(model="gpt-j-6b", prompt_tokens=8, generate_tokens=2)
    cfg = load_model("gpt-j-6b")
    ops = _step_ops(spec, 1)
    matmul = sum(op.flops for op in ops if op.kind == "matmul")
    biases = cfg.num_layers * (cfg.intermediate_size + cfg.hidden_size) + cfg.vocab_size
    assert (
        matmul
        == 2
        * (
            cfg.num_layers * (cfg.attention_params + cfg.mlp_params - cfg.intermediate_size - cfg.hidden_size)
            + cfg.vocab_size * cfg.hidden_size
        )
        + biases
    )
    assert not any(op.kind == "norm" and "mlp_norm" in op.name for op in ops)


def test_validation_messages() -> None:
    with pytest.raises(ValidationError, match="max_position_embeddings"):
        BaselineSpec(model="llama-2-7b", prompt_tokens=4096, generate_tokens=2)
    with pytest.raises(ValidationError, match="built-in"):
        BaselineSpec(model="llama-9", prompt_tokens=4, generate_tokens=1)
    with pytest.raises(ValidationError, match="extra"):
        BaselineSpec(model="llama-2-7b", prompt_tokens=4, generate_tokens=1, promt=3)  # type: ignore[call-arg]


def test_concat_kv_update_rereads_and_rewrites_the_whole_cache() -> None:
    """HF's torch.cat cache: each decode step's kv_write moves the old cache twice more; the cache grows the same."""
    base = {"kind": "baseline", "model": "llama-2-7b", "batch": 2, "prompt_tokens": 100, "generate_tokens": 3}
    inplace = [o for o in build_trace(WORKLOAD_ADAPTER.validate_python(base)) if o.kind == "kv_write"]
    concat_spec = WORKLOAD_ADAPTER.validate_python({**base, "kv_update": "concat"})
    concat = [o for o in build_trace(concat_spec) if o.kind == "kv_write"]
    per_token = 2 * 2 * 32 * 128 * 2  # K and V, batch 2, 32 heads × 128 dims, fp16
    for a, b in zip(inplace, concat, strict=True):
        old_tokens = 0 if a.phase == "prefill" else 100 + a.step - 1
        assert b.bytes_read - a.bytes_read == old_tokens * per_token
        assert b.bytes_written - a.bytes_written == old_tokens * per_token
        kv_growth = [t.bytes for t in b.writes if t.cls == "kv_cache"]
        assert kv_growth == [t.bytes for t in a.writes if t.cls == "kv_cache"]
