"""hetsim benchmark suite: ``python -m benchmarks [-o bench.json] [--small] [--case NAME]`` (``make bench``).

Cases (:func:`benchmarks.cases.default_cases`): the engine micro-benchmarks (``micro.decode``,
``micro.gemm_chain``: made-up chip, trace prebuilt), a 7B baseline (eager and ideal runtimes) and
Medusa at 512 + 512 tokens,
SnapKV at a 32K prompt, SkyNet batch 32, a 64-point sweep (serial executor), and a ~100k- and a
~1M-operator trace written to a file and replayed from it, to show that memory stays flat as the
trace grows. Each case runs in a fresh process; the figures are wall time, the wall time of the
same runs with the step fast path off (``exact``) and the ratio, simulated operators and SimPy
events per second, and peak RSS. See ``docs/benchmarks.md``.
"""

from benchmarks.cli import benchmark, main
from benchmarks.micro import BENCH_ARCH, decode_ops, gemm_chain_ops

__all__ = ["BENCH_ARCH", "benchmark", "decode_ops", "gemm_chain_ops", "main"]
