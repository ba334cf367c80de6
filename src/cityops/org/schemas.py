"""API shapes of the org module."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

#: NBS codes are digits; multi-grid codes add an `M`; imported grid codes extend a community code.
CODE_PATTERN = r"^[0-9]{6}[0-9A-Z]{0,18}$"
OrgCodePath = Annotated[
    str,
    Path(pattern=CODE_PATTERN, description="Division code, e.g. 310117102", examples=["310117102"]),
]

LEVEL_LABELS = {
    "district": "区",
    "street": "街道",
    "town": "镇",
    "township": "乡",
    "zone": "开发区/度假区",
    "residents_committee": "居委会",
    "village_committee": "村委会",
    "virtual_community": "虚拟社区",
    "multigrid": "多格合一综合网格",
    "grid": "网格",
}


class OrgRef(BaseModel):
    """A unit named on a path."""

    code: str
    name: str
    level: str


class OrgUnitRead(BaseModel):
    """A unit of the tree; `synthetic` marks generated grids and multi-grid units."""

    code: str
    name: str
    level: str
    level_label: str
    parent_code: str | None
    multigrid_code: str | None = Field(description="The 多格合一 unit a community belongs to")
    in_guideline_18: bool = Field(description="One of the guideline's 18 street/town platforms")
    synthetic: bool = Field(description="Generated, not official: no public grid list exists")
    division_year: int | None
    has_geometry: bool
    child_count: int
    path: list[OrgRef] = Field(description="Ancestors from the district down")


class OrgChildren(BaseModel):
    """A page of a unit's children."""

    parent: OrgUnitRead
    items: list[OrgUnitRead]
    total: int
    limit: int
    offset: int


class OrgSearchResult(BaseModel):
    """Units whose names match a search."""

    items: list[OrgUnitRead]
    total: int


class DepartmentRead(BaseModel):
    """A functional department (职能部门)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    org_code: str
    key: str
    name: str
    synthetic: bool


class DivisionReleaseRead(BaseModel):
    """One imported year of division codes."""

    model_config = ConfigDict(from_attributes=True)

    district_code: str
    year: int
    source: str
    unit_count: int
    community_count: int
    imported_at: datetime


class GridImportResult(BaseModel):
    """What a grid import wrote."""

    imported: int
    communities: int
