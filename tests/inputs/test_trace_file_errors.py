"""Every bad operator line of a trace file is a clear error naming the file and the line (issue 12, items 6/7)."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import pytest
from input_helpers import clean_error

from simulator.engine import simulate
from simulator.errors import CapacityError, Problem, UserError
from workloads.io import TraceFormatError, read_trace, write_trace
from workloads.trace import Operator, Trace

HEADER = '{"format": "hetsim-trace", "version": 1, "model": "x", "workload": "trace"}'
GOOD = {"id": 0, "name": "a", "kind": "matmul", "phase": "prefill", "flops": 100,
        "reads": [{"tensor": "w", "class": "weight", "bytes": 10}]}  # fmt: skip
B = {"id": 1, "name": "b", "kind": "matmul", "phase": "p", "flops": 1}

BAD_LINES = {
    "missing fields": ({"id": 1, "name": "b"}, "missing 'kind', 'phase', 'flops'"),
    "bad kind": ({**B, "kind": "nope"}, "kind(='nope') must be one of"),
    "ids not increasing": ({**B, "id": 0}, "operator id 0 must exceed the previous (0)"),
    "dependency on a later op": ({**B, "deps": [5]}, "dependency 5 is not an earlier operator"),
    "negative bytes": ({**B, "reads": [{"tensor": "w", "class": "weight", "bytes": -5}]}, "reads[0]: bytes"),
    "string bytes": ({**B, "reads": [{"tensor": "w", "class": "weight", "bytes": "abc"}]}, "got 'abc'"),
    "fractional bytes": ({**B, "writes": [{"tensor": "w", "class": "activation", "bytes": 1.5}]}, "writes[0]"),
    "tensor without bytes": ({**B, "reads": [{"tensor": "w", "class": "weight"}]}, "missing the key 'bytes'"),
    "NaN flops": ({**B, "flops": float("nan")}, "flops: expected a finite number >= 0, got nan"),
    "infinite flops": ({**B, "flops": float("inf")}, "flops: expected a finite number"),
    "string flops": ({**B, "flops": "1e5"}, "flops: expected a finite number >= 0, got '1e5'"),
    "negative tokens": ({**B, "kind": "sample", "tokens": -3}, "tokens: expected a finite number >= 0"),
    "deps as a string": ({**B, "deps": "0"}, "deps: expected a list, got '0'"),
    "boolean dims": ({**B, "dims": {"M": True}}, "dims.M: expected a whole number, got True"),
    "boolean id": ({**B, "id": True}, "id: expected a whole number"),
    "not an object": ([1, 2], "expected a JSON operator object"),
}


def write_lines(path: Path, *ops: object) -> Path:
    path.write_text("\n".join([HEADER, *(json.dumps(op) for op in ops)]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_bad_operator_line_names_file_and_line(tmp_path: Path, case: str) -> None:
    line, needle = BAD_LINES[case]
    path = write_lines(tmp_path / "t.jsonl", GOOD, line)
    with pytest.raises(TraceFormatError) as info:
        list(read_trace(path))
    assert info.value.line == 3
    assert str(info.value).startswith(f"{path}:3: ")
    assert needle in str(info.value)


def test_errors_survive_being_recreated_from_their_args() -> None:
    """SimPy re-raises ``type(e)(*e.args)``; pickle (sweep workers) does the same."""
    for exc in (
        TraceFormatError("t.jsonl", 3, "bad"),
        UserError([Problem("f.yaml", ("a", 1), "wrong")]),
        CapacityError([Problem(None, (), "too big")]),
        UserError("plain text"),
    ):
        again = type(exc)(*exc.args)
        assert str(again) == str(exc)
        assert str(pickle.loads(pickle.dumps(exc))) == str(exc)
    assert (
        UserError([Problem("f.yaml", ("a",), "x")]).problems
        == type(UserError([Problem("f.yaml", ("a",), "x")]))(*UserError([Problem("f.yaml", ("a",), "x")]).args).problems
    )


def test_bad_line_through_the_engine_is_a_trace_error(tmp_path: Path, tiny_arch: object) -> None:
    """The error crosses SimPy's process boundary intact (it used to become a TypeError traceback)."""
    path = write_lines(tmp_path / "t.jsonl", GOOD, {"id": 1, "name": "b"})
    with pytest.raises(TraceFormatError, match=r"t\.jsonl:3: operator is missing"):
        simulate(tiny_arch(), read_trace(path))  # type: ignore[operator]


@pytest.mark.parametrize("case", ["missing fields", "negative bytes", "deps as a string", "NaN flops"])
def test_run_reports_bad_trace_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    trace = write_lines(tmp_path / "t.jsonl", GOOD, BAD_LINES[case][0])
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\narchitectures: [a100-80gb]\nworkloads: [{kind: trace, path: t.jsonl}]\n")
    clean_error(capsys, ["run", str(scenario), "-o", str(tmp_path / "out"), "-q"], f"{trace}: line 3:")


def test_truncated_gzip_is_a_clear_error(tmp_path: Path) -> None:
    lines = [HEADER] + [json.dumps({**GOOD, "id": i}) for i in range(3000)]
    data = gzip.compress("\n".join(lines).encode())
    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TraceFormatError, match="truncated or corrupt"):
        list(read_trace(path))


def test_trace_command_refuses_to_overwrite_its_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_lines(tmp_path / "t.jsonl", GOOD)
    before = path.read_bytes()
    clean_error(capsys, ["trace", "{kind: trace, path: t.jsonl}", "-o", "t.jsonl"], "refusing to overwrite")
    clean_error(capsys, ["trace", "{kind: trace, path: t.jsonl}", "-o", "./sub/../t.jsonl"], "refusing")
    assert path.read_bytes() == before


def test_write_trace_replaces_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    (tmp_path / "out").mkdir()
    link = tmp_path / "out" / "t.jsonl"
    link.symlink_to(outside)
    op = Operator(id=0, name="a", kind="norm", phase="p", flops=1.0)
    assert write_trace(Trace.from_operators({"workload": "x"}, [op]), link) == 1
    assert outside.read_text() == "precious"
    assert not link.is_symlink() and len(list(read_trace(link))) == 1


def test_operator_rejects_nan_and_negative_tokens() -> None:
    with pytest.raises(ValueError, match="flops"):
        Operator(id=0, name="a", kind="norm", phase="p", flops=float("nan"))
    with pytest.raises(ValueError, match="tokens"):
        Operator(id=0, name="a", kind="sample", phase="p", flops=1.0, tokens=-1.0)


def test_results_replace_symlinks_in_the_output_folder(tmp_path: Path) -> None:
    """A link planted in the output folder is replaced by the result file; the file it pointed at is untouched."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\narchitectures: [a100-80gb]\nworkloads: [{kind: gemm, M: 4, N: 4, K: 4}]\n")
    outside = tmp_path / "precious.txt"
    outside.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    for name in ("results.json", "results.csv", "scenario.resolved.yaml"):
        (out / name).symlink_to(outside)
    from simulator.cli import main

    assert main(["run", str(scenario), "-o", str(out), "-q"]) == 0
    assert outside.read_text() == "precious"
    assert not any((out / name).is_symlink() for name in ("results.json", "results.csv", "scenario.resolved.yaml"))
    assert not list(out.glob(".*.tmp"))
