"""The 1,000-point joint (algorithm × hardware) sweep case of ``make bench``: sweeps at scale.

SkyNet fp16 on the ``edge-soc`` teaching chip, as ``scenarios/a3c3-joint-sweep.yaml``, with ten
values per knob: LPDDR bandwidth (hardware) × input height × input width (algorithm). It times the
whole ``hetsim sweep`` code path — the check of every point, content keys, the SQLite store, the
runs, ``sweep.csv`` and the Pareto plot — with the serial executor, so ``points_per_s`` is the
per-core rate (a local pool multiplies it by the cores). Not in the tests: it takes about a minute.
"""

from __future__ import annotations

from benchmarks.cases import Case


def joint_sweep_case(*, small: bool = False) -> Case:
    """``sweep-joint-1000`` (``sweep-joint-8`` when ``small``)."""
    n = 2 if small else 10
    # one, two and four LPDDR4X channels bracket the stock 17 GB/s (edge-soc.yaml); what-ifs in between
    bandwidths = [f"{4.25 * (i + 1):g} GB/s" for i in range(n)]
    heights = [96 + 32 * i for i in range(n)]  # SkyNet's DAC-SDC input is 160×320; multiples of 32 around it
    widths = [160 + 32 * i for i in range(n)]
    return Case(
        f"sweep-joint-{n**3}",
        "sweep",
        f"{n}×{n}×{n} joint sweep, serial executor: LPDDR bandwidth × SkyNet input height × width on edge-soc",
        {
            "scenario": {
                "name": "bench-joint-sweep",
                "runtime": "ideal",
                "architectures": ["edge-soc"],
                "workloads": [{"name": "skynet", "kind": "skynet", "batch": 1, "dtype": "fp16"}],
                "sweep": {
                    "architectures.0.memories.lpddr.bandwidth": bandwidths,
                    "workloads.0.height": heights,
                    "workloads.0.width": widths,
                },
                "outputs": ["json"],
            }
        },
    )
