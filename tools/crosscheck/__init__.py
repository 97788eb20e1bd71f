"""Cross-checks against peer tools (``make crosscheck``; optional, never in CI).

hetsim's Llama-2-7B A100 prefill and decode step are compared with the analytical peers GenZ
(``genz-llm``) and ``llm-analysis``; a 3×3 convolution on a 32×32 weight-stationary array with
ZigZag's ``tpu_like`` per-access energies is compared with ZigZag's (``zigzag-dse``) energy and
per-level split and with SCALE-Sim's (``scalesim``) cycle count. ``docs/crosscheck.md`` records
the numbers and explains the differences.

Modules: :mod:`~tools.crosscheck.hetsim_side` (hetsim's architectures, traces and numbers),
:mod:`~tools.crosscheck.peers` (adapters that run the peers),
:mod:`~tools.crosscheck.scalesim_runner` (standalone, for SCALE-Sim's own environment),
:mod:`~tools.crosscheck.table` (side-by-side rows) and :mod:`~tools.crosscheck.run` (CLI).
"""
