from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator.metrics.result import ScenarioResult
from simulator.report.html import render_html, write_html


def test_report_is_self_contained(tmp_path: Path, scenario: ScenarioResult) -> None:
    path = write_html(scenario, tmp_path / "out" / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    # no external assets: every src/href is a data: URI or an in-page anchor
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", text)
    assert refs
    assert all(r.startswith(("data:", "#")) for r in refs), [r for r in refs if not r.startswith(("data:", "#"))]
    assert not re.search(r"""(?:src|href)\s*=\s*["']?https?:""", text)
    assert "<link " not in text and "<script" not in text and "@import" not in text


def test_report_has_tables_images_and_sections(scenario: ScenarioResult) -> None:
    text = render_html(scenario)
    assert text.count("<table>") >= 5
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    # energy, latency, comparison, and a Gantt + roofline per run
    assert len(images) == 3 + 2 * len(scenario.runs)
    for heading in ("Summary", "Comparison", "Runs", "Model assumptions", "Resolved scenario"):
        assert f">{heading}</h2>" in text
    assert "chip-a" in text and "skynet" in text
    # model assumptions: sources and energy numbers from the runs' typed hardware facts
    assert "Horowitz, ISSCC 2014" in text
    assert "read 31.2 pJ/B, write 31.2 pJ/B" in text  # 3.9 pJ/bit
    assert "Runtime: graphs" in text and "gpt-fast" in text
    assert "No sources given" in text  # chip-b has none
    # resolved scenario as YAML
    assert "architectures:" in text and "name: synthetic" in text


def test_single_run_has_no_comparison(single: ScenarioResult) -> None:
    text = render_html(single)
    assert ">Comparison</h2>" not in text
    assert ">Summary</h2>" in text


def test_html_escapes_names(make_run_fn) -> None:
    result = ScenarioResult("<x>", (make_run_fn("a<b>", "w&x", n_ops=0),))
    text = render_html(result)
    assert "a&lt;b&gt;" in text and "w&amp;x" in text
    assert "a<b>" not in text
    assert "hetsim report — &lt;x&gt;" in text


def test_report_reads_no_yaml_keys(scenario: ScenarioResult) -> None:
    """Hardware in the report comes from the runs' facts: an empty resolved mapping changes only the YAML dump."""
    import dataclasses

    bare = dataclasses.replace(scenario, resolved={})
    with_yaml = render_html(scenario)
    without = render_html(bare)
    assert with_yaml.split('<h2 id="scenario">')[0] == without.split('<h2 id="scenario">')[0]


def test_utilisation_is_called_busy_time_beside_achieved_flops(single: ScenarioResult) -> None:
    text = render_html(single)
    assert "busy share of latency" in text and "achieved FLOP/s (busy)" in text
    assert "time, not FLOPs" in text
    run = single.runs[0]
    achieved = run.achieved_flops_per_s()["tensor"]
    assert achieved == pytest.approx(run.flops_by_unit["tensor"] / run.busy_by_unit_s["tensor"])
    assert "312 TFLOP/s (fp16)" in text  # the tensor unit's peak, in the dtype it ran


def test_one_roofline_ratio_format(scenario: ScenarioResult) -> None:
    """The roofline ratio is shown one way: a percentage of the bound reached, everywhere."""
    text = render_html(scenario)
    assert "of roofline" in text and "60.0%" in text
    assert "roofline / latency" not in text and "×0.6" not in text


def test_overflowing_latency_renders_without_inf_or_nan(make_run_fn) -> None:
    result = ScenarioResult("huge", (make_run_fn(), make_run_fn("chip-b", latency_s=1e308)))
    text = render_html(result).split('<h2 id="scenario">')[0]
    body = re.sub(r'src="data:[^"]*"', "", text).lower()
    assert "inf" not in re.sub(r"info", "", body) and "nan" not in body
