"""``hetsim sweep --export``: Parquet (typed columns, read back with pyarrow) and CSV; clear errors."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import pytest

from simulator.cli import main

SCENARIO = """\
name: export-sweep
architectures: [a100-80gb]
workloads:
  - {kind: gemm, m: 1, n: 1024, k: 1024}
sweep:
  architectures.0: [a100-80gb, {base: a100-80gb, name: wide, set: {memories.hbm.bandwidth: 4 TB/s}}]
  workloads.0.m: [1, 256]
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    return path


def test_parquet_and_csv_exports_hold_the_rows_of_sweep_csv(tmp_path: Path, scenario: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="the hetsim[parquet] extra (part of hetsim[test])")
    out = tmp_path / "out"
    elsewhere = tmp_path / "elsewhere" / "rows.csv"
    args = ["sweep", str(scenario), "-o", str(out), "--executor", "serial", "-q"]
    assert main([*args, "--export", "results.parquet", "--export", str(elsewhere)]) == 0
    table = pq.read_table(out / "results.parquet")
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert table.num_rows == len(rows) == 4
    assert table.column_names == list(rows[0])
    assert str(table.schema.field("latency_s").type) == "double"
    assert str(table.schema.field("workloads.0.m").type) == "int64"
    assert str(table.schema.field("index").type) == "int64"
    data = table.to_pydict()
    assert data["workloads.0.m"] == [1, 256, 1, 256]
    assert data["architectures.0"][0] == "a100-80gb" and '"name": "wide"' in data["architectures.0"][2]
    assert data["latency_s"] == [float(r["latency_s"]) for r in rows]
    assert data["error"] == [None] * 4
    assert elsewhere.read_text() == (out / "sweep.csv").read_text()


def test_parquet_without_pyarrow_is_a_clear_error_before_running(
    tmp_path: Path, scenario: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    out = tmp_path / "out"
    assert main(["sweep", str(scenario), "-o", str(out), "-q", "--export", "r.parquet"]) == 2
    assert "needs pyarrow, which is not installed: pip install 'hetsim[parquet]'" in capsys.readouterr().err
    assert not out.exists()


def test_an_unknown_export_format_is_a_clear_error(tmp_path: Path, scenario: Path, capsys: Any) -> None:
    assert main(["sweep", str(scenario), "-o", str(tmp_path / "o"), "-q", "--export", "r.xlsx"]) == 2
    assert "--export r.xlsx: expected a file name ending in .csv or .parquet" in capsys.readouterr().err


def test_parquet_schema_is_the_registry_s(tmp_path: Path, scenario: Path) -> None:
    """Every registry metric is a float64 column with its description, even one no run of this sweep has (TPOT)."""
    pq = pytest.importorskip("pyarrow.parquet", reason="the hetsim[parquet] extra (part of hetsim[test])")
    from simulator.metrics.registry import IDENTITY_COLUMNS, METRICS

    out = tmp_path / "out"
    assert main(["sweep", str(scenario), "-o", str(out), "--executor", "serial", "-q", "--export", "r.parquet"]) == 0
    schema = pq.read_schema(out / "r.parquet")
    for m in METRICS:
        field = schema.field(m.name)
        assert str(field.type) == "double", m.name
        assert field.metadata and m.description in field.metadata[b"description"].decode()
    assert [str(schema.field(c).type) for c in IDENTITY_COLUMNS] == ["string"] * 3
    assert pq.read_table(out / "r.parquet").column("tpot_s").null_count == 4  # a GEMM has no TPOT
