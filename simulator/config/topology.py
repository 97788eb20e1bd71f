"""Topology rules of an architecture, in one place: which links are valid and which routes exist.

Used by validation (:mod:`simulator.config.checks`, so ``hetsim validate`` and the loading step of
``hetsim run``) and by the hardware model (:class:`simulator.hardware.system.System`, which routes
every flow), so the two can never disagree about an architecture again (they once did: validation
accepted paths through any node, routing only through memories).

The rules:

* a link joins two different known nodes (compute units, memories or switches), and at most one
  link joins any two nodes (links are bidirectional);
* a route between a memory and a compute unit (or between two memories: a transfer between
  devices) has the fewest links among the paths that pass only through memories and switches
  (never through another compute unit: a unit does not forward traffic); ties are broken by
  comparing the node-name sequences, so routes are deterministic;
* every compute unit the mapping rules can select (:func:`usable_units`) has a route to every
  memory a tensor class is placed in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from simulator.config.architecture import ArchitectureSpec
from workloads.trace import OP_KINDS

Loc = tuple[str | int, ...]


def link_problems(spec: ArchitectureSpec) -> list[tuple[Loc, str]]:
    """(key path, message) for every link that names an unknown node, joins a node to itself, or repeats a link."""
    nodes = set(spec.compute_units) | set(spec.memories) | set(spec.switches)
    problems: list[tuple[Loc, str]] = []
    seen: dict[frozenset[str], int] = {}
    for i, link in enumerate(spec.links):
        a, b = link.between
        bad = False
        for j, end in enumerate(link.between):
            if end not in nodes:
                names = ", ".join(sorted(nodes)) or "(none)"
                problems.append(
                    (("links", i, "between", j), f"unknown endpoint {end!r}; units, memories and switches: {names}")
                )
                bad = True
        if a == b:
            problems.append((("links", i, "between"), "a link needs two different endpoints"))
            bad = True
        pair = frozenset((a, b))
        if not bad and pair in seen:
            problems.append(
                (("links", i, "between"), f"duplicates links[{seen[pair]}] ({a}-{b}); links are bidirectional")
            )
        seen.setdefault(pair, i)
    return problems


def adjacency(spec: ArchitectureSpec) -> dict[str, set[str]]:
    """Node → neighbours over the valid links (unknown endpoints and self-loops left out)."""
    return adjacency_of((*spec.compute_units, *spec.memories, *spec.switches), [link.between for link in spec.links])


def adjacency_of(nodes: Iterable[str], links: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """Node → neighbours for explicit nodes and links (an expanded system of chips uses this directly)."""
    adj: dict[str, set[str]] = {name: set() for name in nodes}
    for a, b in links:
        if a != b and a in adj and b in adj:
            adj[a].add(b)
            adj[b].add(a)
    return adj


def route_nodes(
    adj: Mapping[str, Iterable[str]], memories: Iterable[str], memory: str, unit: str
) -> tuple[str, ...] | None:
    """The route from ``memory`` to ``unit`` (nodes in order), or ``None`` when there is none.

    Fewest links through ``memories`` (every node a route may pass: memories and switches) only; among
    equally short routes, the smallest node-name sequence. ``unit`` may also be a memory (a transfer).
    """
    allowed = set(memories) | {unit}
    if memory not in adj or unit not in adj or memory not in allowed:
        return None
    # distances to the unit over allowed nodes, then a greedy walk from the memory: picking the
    # smallest next node on a shortest route at each step gives the smallest sequence
    dist = {unit: 0}
    queue = deque([unit])
    while queue:
        node = queue.popleft()
        for nxt in adj[node]:
            if nxt in allowed and nxt not in dist:
                dist[nxt] = dist[node] + 1
                queue.append(nxt)
    if memory not in dist:
        return None
    path = [memory]
    while path[-1] != unit:
        here = path[-1]
        path.append(min(n for n in adj[here] if dist.get(n) == dist[here] - 1))
    return tuple(path)


def usable_units(spec: ArchitectureSpec, overrides: Mapping[str, str] | None = None) -> list[str]:
    """Compute units the mapping rules can give an operator to (architecture rules, then ``overrides``).

    A kind's rule is its own, else ``'*'``, else ``auto``; ``auto`` may pick any unit whose ``ops``
    allow the kind. A unit no rule can select never runs anything, so it needs no routes (the
    Ultra96's processing system, whose operators are all pinned to the fabric).
    """
    rules = {**spec.mapping, **(overrides or {})}
    usable: set[str] = set()
    for kind in OP_KINDS:
        rule = rules.get(kind, rules.get("*", "auto"))
        if rule == "auto":
            usable.update(n for n, u in spec.compute_units.items() if u.ops is None or kind in u.ops)
        elif rule in spec.compute_units:
            usable.add(rule)
    return sorted(usable)


def unreachable(spec: ArchitectureSpec, overrides: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(tensor class, memory, unit) for every placement memory a usable compute unit has no route to."""
    adj = adjacency(spec)
    out = []
    for unit in usable_units(spec, overrides):
        for tensor_class, memory in sorted(spec.placement.items()):
            if memory in spec.memories and route_nodes(adj, (*spec.memories, *spec.switches), memory, unit) is None:
                out.append((str(tensor_class), memory, unit))
    return out
