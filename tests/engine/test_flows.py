"""Flow network: exact event logs, max-min fairness, and property tests of the solver."""

from __future__ import annotations

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.engine.flows import FlowGroup, FlowNetwork, max_min_rates


def _net(capacities: list[float]) -> tuple[simpy.Environment, FlowNetwork, list[tuple[str, float]]]:
    env = simpy.Environment()
    log: list[tuple[str, float]] = []
    net = FlowNetwork(env, capacities, lambda g: log.append((g.payload, env.now)))
    return env, net, log


def test_two_flows_on_one_link_each_get_half() -> None:
    env, net, log = _net([100.0])
    net.start_group([((0,), 100.0)], payload="a")
    net.start_group([((0,), 100.0)], payload="b")
    assert net.rates() == [50.0, 50.0]
    env.run()
    assert log == [("a", 2.0), ("b", 2.0)]


def test_flow_that_ends_frees_bandwidth_at_that_instant() -> None:
    env, net, log = _net([100.0])
    net.start_group([((0,), 50.0)], payload="short")
    net.start_group([((0,), 150.0)], payload="long")
    env.run()
    # both at 50 B/s until t=1 (short done: 50 B), then long alone at 100 B/s for its last 100 B
    assert log == [("short", 1.0), ("long", 2.0)]


def test_late_arrival_shares_from_its_start() -> None:
    env, net, log = _net([100.0])
    net.start_group([((0,), 200.0)], payload="first")

    def later() -> simpy.events.ProcessGenerator:
        yield env.timeout(1.0)
        net.start_group([((0,), 50.0)], payload="second")

    env.process(later())
    env.run()
    # first: 100 B by t=1, then 50 B/s until second ends at t=2 (50 B), then 50 B left at 100 B/s
    assert log == [("second", 2.0), ("first", 2.5)]


def test_max_min_across_three_links() -> None:
    # links 0 (cap 10), 1 (cap 10), 2 (cap 4); a: link 0; b: links 0+1; c: links 1+2; d: link 2
    _env, net, _ = _net([10.0, 10.0, 4.0])
    for name, res in (("a", (0,)), ("b", (0, 1)), ("c", (1, 2)), ("d", (2,))):
        net.start_group([(res, 1000.0)], payload=name)
    # link 2 saturates first (4/2 = 2 each for c and d); link 0 then gives 5 each to a and b;
    # link 1 carries b + c = 7 < 10, so it is not a bottleneck
    assert net.rates() == [5.0, 5.0, 2.0, 2.0]


def test_flow_crossing_two_bottlenecks_takes_the_tighter() -> None:
    _env, net, _ = _net([6.0, 9.0])
    net.start_group([((0,), 1.0)], payload="x")  # only link 0
    net.start_group([((0, 1), 1.0)], payload="y")  # both
    net.start_group([((1,), 1.0)], payload="z")  # only link 1
    # link 0: 3 each to x and y; link 1 then has 9 - 3 = 6 for z
    assert net.rates() == [3.0, 3.0, 6.0]


def test_group_waits_for_compute_and_adds_latency() -> None:
    env, net, log = _net([100.0])
    net.start_group([((0,), 100.0)], min_duration_s=3.0, latency_s=0.5, payload="compute-bound")
    net.start_group([((0,), 100.0)], min_duration_s=0.0, latency_s=0.25, payload="transfer-bound")
    net.start_group([], min_duration_s=0.75, payload="no-flows")
    env.run()
    assert log == [("no-flows", 0.75), ("transfer-bound", 2.25), ("compute-bound", 3.5)]


def test_group_completes_after_its_last_flow() -> None:
    env, net, log = _net([100.0, 100.0])
    groups: list[FlowGroup] = [net.start_group([((0,), 100.0), ((1,), 300.0)], payload="g")]
    env.run()
    assert log == [("g", 3.0)]
    assert groups[0].last_flow_end_s == 3.0


def test_events_are_few_per_group() -> None:
    env, net, log = _net([100.0, 50.0])
    for i in range(10):
        net.start_group([((0,), 100.0), ((0, 1), 10.0)], payload=i)
    events = 0
    while env.peek() != float("inf"):
        env.step()
        events += 1
    assert len(log) == 10
    assert events <= 2 * 10


def test_capacities_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        FlowNetwork(simpy.Environment(), [1.0, 0.0])


@st.composite
def _problems(draw: st.DrawFn) -> tuple[list[float], list[tuple[int, ...]]]:
    n_res = draw(st.integers(1, 5))
    caps = draw(st.lists(st.floats(0.5, 1000.0), min_size=n_res, max_size=n_res))
    flows = draw(
        st.lists(
            st.lists(st.integers(0, n_res - 1), min_size=1, max_size=n_res, unique=True).map(tuple),
            min_size=1,
            max_size=8,
        )
    )
    return caps, flows


@settings(max_examples=300, deadline=None)
@given(_problems())
def test_max_min_feasible_and_optimal(problem: tuple[list[float], list[tuple[int, ...]]]) -> None:
    caps, flows = problem
    rates = max_min_rates(caps, flows)
    load = [0.0] * len(caps)
    for rate, res in zip(rates, flows, strict=True):
        assert rate > 0
        for r in res:
            load[r] += rate
    for r, cap in enumerate(caps):
        assert load[r] <= cap * (1 + 1e-9)  # no resource over capacity
    for rate, res in zip(rates, flows, strict=True):
        # max-min optimality: some resource of the flow is saturated and the flow's rate is maximal there
        assert any(
            load[r] >= caps[r] * (1 - 1e-9)
            and all(rate >= other - 1e-9 * caps[r] for other, res2 in zip(rates, flows, strict=True) if r in res2)
            for r in res
        )


@settings(max_examples=100, deadline=None)
@given(
    _problems(),
    st.lists(st.floats(1.0, 1e4), min_size=8, max_size=8),
    st.lists(st.floats(0, 5), min_size=8, max_size=8),
)
def test_network_conserves_bytes_and_respects_capacity(
    problem: tuple[list[float], list[tuple[int, ...]]], sizes: list[float], starts: list[float]
) -> None:
    caps, flows = problem
    env = simpy.Environment()
    done: dict[int, FlowGroup] = {}
    net = FlowNetwork(env, caps, lambda g: done.__setitem__(g.payload, g))
    for i, res in enumerate(flows):

        def go(i: int = i, res: tuple[int, ...] = res) -> simpy.events.ProcessGenerator:
            yield env.timeout(starts[i])
            net.start_group([(res, sizes[i])], payload=i, record=True)

        env.process(go())
    env.run()
    assert sorted(done) == list(range(len(flows)))
    for i, group in done.items():
        assert group.records is not None
        [(res, start, end, nbytes)] = group.records
        assert nbytes == sizes[i]
        assert start == pytest.approx(starts[i])
        # never faster than the tightest resource alone
        assert end - start >= sizes[i] / min(caps[r] for r in res) * (1 - 1e-9)
    # conservation over the whole run: bytes through a resource never exceed capacity × busy span
    for r, cap in enumerate(caps):
        through = [g.records[0] for g in done.values() if g.records and r in g.records[0][0]]
        if through:
            span = max(e for _, _, e, _ in through) - min(s for _, s, _, _ in through)
            assert sum(b for *_, b in through) <= cap * span * (1 + 1e-9)


def test_lone_group_interrupted_after_its_flows_keeps_its_latency() -> None:
    # alone from t=0.5: flows end at 1.8125 (A), 2.0 (B), 1.25 (C) of the solo schedule; latency 0.1, so it
    # completes at 2.1. Another group arrives at t=2.0 and turns the schedule into flows: the group must
    # still complete at max(last flow end, start + compute) + latency = 2.1, not 1.25 + 0.1 (run at once).
    env, net, log = _net([2.0, 10.0])

    def solo() -> simpy.events.ProcessGenerator:
        yield env.timeout(0.5)
        net.start_group([((1,), 7.5), ((0, 1), 3.0), ((1,), 3.0)], latency_s=0.1, payload="solo")

    def late() -> simpy.events.ProcessGenerator:
        yield env.timeout(2.0)
        net.start_group([((0,), 1.0)], payload="late")

    env.process(solo())
    env.process(late())
    env.run()
    assert log == [("solo", pytest.approx(2.1)), ("late", pytest.approx(2.5))]
