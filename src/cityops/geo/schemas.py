"""API shapes of the map platform's coordinate and division services."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from cityops.geo.crs import COORD_LIMIT

#: A coordinate: finite and within the limit the CRS formulas take (larger ones overflow).
Finite = Annotated[float, Field(allow_inf_nan=False, ge=-COORD_LIMIT, le=COORD_LIMIT)]
Coordinate = Annotated[list[Finite], Field(min_length=2, max_length=2)]
MAX_BATCH = 100_000


class TransformRequest(BaseModel):
    """Points or a GeoJSON geometry to convert between two CRSs."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str = Field(alias="from", max_length=64, examples=["wgs84"])
    target: str = Field(alias="to", max_length=64, examples=["gcj02"])
    points: list[Coordinate] | None = Field(default=None, max_length=MAX_BATCH)
    geometry: dict[str, Any] | None = None


class TransformResult(BaseModel):
    """Converted points or geometry, in the target CRS."""

    crs: str
    points: list[list[float]] | None = None
    geometry: dict[str, Any] | None = None


class DivisionRef(BaseModel):
    """A unit that contains the point; `approximate` when its polygon is generated."""

    code: str
    name: str
    approximate: bool


class DivisionPlacement(BaseModel):
    """Where one point lies, from district down to grid and multi-grid unit."""

    lon: float
    lat: float
    inside_district: bool
    district: DivisionRef | None
    unit: DivisionRef | None
    community: DivisionRef | None
    grid: DivisionRef | None
    multigrid: DivisionRef | None


class DivisionBatchRequest(BaseModel):
    """Many points in one CRS."""

    model_config = ConfigDict(extra="forbid")

    crs: str = Field(default="wgs84", max_length=64)
    points: list[Coordinate] = Field(min_length=1, max_length=MAX_BATCH)


class DivisionBatchResult(BaseModel):
    """One placement per point, in order."""

    items: list[DivisionPlacement]
    approximate_boundaries: bool = Field(
        description="True while any polygon used is generated rather than official"
    )
