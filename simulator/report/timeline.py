"""Chrome trace-event export of run timelines, for the Perfetto UI (ui.perfetto.dev) or chrome://tracing.

The document is ``{"traceEvents": [...], "metadata": {...}, "displayTimeUnit": "ns"}``. Each
(architecture, workload) run is a process (``pid``); each compute unit and each link is a thread
(``tid``) named by ``thread_name`` metadata events. Operators and transfers are complete events
(``"ph": "X"``) with ``ts``/``dur`` in microseconds and the operator's id, kind, phase, step,
FLOPs and bytes in ``args``.

Size is bounded twice: the engine keeps only a window of each run (by default the prefill's first
operators and one decode step from the middle of the run; see :class:`~simulator.metrics.result.TimelineWindow`),
and ``max_events`` samples evenly across the kept events when that is still too many.
``metadata`` states both for every run (``window``: the mode, steps and limit, in words too), so a
reader knows what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulator.metrics.result import FlowRecord, OpRecord, RunResult, ScenarioResult

_US = 1e6


def _sample(items: Sequence[Any], budget: int) -> list[Any]:
    """``budget`` items spread evenly over ``items`` (all of them when they fit), keeping order."""
    n = len(items)
    if budget >= n:
        return list(items)
    if budget <= 0:
        return []
    return [items[(i * n) // budget] for i in range(budget)]


def _budgets(sizes: Sequence[int], max_events: int | None) -> list[int]:
    """Split ``max_events`` over groups in proportion to their sizes (each non-empty group gets ≥ 1 when possible)."""
    total = sum(sizes)
    if max_events is None or total <= max_events:
        return list(sizes)
    budgets = [min(size, (size * max_events) // total) for size in sizes]
    spare = max_events - sum(budgets)
    # the spare goes first to non-empty groups left with nothing, then to the largest groups
    for i in sorted(range(len(sizes)), key=lambda j: (budgets[j] > 0 or sizes[j] == 0, -sizes[j])):
        if spare <= 0:
            break
        if budgets[i] < sizes[i]:
            budgets[i] += 1
            spare -= 1
    return budgets


def _op_event(op: OpRecord, pid: int, tid: int) -> dict[str, Any]:
    return {
        "name": op.name,
        "cat": op.kind,
        "ph": "X",
        "ts": op.start_s * _US,
        "dur": max(op.end_s - op.start_s, 0.0) * _US,
        "pid": pid,
        "tid": tid,
        "args": {
            "op_id": op.op_id,
            "kind": op.kind,
            "phase": op.phase,
            "step": op.step,
            "flops": op.flops,
            "bytes": op.bytes,
            "compute_us": op.compute_s * _US,
            "transfer_us": op.transfer_s * _US,
            "host_us": op.host_s * _US,
        },
    }


def _flow_event(flow: FlowRecord, pid: int, tid: int, ops: dict[int, OpRecord]) -> dict[str, Any]:
    op = ops.get(flow.op_id)
    args: dict[str, Any] = {"op_id": flow.op_id, "bytes": flow.bytes, "link": flow.link}
    if op is not None:
        args.update(kind=op.kind, phase=op.phase, step=op.step)
    duration = max(flow.end_s - flow.start_s, 0.0)
    if duration > 0:
        args["achieved_bytes_per_s"] = flow.bytes / duration
    return {
        "name": f"transfer op {flow.op_id}" + (f" ({op.name})" if op else ""),
        "cat": "transfer",
        "ph": "X",
        "ts": flow.start_s * _US,
        "dur": duration * _US,
        "pid": pid,
        "tid": tid,
        "args": args,
    }


def _meta(name: str, pid: int, tid: int | None, args: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = {"name": name, "ph": "M", "pid": pid, "args": args}
    if tid is not None:
        event["tid"] = tid
    return event


def chrome_trace(
    result: ScenarioResult | Sequence[RunResult], *, max_events: int | None = None, scenario: str | None = None
) -> dict[str, Any]:
    """The Chrome trace-event document of every run's kept timeline.

    ``max_events`` bounds the number of operator and transfer events in total (metadata events
    are extra); runs share it in proportion to their kept events, and each run keeps an even
    sample over time. ``metadata.runs`` states, per run, the window kept, the counts kept and
    emitted, and the sampling stride.
    """
    if max_events is not None and max_events < 0:
        raise ValueError(f"max_events(={max_events}) must be >= 0")
    runs = result.runs if isinstance(result, ScenarioResult) else tuple(result)
    name = scenario or (result.scenario if isinstance(result, ScenarioResult) else "")
    sizes = [len(run.timeline) + len(run.flow_timeline) for run in runs]
    budgets = _budgets(sizes, max_events)
    events: list[dict[str, Any]] = []
    runs_meta: list[dict[str, Any]] = []
    for index, (run, budget) in enumerate(zip(runs, budgets, strict=True)):
        pid = index + 1
        ops = sorted(run.timeline, key=lambda o: (o.start_s, o.op_id))
        flows = sorted(run.flow_timeline, key=lambda f: (f.start_s, f.op_id, f.link))
        units: list[str] = []
        for op in ops:
            if op.unit not in units:
                units.append(op.unit)
        links = sorted({f.link for f in flows})
        tids = {track: i + 1 for i, track in enumerate([*units, *(f"link:{name}" for name in links)])}
        events.append(_meta("process_name", pid, None, {"name": f"{run.architecture} × {run.workload}"}))
        events.append(_meta("process_sort_index", pid, None, {"sort_index": pid}))
        for unit in units:
            events.append(_meta("thread_name", pid, tids[unit], {"name": unit}))
            events.append(_meta("thread_sort_index", pid, tids[unit], {"sort_index": tids[unit]}))
        for link in links:
            tid = tids[f"link:{link}"]
            events.append(_meta("thread_name", pid, tid, {"name": f"link {link}"}))
            events.append(_meta("thread_sort_index", pid, tid, {"sort_index": tid}))
        op_budget = _budgets([len(ops), len(flows)], budget)
        kept_ops = _sample(ops, op_budget[0])
        kept_flows = _sample(flows, op_budget[1])
        by_id = {op.op_id: op for op in ops}
        events += [_op_event(op, pid, tids[op.unit]) for op in kept_ops]
        events += [_flow_event(flow, pid, tids[f"link:{flow.link}"], by_id) for flow in kept_flows]
        starts = [o.start_s for o in ops] + [f.start_s for f in flows]
        ends = [o.end_s for o in ops] + [f.end_s for f in flows]
        runs_meta.append(
            {
                "pid": pid,
                "architecture": run.architecture,
                "workload": run.workload,
                "latency_s": run.latency_s,
                "operators_total": run.operators,
                "operators_kept": len(ops),
                "flows_kept": len(flows),
                "window": run.timeline_window.to_json(),
                "window_start_s": min(starts) if starts else None,
                "window_end_s": max(ends) if ends else None,
                "window_complete": len(ops) >= run.operators,
                "operators_emitted": len(kept_ops),
                "flows_emitted": len(kept_flows),
                "sampled": len(kept_ops) < len(ops) or len(kept_flows) < len(flows),
                "sample_stride": (len(ops) + len(flows)) / budget if budget else None,
                "tracks": {str(tid): track for track, tid in tids.items()},
            }
        )
    metadata = {
        "generator": "hetsim",
        "scenario": name,
        "time_unit": "us",
        "max_events": max_events,
        "window": "each run keeps the operators its timeline window selects (runs[i].window: mode, steps, "
        "limit per step, in words in runs[i].window.description); operators_kept of operators_total are kept and "
        "window_start_s..window_end_s is the simulated time they cover",
        "sampling": "when max_events is set and smaller than the kept events, an even sample over time is "
        "emitted (operators_emitted/flows_emitted)",
        "runs": runs_meta,
    }
    return {"traceEvents": events, "displayTimeUnit": "ns", "metadata": metadata}


def timeline_json(result: ScenarioResult | Sequence[RunResult], *, max_events: int | None = None) -> str:
    """:func:`chrome_trace` of ``result`` as compact JSON text."""
    from simulator.report.writers import finite_json

    document = finite_json(chrome_trace(result, max_events=max_events))  # JSON has no inf/NaN: null
    return json.dumps(document, separators=(",", ":"), allow_nan=False)


def write_timeline(
    result: ScenarioResult | Sequence[RunResult], path: str | Path, *, max_events: int | None = None
) -> Path:
    """Write :func:`timeline_json` to ``path`` safely (:mod:`simulator.outputs`); returns the path."""
    from simulator.outputs import OutputFolder

    target = Path(path)
    with OutputFolder(target.parent) as folder:
        return folder.write_text(target.name, timeline_json(result, max_events=max_events))
