"""Pareto fronts over registry metrics, whole-run or per output token."""

from __future__ import annotations

from simulator.sweep.pareto import pareto_figure, pareto_rows


def _row(label: str, batch: int, latency_s: float, energy_j: float) -> dict[str, object]:
    return {
        "label": label,
        "workload": "decode",
        "latency_s": latency_s,
        "energy_total_j": energy_j,
        "output_tokens": 128.0 * batch,
    }


ROWS = [
    _row("b1", 1, 1.0, 10.0),  # 128 tokens: 7.8 ms and 78 mJ per token
    _row("b8", 8, 1.5, 30.0),  # 1024 tokens: 1.5 ms and 29 mJ per token
    _row("b1-slow", 1, 2.0, 20.0),
    {"label": "failed", "workload": "decode", "latency_s": None, "energy_total_j": None, "error": "x"},
    {"label": "overflow", "workload": "decode", "latency_s": float("inf"), "energy_total_j": 1.0},
]


def test_whole_run_front_makes_the_bigger_batch_look_worse() -> None:
    front = pareto_rows(ROWS)["decode"]
    assert [r["label"] for r in front] == ["b1"]  # whole-run: b1 dominates the 8x bigger batch


def test_per_token_front_shows_the_bigger_batch_dominates() -> None:
    front = pareto_rows(ROWS, per="token")["decode"]
    assert [r["label"] for r in front] == ["b8"]


def test_per_token_figure_labels_its_axes() -> None:
    fig = pareto_figure(ROWS, per="token")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "latency per token (ms/token)"
    assert ax.get_ylabel() == "energy per token (mJ/token)"
    assert "per token" in ax.get_title()


def test_parquet_columns_carry_the_registry_descriptions(tmp_path) -> None:
    import pytest

    pq = pytest.importorskip("pyarrow.parquet", reason="the hetsim[parquet] extra (part of hetsim[test])")
    from simulator.sweep.export import write_parquet

    path = write_parquet(ROWS[:3], ["label", "latency_s", "energy_total_j"], tmp_path / "r.parquet")
    schema = pq.read_schema(path)
    assert schema.field("latency_s").metadata[b"description"].endswith(b"[s]")
    assert b"compute + data movement + static" in schema.field("energy_total_j").metadata[b"description"]
    assert schema.field("label").metadata is None
