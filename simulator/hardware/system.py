"""The system graph: compute units, memories and switches as nodes, links as edges, and routes between them.

A multi-device architecture is first expanded (:mod:`simulator.config.devices`): every device gets
its own named copy of its chip, so the graph is always flat. Links are bidirectional with their
bandwidth in each direction. A route from a memory to a unit (or back) is the path with the fewest
hops that passes only through memories and switches (never through another compute unit); a
*transfer* route joins two memories the same way (collectives, device to device). Ties are broken
by comparing the node-name sequences, so routes are deterministic. Link validity and routes follow
:mod:`simulator.config.topology`, the rules validation also applies. Each route lists the
flow-network *resources* it occupies: the source memory's port, each directed link, the ports of
memories passed through, and the destination memory's port. A memory port's capacity is its
sustained bandwidth (bandwidth × efficiency), shared by reads and writes; a directed link's is the
link's sustained bandwidth (bandwidth × efficiency: protocol overhead).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from simulator.config.architecture import ArchitectureSpec, ComputeUnitSpec, LinkSpec, MemorySpec
from simulator.config.devices import Device, expand
from simulator.config.topology import adjacency_of, link_problems, route_nodes
from simulator.errors import Problem, UserError, user_error


@dataclass(frozen=True, slots=True)
class Route:
    """A path between a memory and a compute unit (or two memories), and what crossing it costs.

    ``nodes`` are the nodes from source to destination; ``resources`` are indices into
    :attr:`System.resource_names`; ``latency_s`` is the home memory's access latency plus every
    link's and switch's latency; ``link_energy_j_per_byte`` sums the links' energy; ``links`` names
    each link crossed with its energy per byte (for energy attribution).
    """

    nodes: tuple[str, ...]
    resources: tuple[int, ...]
    latency_s: float
    link_energy_j_per_byte: float
    links: tuple[tuple[str, float], ...]


class System:
    """Compute units, memories, switches and links of one architecture, with cached routes.

    Raises :class:`~simulator.errors.UserError` for links naming unknown endpoints or duplicated.
    """

    def __init__(self, arch: ArchitectureSpec) -> None:
        self.arch = arch
        if not arch.devices:
            problems = link_problems(arch)  # the same link rules as validation
            if problems:
                raise UserError([Problem(None, path, message) for path, message in problems])
        expanded = expand(arch)
        if expanded.problems:
            raise UserError([Problem(None, path, message) for path, message in expanded.problems])
        self.units: dict[str, ComputeUnitSpec] = dict(sorted(expanded.units.items()))
        self.memories: dict[str, MemorySpec] = dict(sorted(expanded.memories.items()))
        self.switches = dict(sorted(expanded.switches.items()))
        #: the devices, in index order (a single chip is one device named "")
        self.devices: list[Device] = expanded.devices
        #: component -> static power outside units and memories (uncore of each device, system, switches)
        self.uncore_w: dict[str, float] = expanded.uncore_w
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
        #: (a, b) in both directions -> (the link, its name as written "a-b")
        self.edges: dict[tuple[str, str], tuple[LinkSpec, str]] = {}
        #: names of system-level (inter-device) links
        self.inter_device_links: set[str] = set()
        links = []
        for link, inter in expanded.links:
            a, b = link.between
            if (a, b) in self.edges:
                raise user_error(None, ("links",), f"link {a}-{b} is declared twice (links are bidirectional)")
            self.edges[(a, b)] = self.edges[(b, a)] = (link, f"{a}-{b}")
            links.append((a, b))
            if inter:
                self.inter_device_links.add(f"{a}-{b}")
        #: nodes a route may pass through (never a compute unit)
        self._passable = (*self.memories, *self.switches)
        self._adjacency = adjacency_of((*self.units, *self.memories, *self.switches), links)
        self._link: dict[tuple[str, str], int] = {}
        for a, b in sorted(links + [(b, a) for a, b in links]):
            self._link[(a, b)] = len(self.resource_names)
            self.resource_names.append(f"{a}->{b}")
            self.capacities.append(self.edges[(a, b)][0].sustained_bandwidth_bytes_per_s)
        self._routes: dict[tuple[str, str], Route] = {}

    @property
    def multi_device(self) -> bool:
        """Whether the architecture has devices (a system of chips), not a single chip."""
        return bool(self.arch.devices)

    def port(self, memory: str) -> int:
        """Resource index of a memory's port."""
        return self._port[memory]

    def _path(self, memory: str, end: str) -> tuple[str, ...]:
        # the one routing rule, shared with validation (simulator.config.topology)
        nodes = route_nodes(self._adjacency, self._passable, memory, end)
        if nodes is None:
            what = "compute unit" if end in self.units else "memory"
            raise user_error(
                None,
                ("links",),
                f"memory '{memory}' is unreachable from {what} '{end}' (no path of links through memories and "
                "switches only)",
            )
        return nodes

    def route(self, src: str, dst: str) -> Route:
        """Route from a memory to a unit (a read), a unit to a memory (a write) or a memory to a memory; cached."""
        key = (src, dst)
        cached = self._routes.get(key)
        if cached is not None:
            return cached
        if src in self.memories and dst in self.units:
            memory, nodes = src, self._path(src, dst)
        elif src in self.units and dst in self.memories:
            memory, nodes = dst, tuple(reversed(self._path(dst, src)))
        elif src in self.memories and dst in self.memories and src != dst:
            memory, nodes = src, self._path(src, dst)  # a transfer: read at src, written at dst
        else:
            raise ValueError(f"route({src!r}, {dst!r}) must join a memory and a compute unit, or two memories")
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
            elif b in self.switches:
                latency += self.switches[b].latency_s
        route = Route(nodes, tuple(resources), latency, energy, tuple(links))
        self._routes[key] = route
        return route
