"""Tables of the map platform's user-drawn features (标绘): points, lines and polygons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kit.db import Base, UTCDateTime, utcnow


class MapDrawing(Base):
    """A feature drawn on the map (an emergency cordon, a route, a meeting point).

    `org_code` is the unit it belongs to and decides the scope, like every owned row; the
    drawing is private to `owner_id` unless `shared`, which shows it to everyone whose scope
    covers `org_code` (the town's centre, the district). The bounding box columns let a map
    ask for the drawings in view without parsing every geometry.
    """

    __tablename__ = "map_drawing"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # Point | LineString | Polygon
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON geometry, WGS84/CGCS2000
    style: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    org_code: Mapped[str] = mapped_column(
        String(24), ForeignKey("org_unit.code", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
