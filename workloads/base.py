"""The common base of every workload spec: a YAML mapping with a ``kind`` and an optional ``name``."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

#: Default bound on a workload's estimated operator count (``max_operators``): about eight hours of
#: simulation at the engine's measured ~35k operators/s on one core (docs/benchmarks.md), beyond
#: every shipped scenario and a million-token generation with a 7B model (~0.5 G operators).
MAX_OPERATORS = 1_000_000_000


class WorkloadInputError(ValueError):
    """A workload input found wrong only while its trace is generated (a model file, an ONNX graph).

    The runner reports it as a user error of the workload (exit 2), never as a traceback. ``args``
    is ``(message,)``, so it survives SimPy and pickle re-creating it.
    """


class WorkloadBase(BaseModel):
    """Unknown keys are errors; specs are immutable; YAML may use aliases or field names.

    ``dtype`` is the one spelling of a workload's number format (as in traces and in the units'
    ``peak``); ``precision`` is accepted as an older alias of it, in every kind that has a ``dtype``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str | None = Field(None, description="label in reports (default: the kind)")
    seed: int = Field(0, ge=0, description="seed for any sampled choice; same seed, same trace")
    max_operators: int = Field(
        MAX_OPERATORS,
        ge=1,
        description="refuse the workload when its estimated operator count is larger (a typo such as "
        "generate_tokens: 1000000000 would simulate for days); raise it to run such a workload anyway",
    )

    @model_validator(mode="after")
    def _bounded_size(self) -> WorkloadBase:
        estimate = self.estimated_operators()
        if estimate is not None and estimate > self.max_operators:
            raise ValueError(
                f"this workload would emit about {estimate:,} operators, more than max_operators "
                f"(= {self.max_operators:,}); check generate_tokens/repeat/batch, or raise max_operators to run it"
            )
        return self

    def estimated_operators(self) -> int | None:
        """About how many operators the trace will hold (``None``: unknown, e.g. a trace file)."""
        return None

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_numbers(cls, data: Any) -> Any:
        check_number_inputs(cls, data)
        return data

    @model_validator(mode="before")
    @classmethod
    def _precision_is_dtype(cls, data: Any) -> Any:
        if isinstance(data, dict) and "precision" in data and "dtype" in cls.model_fields:
            if "dtype" in data:
                raise ValueError("give 'dtype' or its older spelling 'precision', not both")
            data = {("dtype" if key == "precision" else key): value for key, value in data.items()}
        return data

    @property
    def label(self) -> str:
        """The name shown in reports."""
        return self.name or str(getattr(self, "kind", "workload"))


def _number_type(annotation: Any) -> bool:
    """Whether a field takes a number and not a boolean (``int``, ``float``, ``int | None``, ...)."""
    if typing.get_origin(annotation) is typing.Annotated:
        if any(isinstance(meta, BeforeValidator) for meta in typing.get_args(annotation)[1:]):
            return False  # parses its own input (a quantity with a unit)
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return bool(members) and all(_number_type(a) for a in members)
    return annotation in (int, float)


def check_number_inputs(model: type[BaseModel], data: Any) -> None:
    """Reject ``true``/``false`` and quoted numbers for number fields, each error at its key.

    pydantic's lax mode reads ``M: true`` as 1 and ``M: "64"`` as 64; a YAML file that says either
    has a mistake in it. (A ``mode="before"`` model validator, not a ``"*"`` field validator: the
    latter would also wrap the ``kind`` discriminator, which pydantic forbids.)
    """
    if not isinstance(data, dict):
        return
    errors = []
    for name, field in model.model_fields.items():
        if any(isinstance(meta, BeforeValidator) for meta in field.metadata):
            continue  # the field parses its own input (a quantity with a unit, "2 TB/s")
        for key in (field.alias, name):
            if key is not None and key in data:
                value = data[key]
                if isinstance(value, bool | str) and _number_type(field.annotation):
                    error = PydanticCustomError("number_type", "expected a number, not a boolean or a quoted string")
                    errors.append(InitErrorDetails(type=error, loc=(key,), input=value))
                break
    if errors:
        raise ValidationError.from_exception_data(model.__name__, errors)
