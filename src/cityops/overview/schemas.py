"""What the overview API answers: one document per area, made of parts with a status and a note."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

PartStatus = Literal["live", "static", "not_available"]


class SourceRead(BaseModel):
    """Where a published figure comes from."""

    publisher: str
    title: str
    year: int
    url: str
    via: str = ""


class FigureRead(BaseModel):
    """One published figure (人口、经济), with its source."""

    key: str
    label: str
    year: int | None
    value: float
    unit: str
    source: SourceRead
    note: str = ""


class UnitRef(BaseModel):
    """A unit named and linked, for breadcrumbs and drill-down."""

    code: str
    name: str
    level: str
    level_label: str
    overview: str | None = Field(
        description="Its overview page, or null when the caller may not open it"
    )
    synthetic: bool = False


class Part(BaseModel):
    """One part of an overview.

    `status`: `live` — computed from the platform's own data now; `static` — published
    reference data shipped with the platform; `not_available` — the module that would fill it
    has not landed, or no public source exists. `note` says so in plain words; `missing` names
    the modules still to come that will fill the part.
    """

    key: str
    title: str
    status: PartStatus
    note: str
    missing: list[str] = Field(default_factory=list)
    synthetic: bool = Field(default=False, description="Contains synthetic (non-official) data")
    data: dict[str, Any] = Field(default_factory=dict)
    computed_at: datetime


class OverviewRead(BaseModel):
    """The overview (总览) of one area: district, street/town, community or grid."""

    code: str
    name: str
    level: str
    level_label: str
    kind: Literal["district", "town", "community", "grid"]
    crumbs: list[UnitRef]
    parts: dict[str, Part]
    cache: Literal["hit", "partial", "miss", "bypass"] = Field(
        description="Whether the parts came from the short-lived cache"
    )
