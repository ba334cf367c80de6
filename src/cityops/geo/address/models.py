"""Tables of the map platform: the standard address library (标准地址库)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kit.db import Base, UTCDateTime, utcnow


class StdAddress(Base):
    """One standard address (a door, or a road when `number` is empty), WGS84/CGCS2000.

    `norm_key` is what the parser makes of the address (see `cityops.geo.address.geocode.door_key`), so
    any way of writing the same door finds the row. Roads live here too: a row with a road and
    no number is that road's point. Unit and community codes are checked against the org tree
    at import; they are not foreign keys, so a re-import of division codes never deletes them.
    """

    __tablename__ = "std_address"
    __table_args__ = (Index("ix_std_address_unit_road", "unit_code", "road"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(255))
    norm_key: Mapped[str] = mapped_column(String(255), unique=True)
    unit_code: Mapped[str] = mapped_column(String(24))
    community_code: Mapped[str | None] = mapped_column(String(24), index=True)
    road: Mapped[str | None] = mapped_column(String(64))
    lane: Mapped[str | None] = mapped_column(String(16))
    sublane: Mapped[str | None] = mapped_column(String(16))
    number: Mapped[str | None] = mapped_column(String(16))
    village_group: Mapped[str | None] = mapped_column(String(16))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
