r"""On-chip reuse: how many times a GEMM-like operator reads its operands from their home memory.

The unit's ``buffer`` memory (capacity ``S`` bytes) holds the working tiles. If the whole working
set fits (``|A| + |B| + |C| ≤ S``), every operand is read once: compulsory traffic, factor 1.

Otherwise the operator runs **output-stationary square tiles**: ``C`` (``M × N``) is cut into
``T × T`` tiles; for each tile the unit streams the matching ``T × K`` panel of ``A`` and ``K × T``
panel of ``B`` through the buffer in ``T × T`` blocks, accumulating the tile of ``C`` in place.
Holding one block of ``A``, one of ``B`` and the tile of ``C`` needs ``3·T²·e ≤ S`` for ``e``
bytes per element, so

.. math::  T = \max\left(1, \left\lfloor \sqrt{S / (3e)} \right\rfloor\right).

Every one of the ``⌈N/T⌉`` tile columns reads all of ``A`` (``M·K`` elements) and every one of the
``⌈M/T⌉`` tile rows reads all of ``B`` (``K·N``); ``C`` is written once. Hence the re-read factors

.. math::  f_A = \lceil N/T \rceil, \qquad f_B = \lceil M/T \rceil,

each ≥ 1 and non-increasing in ``S`` (a bigger buffer never adds traffic). For decode (``M = 1``)
``f_B = 1``: weights stream once and only the small activation is re-read. ``e`` is the
operator's mean bytes per element, ``(|A|+|B|+|C|) / (B·(MK + KN + MN))``.

Which tensors are ``A`` and ``B``: activations read are ``A`` (the streamed rows); weights and KV
cache read are ``B`` (the stationary operand). Batched GEMMs (``B`` copies) tile each copy alike.
"""

from __future__ import annotations

import math


def gemm_reuse_factors(
    b: int, m: int, n: int, k: int, total_bytes: float, buffer_bytes: float | None
) -> tuple[float, float]:
    """Re-read factors ``(f_A, f_B)`` of a ``b × (m×k · k×n)`` GEMM moving ``total_bytes`` compulsory.

    ``buffer_bytes=None`` (no buffer modelled) or a working set that fits gives ``(1, 1)``.
    """
    if buffer_bytes is None or total_bytes <= buffer_bytes:
        return 1.0, 1.0
    elements = b * (m * k + k * n + m * n)
    elem_bytes = total_bytes / elements if elements else 1.0
    if elem_bytes <= 0:
        return 1.0, 1.0
    tile = max(1, math.isqrt(int(buffer_bytes / (3.0 * elem_bytes))))
    return float(-(-n // tile)), float(-(-m // tile))
