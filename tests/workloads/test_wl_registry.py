"""Registry: every kind validates from YAML-like mappings, documents its fields, and yields sound traces."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from workloads.spec import _BUILDERS, WORKLOAD_ADAPTER, build_trace, workload_kinds
from workloads.trace import OP_KINDS, PHASES

TINY = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
    "intermediate_size": 160,
    "vocab_size": 100,
    "max_position_embeddings": 100_000,
}

SPECS: list[dict[str, Any]] = [
    {"kind": "gemm", "M": 4, "N": 8, "K": 16, "repeat": 3},
    {"kind": "baseline", "model": TINY, "prompt_tokens": 9, "generate_tokens": 4, "batch": 2},
    {"kind": "medusa", "model": TINY, "prompt_tokens": 9, "generate_tokens": 8},
    {"kind": "medusa", "model": TINY, "prompt_tokens": 9, "generate_tokens": 8, "mode": "sampled", "seed": 4},
    {"kind": "snapkv", "model": TINY, "prompt_tokens": 90, "generate_tokens": 4, "capacity": 48, "window": 8},
    {"kind": "skynet", "batch": 2, "precision": "fp16"},
    {"kind": "resnet", "depth": 18},
]


def test_kinds() -> None:
    assert set(workload_kinds()) == {
        "gemm",
        "baseline",
        "medusa",
        "snapkv",
        "skynet",
        "resnet",
        "trace",
        "onnx",
        "serving",
    }


@pytest.mark.parametrize("cls", list(_BUILDERS))
def test_every_field_documented(cls: type[BaseModel]) -> None:
    for name, field in cls.model_fields.items():
        assert field.description, f"{cls.__name__}.{name} has no description"


def test_gemm_dtype_checked_at_validation() -> None:
    with pytest.raises(ValidationError, match="dtype"):
        WORKLOAD_ADAPTER.validate_python({"kind": "gemm", "M": 1, "N": 1, "K": 1, "dtype": "fp12"})


def test_extra_keys_forbidden() -> None:
    with pytest.raises(ValidationError, match="extra"):
        WORKLOAD_ADAPTER.validate_python({"kind": "skynet", "batchsize": 3})


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d["kind"])
def test_trace_invariants(data: dict[str, Any]) -> None:
    trace = build_trace(WORKLOAD_ADAPTER.validate_python(data))
    assert inspect.isgenerator(iter(trace))  # streamed, never a whole-trace list
    ids: set[int] = set()
    tokens = 0.0
    for expected_id, op in enumerate(trace):
        assert op.id == expected_id
        assert op.kind in OP_KINDS and op.phase in PHASES
        assert op.flops >= 0 and all(t.bytes >= 0 for t in (*op.reads, *op.writes))
        assert all(d in ids for d in op.deps)
        ids.add(op.id)
        tokens += op.tokens
    if "tokens_per_sequence" in trace.header:
        assert tokens == pytest.approx(trace.header["tokens_per_sequence"])
    assert list(trace) == list(trace)  # re-iterable and deterministic


def test_readme_examples_validate() -> None:
    from pathlib import Path

    import yaml

    import workloads

    text = (Path(workloads.__file__).parent / "README.md").read_text()
    block = text.split("```yaml")[1].split("```")[0]
    for data in yaml.safe_load(block)["workloads"]:
        if data["kind"] not in ("onnx", "trace"):  # these need files
            WORKLOAD_ADAPTER.validate_python(data)


@pytest.mark.parametrize(
    ("spec", "where", "text"),
    [
        (
            {
                "kind": "snapkv",
                "model": "llama-2-7b",
                "prompt_tokens": 64,
                "generate_tokens": 2,
                "capacity": 16,
                "window": 32,
            },
            ("capacity",),
            "must exceed window",
        ),
        (
            {"kind": "medusa", "model": "vicuna-7b", "prompt_tokens": 64, "generate_tokens": 2, "tree": "nope"},
            ("tree",),
            "nope",
        ),
        ({"kind": "gemm", "M": 1, "N": 1, "K": 1, "seed": -1}, ("seed",), "greater than or equal to 0"),
        (
            {"kind": "baseline", "model": {"hidden_size": [1]}, "prompt_tokens": 1, "generate_tokens": 1},
            ("model",),
            "must be a whole number",
        ),
        ({"kind": "onnx", "path": "/nonexistent.onnx"}, ("path",), "ONNX file not found"),
    ],
)
def test_bad_specs_are_validation_errors_at_the_right_key(spec: dict, where: tuple, text: str) -> None:
    with pytest.raises(ValidationError) as info:
        WORKLOAD_ADAPTER.validate_python(spec)
    errors = info.value.errors()
    assert any(e["loc"][1:] == where and text in e["msg"] for e in errors), errors
