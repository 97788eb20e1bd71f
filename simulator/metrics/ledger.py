"""The energy ledger: every joule attributed to (component, category, operator kind, phase).

The engine records each executed operator once, as a reference to its (cached) :class:`OpEnergy`
and its phase; the ledger counts them and expands the counts into joules at the end, so the hot
path is one dictionary increment per operator. Categories: ``compute`` (FLOPs × energy per FLOP
of the unit and dtype), ``data_movement`` (bytes × the home memory's read or write energy plus
every link's energy on the route; memories passed through are not charged), ``static`` (static
power × makespan per component plus the system's uncore power, and the architecture's
active-idle power — the clocked-up state above the floor — × the makespan, component ``active_idle``;
attributed to phases by their share of time).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from simulator.metrics.result import ENERGY_CATEGORIES, EnergySplit


@dataclass(frozen=True, slots=True, eq=False)
class OpEnergy:
    """Dynamic energy of one operator signature on one unit (J); hashed by identity."""

    kind: str
    unit: str
    compute_j: float
    #: component (memory or link name) -> J
    data_movement_j: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class LedgerViews:
    """The ledger's totals and views, in the shape :class:`~simulator.metrics.result.RunResult` wants."""

    energy: EnergySplit
    by_component: dict[str, dict[str, float]]
    by_phase: dict[str, dict[str, float]]
    by_kind: dict[str, dict[str, float]]
    #: level (register, sram, cache, hbm, dram, link, compute, static) -> J; sums to the total
    by_level: dict[str, float]


class Ledger:
    """Counts operator executions per (energy signature, phase) and static power per component.

    :meth:`fold` expands the counts into joules and forgets the signatures, so a long run with
    ever-new signatures keeps bounded state; :meth:`views` folds whatever is left.
    """

    def __init__(self) -> None:
        #: (energy signature, phase) -> operators run; the engine increments it inline (hot path)
        self.counts: dict[tuple[OpEnergy, str], int] = {}
        self.static_power_w: dict[str, float] = {}
        #: component -> joules of active-idle power (a power state above the floor, see :meth:`add_idle`)
        self.idle_j: dict[str, float] = {}
        self._component: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._phase: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._kind: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._compute_j = 0.0
        self._movement_j = 0.0

    def add_static(self, component: str, power_w: float) -> None:
        """A component that draws ``power_w`` for the whole run."""
        self.static_power_w[component] = self.static_power_w.get(component, 0.0) + power_w

    def add_idle(self, component: str, power_w: float, idle_s: float) -> None:
        """Active-idle power: ``power_w`` above the floor for the ``idle_s`` the device was clocked up (static)."""
        if power_w > 0 and idle_s > 0:
            self.idle_j[component] = self.idle_j.get(component, 0.0) + power_w * idle_s

    def fold(self) -> None:
        """Expand the counts so far into joules and clear them."""
        items = sorted(self.counts.items(), key=lambda kv: (kv[0][0].kind, kv[0][1], kv[0][0].unit))
        for (energy, phase), n in items:
            cj = energy.compute_j * n
            self._compute_j += cj
            self._component[energy.unit]["compute"] += cj
            self._phase[phase]["compute"] += cj
            self._kind[energy.kind]["compute"] += cj
            for component, j in energy.data_movement_j:
                dj = j * n
                self._movement_j += dj
                self._component[component]["data_movement"] += dj
                self._phase[phase]["data_movement"] += dj
                self._kind[energy.kind]["data_movement"] += dj
        self.counts.clear()

    def views(
        self, makespan_s: float, phase_time_s: Mapping[str, float], levels: Mapping[str, str] | None = None
    ) -> LedgerViews:
        """Expand the counts into joules; static energy is split over phases by their share of time.

        ``levels`` names the level of each component that moves data (a memory's level, ``sram`` and
        ``register`` for a unit's own SRAM and register files, ``link``); the by-level view puts compute
        and static energy under their own names and data movement under the level it crossed.
        """
        self.fold()
        by_component = {k: dict(v) for k, v in self._component.items()}
        by_phase = {k: dict(v) for k, v in self._phase.items()}
        static = 0.0
        fixed = [(c, p * makespan_s) for c, p in sorted(self.static_power_w.items())]
        for component, sj in fixed + sorted(self.idle_j.items()):
            static += sj
            cats = by_component.setdefault(component, {})
            cats["static"] = cats.get("static", 0.0) + sj
        total_phase = sum(phase_time_s.values())
        if total_phase > 0:
            for phase, t in phase_time_s.items():
                cats = by_phase.setdefault(phase, {})
                cats["static"] = cats.get("static", 0.0) + static * t / total_phase
        for views in (by_component, by_phase):
            for cats in views.values():
                for cat in ENERGY_CATEGORIES:
                    cats.setdefault(cat, 0.0)
        dynamic = [c for c in ENERGY_CATEGORIES if c != "static"]
        by_level: dict[str, float] = {}
        for component, cats in by_component.items():
            for cat, j in cats.items():
                if not j:
                    continue
                level = cat if cat != "data_movement" else (levels or {}).get(component, "other")
                by_level[level] = by_level.get(level, 0.0) + j
        return LedgerViews(
            EnergySplit(self._compute_j, self._movement_j, static),
            dict(sorted(by_component.items())),
            dict(sorted(by_phase.items())),
            {k: {c: v.get(c, 0.0) for c in dynamic} for k, v in sorted(self._kind.items())},
            dict(sorted(by_level.items())),
        )
