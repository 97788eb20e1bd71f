"""The built-in catalogue: architectures, runtimes and scenarios shipped with hetsim, with one-liners.

Files are found by :mod:`simulator.config.loader` (package data first, then the repository); this
module only reads their ``name``/``description`` for listings, without validating them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from simulator.config.loader import builtin_architectures, builtin_runtimes, builtin_scenarios


def _describe(files: dict[str, Path]) -> list[tuple[str, str]]:
    out = []
    for name, path in files.items():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            data = None
        text = data.get("description", "") if isinstance(data, dict) else ""
        out.append((name, " ".join(str(text).split())))
    return out


def architecture_catalogue(roots: Sequence[Path] | None = None) -> list[tuple[str, str]]:
    """(name, one-line description) of every built-in architecture."""
    return _describe(builtin_architectures(roots))


def runtime_catalogue(roots: Sequence[Path] | None = None) -> list[tuple[str, str]]:
    """(name, one-line description) of every built-in runtime."""
    return _describe(builtin_runtimes(roots))


def scenario_catalogue(roots: Sequence[Path] | None = None) -> list[tuple[str, str]]:
    """(name, one-line description) of every built-in scenario."""
    return _describe(builtin_scenarios(roots))


def model_names() -> list[str]:
    """Built-in model names (``workloads/models/builtin``), sorted."""
    from workloads.models import builtin_models

    return sorted(builtin_models())
