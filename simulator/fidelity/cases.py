"""Fidelity cases: a published measurement joined with the scenario that predicts it.

The measurements are ``data/validation-dev.yaml``, a verbatim copy of the shared reference file of
published measurements, and ``data/measured-h200.yaml``, what this project measured on a lent H200 with
``tools/gpu_measure.py`` (method and raw data named per entry); ``data/scenarios.yaml`` says how each
one becomes a hetsim scenario. Keeping them apart means the measured numbers are never edited to suit
the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from simulator.errors import user_error

_DATA = "data"
#: the measurement files, in the order their cases are listed
MEASUREMENT_FILES = ("validation-dev.yaml", "measured-h200.yaml")


@dataclass(frozen=True)
class FidelityCase:
    """One measured value and how hetsim predicts it."""

    id: str
    category: str
    metric: str
    measured: float
    unit: str
    value_type: str  # "exact", "upper_bound", "derived_from_raw_measurements"
    source: str
    hardware: str
    scenario: Mapping[str, Any]
    assumption: str = ""
    notes: str = ""
    #: the physical effect hetsim does not model that explains a large error (empty when none is known); a case
    #: with a known gap is a documented exemption from the per-case bound (docs/fidelity.md lists each one)
    known_gap: str = ""
    #: why the case is listed but not predicted (a capability hetsim does not have yet); empty when it is run
    skipped: str = ""
    #: how a derived value was obtained from the source's raw numbers (empty for the entry's own value)
    derivation: str = ""

    @property
    def is_upper_bound(self) -> bool:
        """The source states only that the real value is below ``measured``."""
        return self.value_type == "upper_bound"


def _source_text(source: Mapping[str, Any]) -> str:
    keys = ("paper", "repo", "file", "script", "raw", "location", "commit", "taken")
    parts = [str(source[key]) for key in keys if source.get(key)]
    return "; ".join(parts)


def _read_yaml(name: str, override: Path | None) -> Any:
    if override is not None:
        return yaml.safe_load(override.read_text(encoding="utf-8"))
    return yaml.safe_load(resources.files("simulator.fidelity").joinpath(_DATA, name).read_text(encoding="utf-8"))


def load_cases(measurements: Path | None = None, scenarios: Path | None = None) -> list[FidelityCase]:
    """All cases that have both a measurement and a scenario, in the measurement file's order."""
    if measurements is not None:
        entries = _read_yaml("", measurements)["entries"]
    else:
        entries = [entry for name in MEASUREMENT_FILES for entry in _read_yaml(name, None)["entries"]]
    mapping = _read_yaml("scenarios.yaml", scenarios)
    categories: Mapping[str, str] = mapping["category_names"]
    translations: Mapping[str, Mapping[str, Any]] = mapping["cases"]
    cases = []
    for entry in entries:
        spec = translations.get(entry["id"])
        if spec is None:
            continue
        skipped = str(spec.get("skip", "")).strip()
        workloads = spec.get("workloads") or ([spec["workload"]] if "workload" in spec else [])
        scenario = {
            "name": entry["id"],
            "runtime": spec.get("runtime", "ideal"),
            "architectures": [spec["architecture"]] if "architecture" in spec else [],
            "workloads": [dict(w) for w in workloads],
        }
        # a case may name its own category (what it validates), else the measurement's category is used
        category = str(spec.get("category") or categories.get(entry["category"], entry["category"]))
        common: dict[str, Any] = {
            "source": _source_text(entry["source"]),
            "hardware": str(entry["hardware"]["name"]),
            "scenario": scenario,
            "assumption": str(spec.get("assumption", "")).strip(),
            "notes": str(entry.get("notes", "")),
            "skipped": skipped,
        }
        cases.append(
            FidelityCase(
                id=entry["id"],
                category=category,
                metric=str(spec.get("metric", entry["metric"])),
                measured=float(entry["value"]),
                unit=str(entry["unit"]),
                value_type=str(entry.get("value_type", "exact")),
                known_gap=str(spec.get("known_gap", "")).strip(),
                **common,
            )
        )
        # further values the source's raw numbers give (e.g. average power = energy / time), each its own case
        for extra in spec.get("derived", []):
            cases.append(
                FidelityCase(
                    id=f"{entry['id']}-{extra['id']}",
                    category=category,
                    metric=str(extra["metric"]),
                    measured=float(extra["value"]),
                    unit=str(extra["unit"]),
                    value_type="derived_from_raw_measurements",
                    known_gap=str(extra.get("known_gap", "")).strip(),
                    derivation=str(extra["derivation"]).strip(),
                    **common,
                )
            )
    unknown = sorted(set(translations) - {c.id for c in cases})
    if unknown:
        raise user_error("scenarios.yaml", ("cases",), f"cases without a measurement: {unknown}")
    return cases
