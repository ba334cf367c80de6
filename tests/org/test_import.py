"""Importing division codes of another district and real grids (CSV, GeoJSON, HTTP)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.app import create_app
from cityops.bootstrap import seed_district
from cityops.config import Settings
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work
from cityops.kit.scope import DataScope
from cityops.org.divisions import DivisionDataError, load_division_files, parse_division_csv
from cityops.org.models import Department, DivisionRelease, OrgLevel, OrgUnit
from cityops.org.repository import OrgRepository
from cityops.org.service import import_divisions, import_grids, parse_grid_file
from tests.auth.conftest import assert_problem, bearer
from tests.conftest import PASSWORD, Login

T = TypeVar("T")

# Test data: a made-up district with codes in the NBS format (the names are invented).
STREETS = """\ufeffcode,name,parent_code
310118001,"测试甲街道",310118
310118101,"测试乙镇",310118
"""
VILLAGES = """code,name,parent_code
310118001001,"测试一社区居委会",310118001
310118001002,"测试二社区居委会",310118001
310118101201,"测试三村村委会",310118101
"""
SOURCE = "test data: a made-up district for the cityops test suite"


def run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on a test database."""

    async def go() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with unit_of_work(create_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def write_district(
    folder: Path, streets: str = STREETS, villages: str = VILLAGES
) -> tuple[Path, Path]:
    """Write the two CSV files of the made-up district 310118."""
    folder.mkdir(parents=True, exist_ok=True)
    streets_path, villages_path = folder / "310118-streets.csv", folder / "310118-villages.csv"
    streets_path.write_text(streets, "utf-8")
    villages_path.write_text(villages, "utf-8")
    return streets_path, villages_path


def snapshot(settings: Settings, under: str) -> list[tuple[Any, ...]]:
    """Every unit and department under a code, with everything that an import could change."""

    async def work(session: AsyncSession) -> list[tuple[Any, ...]]:
        units = await OrgRepository(session).all_units(DataScope.of([under]))
        departments = (
            await session.scalars(
                select(Department)
                .where(Department.org_code.startswith(under))
                .order_by(Department.id)
            )
        ).all()
        return [
            (
                u.code,
                u.name,
                u.level,
                u.parent_code,
                u.multigrid_code,
                u.synthetic,
                u.source,
                u.geometry,
                u.division_year,
                u.updated_at,
            )
            for u in units
        ] + [(d.id, d.org_code, d.key, d.name) for d in departments]

    return run(settings, work)


def grids_of(settings: Settings, community: str) -> dict[str, OrgUnit]:
    """The grids under one community, by code."""

    async def work(session: AsyncSession) -> dict[str, OrgUnit]:
        rows = await session.scalars(
            select(OrgUnit).where(OrgUnit.parent_code == community, OrgUnit.level == OrgLevel.GRID)
        )
        return {u.code: u for u in rows.all()}

    return run(settings, work)


def test_parses_another_districts_csv_files(tmp_path: Path) -> None:
    streets, villages = write_district(tmp_path)
    divisions = load_division_files("310118", 2023, streets, villages, SOURCE)
    assert (divisions.district_code, divisions.year, divisions.source) == ("310118", 2023, SOURCE)
    assert [(u.code, u.name, u.level, u.parent_code) for u in divisions.units] == [
        ("310118001", "测试甲街道", OrgLevel.STREET, "310118"),
        ("310118101", "测试乙镇", OrgLevel.TOWN, "310118"),
    ]
    assert [(c.code, c.level, c.parent_code) for c in divisions.communities] == [
        ("310118001001", OrgLevel.RESIDENTS_COMMITTEE, "310118001"),
        ("310118001002", OrgLevel.RESIDENTS_COMMITTEE, "310118001"),
        ("310118101201", OrgLevel.VILLAGE_COMMITTEE, "310118101"),
    ]


def test_import_divisions_adds_a_district_without_touching_songjiang(
    tmp_path: Path, fresh_sqlite: Settings
) -> None:
    divisions = load_division_files("310118", 2023, *write_district(tmp_path / "csv"), SOURCE)
    songjiang = snapshot(fresh_sqlite, "310117")
    assert len(songjiang) > 2000

    async def work(session: AsyncSession) -> Any:
        return await import_divisions(session, divisions, district_name="测试区（测试数据）")

    summary = run(fresh_sqlite, work)
    assert (summary.units, summary.communities, summary.multigrids) == (2, 3, 1)
    assert 3 * 3 <= summary.grids <= 3 * 7
    assert summary.departments == 9 + 8 * 2
    assert snapshot(fresh_sqlite, "310117") == songjiang

    async def read(session: AsyncSession) -> tuple[list[OrgUnit], list[DivisionRelease], int]:
        units = list(await OrgRepository(session).all_units(DataScope.of(["310118"])))
        releases = list(
            await session.scalars(select(DivisionRelease).order_by(DivisionRelease.district_code))
        )
        departments = len(await OrgRepository(session).departments(DataScope.of(["310118"])))
        return units, releases, departments

    units, releases, departments = run(fresh_sqlite, read)
    by_code = {u.code: u for u in units}
    district = by_code["310118"]
    assert (district.name, district.level, district.parent_code) == (
        "测试区（测试数据）",
        "district",
        None,
    )
    assert {c for c, u in by_code.items() if u.level in ("street", "town")} == {
        "310118001",
        "310118101",
    }
    grids = [u for u in units if u.level == OrgLevel.GRID]
    assert len(grids) == summary.grids
    assert all(g.synthetic and g.code.startswith(g.parent_code or "-") for g in grids)
    assert by_code["310118001001"].multigrid_code == "310118001M01"
    assert by_code["310118001002"].multigrid_code == "310118001M01"
    assert by_code["310118101201"].multigrid_code is None
    assert by_code["310118001M01"].level == OrgLevel.MULTIGRID
    assert all(
        u.division_year == 2023 for u in units if u.level != OrgLevel.GRID and "M" not in u.code
    )
    assert departments == 25
    assert [(r.district_code, r.year, r.unit_count, r.community_count) for r in releases] == [
        ("310117", 2023, 20, 386),
        ("310118", 2023, 2, 3),
    ]
    assert releases[1].source == SOURCE

    # Importing the same year again adds nothing.
    again = run(fresh_sqlite, work)
    assert again.grids == 0
    assert len(run(fresh_sqlite, read)[0]) == len(units)

    # Songjiang's people do not see the new district.
    with TestClient(create_app(fresh_sqlite), raise_server_exceptions=False) as client:
        duty = bearer(_token(client, "t_duty"))
        assert_problem(client.get("/api/v1/org/310118", headers=duty), 403, "out-of-scope")
        assert client.get("/api/v1/org", params={"q": "测试"}, headers=duty).json()["items"] == []


def test_import_needs_a_name_for_an_unknown_district(
    tmp_path: Path, fresh_sqlite: Settings
) -> None:
    divisions = load_division_files("310118", 2023, *write_district(tmp_path), SOURCE)

    async def work(session: AsyncSession) -> Any:
        return await import_divisions(session, divisions)

    with pytest.raises(DivisionDataError, match="give a name for district 310118"):
        run(fresh_sqlite, work)


HEAD = "code,name,parent_code\n"


@pytest.mark.parametrize(
    ("streets", "villages", "message"),
    [
        (
            "code,name\n310118001,甲\n",
            VILLAGES,
            "310118-streets.csv: missing column(s) parent_code",
        ),
        ("", VILLAGES, "310118-streets.csv: missing column(s) code, name, parent_code"),
        (
            HEAD + "310118001,甲,310118\n31011800X,乙,310118\n",
            VILLAGES,
            "310118-streets.csv:3: code '31011800X' is not 9 digits",
        ),
        (
            HEAD + "3101180,甲,310118\n",
            VILLAGES,
            "310118-streets.csv:2: code '3101180' is not 9 digits",
        ),
        (HEAD + "310118001, ,310118\n", VILLAGES, "310118-streets.csv:2: empty name for 310118001"),
        (
            HEAD + "310118001,甲,310119\n",
            VILLAGES,
            "310118-streets.csv:2: 310118001 is not a child of '310119'",
        ),
        (HEAD + "310118001,甲\n", VILLAGES, "310118-streets.csv:2: 310118001 is not a child of ''"),
        (HEAD + "310119001,甲,310119\n", VILLAGES, "unit 310119001 is not in district 310118"),
        (HEAD + "310118001,甲,310118\n310118001,乙,310118\n", HEAD, "duplicate unit codes"),
        (
            STREETS,
            HEAD + "310118001001,一,310118001\n3101180010011,二,310118001\n",
            "310118-villages.csv:3: code '3101180010011' is not 12 digits",
        ),
        (
            STREETS,
            HEAD + "310118001001,一,310118101\n",
            "310118-villages.csv:2: 310118001001 is not a child of '310118101'",
        ),
        (
            STREETS,
            HEAD + "310118002001,一,310118002\n",
            "community 310118002001: unknown unit 310118002",
        ),
        (
            STREETS,
            HEAD + "310118001001,一,310118001\n310118001001,二,310118001\n",
            "duplicate community codes",
        ),
    ],
)
def test_malformed_division_files_are_refused_with_the_line(
    tmp_path: Path, streets: str, villages: str, message: str
) -> None:
    files = write_district(tmp_path, streets, villages)
    with pytest.raises(DivisionDataError, match=f"^{re.escape(message)}$"):
        load_division_files("310118", 2023, *files, SOURCE)


def test_parse_division_csv_classifies_every_nbs_serial() -> None:
    units = parse_division_csv(
        HEAD + "310118001,a,310118\n310118101,b,310118\n310118201,c,310118\n310118401,d,310118\n",
        digits=9,
        origin="t",
    )
    assert [u.level for u in units] == ["street", "town", "township", "zone"]
    communities = parse_division_csv(
        HEAD + "310118001199,a,310118001\n310118001200,b,310118001\n310118001498,c,310118001\n",
        digits=12,
        origin="t",
    )
    assert [c.level for c in communities] == [
        "residents_committee",
        "village_committee",
        "virtual_community",
    ]


GRID_CSV = (
    "\ufeffcode,name,parent_code\n"
    "310117102001101,张泾第一责任网格,310117102001\n"
    "310117102001102,张泾第二责任网格,310117102001\n"
    "310117102002001,中西第一责任网格,310117102002\n"
)


def test_grid_import_from_csv_replaces_exactly_the_covered_communities_synthetic_grids(
    fresh_sqlite: Settings,
) -> None:
    before = {
        c: grids_of(fresh_sqlite, c) for c in ("310117102001", "310117102002", "310117102003")
    }
    assert all(g.synthetic for grids in before.values() for g in grids.values())
    assert all(3 <= len(grids) <= 7 for grids in before.values())
    untouched = [
        row
        for row in snapshot(fresh_sqlite, "310117")
        if not str(row[0]).startswith(("310117102001", "310117102002"))
    ]
    rows = parse_grid_file("grids.csv", GRID_CSV.encode())
    assert [(r.code, r.parent_code, r.geometry) for r in rows] == [
        ("310117102001101", "310117102001", None),
        ("310117102001102", "310117102001", None),
        ("310117102002001", "310117102002", None),
    ]

    async def work(session: AsyncSession) -> int:
        return await import_grids(session, rows, source="imported from grids.csv")

    assert run(fresh_sqlite, work) == 3
    first = grids_of(fresh_sqlite, "310117102001")
    assert set(first) == {"310117102001101", "310117102001102"}
    assert first["310117102001101"].name == "张泾第一责任网格"
    second = grids_of(fresh_sqlite, "310117102002")
    assert set(second) == {"310117102002001"}
    assert second["310117102002001"].name == "中西第一责任网格"
    for grid in [*first.values(), *second.values()]:
        assert grid.synthetic is False
        assert grid.source == "imported from grids.csv"
        assert grid.level == OrgLevel.GRID
    assert grids_of(fresh_sqlite, "310117102003").keys() == before["310117102003"].keys()
    after = [
        row
        for row in snapshot(fresh_sqlite, "310117")
        if not str(row[0]).startswith(("310117102001", "310117102002"))
    ]
    assert after == untouched

    # Seeding again never brings synthetic grids back over real ones.
    async def reseed(session: AsyncSession) -> Any:
        return await seed_district(session, fresh_sqlite)

    run(fresh_sqlite, reseed)
    assert set(grids_of(fresh_sqlite, "310117102001")) == {"310117102001101", "310117102001102"}
    assert set(grids_of(fresh_sqlite, "310117102002")) == {"310117102002001"}


def test_grid_import_from_geojson_keeps_the_geometry(fresh_sqlite: Settings) -> None:
    polygon = {
        "type": "Polygon",
        "coordinates": [[[121.20, 31.10], [121.21, 31.10], [121.21, 31.11], [121.20, 31.10]]],
    }
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "code": "310117103201901",
                    "name": "江秋村第一网格",
                    "parent_code": "310117103201",
                },
                "geometry": polygon,
            },
            {
                "type": "Feature",
                "properties": {
                    "code": 310117103201902,
                    "name": "江秋村第二网格",
                    "parent_code": 310117103201,
                },
                "geometry": None,
            },
        ],
    }
    rows = parse_grid_file("grids.geojson", json.dumps(document, ensure_ascii=False).encode())

    async def work(session: AsyncSession) -> int:
        return await import_grids(session, rows, source="imported from grids.geojson")

    assert run(fresh_sqlite, work) == 2
    grids = grids_of(fresh_sqlite, "310117103201")
    assert set(grids) == {"310117103201901", "310117103201902"}
    assert json.loads(grids["310117103201901"].geometry or "null") == polygon
    assert grids["310117103201902"].geometry is None
    assert not any(g.synthetic for g in grids.values())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            HEAD + "310117102002901,错位网格,310117102001\n",
            "grid 310117102002901 must extend its community code",
        ),
        (
            HEAD + "310117102001,同码网格,310117102001\n",
            "grid 310117102001 must extend its community code",
        ),
        (
            HEAD + "310117102001" + "1" * 13 + ",超长网格,310117102001\n",
            "must extend its community code by 1 to 12",
        ),
        (
            HEAD + "310117102901,镇下网格,310117102\n",
            "grid 310117102901: 310117102 is not a community",
        ),
        (
            HEAD + "310117102999001,无主网格,310117102999\n",
            "grid 310117102999001: 310117102999 is not a community",
        ),
        (
            HEAD + "310117102001901,,310117102001\n",
            "grid 310117102001901: the name must have 1 to 128 characters",
        ),
        (
            HEAD + "310117102001901,好网格,310117102001\n310117102002901,坏网格,310117102001\n",
            "grid 310117102002901 must extend",
        ),
    ],
)
def test_refused_grids_change_nothing(fresh_sqlite: Settings, content: str, message: str) -> None:
    before = snapshot(fresh_sqlite, "310117102")
    rows = parse_grid_file("grids.csv", content.encode())

    async def work(session: AsyncSession) -> int:
        return await import_grids(session, rows, source="test")

    with pytest.raises(DivisionDataError, match=re.escape(message)):
        run(fresh_sqlite, work)
    assert snapshot(fresh_sqlite, "310117102") == before


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("grids.csv", HEAD + "310117102001901\n", "grids.csv:2: too few columns"),
        (
            "grids.csv",
            "code;name;parent_code\n",
            "grids.csv: missing column(s) code, name, parent_code",
        ),
        ("g.geojson", "[]", "g.geojson: not a GeoJSON FeatureCollection"),
        ("g.geojson", '{"features": {}}', "g.geojson: features is not a list"),
        ("g.geojson", '{"features": [7]}', "g.geojson: feature 0 has no properties object"),
        (
            "g.json",
            '{"features": [{"properties": {"code": "1"}, "geometry": null}]}',
            "g.json: feature 0 lacks 'name'",
        ),
        (
            "g.geojson",
            '{"features": [{"properties": {"code": "1", "name": "n", "parent_code": "2"}}]}',
            "g.geojson: feature 0 lacks 'geometry'",
        ),
        (
            "g.geojson",
            '{"features": [{"properties": {"code": "1", "name": "n", "parent_code": "2"}, "geometry": [1]}]}',
            "g.geojson: feature 0 has no GeoJSON geometry",
        ),
    ],
)
def test_malformed_grid_files_are_refused(filename: str, content: str, message: str) -> None:
    with pytest.raises(DivisionDataError, match=f"^{re.escape(message)}$"):
        parse_grid_file(filename, content.encode())


def _token(client: TestClient, username: str) -> str:
    reply = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    client.cookies.clear()
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["access_token"]
    return token


def _upload(client: TestClient, token: str, content: str, filename: str = "grids.csv") -> Any:
    return client.post(
        "/api/v1/org/grids/import",
        files={"file": (filename, content.encode(), "text/csv")},
        headers=bearer(token),
    )


def test_http_grid_import_needs_org_import_and_scope(fresh_sqlite: Settings) -> None:
    with TestClient(create_app(fresh_sqlite), raise_server_exceptions=False) as client:
        admin, sijing, town_admin, auditor = (
            _token(client, name) for name in ("t_admin", "t_sijing", "t_sijing_admin", "t_auditor")
        )
        children = "/api/v1/org/310117102001/children"
        synthetic = [
            g["code"] for g in client.get(children, headers=bearer(sijing)).json()["items"]
        ]

        assert_problem(_upload(client, sijing, GRID_CSV), 403, "forbidden")
        assert [
            g["code"] for g in client.get(children, headers=bearer(sijing)).json()["items"]
        ] == synthetic

        reply = _upload(client, admin, GRID_CSV)
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"imported": 3, "communities": 2}
        # The tree snapshot is reloaded at once: the very next read shows the real grids.
        items = client.get(children, headers=bearer(sijing)).json()["items"]
        assert [(g["code"], g["synthetic"]) for g in items] == [
            ("310117102001101", False),
            ("310117102001102", False),
        ]

        town_grids = HEAD + "310117102003901,江川责任网格,310117102003\n"
        assert_problem(
            _upload(client, town_admin, HEAD + "310117103001901,陈坊网格,310117103001\n"),
            403,
            "out-of-scope",
        )
        by_town = _upload(client, town_admin, town_grids, "江川.csv")
        assert by_town.status_code == 200, by_town.text
        assert by_town.json() == {"imported": 1, "communities": 1}
        grids = client.get("/api/v1/org/310117102003/children", headers=bearer(sijing)).json()[
            "items"
        ]
        assert [g["code"] for g in grids] == ["310117102003901"]

        entries = client.get(
            "/api/v1/audit", params={"action": "org.import_grids"}, headers=bearer(auditor)
        ).json()["items"]
        assert [(e["actor"], e["target"], e["detail"]) for e in entries] == [
            ("t_sijing_admin", "江川.csv", {"grids": 1}),
            ("t_admin", "grids.csv", {"grids": 3}),
        ]


def test_a_grid_file_name_of_any_length_is_audited(fresh_sqlite: Settings) -> None:
    with TestClient(create_app(fresh_sqlite), raise_server_exceptions=False) as client:
        admin, auditor = _token(client, "t_admin"), _token(client, "t_auditor")
        name = "网格" * 100 + ".csv"
        reply = _upload(client, admin, HEAD + "310117102004901,新南网格,310117102004\n", name)
        assert reply.status_code == 200, reply.text
        [entry] = client.get(
            "/api/v1/audit", params={"action": "org.import_grids"}, headers=bearer(auditor)
        ).json()["items"]
        assert entry["target"] == name[:128]


def test_an_empty_grid_file_with_a_long_name_changes_nothing(
    client: TestClient, login: Login
) -> None:
    """Runs on both backends: PostgreSQL refused audit targets over 128 characters with a 500."""
    name = "g" * 300 + ".csv"
    reply = client.post(
        "/api/v1/org/grids/import",
        files={"file": (name, HEAD.encode(), "text/csv")},
        headers=login.headers("t_admin"),
    )
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"imported": 0, "communities": 0}
    entries = client.get(
        "/api/v1/audit",
        params={"action": "org.import_grids", "actor": "t_admin"},
        headers=login.headers("t_auditor"),
    ).json()["items"]
    assert entries[0]["target"] == name[:128]
