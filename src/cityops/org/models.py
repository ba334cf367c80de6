"""Tables of the org tree: division releases, org units and departments."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kit.db import Base, UTCDateTime, utcnow


class OrgLevel(StrEnum):
    """Level of a unit in the tree (层级)."""

    DISTRICT = "district"  # 区
    STREET = "street"  # 街道 (NBS 0xx)
    TOWN = "town"  # 镇 (NBS 1xx)
    TOWNSHIP = "township"  # 乡 (NBS 2xx–3xx)
    ZONE = "zone"  # 开发区、度假区等 (NBS 4xx–5xx)
    RESIDENTS_COMMITTEE = "residents_committee"  # 居委会 (001–199)
    VILLAGE_COMMITTEE = "village_committee"  # 村委会 (200–399)
    VIRTUAL_COMMUNITY = "virtual_community"  # 虚拟社区 (4xx–5xx)
    MULTIGRID = "multigrid"  # 多格合一 comprehensive grid, an overlay over communities
    GRID = "grid"  # 网格


TOWN_LEVELS = (OrgLevel.STREET, OrgLevel.TOWN, OrgLevel.TOWNSHIP, OrgLevel.ZONE)
COMMUNITY_LEVELS = (
    OrgLevel.RESIDENTS_COMMITTEE,
    OrgLevel.VILLAGE_COMMITTEE,
    OrgLevel.VIRTUAL_COMMUNITY,
)


class DivisionRelease(Base):
    """One imported year of official division codes for a district."""

    __tablename__ = "division_release"
    __table_args__ = (UniqueConstraint("district_code", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(12))
    year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    unit_count: Mapped[int] = mapped_column(Integer)
    community_count: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrgUnit(Base):
    """A node of the tree; `code` is the NBS division code or a grid code beneath it."""

    __tablename__ = "org_unit"

    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(32), index=True)
    parent_code: Mapped[str | None] = mapped_column(
        String(24), ForeignKey("org_unit.code", ondelete="CASCADE"), index=True
    )
    multigrid_code: Mapped[str | None] = mapped_column(String(24), index=True)
    in_guideline_18: Mapped[bool] = mapped_column(Boolean, default=False)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    division_year: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text, default="")
    geometry: Mapped[str | None] = mapped_column(Text)  # GeoJSON geometry, WGS84/CGCS2000
    geometry_approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Department(Base):
    """A functional department (职能部门) owned by a district or town unit."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("org_code", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_code: Mapped[str] = mapped_column(
        String(24), ForeignKey("org_unit.code", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(Text, default="")
