"""Serving (issue #10): arrivals, the KV block pool, step costs against un-reduced replays, the scheduler's
admission, preemption and policies, determinism, the energy ledger, and the physics lessons under load."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simulator.cli import main
from simulator.config.loader import load_architecture, load_runtime
from simulator.errors import UserError
from simulator.metrics.result import RunResult
from simulator.serving import simulate_serving
from simulator.serving.kvcache import BlockPool
from simulator.serving.metrics import SERVING_KEYS
from simulator.serving.run import idle_power_w, step_model
from simulator.serving.stepcost import KV_BUCKET_TOKENS, StepCostModel
from workloads.serving import (
    Request,
    ServingSpec,
    draw_lengths,
    generate_requests,
    parse_rate,
    parse_seconds,
    read_request_trace,
)
from workloads.serving_step import StepShape

A100 = load_architecture("a100-80gb")
GRAPHS = load_runtime("graphs")


def spec(**over: Any) -> ServingSpec:
    data: dict[str, Any] = {
        "kind": "serving",
        "model": "vicuna-7b",
        "algorithm": "baseline",
        "requests": 60,
        "arrivals": {"process": "poisson", "rate": "2/s"},
        "prompt_tokens": 256,
        "generate_tokens": 64,
        "seed": 1,
    }
    data.update(over)
    return ServingSpec.model_validate(data)


def serve(s: ServingSpec, **kw: Any) -> RunResult:
    return simulate_serving(A100, s, GRAPHS, **kw)


# --- inputs -----------------------------------------------------------------------------------


def test_quantities_need_units() -> None:
    assert parse_rate("2/s") == 2.0
    assert parse_rate("120/min") == 2.0
    assert parse_seconds("500 ms") == 0.5
    for bad in ("2", 2, "2/fortnight", "-1/s"):
        with pytest.raises(ValueError, match="rate with its unit"):
            parse_rate(bad)
    with pytest.raises(ValueError, match="duration with its unit"):
        parse_seconds("10")


def test_poisson_arrivals_have_the_rate_and_repeat_with_the_seed() -> None:
    reqs = generate_requests(spec(requests=4000, arrivals={"process": "poisson", "rate": "4/s"}))
    gaps = np.diff([0.0] + [r.arrival_s for r in reqs])
    assert gaps.mean() == pytest.approx(0.25, rel=0.05)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.06)
    assert reqs == generate_requests(spec(requests=4000, arrivals={"process": "poisson", "rate": "4/s"}))
    assert reqs != generate_requests(spec(requests=4000, arrivals={"process": "poisson", "rate": "4/s"}, seed=2))


def test_gamma_arrivals_have_the_cv() -> None:
    reqs = generate_requests(spec(requests=6000, arrivals={"process": "gamma", "rate": "4/s", "cv": 3}))
    gaps = np.diff([0.0] + [r.arrival_s for r in reqs])
    assert gaps.mean() == pytest.approx(0.25, rel=0.1)
    assert gaps.std() / gaps.mean() == pytest.approx(3.0, rel=0.1)


def test_duration_stops_arrivals() -> None:
    reqs = generate_requests(spec(requests=None, duration="30 s"))
    assert reqs and all(r.arrival_s < 30 for r in reqs)
    assert len(reqs) == pytest.approx(60, rel=0.35)


def test_length_distributions_stay_in_range() -> None:
    rng = np.random.Generator(np.random.PCG64(0))
    s = spec(prompt_tokens={"dist": "lognormal", "mean": 200, "sigma": 0.5, "max": 10_000})
    xs = draw_lengths(s.prompt_tokens, 20_000, rng)
    assert np.mean(xs) == pytest.approx(200, rel=0.03)
    clipped = spec(prompt_tokens={"dist": "lognormal", "mean": 500, "max": 600}).prompt_tokens
    assert max(draw_lengths(clipped, 2000, rng)) == 600
    uni = draw_lengths(spec(prompt_tokens={"dist": "uniform", "min": 5, "max": 9}).prompt_tokens, 2000, rng)
    assert set(uni) == {5, 6, 7, 8, 9}
    preset = draw_lengths("chat-output", 500, rng)
    assert min(preset) >= 1 and max(preset) <= 512


def test_request_trace_file(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text(
        '{"arrival_s": 0.5, "prompt_tokens": 100, "generate_tokens": 10}\n'
        '{"arrival_s": 1.0, "prompt_tokens": 50, "generate_tokens": 5}\n'
    )
    assert read_request_trace(path) == [Request(0, 0.5, 100, 10), Request(1, 1.0, 50, 5)]
    path.write_text('{"arrival_s": 0.5, "prompt_tokens": 100}\n')
    with pytest.raises(ValueError, match=r"requests.jsonl:1: expected an object with arrival_s"):
        read_request_trace(path)


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"requests": None}, "give `requests` or `duration`"),
        ({"generate_tokens": None}, "give `prompt_tokens` and `generate_tokens`"),
        ({"arrivals": {"trace": "r.jsonl"}}, "a request trace gives every request's lengths"),
        ({"medusa": {"heads": 4}}, "`medusa` keys given but algorithm is 'baseline'"),
        ({"arrivals": {"process": "poisson"}}, "with `rate`"),
        ({"prompt_tokens": "sharegpt"}, "unknown length preset 'sharegpt'"),
        ({"algorithm": "medusa", "medusa": {"tree": "nope"}}, "tree"),
        ({"algorithm": "snapkv", "snapkv": {"capacity": 16, "window": 32}}, "must exceed window"),
    ],
)
def test_bad_specs_say_what_is_wrong(over: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec(**over)


def test_scenario_errors_name_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\narchitectures: [a100-80gb]\nworkloads:\n  - {kind: serving, model: vicuna-7b, "
        "requests: 10, arrivals: {process: poisson, rate: 2}, prompt_tokens: 8, generate_tokens: 8}\n"
    )
    assert main(["run", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "workloads[0].arrivals.rate" in err and "'2/s'" in err
    path.write_text(
        "name: bad\narchitectures: [a100-80gb]\nworkloads:\n  - {kind: serving, model: vicuna-7b, "
        "arrivals: {trace: nowhere.jsonl}}\n"
    )
    assert main(["run", str(path), "-o", str(tmp_path / "out")]) == 2
    assert "workloads[0].arrivals.trace: request trace not found" in capsys.readouterr().err


# --- KV blocks and step costs -----------------------------------------------------------------


def test_block_pool_accounts_every_block() -> None:
    pool = BlockPool(10, 16, 1.0)
    assert pool.blocks_for(0) == 0 and pool.blocks_for(16) == 1 and pool.blocks_for(17) == 2
    pool.grow(1, 40)
    pool.grow(2, 16)
    assert (pool.held, pool.free) == ({1: 3, 2: 1}, 6)
    assert not pool.can_grow(2, 16 * 8) and pool.can_grow(2, 16 * 7)
    pool.shrink(1, 10)
    assert pool.held[1] == 1 and pool.free == 8
    assert pool.release(1) == 1 and pool.release(1) == 0
    assert pool.free == 9 and pool.peak_used == 4


@pytest.mark.parametrize("algorithm", ["baseline", "medusa", "snapkv"])
def test_reduced_step_costs_equal_full_replays(algorithm: str) -> None:
    """Layer extrapolation and decode-KV interpolation (stepcost's two reductions) against whole replays."""
    s = spec(algorithm=algorithm, **({"snapkv": {"capacity": 256}} if algorithm == "snapkv" else {}))
    model = step_model(s)
    cached = StepCostModel(A100, GRAPHS, None, model)
    shapes = [
        StepShape(8, 8 * 300 + 77),
        StepShape(prefill=((256, 0),), samples=1, select=(256,) if algorithm == "snapkv" else ()),
        StepShape(5, 1501, ((200, 100), (256, 0)), 1),
        StepShape(3, 3 * KV_BUCKET_TOKENS * 2),
    ]
    for shape in shapes:
        got, want = cached.cost(shape), cached.full(shape)
        assert got.latency_s == pytest.approx(want.latency_s, rel=1e-9)
        assert got.energy_j == pytest.approx(want.energy_j, rel=1e-9)
        for comp, cats in want.energy_by_component_j.items():
            for cat, j in cats.items():
                assert got.energy_by_component_j[comp][cat] == pytest.approx(j, rel=1e-9, abs=1e-12)
        assert got.flops == pytest.approx(want.flops, rel=1e-9)
        for level, j in want.energy_by_level_j.items():
            assert got.energy_by_level_j[level] == pytest.approx(j, rel=1e-9, abs=1e-12)


def test_a_bigger_batch_costs_more_per_step_but_less_per_token() -> None:
    cm = StepCostModel(A100, GRAPHS, None, step_model(spec()))
    one, many = cm.cost(StepShape(1, 300)), cm.cost(StepShape(32, 32 * 300))
    assert one.latency_s < many.latency_s < 32 * one.latency_s
    assert many.energy_j / 32 < one.energy_j / 3  # ML.ENERGY: batching cuts J/token several-fold


# --- the scheduler ----------------------------------------------------------------------------


def test_same_seed_same_result() -> None:
    a, b = serve(spec()), serve(spec())
    assert a.flat_metrics() | {"wall_s": 0} == b.flat_metrics() | {"wall_s": 0}
    assert a.serving is not None and b.serving is not None
    assert a.serving["series"] == b.serving["series"]
    assert serve(spec(seed=2)).flat_metrics()["ttft_p99_s"] != a.flat_metrics()["ttft_p99_s"]


def test_metrics_are_consistent() -> None:
    r = serve(spec(requests=40, arrivals={"process": "gamma", "rate": "3/s", "cv": 2}))
    m = r.flat_metrics()
    for key in SERVING_KEYS:
        assert m[key] is not None and m[key] > 0, key
    assert m["ttft_p50_s"] <= m["ttft_p90_s"] <= m["ttft_p99_s"]
    assert m["tpot_p50_s"] <= m["tpot_p90_s"] <= m["tpot_p99_s"]
    assert m["e2e_p50_s"] <= m["e2e_p99_s"]
    assert m["completed_requests"] == 40
    assert m["tokens_per_s"] == pytest.approx(40 * 64 / r.latency_s)
    assert m["energy_per_token_j"] == pytest.approx(r.energy.total_j / (40 * 64))
    assert m["avg_power_w"] == pytest.approx(r.energy.total_j / r.latency_s)
    assert m["output_tokens"] == 40 * 64
    # one ledger: parts sum to the total by component and by phase; latency categories sum to the span
    assert sum(sum(c.values()) for c in r.energy_by_component_j.values()) == pytest.approx(r.energy.total_j)
    assert sum(sum(c.values()) for c in r.energy_by_phase_j.values()) == pytest.approx(r.energy.total_j)
    assert sum(r.energy_by_level_j.values()) == pytest.approx(r.energy.total_j)
    idle_w = sum(idle_power_w(A100).values())
    assert r.energy_by_phase_j["idle"]["static"] == pytest.approx(idle_w * r.latency_by_phase_s["idle"])
    assert sum(r.latency_by_category_s.values()) == pytest.approx(r.latency_s)
    assert sum(r.latency_by_phase_s.values()) == pytest.approx(r.latency_s)
    assert r.latency_s >= r.roofline_latency_s
    assert all(busy <= r.latency_s for busy in r.busy_by_unit_s.values())


def test_a_prompt_that_can_never_fit_is_rejected_not_waited_for() -> None:
    reqs = [Request(0, 0.0, 256, 16), Request(1, 0.1, 500_000, 16), Request(2, 0.2, 256, 16)]
    s = spec(model="lwm-text-chat-1m")
    r = serve(s, requests=reqs)
    assert r.serving is not None
    assert r.serving["completed_requests"] == 2 and r.serving["rejected_requests"] == 1
    assert "request 1: prompt 500000 + output 16 tokens need" in r.serving["rejections"][0]
    assert "can never be served" in r.serving["rejections"][0]
    with pytest.raises(
        UserError,
        match="every request was rejected: request 0: prompt 3000 \\+ output 16 tokens "
        "exceed the model's context of 2048",
    ):
        serve(spec(), requests=[Request(0, 0.0, 3000, 16)])


def test_memory_pressure_preempts_and_every_request_still_finishes() -> None:
    # 0.2 of 80 GB leaves ~2.5 GB of KV cache (~4,800 tokens): 8 requests of up to 1,000 tokens cannot all stay
    base = {
        "requests": 24,
        "arrivals": {"process": "poisson", "rate": "50/s"},
        "prompt_tokens": 500,
        "generate_tokens": 500,
    }
    for mode in ("recompute", "swap"):
        r = serve(spec(**base, scheduler={"memory_fraction": 0.2, "preemption": mode}))
        assert r.serving is not None
        assert r.serving["completed_requests"] == 24
        assert r.serving["preemptions"] > 0
        assert r.serving["peak_kv_occupancy"] <= 1.0
        assert ("swap" in r.latency_by_phase_s) == (mode == "swap")


def test_static_batching_waits_where_continuous_batching_does_not() -> None:
    cont = serve(spec(requests=40, arrivals={"process": "poisson", "rate": "4/s"}))
    static = serve(spec(requests=40, arrivals={"process": "poisson", "rate": "4/s"}, scheduler={"policy": "static"}))
    assert cont.serving is not None and static.serving is not None
    assert cont.serving["e2e_p50_s"] < static.serving["e2e_p50_s"]
    assert cont.serving["completed_requests"] == static.serving["completed_requests"] == 40


def test_chunked_prefill_off_rejects_prompts_longer_than_a_step() -> None:
    r = serve(
        spec(scheduler={"chunked_prefill": False, "max_batched_tokens": 1024}),
        requests=[Request(0, 0.0, 1500, 4), Request(1, 0.0, 100, 4)],
    )
    assert r.serving is not None and r.serving["rejected_requests"] == 1
    assert "exceeds max_batched_tokens (1024) and chunked_prefill is off" in r.serving["rejections"][0]


# --- lessons under load -----------------------------------------------------------------------


def _closed_batch(algorithm: str, batch: int) -> RunResult:
    """``batch`` requests at once, served as one static batch: the batch size is exactly ``batch``."""
    return serve(
        spec(algorithm=algorithm, generate_tokens=128, scheduler={"policy": "static", "max_sequences": batch}),
        requests=[Request(i, 0.0, 256, 128) for i in range(batch)],
    )


def test_medusa_speedup_falls_with_batch_size() -> None:
    """Memory-bound decode becomes compute-bound as the batch grows: the tree's extra tokens stop being free."""
    speedups = []
    for batch in (1, 4, 16, 64, 128):
        base, med = _closed_batch("baseline", batch), _closed_batch("medusa", batch)
        assert base.tokens_per_s and med.tokens_per_s
        assert base.batch == med.batch == batch
        speedups.append(med.tokens_per_s / base.tokens_per_s)
    assert speedups[0] > 1.6
    assert all(a > b for a, b in itertools.pairwise(speedups)), speedups
    assert speedups[3] < 1.3 and speedups[4] < 1.3


def test_snapkv_lets_more_users_in() -> None:
    """The compressed cache (512 of 4,096 prompt tokens) holds more sequences once their prompts are in."""
    base = {
        "model": "lwm-text-chat-1m",
        "requests": 40,
        "arrivals": {"process": "poisson", "rate": "40/s"},
        "prompt_tokens": 4096,
        "generate_tokens": 256,
    }
    full = serve(spec(**base))
    snap = serve(spec(**base, algorithm="snapkv", snapkv={"capacity": 512}))
    assert full.serving is not None and snap.serving is not None
    assert full.serving["peak_kv_occupancy"] > 0.95  # the full cache is what limits the batch
    assert snap.serving["max_batch_sequences"] > 1.3 * full.serving["max_batch_sequences"]
    assert snap.serving["requests_per_s"] > full.serving["requests_per_s"]


@pytest.mark.slow
def test_thousand_request_poisson_workload_reports_every_metric(tmp_path: Path) -> None:
    path = tmp_path / "chat.yaml"
    path.write_text(
        "name: chat\nruntime: graphs\narchitectures: [a100-80gb]\nworkloads:\n"
        "  - {name: chat, kind: serving, model: vicuna-7b, algorithm: baseline, requests: 1000,\n"
        "     arrivals: {process: poisson, rate: 2/s}, prompt_tokens: 256, generate_tokens: 128, seed: 1}\n"
        "outputs: [json, csv]\n"
    )
    assert main(["run", str(path), "-o", str(tmp_path / "out")]) == 0
    run = json.loads((tmp_path / "out" / "results.json").read_text())["runs"][0]
    for key in SERVING_KEYS:
        assert isinstance(run[key], float) and run[key] > 0, key
    assert {"total", "compute", "data_movement", "static"} <= set(run["energy_j"])
    assert run["completed_requests"] == 1000
    assert run["requests_per_s"] == pytest.approx(2.0, rel=0.1)
    header = (tmp_path / "out" / "results.csv").read_text().splitlines()[0].split(",")
    assert set(SERVING_KEYS) <= set(header)


def test_trace_arrivals_and_plots_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "r.jsonl").write_text(
        "".join(f'{{"arrival_s": {0.05 * i}, "prompt_tokens": {100 + i}, "generate_tokens": 8}}\n' for i in range(12))
    )
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\narchitectures: [a100-80gb]\nworkloads:\n"
        "  - {name: traced, kind: serving, model: vicuna-7b, arrivals: {trace: reqs/r.jsonl}}\n"
        "  - {name: low, kind: serving, model: vicuna-7b, requests: 10, arrivals: {process: poisson, rate: 1/s},\n"
        "     prompt_tokens: 64, generate_tokens: 8}\n"
        "  - {name: high, kind: serving, model: vicuna-7b, requests: 10, arrivals: {process: poisson, rate: 8/s},\n"
        "     prompt_tokens: 64, generate_tokens: 8}\n"
        "outputs: [json, plots]\n"
    )
    out = tmp_path / "out"
    assert main(["run", str(path), "-o", str(out)]) == 0
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert runs[0]["completed_requests"] == 12
    assert runs[0]["serving"]["series"]["start_s"][0] == 0.0
    assert runs[0]["tokens_per_s"] == pytest.approx(12 * 8 / runs[0]["latency_s"])
    names = {p.name for p in out.iterdir()}
    assert {"knee.png", "batches-traced.png", "batches-low.png", "batches-high.png"} <= names


def test_trace_command_explains_that_serving_has_no_single_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_text = (
        "{kind: serving, model: vicuna-7b, requests: 3, arrivals: {process: poisson, rate: 2/s}, "
        "prompt_tokens: 8, generate_tokens: 8}"
    )
    assert main(["trace", spec_text, "-o", str(tmp_path / "t.jsonl")]) == 2
    assert "<command line>: kind: a 'serving' workload is a stream of requests" in capsys.readouterr().err


def test_medusa_and_snapkv_compose_at_long_context() -> None:
    """One 10K-token request: SnapKV shortens each tree verification's cache reads, Medusa cuts the steps.

    (The SnapKV paper quotes 2.2x over the native model and 1.3x over Medusa alone at 10K context.)
    """
    tpot = {}
    for alg in ("baseline", "medusa", "medusa+snapkv"):
        extra: dict[str, Any] = {"snapkv": {"capacity": 1024}} if "snapkv" in alg else {}
        r = serve(
            spec(model="lwm-text-chat-1m", algorithm=alg, generate_tokens=256, **extra),
            requests=[Request(0, 0.0, 10_000, 256)],
        )
        assert r.serving is not None
        tpot[alg] = r.serving["tpot_p50_s"]
    assert tpot["baseline"] / tpot["medusa+snapkv"] > 2.0
    assert 1.1 < tpot["medusa"] / tpot["medusa+snapkv"] < 1.5


def test_validate_probes_a_serving_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Preflight reads a representative step: a model too big for the memory is found before running."""
    path = tmp_path / "big.yaml"
    path.write_text(
        "name: big\narchitectures: [a100-80gb]\nworkloads:\n  - {kind: serving, model: llama-2-70b, "
        "requests: 4, arrivals: {process: poisson, rate: 1/s}, prompt_tokens: 64, generate_tokens: 4}\n"
    )
    assert main(["validate", str(path)]) == 2
    assert "the weights need" in capsys.readouterr().err
    ok = tmp_path / "ok.yaml"
    ok.write_text(path.read_text().replace("llama-2-70b", "vicuna-7b").replace("name: big", "name: ok"))
    assert main(["validate", str(ok)]) == 0


def test_medusa_heads_on_every_tree_position_cost_more() -> None:
    accepted = StepCostModel(A100, GRAPHS, None, step_model(spec(algorithm="medusa")))
    every = StepCostModel(A100, GRAPHS, None, step_model(spec(algorithm="medusa", medusa={"heads_on": "all"})))
    shape = StepShape(8, 8 * 300)
    extra_rows = 8 * (64 - 1)  # mc_sim_7b_63: 64 tree positions per sequence instead of 1
    d, v, heads = 4096, 32000, 5
    per_row = heads * 2 * d * (d + v)  # each head's ResBlock and vocabulary projection (GEMM FLOPs)
    extra = every.cost(shape).flops - accepted.cost(shape).flops
    assert extra == pytest.approx(extra_rows * per_row, rel=0.01)
    assert every.cost(shape).latency_s > accepted.cost(shape).latency_s
