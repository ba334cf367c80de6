"""API shapes of the map platform's layers, features and user drawings."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cityops.kit.web import NO_NUL

COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"
CODE_PATTERN = r"^[0-9]{6}[0-9A-Z]{0,18}$"


class LayerInfo(BaseModel):
    """One registered layer and where to fetch it."""

    name: str
    title: str
    geometry: str
    min_zoom: int
    max_zoom: int
    labels: bool
    tiles: str = Field(description="Tile URL template (relative to the platform)")
    features: str = Field(description="GeoJSON features URL (relative to the platform)")


class DrawingStyle(BaseModel):
    """How a drawing is drawn."""

    model_config = ConfigDict(extra="forbid")

    color: str = Field(default="#ff4d4f", pattern=COLOR_PATTERN)
    width: float = Field(default=3.0, ge=0.5, le=20.0, description="Line width in pixels")
    fill_opacity: float = Field(default=0.2, ge=0.0, le=1.0)
    dashed: bool = False


class DrawingCreate(BaseModel):
    """A new drawing: a GeoJSON Point, LineString or Polygon, in `crs` (WGS84 by default)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=NO_NUL, examples=["警戒区"])
    geometry: dict[str, Any] = Field(
        examples=[{"type": "Point", "coordinates": [121.2646, 31.1166]}]
    )
    style: DrawingStyle = Field(default_factory=DrawingStyle)
    shared: bool = Field(default=False, description="Show it to everyone whose scope covers org")
    org_code: str | None = Field(
        default=None,
        pattern=CODE_PATTERN,
        description="The unit it belongs to; yours by default, any unit in your scope",
    )
    crs: str = Field(default="wgs84", max_length=64)


class DrawingUpdate(BaseModel):
    """Changes to a drawing; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=128, pattern=NO_NUL)
    geometry: dict[str, Any] | None = None
    style: DrawingStyle | None = None
    shared: bool | None = None
    crs: str = Field(default="wgs84", max_length=64)


class DrawingProperties(BaseModel):
    """A drawing's properties, flat so a map style can read them."""

    name: str
    color: str
    width: float
    fill_opacity: float
    dashed: bool
    org_code: str
    shared: bool
    owner: str | None
    mine: bool
    editable: bool
    created_at: datetime
    updated_at: datetime


class DrawingFeature(BaseModel):
    """A drawing as a GeoJSON Feature."""

    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any]
    properties: DrawingProperties


class DrawingCollection(BaseModel):
    """Drawings as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    crs_name: str = Field(alias="crs", serialization_alias="crs")
    features: list[DrawingFeature]

    model_config = ConfigDict(populate_by_name=True)
