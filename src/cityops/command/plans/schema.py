"""What a plan version holds: the units to engage per level, their orders and deadlines."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cityops.kit.web import NO_NUL


class Tier(StrEnum):
    """The three levels of the linkage (三级联动)."""

    DISTRICT = "district"
    TOWN = "town"
    COMMUNITY = "community"


class Target(StrEnum):
    """Who receives an order, relative to the incident's area (or one fixed org unit)."""

    DISTRICT = "district"  # the district's command centre (区城运中心)
    AREA_TOWN = "area_town"  # the town (街镇) of the incident's area
    AREA_COMMUNITIES = "area_communities"  # the communities (居村) of the area
    UNIT = "unit"  # one fixed org unit: `unit_code`


class StepSpec(BaseModel):
    """One order template: to whom, what, at which levels, with which deadlines."""

    model_config = ConfigDict(extra="forbid")

    tier: Tier
    target: Target
    unit_code: str | None = Field(default=None, pattern=r"^[0-9]{6,15}$")
    task: str = Field(min_length=1, max_length=500, pattern=NO_NUL)
    # The levels at which this step is engaged: 4 = IV (the lowest) … 1 = I (the highest).
    levels: list[int] = Field(min_length=1, max_length=4)
    sign_minutes: int = Field(ge=1, le=1440, description="签收时限, minutes")
    complete_minutes: int | None = Field(default=None, ge=1, le=43200)
    # The escalation chain's spacing: remind at the deadline, the leader after one gap,
    # the level above after two.
    escalate_minutes: int = Field(default=10, ge=1, le=1440)

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: list[int]) -> list[int]:
        if any(level not in (1, 2, 3, 4) for level in value):
            raise ValueError("levels are 1 (I) to 4 (IV)")
        return sorted(set(value))

    def engaged_at(self, level: int) -> bool:
        """Whether this step sends an order at this response level."""
        return level in self.levels


class PlanBody(BaseModel):
    """The content of one plan version."""

    model_config = ConfigDict(extra="forbid")

    steps: list[StepSpec] = Field(min_length=1, max_length=200)
    sources: list[str] = Field(default_factory=list, max_length=20)  # documents it follows

    def steps_at(self, level: int) -> list[StepSpec]:
        """The steps engaged at a response level."""
        return [s for s in self.steps if s.engaged_at(level)]
