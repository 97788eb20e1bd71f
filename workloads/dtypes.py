"""Number formats and their storage size, per tensor class.

Weight-only quantisation (``int8``/``int4`` weights with ``fp16`` compute) is expressed by giving
weights and activations different dtypes; SkyNet's FPGA scheme ``w11a9`` stores 11-bit weights and
9-bit feature maps (``ap_fixed<11,4>`` / ``ap_fixed<9,3>``, TomG008/SkyNet ``FPGA/HLS/net_hls.h``).
"""

from __future__ import annotations

import math
from typing import Final

#: Bits per element for a dtype used uniformly.
DTYPE_BITS: Final[dict[str, int]] = {
    "fp32": 32,
    "tf32": 32,  # stored as fp32
    "fp16": 16,
    "bf16": 16,
    "fp8": 8,
    "int8": 8,
    "int4": 4,
}

#: Mixed fixed-point schemes: bits for (weights, activations).
MIXED_BITS: Final[dict[str, tuple[int, int]]] = {"w11a9": (11, 9)}

DTYPES: Final = tuple(DTYPE_BITS) + tuple(MIXED_BITS)


def bits_per_element(dtype: str, tensor_class: str = "activation") -> int:
    """Storage bits of one element of ``dtype`` in a tensor of ``tensor_class``."""
    if dtype in DTYPE_BITS:
        return DTYPE_BITS[dtype]
    if dtype in MIXED_BITS:
        weight_bits, activation_bits = MIXED_BITS[dtype]
        return weight_bits if tensor_class == "weight" else activation_bits
    raise ValueError(f"dtype(={dtype!r}) must be one of {DTYPES}")


def tensor_bytes(elements: int, dtype: str, tensor_class: str = "activation") -> int:
    """Bytes to store ``elements`` values (rounded up to whole bytes, as packed storage does)."""
    return math.ceil(elements * bits_per_element(dtype, tensor_class) / 8)
