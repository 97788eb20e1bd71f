"""Per-device and inter-device views of a run on a system of chips.

A device's *utilisation* is the busy time of its compute units over the run's latency (a GPU runs
its kernels one at a time on a stream, so the units' busy times add up to the device's); its
*communication time* is the busy time of its collective unit; its energy is every component named
``<device>.…`` plus its uncore. *Inter-device* energy is the data-movement energy of the
system-level links (NVLink, NVSwitch ports, PCIe, NVLink-C2C): data moved between chips, on its
own level beside on-chip movement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from simulator.config.devices import COMM_UNIT
from simulator.hardware.system import System


def device_metrics(
    system: System,
    latency_s: float,
    busy_s: Sequence[float],
    unit_names: Sequence[str],
    energy_by_component_j: Mapping[str, Mapping[str, float]],
) -> dict[str, dict[str, float]]:
    """Device -> {busy_s, utilisation, comm_s, energy_j} (empty for a single chip)."""
    if not system.multi_device:
        return {}
    busy = dict(zip(unit_names, busy_s, strict=True))
    out: dict[str, dict[str, float]] = {}
    for device in system.devices:
        work = sum(busy[u] for u in device.units.values())
        comm = busy.get(device.comm, 0.0)
        prefix = f"{device.name}."
        energy = sum(
            sum(cats.values())
            for component, cats in energy_by_component_j.items()
            if component.startswith(prefix) or component == device.name
        )
        out[device.name] = {
            "busy_s": work,
            "utilisation": work / latency_s if latency_s > 0 else 0.0,
            "comm_s": comm,
            "energy_j": energy,
        }
    return out


def inter_device_energy_j(system: System, energy_by_component_j: Mapping[str, Mapping[str, float]]) -> float:
    """Data-movement energy on the system-level links (between chips)."""
    return sum(energy_by_component_j.get(link, {}).get("data_movement", 0.0) for link in system.inter_device_links)


__all__ = ["COMM_UNIT", "device_metrics", "inter_device_energy_j"]
