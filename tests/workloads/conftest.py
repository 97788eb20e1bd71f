"""Shared fixtures for workload tests: a tiny transformer so that full traces build in milliseconds."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def tiny_model() -> dict[str, Any]:
    """A 2-layer GQA Llama-style config (inline HF field names)."""
    return {
        "name": "tiny",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "intermediate_size": 160,
        "vocab_size": 100,
        "max_position_embeddings": 1_000_000,
    }
