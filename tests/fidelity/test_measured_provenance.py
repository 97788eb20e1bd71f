"""Every case measured here names its raw data, and its value is in that file (no hand-typed numbers)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _numbers(node: Any) -> list[float]:
    if isinstance(node, bool):
        return []
    if isinstance(node, int | float):
        return [float(node)]
    if isinstance(node, dict):
        return [x for v in node.values() for x in _numbers(v)]
    if isinstance(node, list):
        return [x for v in node for x in _numbers(v)]
    return []


def test_measured_cases_come_from_their_raw_files() -> None:
    text = resources.files("simulator.fidelity").joinpath("data", "measured-h200.yaml").read_text(encoding="utf-8")
    entries = yaml.safe_load(text)["entries"]
    assert len(entries) == 21
    for entry in entries:
        raw = ROOT / entry["source"]["raw"]
        assert raw.is_file(), entry["id"]
        data = json.loads(raw.read_text(encoding="utf-8"))
        assert data["script"] == "tools/gpu_measure.py"
        assert float(entry["value"]) in _numbers(data), entry["id"]


def test_the_measuring_script_is_in_the_repository() -> None:
    script = (ROOT / "tools" / "gpu_measure.py").read_text(encoding="utf-8")
    for section in ("power_states", "busy_power", "bandwidth", "gemm", "llama_graphs", "hf_eager", "kernel_names"):
        assert f'"{section}"' in script
