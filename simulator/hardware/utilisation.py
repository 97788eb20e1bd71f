"""Utilisation models: the fraction of a matrix unit's peak that an operator's shape can use.

GEMM-like operators are reduced to a batched GEMM ``B × (M×K · K×N)`` by :func:`gemm_dims`:

- ``matmul`` / ``attention``: dims ``B, M, N, K`` (missing ones default to 1);
- ``conv2d`` / ``dwconv2d`` as implicit GEMM per group: ``B = groups``, ``M = N·H·W`` (output
  pixels), ``N = K/groups`` (output channels per group), ``K = (C/groups)·R·S``. For an ordinary
  convolution (``groups = 1``) this is ``M = N·H·W, N = K, K = C·R·S``. A depthwise convolution
  (``groups = C``) becomes ``C`` GEMMs with ``N = 1`` and ``K = R·S``: on a matrix unit that leaves
  almost every column and row of the array idle, which is the honest answer (depthwise layers are
  why mobile CNNs run poorly on big systolic arrays).

Models (:class:`~simulator.config.architecture.UtilisationSpec`):

- ``ideal``: 1.
- ``tiles``: output tiles ``tile_m × tile_n`` (with ``min_tile_m`` set, the tile rows follow M:
  the next power of two of M, clamped to ``[min_tile_m, tile_m]``, as cuBLAS/CUTLASS pick small-M
  tiles for skinny GEMMs and large tiles otherwise); tile quantisation ``M·N / (⌈M/tm⌉·tm · ⌈N/tn⌉·tn)``
  times wave quantisation ``T / (⌈T/P⌉·P)`` with ``T = B·⌈M/tm⌉·⌈N/tn⌉`` tiles over ``P =
  parallel_tiles`` workers.
- ``systolic``: a weight-stationary ``rows × cols`` array holds a ``K × N`` weight tile; ragged
  tiles give ``K·N / (⌈K/rows⌉·rows · ⌈N/cols⌉·cols)``, and each pass streams ``M`` rows with
  ``rows + cols`` cycles of fill and drain: ``M / (M + rows + cols)``.

Only ``matrix`` and ``fabric`` units apply the model; ``vector`` and ``scalar`` units run every
kind at utilisation 1 (their peak already is their SIMD rate).
"""

from __future__ import annotations

from collections.abc import Mapping

from simulator.config.architecture import UtilisationSpec


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def gemm_dims(kind: str, dims: Mapping[str, int]) -> tuple[int, int, int, int] | None:
    """``(B, M, N, K)`` of a GEMM-like operator, or ``None`` for other kinds."""
    if kind in ("matmul", "attention"):
        return (
            max(1, dims.get("B", 1)),
            max(1, dims.get("M", 1)),
            max(1, dims.get("N", 1)),
            max(1, dims.get("K", 1)),
        )
    if kind in ("conv2d", "dwconv2d"):
        channels = max(1, dims.get("C", 1))
        groups = max(1, dims.get("groups", channels if kind == "dwconv2d" else 1))
        out_channels = max(1, dims.get("K", channels))
        m = max(1, dims.get("N", 1)) * max(1, dims.get("H", 1)) * max(1, dims.get("W", 1))
        n = max(1, out_channels // groups)
        k = max(1, channels // groups) * max(1, dims.get("R", 1)) * max(1, dims.get("S", 1))
        return groups, m, n, k
    return None


def utilisation(spec: UtilisationSpec, unit_kind: str, kind: str, dims: Mapping[str, int]) -> float:
    """Fraction (0, 1] of peak an operator of ``kind`` with ``dims`` uses on a unit of ``unit_kind``."""
    if spec.model == "ideal" or unit_kind not in ("matrix", "fabric"):
        return 1.0
    shape = gemm_dims(kind, dims)
    if shape is None:
        return 1.0
    b, m, n, k = shape
    if spec.model == "tiles":
        tm, tn, workers = spec.tile_m, spec.tile_n, spec.parallel_tiles
        if spec.min_tile_m is not None:
            tm = min(tm, max(spec.min_tile_m, 1 << (m - 1).bit_length()))
        tiles_m, tiles_n = _ceil_div(m, tm), _ceil_div(n, tn)
        tile_q = (m * n) / (tiles_m * tm * tiles_n * tn)
        tiles = b * tiles_m * tiles_n
        wave_q = tiles / (_ceil_div(tiles, workers) * workers)
        return tile_q * wave_q
    if spec.model == "systolic":
        rows, cols = spec.rows, spec.cols
        ragged = (k * n) / (_ceil_div(k, rows) * rows * _ceil_div(n, cols) * cols)
        fill = m / (m + rows + cols)
        return ragged * fill
    raise ValueError(f"utilisation model(={spec.model!r}) must be one of ideal, tiles, systolic")


def operand_bytes_per_flop(
    spec: UtilisationSpec, unit_kind: str, kind: str, dims: Mapping[str, int], bits: int
) -> float:
    """Bytes a tiled matrix unit reads from its shared memory per FLOP (0 for other models).

    Each K step of a ``tm × tn`` output tile loads ``tm + tn`` operand elements for ``2·tm·tn`` FLOPs
    (docs/concepts.md#energy).
    """
    if spec.model != "tiles" or unit_kind != "matrix":
        return 0.0
    shape = gemm_dims(kind, dims)
    if shape is None:
        return 0.0
    m = shape[1]
    tm, tn = spec.tile_m, spec.tile_n
    if spec.min_tile_m is not None:
        tm = min(tm, max(spec.min_tile_m, 1 << (m - 1).bit_length()))
    return (tm + tn) * bits / 8 / (2 * tm * tn)
