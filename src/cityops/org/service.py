"""Org rules: importing division years, generating and importing grids, departments."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.kit.db import utcnow
from cityops.kit.scope import DataScope
from cityops.org.divisions import DivisionDataError, DivisionSet, guideline_platforms
from cityops.org.models import COMMUNITY_LEVELS, Department, DivisionRelease, OrgLevel, OrgUnit
from cityops.org.repository import OrgRepository
from cityops.org.synthetic import SYNTHETIC_SOURCE, synthetic_layout


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import wrote."""

    units: int
    communities: int
    grids: int
    multigrids: int
    departments: int


def _district_name(code: str) -> str | None:
    path = resources.files("cityops.data").joinpath("divisions", "districts.csv")
    for row in csv.DictReader(io.StringIO(path.read_text("utf-8"))):
        if row["code"] == code:
            return row["name"]
    return None


def _departments_template() -> list[dict[str, str]]:
    path = resources.files("cityops.data").joinpath("departments.csv")
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))


async def import_divisions(
    session: AsyncSession,
    divisions: DivisionSet,
    *,
    district_name: str | None = None,
    grids_per_community: tuple[int, int] = (3, 7),
    with_synthetic: bool = True,
) -> ImportSummary:
    """Write one district-year of division codes, plus synthetic grids and departments."""
    name = district_name or _district_name(divisions.district_code)
    if name is None:
        raise DivisionDataError(f"give a name for district {divisions.district_code}")
    repo = OrgRepository(session)
    year = divisions.year
    flagged = guideline_platforms(divisions.district_code)
    rows: list[OrgUnit] = [
        OrgUnit(
            code=divisions.district_code,
            name=name,
            level=OrgLevel.DISTRICT,
            parent_code=None,
            division_year=year,
            source=divisions.source,
        )
    ]
    rows += [
        OrgUnit(
            code=r.code,
            name=r.name,
            level=r.level,
            parent_code=r.parent_code,
            in_guideline_18=r.code in flagged,
            division_year=year,
            source=divisions.source,
        )
        for r in divisions.units
    ]
    rows += [
        OrgUnit(
            code=r.code,
            name=r.name,
            level=r.level,
            parent_code=r.parent_code,
            division_year=year,
            source=divisions.source,
        )
        for r in divisions.communities
    ]
    await repo.upsert_units(rows)
    grids = multigrids = 0
    if with_synthetic:
        grids, multigrids = await _write_synthetic(repo, divisions, grids_per_community)
    departments = await _write_departments(repo, divisions)
    await repo.upsert_release(
        DivisionRelease(
            district_code=divisions.district_code,
            year=year,
            source=divisions.source,
            unit_count=len(divisions.units),
            community_count=len(divisions.communities),
            imported_at=utcnow(),
        )
    )
    return ImportSummary(
        len(divisions.units), len(divisions.communities), grids, multigrids, departments
    )


async def _write_synthetic(
    repo: OrgRepository, divisions: DivisionSet, count_range: tuple[int, int]
) -> tuple[int, int]:
    town_names = {u.code: u.name for u in divisions.units}
    existing = {u.code for u in await repo.all_units(DataScope.of([divisions.district_code]))}
    communities = [(c.code, c.name, c.parent_code) for c in divisions.communities]
    grids, multigrids = synthetic_layout(communities, town_names, count_range)
    # A community that already has real (imported) grids keeps them: never overwrite facts.
    real_parents = await _communities_with_real_grids(repo, divisions.district_code)
    new_grids = [g for g in grids if g.parent_code not in real_parents and g.code not in existing]
    await repo.upsert_units(
        OrgUnit(
            code=g.code,
            name=g.name,
            level=g.level,
            parent_code=g.parent_code,
            synthetic=True,
            source=SYNTHETIC_SOURCE,
        )
        for g in new_grids
    )
    await repo.upsert_units(
        OrgUnit(
            code=m.code,
            name=m.name,
            level=m.level,
            parent_code=m.parent_code,
            synthetic=True,
            source=SYNTHETIC_SOURCE,
        )
        for m in multigrids
    )
    for unit in multigrids:
        await repo.set_multigrid(unit.members, unit.code)
    return len(new_grids), len(multigrids)


async def _communities_with_real_grids(repo: OrgRepository, district_code: str) -> set[str]:
    units = await repo.all_units(DataScope.of([district_code]))
    return {
        u.parent_code
        for u in units
        if u.level == OrgLevel.GRID and not u.synthetic and u.parent_code is not None
    }


async def _write_departments(repo: OrgRepository, divisions: DivisionSet) -> int:
    template = _departments_template()
    owners = {"district": [divisions.district_code], "town": [u.code for u in divisions.units]}
    departments = [
        Department(
            org_code=owner,
            key=row["key"],
            name=row["name"],
            synthetic=row["synthetic"] == "true",
            source="template (synthetic)"
            if row["synthetic"] == "true"
            else "public name of the district bureau",
        )
        for row in template
        for owner in owners[row["level"]]
    ]
    await repo.add_departments(departments)
    return len(departments)


_COMMUNITY = re.compile(r"^[0-9]{12}\Z")
_GRID = re.compile(r"^[0-9]{12}[0-9A-Z]{1,12}\Z")  # org_unit.code holds 24 characters


@dataclass(frozen=True, slots=True)
class GridRow:
    """One real grid read from an import file."""

    code: str
    name: str
    parent_code: str
    geometry: str | None


def parse_grid_file(filename: str, content: bytes) -> list[GridRow]:
    """Read grids from CSV (code,name,parent_code) or GeoJSON (properties of the same names)."""
    text = content.decode("utf-8-sig")
    if filename.lower().endswith((".geojson", ".json")):
        return _grids_from_geojson(text, filename)
    reader = csv.DictReader(io.StringIO(text))
    missing = {"code", "name", "parent_code"} - set(reader.fieldnames or ())
    if missing:
        raise DivisionDataError(f"{filename}: missing column(s) {', '.join(sorted(missing))}")
    rows = []
    for line, r in enumerate(reader, start=2):
        if r["code"] is None or r["name"] is None or r["parent_code"] is None:
            raise DivisionDataError(f"{filename}:{line}: too few columns")
        rows.append(GridRow(r["code"].strip(), r["name"].strip(), r["parent_code"].strip(), None))
    return rows


def _grids_from_geojson(text: str, filename: str) -> list[GridRow]:
    try:
        document = json.loads(text)
        features = document["features"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DivisionDataError(f"{filename}: not a GeoJSON FeatureCollection") from exc
    if not isinstance(features, list):
        raise DivisionDataError(f"{filename}: features is not a list")
    rows = []
    for index, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            raise DivisionDataError(f"{filename}: feature {index} has no properties object")
        try:
            geometry = feature["geometry"]
            rows.append(
                GridRow(
                    str(props["code"]).strip(),
                    str(props["name"]).strip(),
                    str(props["parent_code"]).strip(),
                    None if geometry is None else json.dumps(geometry, ensure_ascii=False),
                )
            )
        except KeyError as exc:
            raise DivisionDataError(f"{filename}: feature {index} lacks {exc}") from exc
        if geometry is not None and not (isinstance(geometry, dict) and "type" in geometry):
            raise DivisionDataError(f"{filename}: feature {index} has no GeoJSON geometry")
    return rows


async def import_grids(session: AsyncSession, rows: list[GridRow], source: str) -> int:
    """Write real grids; each covered community loses its synthetic grids first."""
    repo = OrgRepository(session)
    parents = {r.parent_code for r in rows}
    for row in rows:
        parent = await repo.get(row.parent_code) if _COMMUNITY.match(row.parent_code) else None
        if parent is None or parent.level not in COMMUNITY_LEVELS:
            raise DivisionDataError(f"grid {row.code}: {row.parent_code} is not a community")
        if not row.code.startswith(row.parent_code) or not _GRID.match(row.code):
            raise DivisionDataError(
                f"grid {row.code} must extend its community code by 1 to 12 digits or capitals"
            )
        if not row.name or len(row.name) > 128 or "\x00" in row.name:
            raise DivisionDataError(f"grid {row.code}: the name must have 1 to 128 characters")
    await repo.delete_synthetic_grids(parents)
    return await repo.upsert_units(
        OrgUnit(
            code=r.code,
            name=r.name,
            level=OrgLevel.GRID,
            parent_code=r.parent_code,
            synthetic=False,
            source=source,
            geometry=r.geometry,
            geometry_approximate=False,
        )
        for r in rows
    )


async def unit_departments(
    session: AsyncSession, scope: DataScope, org_code: str
) -> Sequence[Department]:
    """The functional departments (职能部门) a unit owns, those inside the scope only."""
    return await OrgRepository(session).departments(scope, org_code=org_code)
