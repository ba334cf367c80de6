"""Importing official boundaries over the approximate ones, on a fresh SQLite database."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapefile
from fastapi.testclient import TestClient
from pyproj import CRS as ProjCRS
from pyproj import Transformer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.app import create_app
from cityops.auth.models import AuditEntry
from cityops.auth.roles import Role
from cityops.config import Settings
from cityops.geo.boundary_import import (
    BoundaryDataError,
    BoundaryRow,
    import_boundaries,
    read_boundary_file,
)
from cityops.geo.service import ensure_approximate_boundaries
from cityops.kit.db import in_unit_of_work
from cityops.kit.migrate import upgrade
from cityops.org.models import OrgUnit
from tests.conftest import seed_with_accounts

PASSWORD = "Test-Passw0rd!"
CODE = "310117102"  # 泗泾镇
OTHER = "310117103"  # 佘山镇
#: A small square in Sijing, WGS84, counter-clockwise as RFC 7946 asks.
RING = [[121.24, 31.10], [121.26, 31.10], [121.26, 31.12], [121.24, 31.12], [121.24, 31.10]]
ACCOUNTS = {
    "b_admin": (Role.SYS_ADMIN, "310117"),
    "b_town": (Role.TOWN_OPERATOR, CODE),
    "b_town_admin": (Role.SYS_ADMIN, CODE),
}


def _settings(url: str) -> Settings:
    return Settings(database_url=url, principal_cache_seconds=0, _env_file=None)


async def _prepare(url: str) -> None:
    settings = _settings(url)
    await in_unit_of_work(
        url, lambda session: seed_with_accounts(settings, ACCOUNTS, PASSWORD, session)
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, seeded database file, copied for each test."""
    path = tmp_path_factory.mktemp("boundary-db") / "template.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    asyncio.run(_prepare(url))
    return path


@pytest.fixture
def url(template: Path, tmp_path: Path) -> str:
    """A fresh database of this test's own."""
    path = tmp_path / "cityops.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


async def _unit(url: str, code: str) -> OrgUnit:
    async def work(session: AsyncSession) -> OrgUnit:
        unit = await session.get(OrgUnit, code)
        assert unit is not None
        session.expunge(unit)
        return unit

    return await in_unit_of_work(url, work)


async def _import(url: str, rows: list[BoundaryRow]) -> int:
    return await in_unit_of_work(
        url, lambda session: import_boundaries(session, rows, source="test")
    )


async def _audited(url: str) -> list[tuple[str, str, str]]:
    async def work(session: AsyncSession) -> list[tuple[str, str, str]]:
        found = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "geo.import_boundaries")
        )
        return [(e.actor, e.target, e.result) for e in found]

    return await in_unit_of_work(url, work)


async def _regenerate(url: str) -> int:
    return await in_unit_of_work(
        url, lambda session: ensure_approximate_boundaries(session, "310117")
    )


def _collection(features: list[tuple[str, dict[str, Any]]], crs: str | None = None) -> bytes:
    document: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": code, "name": "x"}, "geometry": geometry}
            for code, geometry in features
        ],
    }
    if crs is not None:
        document["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(document).encode()


def _polygon(ring: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring]}


def _to_4549(ring: list[list[float]]) -> list[list[float]]:
    transformer = Transformer.from_crs("EPSG:4490", "EPSG:4549", always_xy=True)
    return [list(transformer.transform(x, y)) for x, y in ring]


def _close(a: dict[str, Any], b: dict[str, Any]) -> bool:
    pa, pb = a["coordinates"][0], b["coordinates"][0]
    return len(pa) == len(pb) and all(
        abs(x1 - x2) <= 1e-6 and abs(y1 - y2) <= 1e-6
        for (x1, y1), (x2, y2) in zip(pa, pb, strict=True)
    )


def _zipped_shapefile(ring: list[list[float]], code: str, *, prj: str | None) -> bytes:
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    writer = shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYGON)
    writer.field("code", "C", size=24)
    writer.field("name", "C", size=64)
    writer.poly([list(reversed(ring))])  # Shapefile exterior rings run clockwise
    writer.record(code, "泗泾镇")
    writer.close()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("towns.shp", shp.getvalue())
        archive.writestr("towns.shx", shx.getvalue())
        archive.writestr("towns.dbf", dbf.getvalue())
        if prj is not None:
            archive.writestr("towns.prj", prj)
    return out.getvalue()


def test_geojson_in_wgs84_replaces_the_approximate_polygon(url: str) -> None:
    before = asyncio.run(_unit(url, CODE))
    assert before.geometry_approximate
    rows = read_boundary_file("towns.geojson", _collection([(CODE, _polygon(RING))]))
    assert [r.code for r in rows] == [CODE]
    assert asyncio.run(_import(url, rows)) == 1
    after = asyncio.run(_unit(url, CODE))
    assert not after.geometry_approximate
    assert after.geometry is not None
    assert _close(json.loads(after.geometry), _polygon(RING))
    assert asyncio.run(_unit(url, OTHER)).geometry_approximate  # untouched
    asyncio.run(_regenerate(url))
    assert asyncio.run(_unit(url, CODE)).geometry == after.geometry


def test_projected_geojson_lands_on_the_wgs84_polygon() -> None:
    projected = _polygon(_to_4549(RING))
    for kwargs, crs_member in (
        ({}, "urn:ogc:def:crs:EPSG::4549"),
        ({"crs": "epsg:4549"}, None),
    ):
        content = _collection([(CODE, projected)], crs=crs_member)
        (row,) = read_boundary_file("towns.geojson", content, **kwargs)
        assert _close(row.geometry, _polygon(RING))
    (row,) = read_boundary_file(
        "towns.json", _collection([(CODE, _polygon(RING))], crs="EPSG:4490")
    )
    assert _close(row.geometry, _polygon(RING))


def test_zipped_shapefile_with_prj_imports_and_survives_regeneration(url: str) -> None:
    content = _zipped_shapefile(
        _to_4549(RING), CODE, prj=ProjCRS.from_epsg(4549).to_wkt(version="WKT1_ESRI")
    )
    rows = read_boundary_file("towns.zip", content)
    assert _close(rows[0].geometry, _polygon(RING))
    asyncio.run(_import(url, rows))
    asyncio.run(_regenerate(url))
    unit = asyncio.run(_unit(url, CODE))
    assert not unit.geometry_approximate
    assert unit.geometry is not None
    assert _close(json.loads(unit.geometry), _polygon(RING))


def test_shapefile_crs_from_wkt2_prj_or_option() -> None:
    ring = _to_4549(RING)
    wkt2 = _zipped_shapefile(ring, CODE, prj=ProjCRS.from_epsg(4549).to_wkt())
    assert _close(read_boundary_file("t.zip", wkt2)[0].geometry, _polygon(RING))
    bare = _zipped_shapefile(ring, CODE, prj=None)
    with pytest.raises(BoundaryDataError, match="--crs"):
        read_boundary_file("t.zip", bare)
    assert _close(read_boundary_file("t.zip", bare, crs="epsg:4549")[0].geometry, _polygon(RING))
    with pytest.raises(BoundaryDataError, match="no code field 'bm'"):
        read_boundary_file("t.zip", bare, code_field="bm", crs="epsg:4549")


def test_unknown_code_refuses_the_file_and_writes_nothing(url: str) -> None:
    before = asyncio.run(_unit(url, CODE))
    rows = read_boundary_file(
        "towns.geojson", _collection([(CODE, _polygon(RING)), ("310117999", _polygon(RING))])
    )
    with pytest.raises(BoundaryDataError, match=r"feature 1 \(code 310117999\)"):
        asyncio.run(_import(url, rows))
    after = asyncio.run(_unit(url, CODE))
    assert after.geometry == before.geometry
    assert after.geometry_approximate


@pytest.mark.parametrize(
    ("content", "kwargs", "message"),
    [
        (
            _collection([(CODE, {"type": "LineString", "coordinates": RING})]),
            {},
            r"feature 0 \(code 310117102\).*Polygon or MultiPolygon",
        ),
        (_collection([(CODE, _polygon(RING))]), {"code_field": "bm"}, "no code field 'bm'"),
        (_collection([(CODE, _polygon(RING))]), {"crs": "epsg:9999"}, "unknown coordinate"),
        (_collection([(CODE, _polygon(RING))], crs="EPSG:2385"), {}, "give --crs"),
        (_collection([(CODE, _polygon(_to_4549(RING)))]), {}, "is the CRS right"),
        (_collection([(CODE, _polygon(RING)), (CODE, _polygon(RING))]), {}, "repeats"),
    ],
)
def test_bad_files_are_refused(content: bytes, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(BoundaryDataError, match=message):
        read_boundary_file("towns.geojson", content, **kwargs)


def test_self_intersecting_polygon_is_made_valid() -> None:
    bowtie = [[121.24, 31.10], [121.26, 31.12], [121.26, 31.10], [121.24, 31.12], [121.24, 31.10]]
    (row,) = read_boundary_file("t.geojson", _collection([(CODE, _polygon(bowtie))]))
    assert row.geometry["type"] == "MultiPolygon"


@pytest.fixture
def app_client(url: str) -> Iterator[TestClient]:
    """An app of its own on the fresh database."""
    with TestClient(create_app(_settings(url)), raise_server_exceptions=False) as client:
        yield client


def _headers(client: TestClient, username: str) -> dict[str, str]:
    reply = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def test_http_import_as_district_admin(app_client: TestClient, url: str) -> None:
    headers = _headers(app_client, "b_admin")
    content = _collection([(CODE, _polygon(_to_4549(RING)))])
    reply = app_client.post(
        "/api/v1/geo/boundaries/import",
        files={"file": ("towns.geojson", content, "application/geo+json")},
        data={"crs": "epsg:4549"},
        headers=headers,
    )
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"imported": 1, "codes": [CODE]}
    inside = app_client.get(
        "/api/v1/geo/divisions", params={"lon": 121.25, "lat": 31.11}, headers=headers
    )
    assert inside.status_code == 200, inside.text
    assert inside.json()["unit"] == {"code": CODE, "name": "泗泾镇", "approximate": False}
    assert asyncio.run(_audited(url)) == [("b_admin", "towns.geojson", "success")]
    bad = app_client.post(
        "/api/v1/geo/boundaries/import",
        files={"file": ("towns.geojson", _collection([("310117999", _polygon(RING))]))},
        headers=headers,
    )
    assert bad.status_code == 422, bad.text


def test_http_import_is_refused_outside_permission_or_scope(app_client: TestClient) -> None:
    content = _collection([(OTHER, _polygon(RING))])
    files = {"file": ("towns.geojson", content, "application/geo+json")}
    town = app_client.post(
        "/api/v1/geo/boundaries/import", files=files, headers=_headers(app_client, "b_town")
    )
    assert town.status_code == 403, town.text
    town_admin = app_client.post(
        "/api/v1/geo/boundaries/import",
        files=files,
        headers=_headers(app_client, "b_town_admin"),
    )
    assert town_admin.status_code == 403, town_admin.text
    assert town_admin.json()["type"].endswith("out-of-scope")


def test_cli_import_boundaries(url: str, tmp_path: Path) -> None:
    script = shutil.which("cityops", path=str(Path(sys.executable).parent)) or "cityops"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOPS_")}
    env["CITYOPS_DATABASE_URL"] = url

    def cityops(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *args], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
        )

    shapes = tmp_path / "towns.zip"
    shapes.write_bytes(_zipped_shapefile(_to_4549(RING), CODE, prj=None))
    refused = cityops("geo", "import-boundaries", str(shapes))
    assert refused.returncode == 2
    assert "--crs" in refused.stderr
    done = cityops("geo", "import-boundaries", str(shapes), "--crs", "epsg:4549")
    assert done.returncode == 0, done.stderr
    assert "imported 1 official boundaries" in done.stdout
    assert not asyncio.run(_unit(url, CODE)).geometry_approximate
