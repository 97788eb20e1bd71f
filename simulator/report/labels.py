"""Names of runs as reports show them: short unique labels, file-name slugs, and text safe from mathtext.

Run names come from users' YAML: a ``$`` in one would make matplotlib parse the label as math
(and fail, or render something else). :func:`text` escapes it, so names are always shown as text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.metrics.result import RunResult


def text(label: str) -> str:
    """``label`` for a matplotlib text: every ``$`` escaped, so names are never parsed as mathtext."""
    return label.replace("$", r"\$")


def run_labels(runs: Sequence[RunResult], *, sep: str = " · ") -> list[str]:
    """Short, unique labels for runs: the part that varies (architecture, workload or both)."""
    archs = {r.architecture for r in runs}
    works = {r.workload for r in runs}
    if len(runs) > 1 and len(archs) == 1 and len(works) == len(runs):
        labels = [r.workload for r in runs]
    elif len(runs) > 1 and len(works) == 1 and len(archs) == len(runs):
        labels = [r.architecture for r in runs]
    else:
        labels = [f"{r.architecture}{sep}{r.workload}" for r in runs]
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return unique


def slug(name: str) -> str:
    """A file-name-safe form of ``name``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "run"
