"""Collectives as flows: the transfers NCCL's ring and tree algorithms send, and NCCL's latency model.

A collective over ranks r0 … rN−1 (the operator's ``group``, in ring order) of a per-rank buffer of
S bytes becomes the flows its algorithm sends between the ranks' attach memories (HBM), over the
system's links, sharing them max-min fairly with every other flow:

- **ring all-reduce** (reduce-scatter then all-gather, 2(N−1) steps): every ring edge rᵢ → rᵢ₊₁
  carries 2(N−1)/N · S; **ring all-gather / reduce-scatter** (N−1 steps): (N−1)/N · S per edge;
- **tree all-reduce** (NCCL's tree inside one node is a chain r0 – r1 – … – rN−1, reduce up, then
  broadcast down, pipelined): every chain edge carries S in each direction;
- **send/recv** (1 step): one flow of S from the first rank to the second;
- **all-to-all** (1 step: NCCL sends it as concurrent send/recv pairs): S/N from every rank to every other.

NCCL pipelines the steps in chunks, so all of an algorithm's flows run at once and the per-step
cost is latency: ``base + steps · hop`` of the chosen protocol, paid once after the flows (as every
operator's route latency). Protocols trade latency for wire efficiency: LL sends a 4-byte flag with
every 4 bytes of data, LL128 one 8-byte flag per 128-byte line, Simple none; the bytes on the wire
are the payload over that efficiency. ``protocol: auto`` picks, as NCCL's tuner does, the
(algorithm, protocol) with the lowest estimate ``latency + the busiest resource's wire bytes / its
bandwidth``.

Constants: NCCL ``src/graph/tuning.cc`` at commit 01afd20 (NVIDIA/nccl), see
docs/references.md#collectives. The reduction's arithmetic (one add per element per step) runs on
the SMs inside the same kernel and is not counted separately.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise, permutations

from simulator.config.architecture import CollectiveSpec
from simulator.errors import UserError
from simulator.hardware.system import Route, System

#: NCCL's base latency per (algorithm, protocol), seconds (tuning.cc ``baseLat``; Tree/Simple is 0 there).
BASE_LATENCY_S = {
    ("ring", "LL"): 3.6e-6,
    ("ring", "LL128"): 10.0e-6,
    ("ring", "Simple"): 8.4e-6,
    ("tree", "LL"): 4.4e-6,
    ("tree", "LL128"): 4.4e-6,
    ("tree", "Simple"): 0.0,
}

#: NCCL's latency per step per (fabric, algorithm, protocol), seconds (tuning.cc ``hwLat``).
HOP_LATENCY_S = {
    ("nvlink", "tree"): {"LL": 0.52e-6, "LL128": 1.2e-6, "Simple": 28e-6},
    ("nvlink", "ring"): {"LL": 0.47e-6, "LL128": 1.9e-6, "Simple": 3.4e-6},
    ("pcie", "tree"): {"LL": 1.0e-6, "LL128": 1.9e-6, "Simple": 28e-6},
    ("pcie", "ring"): {"LL": 1.0e-6, "LL128": 2.5e-6, "Simple": 5.7e-6},
    ("network", "tree"): {"LL": 5.0e-6, "LL128": 8.5e-6, "Simple": 50e-6},
    ("network", "ring"): {"LL": 2.7e-6, "LL128": 4.0e-6, "Simple": 9.6e-6},
}


def wire_efficiency(algorithm: str, protocol: str, kind: str) -> float:
    """Payload fraction of the bytes on the wire (tuning.cc's bandwidth factors for each protocol).

    Ring LL: 1/4 for all-reduce, 1/3 otherwise; ring LL128: 0.92 (≈120/128); tree: 0.9 of the link,
    LL a further 1/3.8, LL128 7/9; Simple: 1 (ring).
    """
    if algorithm == "ring":
        if protocol == "LL":
            return 0.25 if kind == "all_reduce" else 1.0 / 3.0
        return 0.92 if protocol == "LL128" else 1.0
    base = 0.9
    if protocol == "LL":
        return base / 3.8
    return base * 7.0 / 9.0 if protocol == "LL128" else base


@dataclass(frozen=True)
class CollectivePlan:
    """What one collective sends: flows (route, wire bytes), its latency, and the choice made."""

    algorithm: str
    protocol: str
    steps: int
    latency_s: float
    flows: tuple[tuple[Route, float], ...]
    payload_bytes: float
    estimate_s: float


def ring_order(system: System, ranks: Sequence[int]) -> tuple[int, ...]:
    """The ring through ``ranks`` with the fewest link hops (first rank fixed; exhaustive up to 8 ranks).

    NCCL searches the topology for rings over direct links; on a switch every order is equal and the
    given order is kept; on a mesh (hybrid cube mesh) the search finds a ring of direct links.
    """
    ranks = tuple(ranks)
    if len(ranks) <= 3 or len(ranks) > 8:
        return ranks

    def hops(order: tuple[int, ...]) -> int:
        return sum(len(_route(system, a, b).nodes) for a, b in zip(order, order[1:] + order[:1], strict=True))

    best, best_hops = ranks, hops(ranks)
    for rest in permutations(ranks[1:]):
        order = (ranks[0], *rest)
        h = hops(order)
        if h < best_hops:
            best, best_hops = order, h
    return best


def _route(system: System, src: int, dst: int) -> Route:
    return system.route(system.devices[src].attach, system.devices[dst].attach)


def _edges(kind: str, algorithm: str, order: tuple[int, ...], size: float) -> list[tuple[int, int, float]]:
    """(source rank, destination rank, payload bytes) of every flow the algorithm sends."""
    n = len(order)
    if kind == "send_recv":
        return [(order[0], order[1], size)]
    if kind == "all_to_all":
        return [(a, b, size / n) for a in order for b in order if a != b]
    if algorithm == "tree":  # a chain inside one node: reduce up, broadcast down, both directions pipelined
        return [e for a, b in pairwise(order) for e in ((b, a, size), (a, b, size))]
    share = 2.0 * (n - 1) / n if kind == "all_reduce" else (n - 1) / n
    return [(a, b, share * size) for a, b in zip(order, order[1:] + order[:1], strict=True)]


def _steps(kind: str, algorithm: str, n: int) -> int:
    if kind in ("send_recv", "all_to_all"):
        return 1
    if kind == "all_reduce":
        return 2 * (n - 1)  # ring: reduce-scatter + all-gather; tree (chain): up and down
    return n - 1


def plan_collective(
    system: System, kind: str, group: Sequence[int], size: float, spec: CollectiveSpec
) -> CollectivePlan:
    """The flows and latency of one collective on ``system`` (``size``: the per-rank buffer in bytes)."""
    order = tuple(group) if kind in ("send_recv", "all_to_all") else ring_order(system, group)
    algorithms = [spec.algorithm] if spec.algorithm != "auto" else ["ring", "tree"]
    if kind != "all_reduce":
        algorithms = ["ring"]  # NCCL has tree only for all-reduce
    protocols = [spec.protocol] if spec.protocol != "auto" else ["LL", "LL128", "Simple"]
    best: CollectivePlan | None = None
    for algorithm in algorithms:
        edges = _edges(kind, algorithm, order, size)
        routes = [(_route(system, a, b), nbytes) for a, b, nbytes in edges]
        load: dict[int, float] = {}  # payload bytes through each resource: the busiest one bounds the time
        for route, nbytes in routes:
            for r in route.resources:
                load[r] = load.get(r, 0.0) + nbytes
        busiest_s = max(b / system.capacities[r] for r, b in load.items())
        steps = _steps(kind, algorithm, len(order))
        hop_table = HOP_LATENCY_S[(spec.fabric, algorithm)]
        for protocol in protocols:
            eff = wire_efficiency(algorithm, protocol, kind)
            latency = BASE_LATENCY_S[(algorithm, protocol)] + steps * hop_table[protocol]
            flows = tuple((route, nbytes / eff) for route, nbytes in routes)
            estimate = latency + busiest_s / eff
            if best is None or estimate < best.estimate_s:
                best = CollectivePlan(algorithm, protocol, steps, latency, flows, size, estimate)
    if best is None:  # pragma: no cover - algorithms and protocols are never empty
        raise UserError(f"no algorithm for {kind}")
    return best
