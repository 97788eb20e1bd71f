"""Pydantic field types for physical quantities: YAML strings with units in, SI floats out.

Each type validates with :func:`simulator.units.parse_quantity` and advertises itself in JSON
Schema as a string with an example, so editors can check architecture files as they are typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

from simulator.units import DIMENSIONS, parse_quantity


@dataclass(frozen=True)
class Dimension:
    """Marks a quantity field with its dimension (pydantic ignores it; writing specs back with units reads it)."""

    name: str


def _parser(dimension: str) -> BeforeValidator:
    def parse(value: object) -> float:
        return parse_quantity(value, dimension)

    return BeforeValidator(parse)


def _schema(dimension: str) -> WithJsonSchema:
    example = DIMENSIONS[dimension][1]
    return WithJsonSchema(
        {
            "anyOf": [{"type": "string", "examples": [example]}, {"const": 0}],
            "description": f"{dimension.replace('_', ' ')} with a unit, e.g. '{example}'",
        }
    )


Size = Annotated[float, _parser("size"), _schema("size"), Dimension("size")]
Bandwidth = Annotated[float, _parser("bandwidth"), _schema("bandwidth"), Dimension("bandwidth")]
Frequency = Annotated[float, _parser("frequency"), _schema("frequency"), Dimension("frequency")]
Time = Annotated[float, _parser("time"), _schema("time"), Dimension("time")]
Power = Annotated[float, _parser("power"), _schema("power"), Dimension("power")]
Energy = Annotated[float, _parser("energy"), _schema("energy"), Dimension("energy")]
EnergyPerByte = Annotated[float, _parser("energy_per_byte"), _schema("energy_per_byte"), Dimension("energy_per_byte")]
EnergyPerFlop = Annotated[float, _parser("energy_per_flop"), _schema("energy_per_flop"), Dimension("energy_per_flop")]
FlopRate = Annotated[float, _parser("flop_rate"), _schema("flop_rate"), Dimension("flop_rate")]
