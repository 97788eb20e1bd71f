"""Physical quantities written with units in YAML (``2.039 TB/s``, ``7 pJ/bit``, ``40 MiB``).

Parsed once, at load, into SI floats: bytes, seconds, joules, FLOPs and their ratios. A number
without a unit is rejected for every dimensioned quantity, because a bare ``2`` in a hardware file
is always a bug waiting to happen. A hand-written parser (instead of pint) keeps the accepted
grammar small, exact and fast, and lets every error say which dimension was expected.

Grammar: ``<number> <unit>[/<unit>]`` where a unit is an optional SI or binary prefix followed by
one of ``B byte bit b s Hz W J FLOP OP MAC``; ``FLOPS``/``OPS``/``TOPS`` mean per second.
``b`` is a bit and ``B`` a byte; ``k`` and ``K`` both mean 10³, ``Ki`` means 2¹⁰; a MAC counts as
two FLOPs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

# Base units as (factor to SI, dimension vector). Dimensions: byte, s, J, flop.
_Dim = tuple[int, int, int, int]
_BASE: dict[str, tuple[float, _Dim]] = {
    "B": (1.0, (1, 0, 0, 0)),
    "byte": (1.0, (1, 0, 0, 0)),
    "bytes": (1.0, (1, 0, 0, 0)),
    "bit": (0.125, (1, 0, 0, 0)),
    "bits": (0.125, (1, 0, 0, 0)),
    "b": (0.125, (1, 0, 0, 0)),
    "s": (1.0, (0, 1, 0, 0)),
    "Hz": (1.0, (0, -1, 0, 0)),
    "W": (1.0, (0, -1, 1, 0)),
    "J": (1.0, (0, 0, 1, 0)),
    "FLOP": (1.0, (0, 0, 0, 1)),
    "flop": (1.0, (0, 0, 0, 1)),
    "OP": (1.0, (0, 0, 0, 1)),
    "op": (1.0, (0, 0, 0, 1)),
    "MAC": (2.0, (0, 0, 0, 1)),
    "FLOPS": (1.0, (0, -1, 0, 1)),
    "OPS": (1.0, (0, -1, 0, 1)),
}
_PREFIX: dict[str, float] = {
    "": 1.0,
    "f": 1e-15,
    "p": 1e-12,
    "n": 1e-9,
    "u": 1e-6,
    "µ": 1e-6,
    "μ": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}

#: Dimension name -> (dimension vector, example shown in error messages).
DIMENSIONS: Mapping[str, tuple[_Dim, str]] = {
    "size": ((1, 0, 0, 0), "40 MiB"),
    "bandwidth": ((1, -1, 0, 0), "2.039 TB/s"),
    "frequency": ((0, -1, 0, 0), "1.41 GHz"),
    "time": ((0, 1, 0, 0), "405 ns"),
    "power": ((0, -1, 1, 0), "400 W"),
    "energy": ((0, 0, 1, 0), "1.5 pJ"),
    "energy_per_byte": ((-1, 0, 1, 0), "3.97 pJ/bit"),
    "energy_per_flop": ((0, 0, 1, -1), "0.6 pJ/FLOP"),
    "flop_rate": ((0, -1, 0, 1), "312 TFLOP/s"),
}

_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


class UnitError(ValueError):
    """A quantity string that does not parse, or has the wrong dimension."""


def _unit_term(term: str) -> tuple[float, _Dim]:
    """Factor and dimension of one prefixed unit such as ``TB`` or ``pJ``."""
    for base in sorted(_BASE, key=len, reverse=True):
        prefix = term[: len(term) - len(base)]
        if term.endswith(base) and prefix in _PREFIX:
            factor, dim = _BASE[base]
            if dim == DIMENSIONS["size"][0] and _PREFIX[prefix] < 1:  # 'mB' is a typo for 'MB', never a millibyte
                near = f"; did you mean {prefix.upper() + base!r}?" if prefix.upper() in _PREFIX else ""
                raise UnitError(f"{term!r} would be a fraction of a {base}{near}")
            return _PREFIX[prefix] * factor, dim
    raise UnitError(f"unknown unit {term!r}")


def _unit(text: str) -> tuple[float, _Dim]:
    """Factor and dimension of a unit expression ``num[/den]``."""
    parts = [p.strip() for p in text.replace(" per ", "/").split("/")]
    if len(parts) > 2 or not all(parts):
        raise UnitError(f"cannot read unit {text!r}")
    factor, dim = _unit_term(parts[0])
    if len(parts) == 2:
        den_factor, den_dim = _unit_term(parts[1])
        factor /= den_factor
        dim = (dim[0] - den_dim[0], dim[1] - den_dim[1], dim[2] - den_dim[2], dim[3] - den_dim[3])
    return factor, dim


def parse_quantity(value: object, dimension: str) -> float:
    """Parse ``value`` (e.g. ``"2.039 TB/s"``) as ``dimension`` and return it in SI units.

    Raises :class:`UnitError` with the expected form when the text is not a quantity of that
    dimension. Values must be finite and non-negative: no hardware has negative bandwidth.
    """
    if dimension not in DIMENSIONS:
        raise KeyError(f"unknown dimension {dimension!r}")
    want, example = DIMENSIONS[dimension]
    words = dimension.replace("_", " ")
    expected = f"expected {'an' if words[0] in 'aeiou' else 'a'} {words} with its unit, such as '{example}'"
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, int | float) and value == 0:
            return 0.0  # zero needs no unit
        raise UnitError(f"{expected}, got {value!r} (write the unit)")
    match = _NUMBER.match(value)
    if not match:
        raise UnitError(f"{expected}, got {value!r}")
    if not match.group(2):
        raise UnitError(f"{expected}, got {value!r} (write the unit)")
    number = float(match.group(1))
    try:
        factor, dim = _unit(match.group(2))
    except UnitError as exc:
        raise UnitError(f"{expected}, got {value!r}: {exc}") from None
    if dim != want:
        raise UnitError(f"{expected}, got {value!r} (wrong kind of unit)")
    result = number * factor
    if not math.isfinite(result) or result < 0:
        raise UnitError(f"{expected}, got {value!r} (must be finite and >= 0)")
    return result


_FORMAT_UNITS: Mapping[str, tuple[str, tuple[tuple[float, str], ...]]] = {
    "size": ("B", ((2.0**40, "Ti"), (2.0**30, "Gi"), (2.0**20, "Mi"), (2.0**10, "Ki"))),
    "bandwidth": ("B/s", ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))),
    "frequency": ("Hz", ((1e9, "G"), (1e6, "M"), (1e3, "k"))),
    "time": ("s", ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))),
    "power": ("W", ((1e3, "k"), (1.0, ""), (1e-3, "m"))),
    "energy": ("J", ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"))),
    "energy_per_byte": ("J/B", ((1e-9, "n"), (1e-12, "p"), (1e-15, "f"))),
    "energy_per_flop": ("J/FLOP", ((1e-9, "n"), (1e-12, "p"), (1e-15, "f"))),
    "flop_rate": ("FLOP/s", ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"))),
}


def format_quantity(value: float, dimension: str, digits: int = 4) -> str:
    """Render an SI value with a readable prefix and ``digits`` significant digits (for display).

    The output parses back with :func:`parse_quantity`, to ``digits`` digits; files that must load
    back to the same floats use :func:`format_exact`.
    """
    unit, scales = _FORMAT_UNITS[dimension]
    for scale, prefix in scales:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}"
    scale, prefix = scales[-1]
    return f"{value / scale:.{digits}g} {prefix}{unit}"


def format_exact(value: float, dimension: str) -> str:
    """The shortest quantity string that :func:`parse_quantity` reads back as exactly ``value``.

    ``0.6 pJ/FLOP`` stays ``0.6 pJ/FLOP`` (``600 fJ/FLOP`` would parse to a neighbouring float:
    600 × 1e-15 ≠ 0.6 × 1e-12 in binary). Every prefix of the dimension is tried with 1 to 17
    significant digits; the base unit with Python's shortest round-trip ``repr`` always works.
    """
    unit, scales = _FORMAT_UNITS[dimension]
    exact = f"{float(value)!r} {unit}"  # factor 1: float(repr(x)) == x
    display = format_quantity(value, dimension).split(" ")[1]  # the prefix a reader expects
    best = exact if parse_quantity(exact, dimension) == value else None
    for scale, prefix in scales:
        scaled = value / scale
        if not 1e-3 <= abs(scaled) < 1e6:  # a readable mantissa only
            continue
        for digits in range(1, 18):
            text = f"{scaled:.{digits}g} {prefix}{unit}"
            if "e" not in text.split(" ")[0] and parse_quantity(text, dimension) == value:
                if prefix + unit == display and digits <= 12:
                    return text  # the usual prefix, written short
                if best is None or len(text) < len(best):
                    best = text
                break
    if best is None:  # pragma: no cover - repr round-trips every finite float
        raise UnitError(f"cannot write {value!r} as a {dimension} that reads back exactly")
    return best
