"""Model configs: built-ins, HF field mapping, parameter counts against independent arithmetic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workloads.models import TransformerConfig, builtin_models, load_model


def test_builtins_listed() -> None:
    names = builtin_models()
    for expected in (
        "llama-2-7b",
        "llama-2-13b",
        "llama-2-70b",
        "vicuna-7b",
        "vicuna-13b",
        "vicuna-33b",
        "mistral-7b-instruct-v0.2",
        "lwm-text-chat-1m",
        "llama-3.1-8b",
        "gpt-j-6b",
    ):
        assert expected in names


def test_llama2_7b_params() -> None:
    cfg = load_model("llama-2-7b")
    d, f, v, layers = 4096, 11008, 32000, 32
    per_layer = 4 * d * d + 3 * d * f + 2 * d
    expected = 2 * v * d + layers * per_layer + d
    assert cfg.params == expected == 6_738_415_616  # ≈ 6.74 B


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("llama-2-13b", 13_015_864_320),
        ("llama-2-70b", 68_976_648_192),
        ("mistral-7b-instruct-v0.2", 7_241_732_096),
        ("llama-3.1-8b", 8_030_261_248),
        ("gpt-j-6b", 6_050_882_784),
    ],
)
def test_known_param_counts(name: str, params: int) -> None:
    assert load_model(name).params == params


def test_gqa_fields() -> None:
    cfg = load_model("llama-2-70b")
    assert (cfg.num_heads, cfg.num_kv_heads, cfg.head_dim, cfg.kv_dim) == (64, 8, 128, 1024)


def test_gptj_mapping() -> None:
    cfg = load_model("gpt-j-6b")
    assert cfg.parallel_attn_mlp and not cfg.gated_mlp and cfg.intermediate_size == 4 * 4096
    assert cfg.rotary_dim == 64 and cfg.norm == "layernorm"


def test_unknown_name_lists_builtins() -> None:
    with pytest.raises(ValueError, match="llama-2-7b"):
        load_model("no-such-model")


def test_config_json_path_and_inline(tmp_path: Path, tiny_model: dict[str, Any]) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(tiny_model))
    from_file = load_model(str(path))
    inline = load_model(tiny_model)
    assert from_file.params == inline.params
    assert inline.num_kv_heads == 2


def test_missing_field_is_clear() -> None:
    with pytest.raises(ValueError, match="intermediate_size"):
        TransformerConfig.from_hf(
            {"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 10}
        )
