"""Shared fixtures: tiny made-up architectures (round numbers, not real hardware)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from simulator.config.architecture import ArchitectureSpec

TinyArch = Callable[..., ArchitectureSpec]


def tiny_arch_dict() -> dict[str, Any]:
    """One matrix unit, one vector unit, an on-chip SRAM and a DRAM, linked in a line.

    npu, vpu <-> sram <-> dram; weights/KV/activations live in DRAM.
    """
    return {
        "name": "tiny",
        "compute_units": {
            "npu": {
                "kind": "matrix",
                "peak": {"fp16": "100 TFLOP/s", "int8": "200 TFLOP/s"},
                "energy_per_flop": {"fp16": "1 pJ/FLOP", "int8": "0.5 pJ/FLOP"},
                "ops": ["matmul", "attention", "conv2d", "dwconv2d"],
                "buffer": "sram",
                "static_power": "1 W",
            },
            "vpu": {
                "kind": "vector",
                "peak": {"fp16": "10 TFLOP/s", "fp32": "5 TFLOP/s"},
                "energy_per_flop": {"fp16": "2 pJ/FLOP", "fp32": "4 pJ/FLOP"},
                "static_power": "0.5 W",
            },
        },
        "memories": {
            "sram": {
                "level": "sram",
                "capacity": "16 MiB",
                "bandwidth": "1 TB/s",
                "read_energy": "1 pJ/B",
                "write_energy": "1 pJ/B",
            },
            "dram": {
                "level": "dram",
                "capacity": "16 GiB",
                "bandwidth": "100 GB/s",
                "read_energy": "10 pJ/B",
                "write_energy": "10 pJ/B",
                "static_power": "2 W",
            },
        },
        "links": [
            {"between": ["dram", "sram"], "bandwidth": "200 GB/s", "energy": "1 pJ/B"},
            {"between": ["sram", "npu"], "bandwidth": "1 TB/s"},
            {"between": ["sram", "vpu"], "bandwidth": "1 TB/s"},
        ],
        "placement": {"weight": "dram", "activation": "dram", "kv_cache": "dram"},
        "mapping": {"*": "auto"},
        "static_power": "3 W",
    }


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


@pytest.fixture
def tiny_arch() -> TinyArch:
    """Factory: ``tiny_arch(**changes)`` deep-merges ``changes`` into :func:`tiny_arch_dict`."""

    def build(**changes: Any) -> ArchitectureSpec:
        return ArchitectureSpec.model_validate(_merge(copy.deepcopy(tiny_arch_dict()), changes))

    return build
