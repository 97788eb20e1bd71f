"""User errors crossing the engine keep their type and fields; absurd durations are named; progress reports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.cli import main
from simulator.engine import host as host_module
from simulator.engine import simulate
from simulator.engine.host import RunProgress
from simulator.errors import CapacityError, UserError
from tests.conftest import TinyArch
from workloads.io import TraceFormatError, read_trace
from workloads.trace import Operator, TensorRef, Trace

PINNED = {"matmul": "npu", "*": "vpu"}


def op(i: int, kind: str, flops: float, deps: tuple[int, ...] = (), **kw: Any) -> Operator:
    return Operator(id=i, name=f"op{i}", kind=kind, phase=kw.pop("phase", "p"), flops=flops, deps=deps, **kw)


class TwoArgError(UserError):
    """A user error whose constructor does not take its ``args`` back (SimPy's copy would fail)."""

    def __init__(self, where: str, what: str) -> None:
        self.where = where
        super().__init__(f"{where}: {what}")


def failing_trace(exc: Exception, after: int = 3) -> Trace:
    def ops() -> Iterator[Operator]:
        for i in range(after):
            yield op(i, "elementwise", 1e6, (i - 1,) if i else ())
        raise exc

    return Trace({"workload": "failing"}, ops)


@pytest.mark.parametrize(
    "exc",
    [
        TraceFormatError("t.jsonl", 2, "missing field 'kind'"),
        TwoArgError("trace.jsonl", "bad"),
        CapacityError("memory 'x' overflows"),
    ],
)
def test_errors_from_the_trace_stream_arrive_unchanged(tiny_arch: TinyArch, exc: Exception) -> None:
    with pytest.raises(type(exc)) as info:
        simulate(tiny_arch(), failing_trace(exc))
    assert info.value is exc  # the very object: its fields (path, line, problems) survive


def test_a_bad_second_line_of_a_trace_file_is_a_trace_format_error(tiny_arch: TinyArch, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    header = {"format": "hetsim-trace", "version": 1, "workload": "replay"}
    first = op(0, "elementwise", 1e6).to_json()
    path.write_text("\n".join([json.dumps(header), json.dumps(first), '{"id": 1}']) + "\n", encoding="utf-8")
    with pytest.raises(TraceFormatError) as info:
        simulate(tiny_arch(), read_trace(path))
    assert info.value.line == 3 and info.value.path == str(path)


def test_cli_reports_a_bad_trace_line_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.jsonl"
    header = {"format": "hetsim-trace", "version": 1, "workload": "replay"}
    first = op(0, "elementwise", 1e6).to_json()
    path.write_text("\n".join([json.dumps(header), json.dumps(first), '{"id": 1}']) + "\n", encoding="utf-8")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        f"name: s\narchitectures: [a100-80gb]\nworkloads: [{{kind: trace, path: '{path}'}}]\n", encoding="utf-8"
    )
    assert main(["run", str(scenario), "-o", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "t.jsonl" in err and "line 3" in err


def test_an_error_while_issuing_keeps_its_problems(tiny_arch: TinyArch) -> None:
    big = op(0, "elementwise", 1e6, writes=(TensorRef("kv", "kv_cache", 1 << 50),))
    with pytest.raises(CapacityError) as info:
        simulate(tiny_arch(), Trace.from_operators({"workload": "w"}, [big]))
    assert len(info.value.problems) == 1 and "operator 0 (op0)" in str(info.value)


def test_non_finite_flops_are_refused_when_the_operator_is_built() -> None:
    """NaN and infinite FLOPs never reach the engine: ``Operator`` refuses them (and so does the trace reader)."""
    for flops in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="must be finite"):
            op(1, "matmul", flops, (0,))


@pytest.mark.parametrize("flops", [1e300])
def test_non_finite_or_absurd_durations_name_the_operator(tiny_arch: TinyArch, flops: float) -> None:
    t = Trace.from_operators({"workload": "w"}, [op(0, "elementwise", 1e6), op(1, "matmul", flops, (0,))])
    with pytest.raises(UserError, match=r"operator 1 \(op1, matmul\) on unit 'npu'.*not a finite time") as info:
        simulate(tiny_arch(), t, mapping=PINNED)
    assert "never finished" not in str(info.value)


def test_progress_reports_operators_and_tokens(tiny_arch: TinyArch, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_module, "PROGRESS_INTERVAL_S", 0.0)
    n = 600
    ops = [op(i, "elementwise", 1e6, (i - 1,) if i else (), tokens=1.0 if i % 100 == 99 else 0.0) for i in range(n)]
    seen: list[RunProgress] = []
    r = simulate(tiny_arch(), Trace.from_operators({"tokens_per_sequence": 6}, ops), progress=seen.append)
    assert len(seen) >= 3  # every 256 operators (interval 0 s) and once at the end
    assert [p.operators for p in seen] == sorted(p.operators for p in seen)
    assert seen[-1] == RunProgress(n, 6.0, 6.0, r.latency_s, done=True)
    assert not any(p.done for p in seen[:-1])
    assert all(p.tokens_total == 6.0 for p in seen)


def test_progress_is_throttled(tiny_arch: TinyArch) -> None:
    ops = [op(i, "elementwise", 1e6, (i - 1,) if i else ()) for i in range(300)]
    seen: list[RunProgress] = []
    simulate(tiny_arch(), Trace.from_operators({}, ops), progress=seen.append)
    assert len(seen) == 1 and seen[0].operators == 300 and seen[0].tokens_total is None and seen[0].done


def test_cli_progress_bar_only_on_a_terminal() -> None:
    import io

    from rich.console import Console

    from simulator.commands import run_progress_bar

    assert run_progress_bar(Console(file=io.StringIO())) is None
    assert run_progress_bar(Console(file=io.StringIO(), force_terminal=True, quiet=True)) is None
    buf = io.StringIO()
    show = run_progress_bar(Console(file=buf, force_terminal=True), width=10)
    assert show is not None
    show(RunProgress(1234, 5.0, 10.0, 0.5))
    assert "█████·····" in buf.getvalue() and "5/10 tokens" in buf.getvalue() and "1,234 operators" in buf.getvalue()
    show(RunProgress(2000, 10.0, 10.0, 1.0, done=True))
    assert buf.getvalue().endswith("\r\033[K")  # the line is cleared for what follows
