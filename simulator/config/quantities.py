"""Pydantic field types for physical quantities: YAML strings with units in, SI floats out.

Each type validates with :func:`simulator.units.parse_quantity` and advertises itself in JSON
Schema as a string with an example, so editors can check architecture files as they are typed.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from simulator.units import DIMENSIONS, parse_quantity


def _quantity(dimension: str) -> Any:
    example = DIMENSIONS[dimension][1]

    def parse(value: object) -> float:
        return parse_quantity(value, dimension)

    schema = {
        "anyOf": [{"type": "string", "examples": [example]}, {"const": 0}],
        "description": f"{dimension.replace('_', ' ')} with a unit, e.g. '{example}'",
    }
    return Annotated[float, BeforeValidator(parse), WithJsonSchema(schema)]


Size = _quantity("size")
Bandwidth = _quantity("bandwidth")
Frequency = _quantity("frequency")
Time = _quantity("time")
Power = _quantity("power")
Energy = _quantity("energy")
EnergyPerByte = _quantity("energy_per_byte")
EnergyPerFlop = _quantity("energy_per_flop")
FlopRate = _quantity("flop_rate")
