"""Trace files: exact round trips (plain and gzip), lazy re-iteration, clear errors with line numbers."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from workloads.io import TraceFileSpec, TraceFormatError, read_trace, write_trace
from workloads.llm import BaselineSpec, build_baseline
from workloads.medusa import MedusaSpec, build_medusa
from workloads.skynet import SkyNetSpec, build_skynet
from workloads.snapkv import SnapKVSpec, build_snapkv
from workloads.spec import build_trace
from workloads.trace import Trace


def _traces(tiny_model: dict[str, Any]) -> list[Trace]:
    return [
        build_baseline(BaselineSpec(model=tiny_model, prompt_tokens=6, generate_tokens=3)),
        build_medusa(MedusaSpec(model=tiny_model, prompt_tokens=6, generate_tokens=7)),
        build_snapkv(SnapKVSpec(model=tiny_model, prompt_tokens=80, generate_tokens=3, capacity=40, window=8)),
        build_skynet(SkyNetSpec(batch=2, precision="w11a9")),
    ]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_round_trip_exact(tmp_path: Path, tiny_model: dict[str, Any], suffix: str) -> None:
    for i, trace in enumerate(_traces(tiny_model)):
        path = tmp_path / f"t{i}{suffix}"
        n = write_trace(trace, path)
        back = read_trace(path)
        assert dict(back.header) == json.loads(json.dumps(dict(trace.header)))
        original = list(trace)
        assert n == len(original)
        assert list(back) == original
        assert list(back) == original  # re-iterable: re-opens the file
        if suffix.endswith(".gz"):
            with gzip.open(path, "rt") as f:
                assert json.loads(f.readline())["format"] == "hetsim-trace"


def test_trace_file_spec(tmp_path: Path, tiny_model: dict[str, Any]) -> None:
    trace = _traces(tiny_model)[0]
    path = tmp_path / "t.jsonl"
    write_trace(trace, path)
    replay = build_trace(TraceFileSpec(path=str(path)))
    assert list(replay) == list(trace)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


HEADER = '{"format": "hetsim-trace", "version": 1, "model": "m", "workload": "w"}'
OP0 = '{"id": 0, "name": "a", "kind": "matmul", "phase": "prefill", "flops": 1, "reads": [], "writes": [], "deps": []}'


def _errors(path: Path) -> str:
    with pytest.raises(TraceFormatError) as info:
        list(read_trace(path))
    return str(info.value)


def test_bad_header(tmp_path: Path) -> None:
    msg = _errors(_write(tmp_path / "a.jsonl", ['{"format": "other"}']))
    assert "a.jsonl:1" in msg and "hetsim-trace" in msg
    msg = _errors(_write(tmp_path / "b.jsonl", ['{"format": "hetsim-trace", "version": 9}']))
    assert "b.jsonl:1" in msg and "version 9" in msg
    msg = _errors(_write(tmp_path / "c.jsonl", ["not json"]))
    assert "c.jsonl:1" in msg and "JSON" in msg


def test_bad_operator_lines(tmp_path: Path) -> None:
    msg = _errors(_write(tmp_path / "a.jsonl", [HEADER, OP0, "{oops"]))
    assert "a.jsonl:3" in msg and "JSON" in msg
    msg = _errors(_write(tmp_path / "b.jsonl", [HEADER, '{"id": 0, "name": "a", "kind": "matmul", "phase": "p"}']))
    assert "b.jsonl:2" in msg and "'flops'" in msg
    later = OP0.replace('"id": 0', '"id": 1').replace('"deps": []', '"deps": [5]')
    msg = _errors(_write(tmp_path / "c.jsonl", [HEADER, OP0, later]))
    assert "c.jsonl:3" in msg and "earlier" in msg
    missing = OP0.replace('"id": 0', '"id": 3').replace('"deps": []', '"deps": [2]')
    msg = _errors(_write(tmp_path / "d.jsonl", [HEADER, OP0, missing]))
    assert "d.jsonl:3" in msg and "depends on 2" in msg
    msg = _errors(_write(tmp_path / "e.jsonl", [HEADER, OP0.replace("matmul", "teleport")]))
    assert "e.jsonl:2" in msg and "kind" in msg


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match="cannot read"):
        read_trace(tmp_path / "none.jsonl")


def test_ids_with_gaps_replay_and_deps_across_gaps_are_checked(tmp_path: Path) -> None:
    """Ids may skip values; a dependency is valid iff it names an operator that appeared earlier."""
    op3 = OP0.replace('"id": 0', '"id": 3').replace('"deps": []', '"deps": [0]')
    op4 = OP0.replace('"id": 0', '"id": 4').replace('"deps": []', '"deps": [3, 0]')
    ops = list(read_trace(_write(tmp_path / "ok.jsonl", [HEADER, OP0, op3, op4])))
    assert [op.id for op in ops] == [0, 3, 4] and ops[2].deps == (3, 0)
    bad = OP0.replace('"id": 0', '"id": 7').replace('"deps": []', '"deps": [5]')
    msg = _errors(_write(tmp_path / "bad.jsonl", [HEADER, OP0, op3, op4, bad]))
    assert "bad.jsonl:5" in msg and "depends on 5" in msg


def test_truncated_gzip_and_binary_files_are_format_errors(tmp_path: Path, tiny_model: dict) -> None:
    path = tmp_path / "t.jsonl.gz"
    write_trace(_traces(tiny_model)[0], path)
    data = path.read_bytes()
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(TraceFormatError, match="truncated or corrupt"):
        list(read_trace(tmp_path / "cut.jsonl.gz"))
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TraceFormatError, match=r"bin\.jsonl:1"):
        read_trace(tmp_path / "bin.jsonl")
