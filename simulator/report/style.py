"""One colour per energy/latency category, phase, operator kind and component kind, shared by every plot.

Colours are fixed for the names hetsim knows and derived from a stable hash (CRC32, not Python's
salted ``hash``) for any other name, so the same phase or kind has the same colour in every figure,
every run and every process.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping

#: Energy and latency categories (ENERGY_CATEGORIES ∪ LATENCY_CATEGORIES).
CATEGORY_COLORS: Mapping[str, str] = {
    "compute": "#4C72B0",
    "data_movement": "#DD8452",
    "static": "#8C8C8C",
    "runtime_overhead": "#8172B3",
    "idle": "#D0D0D0",
}

#: Human labels for categories.
CATEGORY_LABELS: Mapping[str, str] = {
    "compute": "compute",
    "data_movement": "data movement",
    "static": "static",
    "runtime_overhead": "runtime overhead",
    "idle": "idle",
}

#: Phase tags of the shipped workloads (``decode[3]`` is coloured as ``decode``).
PHASE_COLORS: Mapping[str, str] = {
    "prefill": "#55A868",
    "decode": "#4C72B0",
    "medusa_heads": "#C44E52",
    "tree_verify": "#8172B3",
    "snapkv_select": "#CCB974",
    "inference": "#64B5CD",
}

#: Execution order of the known phase families (for stacking and legends).
PHASE_ORDER: tuple[str, ...] = ("prefill", "snapkv_select", "decode", "medusa_heads", "tree_verify", "inference")

#: Operator kinds of the trace model.
KIND_COLORS: Mapping[str, str] = {
    "matmul": "#4C72B0",
    "attention": "#DD8452",
    "conv2d": "#55A868",
    "dwconv2d": "#8DC38F",
    "softmax": "#C44E52",
    "norm": "#8172B3",
    "elementwise": "#937860",
    "embedding": "#DA8BC3",
    "kv_write": "#CCB974",
    "topk": "#64B5CD",
    "pool": "#A1C9F4",
}

#: Component kinds: compute units, memory levels, links and the system's uncore.
COMPONENT_KIND_COLORS: Mapping[str, str] = {
    "unit": "#4C72B0",
    "register": "#FCE1C8",
    "sram": "#F5B97D",
    "cache": "#EE9D56",
    "dram": "#D9712B",
    "hbm": "#B5541B",
    "memory": "#E48A3F",
    "link": "#C44E52",
    "system": "#8C8C8C",
}

#: Fallback palette for names not listed above (colour-blind friendly, from seaborn "deep"/"muted").
PALETTE: tuple[str, ...] = (
    "#4C72B0",
    "#DD8452",
    "#55A868",
    "#C44E52",
    "#8172B3",
    "#937860",
    "#DA8BC3",
    "#8C8C8C",
    "#CCB974",
    "#64B5CD",
    "#A1C9F4",
    "#FFB482",
    "#8DE5A1",
    "#FF9F9B",
)

#: Colour for the reference line (roofline, Pareto front).
REFERENCE_COLOR = "#333333"

_INDEX = re.compile(r"\[[^\]]*\]$|_\d+$")


def _stable(name: str) -> str:
    return PALETTE[zlib.crc32(name.encode("utf-8")) % len(PALETTE)]


def phase_base(phase: str) -> str:
    """The phase family of a tag: ``decode[3]`` → ``decode``, ``layer_3`` stays as written minus the index."""
    return _INDEX.sub("", phase) or phase


def category_color(category: str) -> str:
    """Colour of an energy or latency category."""
    return CATEGORY_COLORS.get(category) or _stable(category)


def phase_color(phase: str) -> str:
    """Colour of a phase (indices such as ``decode[3]`` share their family's colour)."""
    base = phase_base(phase)
    return PHASE_COLORS.get(base) or _stable(base)


def kind_color(kind: str) -> str:
    """Colour of an operator kind."""
    return KIND_COLORS.get(kind) or _stable(kind)


def component_kind_color(kind: str) -> str:
    """Colour of a component kind (``unit``, a memory level, ``link``, ``system``)."""
    return COMPONENT_KIND_COLORS.get(kind) or _stable(kind)


def run_color(index: int) -> str:
    """Colour of the ``index``-th run in comparison plots."""
    return PALETTE[index % len(PALETTE)]
