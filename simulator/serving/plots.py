"""Serving plots: latency against offered load (the knee) and a timeline of batches.

Pure functions from results to matplotlib figures (the runner saves them with the standard set).
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from simulator.metrics.result import RunResult, ScenarioResult
from simulator.report.plots import _new_figure, _style_axes, run_labels, slug


def _serving(runs: Sequence[RunResult]) -> list[RunResult]:
    return [r for r in runs if r.serving is not None]


def load_points(runs: Sequence[RunResult]) -> dict[str, list[tuple[float, RunResult]]]:
    """Serving runs grouped by architecture and algorithm, sorted by offered rate (requests/s)."""
    groups: dict[str, list[tuple[float, RunResult]]] = {}
    for run in _serving(runs):
        assert run.serving is not None
        rate = run.serving.get("offered_rate_per_s")
        if rate is None:
            continue
        key = f"{run.architecture} · {run.header.get('algorithm', run.workload)}"
        groups.setdefault(key, []).append((float(rate), run))
    return {k: sorted(v, key=lambda p: p[0]) for k, v in sorted(groups.items())}


def knee(result: ScenarioResult | Sequence[RunResult]) -> Figure:
    """TTFT and TPOT (p50 solid, p99 dashed) and served requests/s against offered load, per architecture · algorithm.

    The knee is where the served rate stops following the offered one and the latencies turn upward.
    """
    runs = result.runs if isinstance(result, ScenarioResult) else result
    fig = _new_figure(12.0, 3.6)
    axes = fig.subplots(1, 3)
    for ax, metric, title in ((axes[0], "ttft", "time to first token"), (axes[1], "tpot", "time per output token")):
        for label, points in load_points(runs).items():
            xs = [rate for rate, _ in points]
            p50 = [(r.serving or {}).get(f"{metric}_p50_s") for _, r in points]
            p99 = [(r.serving or {}).get(f"{metric}_p99_s") for _, r in points]
            (line,) = ax.plot(xs, [v if v is not None else float("nan") for v in p50], marker="o", label=label)
            ax.plot(xs, [v if v is not None else float("nan") for v in p99], ls="--", color=line.get_color())
        ax.set_xlabel("offered load (requests/s)")
        ax.set_ylabel(f"{metric.upper()} (s)")
        ax.set_yscale("log")
        ax.set_title(f"{title}: p50 (solid), p99 (dashed)", fontsize=9)
        _style_axes(ax)
    ax = axes[2]
    top = 0.0
    for label, points in load_points(runs).items():
        xs = [rate for rate, _ in points]
        ys = [(r.serving or {}).get("requests_per_s") or float("nan") for _, r in points]
        ax.plot(xs, ys, marker="o", label=label)
        top = max(top, *xs)
    ax.plot([0, top], [0, top], color="#8C8C8C", lw=0.8, ls=":", label="served = offered")
    ax.set_xlabel("offered load (requests/s)")
    ax.set_ylabel("served (requests/s)")
    ax.set_title("throughput", fontsize=9)
    _style_axes(ax)
    ax.legend(fontsize=7, frameon=False)
    return fig


def batch_timeline(run: RunResult) -> Figure:
    """Sequences per step, tokens per step (prefill part shaded) and KV-cache occupancy over time."""
    fig = _new_figure(9.0, 4.6)
    ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True)
    series = (run.serving or {}).get("series", {})
    t = series.get("start_s", [])
    ax1.step(t, series.get("sequences", []), where="post", lw=0.8)
    ax1.set_ylabel("sequences")
    ax2.step(t, series.get("tokens", []), where="post", lw=0.8, label="all tokens")
    ax2.step(t, series.get("prefill_tokens", []), where="post", lw=0.8, label="prefill tokens")
    ax2.set_ylabel("tokens / step")
    ax2.legend(fontsize=7, frameon=False)
    ax3.step(t, [100 * x for x in series.get("kv_occupancy", [])], where="post", lw=0.8, color="#DD8452")
    ax3.set_ylabel("KV cache (%)")
    ax3.set_xlabel("time (s)")
    for ax in (ax1, ax2, ax3):
        _style_axes(ax)
    fig.suptitle(f"{run.architecture} · {run.workload}: batches over time", fontsize=10)
    return fig


def serving_figures(result: ScenarioResult) -> dict[str, Figure]:
    """``knee`` when serving runs at two or more loads share an architecture; a ``batches-<run>`` per serving run."""
    figures: dict[str, Figure] = {}
    serving = _serving(result.runs)
    if not serving:
        return figures
    if any(len(points) > 1 for points in load_points(serving).values()):
        figures["knee"] = knee(result)
    for run, label in zip(serving, run_labels(serving, sep="-"), strict=True):
        figures[f"batches-{slug(label)}"] = batch_timeline(run)
    return figures


__all__ = ["batch_timeline", "knee", "load_points", "serving_figures"]
