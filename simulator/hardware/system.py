"""The system graph: compute units and memories as nodes, links as edges, and routes between them.

Links are bidirectional with their bandwidth in each direction. A route from a memory to a unit
(or back) is the path with the fewest hops that passes only through memories (never through
another compute unit); ties are broken by comparing the node-name sequences, so routes are
deterministic. Link validity and routes follow :mod:`simulator.config.topology`, the rules
validation also applies. Each route lists the flow-network *resources* it occupies: the source memory's
port, each directed link, the ports of memories passed through, and the destination memory's port.
A memory port's capacity is its sustained bandwidth (bandwidth × efficiency), shared by reads and
writes; a directed link's capacity is the link's bandwidth.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from simulator.config.architecture import ArchitectureSpec, ComputeUnitSpec, LinkSpec, MemorySpec
from simulator.config.topology import adjacency, link_problems, route_nodes
from simulator.errors import Problem, UserError, user_error


@dataclass(frozen=True, slots=True)
class Route:
    """A path between a memory and a compute unit, and what crossing it costs.

    ``nodes`` are the nodes from source to destination; ``resources`` are indices into
    :attr:`System.resource_names`; ``latency_s`` is the home memory's access latency plus every
    link's latency; ``link_energy_j_per_byte`` sums the links' energy; ``links`` names each link
    crossed with its energy per byte (for energy attribution).
    """

    nodes: tuple[str, ...]
    resources: tuple[int, ...]
    latency_s: float
    link_energy_j_per_byte: float
    links: tuple[tuple[str, float], ...]


class System:
    """Compute units, memories and links of one architecture, with cached routes.

    Raises :class:`~simulator.errors.UserError` for links naming unknown endpoints or duplicated.
    """

    def __init__(self, arch: ArchitectureSpec) -> None:
        self.arch = arch
        self.units: dict[str, ComputeUnitSpec] = dict(sorted(arch.compute_units.items()))
        self.memories: dict[str, MemorySpec] = dict(sorted(arch.memories.items()))
        clash = sorted(set(self.units) & set(self.memories))
        if clash:
            raise user_error(None, ("compute_units",), f"names used both by a unit and a memory: {clash}")
        #: flow-network resources: memory ports (sorted) then directed links (sorted)
        self.resource_names: list[str] = []
        self.capacities: list[float] = []
        self._port: dict[str, int] = {}
        for name, mem in self.memories.items():
            self._port[name] = len(self.resource_names)
            self.resource_names.append(f"{name}.port")
            self.capacities.append(mem.sustained_bandwidth_bytes_per_s)
        problems = link_problems(arch)  # the same link rules as validation
        if problems:
            raise UserError([Problem(None, path, message) for path, message in problems])
        #: (a, b) in both directions -> (the link, its name as written "a-b")
        self.edges: dict[tuple[str, str], tuple[LinkSpec, str]] = {}
        links = []
        for link in arch.links:
            a, b = link.between
            self.edges[(a, b)] = self.edges[(b, a)] = (link, f"{a}-{b}")
            links.append((a, b))
        self._adjacency = adjacency(arch)
        self._link: dict[tuple[str, str], int] = {}
        for a, b in sorted(links + [(b, a) for a, b in links]):
            self._link[(a, b)] = len(self.resource_names)
            self.resource_names.append(f"{a}->{b}")
            self.capacities.append(self.edges[(a, b)][0].bandwidth_bytes_per_s)
        self._routes: dict[tuple[str, str], Route] = {}

    def port(self, memory: str) -> int:
        """Resource index of a memory's port."""
        return self._port[memory]

    def _path(self, memory: str, unit: str) -> tuple[str, ...]:
        # the one routing rule, shared with validation (simulator.config.topology)
        nodes = route_nodes(self._adjacency, self.memories, memory, unit)
        if nodes is None:
            raise user_error(
                None,
                ("links",),
                f"memory '{memory}' is unreachable from compute unit '{unit}' (no path of links through memories only)",
            )
        return nodes

    def route(self, src: str, dst: str) -> Route:
        """Route from a memory to a unit (a read) or from a unit to a memory (a write); cached."""
        key = (src, dst)
        cached = self._routes.get(key)
        if cached is not None:
            return cached
        if src in self.memories and dst in self.units:
            memory, nodes = src, self._path(src, dst)
        elif src in self.units and dst in self.memories:
            memory, nodes = dst, tuple(reversed(self._path(dst, src)))
        else:
            raise ValueError(f"route({src!r}, {dst!r}) must join a memory and a compute unit")
        resources: list[int] = []
        if nodes[0] in self.memories:
            resources.append(self._port[nodes[0]])
        latency = self.memories[memory].latency_s
        energy = 0.0
        links: list[tuple[str, float]] = []
        for a, b in pairwise(nodes):
            resources.append(self._link[(a, b)])
            spec, name = self.edges[(a, b)]
            latency += spec.latency_s
            energy += spec.energy_j_per_byte
            links.append((name, spec.energy_j_per_byte))
            if b in self.memories:
                resources.append(self._port[b])
        route = Route(nodes, tuple(resources), latency, energy, tuple(links))
        self._routes[key] = route
        return route
