from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from simulator.metrics.result import ScenarioResult
from simulator.report import plots


def _bars(ax) -> list:
    return [p for p in ax.patches if p.get_height() > 0 and p.get_facecolor()[3] > 0]


def test_energy_breakdown_stacks_one_bar_per_run(scenario: ScenarioResult) -> None:
    fig = plots.energy_breakdown(scenario)
    ax = fig.axes[0]
    assert "Energy" in ax.get_title()
    assert ax.get_ylabel() == "energy (mJ)"
    assert len(ax.get_xticks()) == len(scenario.runs)
    # compute + DM hbm + DM l2 + DM link + static for each run
    assert len(_bars(ax)) == 5 * len(scenario.runs)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "compute" in legend and "static" in legend
    assert any("hbm" in t and t.startswith("DM") for t in legend)
    assert any("(link)" in t for t in legend)


def test_energy_segments_sum_to_component_total(scenario: ScenarioResult) -> None:
    run = scenario.runs[0]
    segments = plots.energy_segments(run, scenario.resolved)
    assert sum(s[2] for s in segments) == pytest.approx(run.energy.total_j)
    kinds = plots.component_kinds(run, scenario.resolved)
    assert kinds == {
        "tensor": "unit",
        "vector": "unit",
        "hbm": "hbm",
        "l2": "sram",
        "hbm<->l2": "link",
        "system": "system",
    }


def test_latency_breakdown_has_category_and_phase_panels(scenario: ScenarioResult) -> None:
    fig = plots.latency_breakdown(scenario)
    cat_ax, phase_ax = fig.axes[:2]
    assert cat_ax.get_xlabel() == "latency (ms)"
    assert phase_ax.get_xlabel() == "time in phase (ms)"
    assert len(_bars(cat_ax)) == 4 * len(scenario.runs)
    # decode[0] and decode[1] fold into one "decode" segment
    assert len(_bars(phase_ax)) == 2 * len(scenario.runs)
    assert [t.get_text() for t in phase_ax.get_legend().get_texts()] == ["prefill", "decode"]


def test_phase_families_in_execution_order(make_run_fn) -> None:
    import dataclasses

    run = dataclasses.replace(make_run_fn(), latency_by_phase_s={"decode[0]": 1.0, "zeta": 0.5, "prefill": 2.0})
    assert list(plots.latency_by_phase_family(run)) == ["prefill", "decode", "zeta"]


def test_gantt_has_one_row_per_unit_and_link(single: ScenarioResult) -> None:
    run = single.runs[0]
    fig = plots.gantt(run)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["tensor", "vector", "link hbm<->l2"]
    assert ax.get_xlabel().startswith("time (")
    assert "Timeline" in ax.get_title()


def test_gantt_window_limits_ops(single: ScenarioResult) -> None:
    run = single.runs[0]
    fig = plots.gantt(run, window=(0.0, run.latency_s / 4))
    assert "(11 ops" in fig.axes[0].get_title() or "(10 ops" in fig.axes[0].get_title()


def test_gantt_without_timeline_says_so(make_run_fn) -> None:
    fig = plots.gantt(make_run_fn(n_ops=0))
    assert any("no timeline" in t.get_text() for t in fig.axes[0].texts)


def test_roofline_places_kinds_and_ridge(single: ScenarioResult) -> None:
    run = single.runs[0]
    points = {p["kind"]: p for p in plots.roofline_points(run)}
    assert set(points) == {"matmul", "attention", "norm", "elementwise"}
    assert points["matmul"]["intensity_flop_per_byte"] == pytest.approx(2e9 / 4e6)
    fig = plots.roofline(run, peak_flops_per_s=100e12, bandwidth_bytes_per_s=1e12)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "arithmetic intensity (FLOP/byte)"
    assert "TFLOP/s" in ax.get_ylabel()
    assert any("ridge 100 FLOP/B" in t.get_text() for t in ax.texts)
    with pytest.raises(ValueError):
        plots.roofline(run, peak_flops_per_s=0, bandwidth_bytes_per_s=1e12)


def test_roofline_prefers_whole_run_kind_totals_over_the_timeline_window(single: ScenarioResult) -> None:
    run = dataclasses.replace(
        single.runs[0],
        by_kind={"matmul": {"count": 10, "flops": 8e9, "bytes": 4e9, "busy_s": 2e-3}},
    )
    points = plots.roofline_points(run)
    assert [p["kind"] for p in points] == ["matmul"]
    assert points[0]["intensity_flop_per_byte"] == pytest.approx(2.0)
    assert points[0]["attained_flops_per_s"] == pytest.approx(4e12)


def test_architecture_roofs_from_resolved(scenario: ScenarioResult) -> None:
    peak, bw = plots.architecture_roofs(scenario.resolved, scenario.runs[0])
    assert peak == pytest.approx(312e12)
    assert bw == pytest.approx(2e12 * 0.9)
    assert plots.architecture_roofs({}, scenario.runs[0]) is None
    assert plots.roof_memory(scenario.resolved, scenario.runs[0]) == "hbm"


def test_comparison_has_ratio_annotations(scenario: ScenarioResult) -> None:
    fig = plots.comparison(scenario)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 4  # latency, energy, tokens/s, FPS
    assert any("latency" in t for t in titles)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("0.50×" in t for t in texts)  # chip-b is twice as fast
    assert any("2.00×" in t for t in texts)
    assert fig.axes[0].get_ylabel() == "latency (ms)"


def test_save_figure_writes_png_and_svg(tmp_path: Path, single: ScenarioResult) -> None:
    paths = plots.save_figure(plots.energy_breakdown(single), tmp_path / "sub" / "energy")
    assert [p.name for p in paths] == ["energy.png", "energy.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in paths[1].read_text()


def test_write_plots_standard_set(tmp_path: Path, scenario: ScenarioResult) -> None:
    paths = plots.write_plots(scenario, tmp_path)
    names = {p.name for p in paths}
    assert {
        "energy.png",
        "latency.svg",
        "comparison.png",
        "gantt-chip-a-decode.png",
        "roofline-chip-b-decode.svg",
    } <= names
    assert all(p.exists() for p in paths)


def test_plots_are_pure_figures(scenario: ScenarioResult) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    for fig in plots.standard_figures(scenario).values():
        assert isinstance(fig, Figure)
    assert plt.get_fignums() == before


def test_empty_scenario_has_no_figures() -> None:
    assert plots.standard_figures(ScenarioResult("empty", ())) == {}


def test_small_ratios_stay_readable() -> None:
    assert plots.fmt_ratio(0.5) == "0.50×" and plots.fmt_ratio(2.0) == "2.00×"
    assert plots.fmt_ratio(0.000904) == "0.0009×"  # was "0.00×": an FPGA's energy next to an A100's
    assert plots.fmt_ratio(0.0) == "0.00×"


def test_energy_legend_in_stack_order(make_run_fn) -> None:
    first = make_run_fn("chip-a", "decode")
    # a later run with a memory the first run lacks: its entry still comes before "static"
    extra = {**first.energy_by_component_j, "dram": {"compute": 0.0, "data_movement": 1e-3, "static": 0.0}}
    runs = [first, dataclasses.replace(make_run_fn("chip-b", "decode"), energy_by_component_j=extra)]
    legend = [t.get_text() for t in plots.energy_breakdown(runs).axes[0].get_legend().get_texts()]
    assert "DM · dram (memory)" in legend
    assert legend[0] == "compute" and legend[-1] == "static"
    assert all(label.startswith("DM") for label in legend[1:-1])


def test_link_components_are_named_as_the_engine_names_them(make_run_fn) -> None:
    resolved = {"architectures": [{"name": "x", "links": [{"between": ["pl", "lpddr4"]}]}]}
    run = dataclasses.replace(
        make_run_fn(), architecture="x", energy_by_component_j={"pl-lpddr4": {"data_movement": 1.0}}
    )
    assert plots.component_kinds(run, resolved) == {"pl-lpddr4": "link"}
