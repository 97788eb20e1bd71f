"""The common base of every workload spec: a YAML mapping with a ``kind`` and an optional ``name``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WorkloadBase(BaseModel):
    """Unknown keys are errors; specs are immutable; YAML may use aliases or field names."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str | None = Field(None, description="label in reports (default: the kind)")
    seed: int = Field(0, ge=0, description="seed for any sampled choice; same seed, same trace")

    @property
    def label(self) -> str:
        """The name shown in reports."""
        return self.name or str(getattr(self, "kind", "workload"))
