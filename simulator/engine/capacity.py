"""Memory capacity: occupancy per (memory, tensor class), its peaks, and overflow as a CapacityError.

Weights are resident from their first read, never freed. KV cache grows with each write (charged
when the writing operator starts) and shrinks when an operator ``frees`` it (when that operator
finishes). Activations are live from the start to the finish of each operator touching them.
Occupancy is charged in the tensor's home memory only; in a system of chips tensor names are per
device (each holds its own shard), and an overflow names the device.
"""

from __future__ import annotations

from collections.abc import Mapping

from simulator.engine.mapping import OpCost
from simulator.errors import CapacityError
from simulator.hardware.system import System
from simulator.units import format_quantity
from workloads.trace import Operator


def capacity_message(memory: str, capacity: float, cls: str, adding: float, occupancy: Mapping[str, float]) -> str:
    """A capacity overflow in human units: memory, class, sizes, and what is already resident."""

    def size(nbytes: float) -> str:
        return format_quantity(nbytes, "size")

    resident = ", ".join(f"{c} {size(b)}" for c, b in sorted(occupancy.items()) if b)
    return (
        f"memory '{memory}' ({size(capacity)}) overflows: {cls} needs {size(adding)} more "
        f"with {size(sum(occupancy.values()))} already resident ({resident or 'nothing'})"
    )


class Capacity:
    """Occupancy per (memory, tensor class) with peaks; raises CapacityError on overflow."""

    def __init__(self, system: System) -> None:
        self.devices = [d.name for d in system.devices]
        self.capacity = {name: mem.capacity_bytes for name, mem in system.memories.items()}
        self.occ: dict[str, dict[str, int]] = {m: {"weight": 0, "kv_cache": 0, "activation": 0} for m in self.capacity}
        self.total: dict[str, int] = dict.fromkeys(self.capacity, 0)
        self.peak: dict[str, dict[str, int]] = {m: {} for m in self.capacity}
        self.peak_total: dict[str, int] = dict.fromkeys(self.capacity, 0)
        #: (memory, tensor) of weights already resident (tensor names are per device)
        self.seen_weights: set[tuple[str, str]] = set()
        #: (device, KV tensor) -> (memory, bytes held)
        self.kv: dict[tuple[int, str], tuple[str, int]] = {}

    def add(self, mem: str, cls: str, nbytes: int, op: Operator) -> None:
        """Charge ``nbytes`` of ``cls`` to ``mem`` for ``op``; a CapacityError if it does not fit."""
        occ = self.occ[mem]
        total = self.total[mem] + nbytes
        if total > self.capacity[mem]:
            device = self.devices[op.device] if op.device < len(self.devices) else ""
            where = f" on device {device}" if device else ""
            raise CapacityError(
                f"operator {op.id} ({op.name}){where}: " + capacity_message(mem, self.capacity[mem], cls, nbytes, occ)
            )
        value = occ[cls] + nbytes
        occ[cls] = value
        self.total[mem] = total
        peak = self.peak[mem]
        if value > peak.get(cls, 0):
            peak[cls] = value
        if total > self.peak_total[mem]:
            self.peak_total[mem] = total

    def release(self, mem: str, cls: str, nbytes: int) -> None:
        """Give back ``nbytes`` of ``cls`` in ``mem``."""
        self.occ[mem][cls] -= nbytes
        self.total[mem] -= nbytes

    def start(self, cost: OpCost, op: Operator) -> None:
        """An operator starts: its activations, its weights read for the first time, its KV writes."""
        for mem, nbytes in cost.activations:
            self.add(mem, "activation", nbytes, op)
        if cost.weights:
            seen = self.seen_weights
            for name, mem, nbytes in cost.weights:
                if (mem, name) not in seen:
                    seen.add((mem, name))
                    self.add(mem, "weight", nbytes, op)
        for name, mem, nbytes in cost.kv_writes:
            old = self.kv.get((op.device, name))
            self.kv[(op.device, name)] = (mem, (old[1] if old else 0) + nbytes)
            self.add(mem, "kv_cache", nbytes, op)

    def finish(self, cost: OpCost, op: Operator) -> None:
        """An operator finishes: its activations are released, and the KV tensors it ``frees``."""
        for mem, nbytes in cost.activations:
            self.release(mem, "activation", nbytes)
        for name in op.frees:
            held = self.kv.pop((op.device, name), None)
            if held is not None:
                self.release(held[0], "kv_cache", held[1])

    def open_window(self) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        """Start recording peaks afresh from the current occupancy; returns the peaks so far."""
        saved = ({m: dict(p) for m, p in self.peak.items()}, dict(self.peak_total))
        self.peak = {m: dict(occ) for m, occ in self.occ.items()}
        self.peak_total = dict(self.total)
        return saved

    def close_window(self, saved: tuple[dict[str, dict[str, int]], dict[str, int]]) -> dict[str, tuple[int, int, int]]:
        """Peaks since :meth:`open_window` per memory (total, KV cache, activations); keeps the run's peaks."""
        window = {
            m: (self.peak_total[m], self.peak[m].get("kv_cache", 0), self.peak[m].get("activation", 0))
            for m in self.capacity
        }
        peak, peak_total = saved
        for m in self.capacity:
            for cls, value in self.peak[m].items():
                if value > peak[m].get(cls, 0):
                    peak[m][cls] = value
            peak_total[m] = max(peak_total[m], self.peak_total[m])
        self.peak, self.peak_total = peak, peak_total
        return window

    def view(self) -> dict[str, dict[str, int]]:
        """Peak bytes per memory and class (plus ``total``), memories that held anything only."""
        out: dict[str, dict[str, int]] = {}
        for mem in sorted(self.capacity):
            if self.peak_total[mem]:
                out[mem] = {**dict(sorted(self.peak[mem].items())), "total": self.peak_total[mem]}
        return out
