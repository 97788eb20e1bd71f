"""Regenerate ``tests/scenarios/golden.json`` from the current simulator.

    .venv/bin/python tests/scenarios/update_goldens.py             # every shipped scenario (sweeps too)
    .venv/bin/python tests/scenarios/update_goldens.py medusa-bandwidth skynet-gpu   # only these

Run it after an intended model change and review ``git diff tests/scenarios/golden.json``.
"""

from __future__ import annotations

import sys
import time

from scenario_harness import (
    REDUCED,
    has_sweep,
    load_goldens,
    pareto_summary,
    reduced_summary,
    runs_summary,
    save_goldens,
    scenario_names,
)


def main(argv: list[str]) -> int:
    names = argv or scenario_names()
    unknown = sorted(set(names) - set(scenario_names()))
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; shipped: {', '.join(scenario_names())}", file=sys.stderr)
        return 2
    goldens = {k: v for k, v in load_goldens().items() if k in scenario_names()}
    for name in names:
        start = time.perf_counter()
        entry: dict[str, object] = {"runs": runs_summary(name)}
        if has_sweep(name):
            entry["pareto"] = pareto_summary(name)
        if name in REDUCED:
            entry["reduced"] = reduced_summary(name)
        goldens[name] = entry
        print(
            f"{name}: {len(entry['runs'])} runs{' + sweep' if 'pareto' in entry else ''} "  # type: ignore[arg-type]
            f"({time.perf_counter() - start:.1f} s)"
        )
    save_goldens(goldens)
    print("wrote tests/scenarios/golden.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
