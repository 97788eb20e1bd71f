from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from simulator.metrics.hardware import HardwareFacts
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
    segments = plots.energy_segments(run)
    assert sum(s[2] for s in segments) == pytest.approx(run.energy.total_j)
    assert plots.component_kinds(run) == {
        "tensor": "unit",
        "vector": "unit",
        "hbm": "hbm",
        "l2": "sram",
        "hbm-l2": "link",
        "system": "system",
    }


def test_two_memories_of_one_level_get_two_colours(make_run_fn) -> None:
    import dataclasses

    from simulator.metrics.hardware import MemoryFacts

    run = make_run_fn()
    hw = run.hardware
    spad = MemoryFacts("spad", "sram", 2**20, 1e12, 1e12, 1e-12, 1e-12)
    hw = dataclasses.replace(hw, memories={**hw.memories, "spad": spad})
    energy = {**run.energy_by_component_j, "spad": {"compute": 0.0, "data_movement": 0.05, "static": 0.0}}
    run = dataclasses.replace(run, hardware=hw, energy_by_component_j=energy)
    legend = plots.energy_breakdown([run]).axes[0].get_legend()
    colours = {t.get_text(): h.get_facecolor() for t, h in zip(legend.get_texts(), legend.legend_handles, strict=True)}
    assert colours["DM · l2 (sram)"] != colours["DM · spad (sram)"]
    assert len(set(colours.values())) == len(colours)  # every legend entry is one colour


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
    assert [t.get_text() for t in ax.get_yticklabels()] == ["tensor", "vector", "link hbm->l2"]
    assert ax.get_xlabel().startswith("time")
    assert "Timeline" in ax.get_title()


def test_gantt_window_limits_ops(single: ScenarioResult) -> None:
    run = single.runs[0]
    fig = plots.gantt(run, window=(0.0, run.latency_s / 4))
    assert "(11 ops" in fig.axes[0].get_title() or "(10 ops" in fig.axes[0].get_title()


def test_gantt_shows_a_step_from_the_middle_not_the_prefill(make_run_fn) -> None:
    run = make_run_fn(n_ops=40)  # steps 0..4 of 8 operators each; step 0 is the prefill
    start, end, what = plots.gantt_window(run)
    assert what.startswith("step 2")  # the middle of the later steps 1..4
    in_step = [op for op in run.timeline if op.step == 2]
    assert (start, end) == (in_step[0].start_s, max(op.end_s for op in in_step))
    title = plots.gantt(run).axes[0].get_title()
    assert "step 2 (decode[2])" in title
    assert int(title.split(" ops")[0].rsplit("(", 1)[1]) >= 8  # the step's 8 operators (and neighbours touching it)
    assert "step 3" in plots.gantt(run, step=3).axes[0].get_title()
    with pytest.raises(ValueError, match="not in the kept timeline"):
        plots.gantt(run, step=99)


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


def test_roofline_has_one_point_per_kind_and_phase(single: ScenarioResult) -> None:
    run = single.runs[0]
    points = {(p["kind"], p["phase"]): p for p in plots.roofline_points(run)}
    assert ("matmul", "prefill") in points and ("matmul", "decode") in points
    fig = plots.roofline(run, peak_flops_per_s=100e12, bandwidth_bytes_per_s=1e12)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("matmul · prefill") for t in legend)
    assert "marker: decode" in legend


def test_roofline_falls_back_to_whole_run_kind_totals(single: ScenarioResult) -> None:
    run = dataclasses.replace(
        single.runs[0],
        op_stats=(),
        by_kind={"matmul": {"count": 10, "flops": 8e9, "bytes": 4e9, "busy_s": 2e-3}},
    )
    points = plots.roofline_points(run)
    assert [p["kind"] for p in points] == ["matmul"]
    assert points[0]["intensity_flop_per_byte"] == pytest.approx(2.0)
    assert points[0]["attained_flops_per_s"] == pytest.approx(4e12)


def test_roofs_come_from_typed_hardware_facts(scenario: ScenarioResult) -> None:
    peak, bw, memory = plots.run_roofs(scenario.runs[0])
    assert peak == pytest.approx(312e12)
    assert bw == pytest.approx(1.8e12)  # sustained: 2 TB/s × 0.9
    assert memory == "hbm"
    bare = dataclasses.replace(scenario.runs[0], hardware=HardwareFacts())
    assert plots.run_roofs(bare) is None


def test_comparison_has_ratio_annotations(scenario: ScenarioResult) -> None:
    fig = plots.comparison(scenario)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert len(fig.axes) == 4  # latency, energy, tokens/s, FPS
    assert any("latency" in t for t in titles)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("0.50×" in t for t in texts)  # chip-b is twice as fast
    assert any("2.00×" in t for t in texts)
    assert fig.axes[0].get_xlabel() == "latency (ms)"


def test_comparison_colours_only_the_energy_panel_and_its_legend_is_its_own(scenario: ScenarioResult) -> None:
    fig = plots.comparison(scenario)
    latency_ax, energy_ax = fig.axes[:2]
    assert latency_ax.get_legend() is None and fig.legends == []
    assert len({p.get_facecolor() for p in latency_ax.patches}) == 1  # one neutral colour, rows named by run
    assert [t.get_text() for t in energy_ax.get_legend().get_texts()] == ["compute", "data movement", "static"]


def test_comparison_of_twelve_runs_is_not_wide(make_run_fn) -> None:
    runs = [make_run_fn(f"arch-{i}", "decode", n_ops=4) for i in range(12)]
    fig = plots.comparison(runs)
    width_px = fig.get_figwidth() * fig.dpi
    assert width_px <= 1200  # was 4180 px
    png = plots.figure_bytes(fig)
    import struct

    assert struct.unpack(">I", png[16:20])[0] <= 1200


def test_dollar_in_a_run_name_is_text_not_mathtext(make_run_fn) -> None:
    runs = [make_run_fn("chip-$a", "cost $5 $x^{"), make_run_fn("chip-b", r"$\frac{1")]
    result = ScenarioResult("money $", tuple(runs))
    for fig in plots.standard_figures(result).values():
        assert plots.figure_bytes(fig)[:4] == b"\x89PNG"  # renders: no mathtext parse error


def test_overflowing_latency_is_not_drawn(make_run_fn) -> None:
    runs = [make_run_fn(), make_run_fn("chip-b", "decode", latency_s=1e308)]
    for fig in (plots.comparison(runs), plots.latency_breakdown(runs)):
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert any("n/a" in t for t in texts)
        assert not any("inf" in t or "nan" in t for t in texts)
        plots.figure_bytes(fig)


def test_save_figure_writes_png_by_default_svg_on_request(tmp_path: Path, single: ScenarioResult) -> None:
    fig = plots.energy_breakdown(single)
    paths = plots.save_figure(fig, tmp_path / "sub" / "energy")
    assert [p.name for p in paths] == ["energy.png"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    paths = plots.save_figure(fig, tmp_path / "sub" / "energy", formats=("png", "svg"))
    assert "<svg" in paths[1].read_text()


def test_standard_set(scenario: ScenarioResult) -> None:
    names = set(plots.standard_figures(scenario))
    assert {"energy", "latency", "comparison", "gantt-chip-a-decode", "roofline-chip-b-decode"} <= names


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
    assert "DM · dram (component)" in legend  # chip-b's facts do not know it
    assert legend[0] == "compute" and legend[-1] == "static"
    assert all(label.startswith("DM") for label in legend[1:-1])


def test_link_components_are_named_as_the_engine_names_them() -> None:
    from simulator.config.architecture import ArchitectureSpec
    from simulator.hardware.system import System
    from simulator.metrics.hardware import hardware_facts

    arch = ArchitectureSpec.model_validate(
        {
            "name": "x",
            "compute_units": {
                "pl": {"kind": "fabric", "peak": {"int8": "1 TOPS"}, "energy_per_flop": {"int8": "1 pJ/FLOP"}}
            },
            "memories": {
                "lpddr4": {
                    "level": "dram",
                    "capacity": "2 GiB",
                    "bandwidth": "19.2 GB/s",
                    "read_energy": "20 pJ/B",
                    "write_energy": "20 pJ/B",
                }
            },
            "links": [{"between": ["pl", "lpddr4"], "bandwidth": "19.2 GB/s"}],
            "placement": {"weight": "lpddr4", "activation": "lpddr4", "kv_cache": "lpddr4"},
        }
    )
    facts = hardware_facts(System(arch))
    assert facts.component_kind("pl-lpddr4") == "link"  # the ledger's name
    assert facts.component_kind("lpddr4->pl") == "link"  # a timeline track's name
    assert facts.component_kind("lpddr4") == "dram" and facts.component_kind("pl") == "unit"
    assert facts.component_kind("pl.sram") == "sram" and facts.component_kind("pl.registers") == "register"
    assert facts.component_kind("active_idle") == "system" and facts.component_kind("system") == "system"
    assert facts.data_movement_levels() == {
        "lpddr4": "dram",
        "pl-lpddr4": "link",
        "pl.registers": "register",
        "pl.sram": "sram",
    }
    assert facts.component_kind("nothing") == ""
