"""Approximate boundaries and the division lookup on the seeded Songjiang tree."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import numpy as np
import pytest
from shapely.geometry import Point, shape

from cityops.geo.boundaries import generate_boundaries, unit_points
from cityops.geo.lookup import Codes, DivisionIndex, Match, Placement
from cityops.geo.service import load_division_index
from cityops.kit.db import create_engine, create_sessionmaker
from cityops.kit.scope import DataScope
from cityops.org.models import COMMUNITY_LEVELS, OrgUnit
from cityops.org.repository import OrgRepository
from tests.conftest import Backend


async def _load(backend: Backend) -> tuple[DivisionIndex, list[OrgUnit]]:
    engine = create_engine(backend.settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            index = await load_division_index(session, "310117")
            units = list(await OrgRepository(session).all_units(DataScope.of(["310117"])))
    finally:
        await engine.dispose()
    return index, units


@pytest.fixture(scope="module")
def seeded(backend: Backend) -> Iterator[tuple[DivisionIndex, list[OrgUnit]]]:
    """The division index and the units of the seeded district."""
    yield asyncio.run(_load(backend))


def test_every_community_reference_point_lies_in_its_own_community(
    seeded: tuple[DivisionIndex, list[OrgUnit]],
) -> None:
    index, units = seeded
    communities = [u for u in units if u.level in COMMUNITY_LEVELS and u.geometry]
    assert len(communities) >= 380
    points = [shape(json.loads(u.geometry or "")).representative_point() for u in communities]
    lon = np.array([p.x for p in points])
    lat = np.array([p.y for p in points])
    placed = index.locate(lon, lat)
    wrong = [
        (u.code, p.community.code if p.community else None)
        for u, p in zip(communities, placed, strict=True)
        if p.community is None or p.community.code != u.code
    ]
    assert wrong == []
    assert all(p.inside_district and p.district and p.district.code == "310117" for p in placed)
    assert all(
        p.unit is not None and u.code.startswith(p.unit.code)
        for u, p in zip(communities, placed, strict=True)
    )


def test_a_point_in_sijing_gives_every_level(seeded: tuple[DivisionIndex, list[OrgUnit]]) -> None:
    index, _ = seeded
    lon, lat = unit_points("310117")["310117102"]
    place = index.locate_one(lon, lat)
    assert place.unit is not None and place.unit.code == "310117102"
    assert place.community is not None and place.community.code.startswith("310117102")
    assert place.grid is not None and place.grid.code.startswith(place.community.code)
    assert place.multigrid is not None and place.multigrid.code.startswith("310117102M")
    assert place.unit.approximate and place.grid.approximate


@pytest.mark.parametrize(("lon", "lat"), [(120.0, 31.0), (121.47, 31.23), (0.0, 0.0)])
def test_a_point_outside_the_district_is_a_clear_answer(
    seeded: tuple[DivisionIndex, list[OrgUnit]], lon: float, lat: float
) -> None:
    place = seeded[0].locate_one(lon, lat)
    assert place.inside_district is False
    assert place.district is place.unit is place.community is place.grid is None


def test_boundaries_are_reproducible_and_cover_each_shipped_point() -> None:
    units = list(unit_points("310117"))
    children = {"310117102": ["310117102001", "310117102002", "310117102003"]}
    first = generate_boundaries("310117", units, children)
    second = generate_boundaries("310117", units, children)
    assert [(b.code, b.geometry) for b in first] == [(b.code, b.geometry) for b in second]
    polygons = {b.code: shape(b.geometry) for b in first}
    for code, (lon, lat) in unit_points("310117").items():
        assert polygons[code].covers(Point(lon, lat)), code
    community_area = sum(polygons[c].area for c in children["310117102"])
    assert community_area == pytest.approx(polygons["310117102"].area, rel=1e-3)


def test_one_point_at_a_time_answers_as_the_batch_does(
    seeded: tuple[DivisionIndex, list[OrgUnit]],
) -> None:
    index, _ = seeded
    rng = np.random.default_rng(20261124)
    # Random points over and around the district, plus polygon corners: corners lie on edges
    # shared by neighbouring grids, where only the lowest-index rule makes the answer unique.
    lon = rng.uniform(120.95, 121.45, 1500)
    lat = rng.uniform(30.85, 31.20, 1500)
    corners = [
        c
        for g in index.grid_geometries()[:60]
        for c in list(g.exterior.coords)[:4]
        if hasattr(g, "exterior")
    ]
    lon = np.concatenate([lon, [c[0] for c in corners]])
    lat = np.concatenate([lat, [c[1] for c in corners]])
    batch = index.locate(lon, lat)
    one_by_one = [index.locate_one(float(x), float(y)) for x, y in zip(lon, lat, strict=True)]
    assert one_by_one == batch
    codes = [index.codes_one(float(x), float(y)) for x, y in zip(lon, lat, strict=True)]
    assert codes == [_codes(p) for p in batch]
    assert sum(p.inside_district for p in batch) > 500  # the sample really covers the district
    assert any(not p.inside_district for p in batch)


def _codes(place: Placement) -> Codes:
    def code(match: Match | None) -> str | None:
        return match.code if match else None

    return Codes(
        place.inside_district,
        code(place.district),
        code(place.unit),
        code(place.community),
        code(place.grid),
        code(place.multigrid),
    )
