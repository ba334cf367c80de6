"""Vector tiles, features, style and drawings of the map platform, decoded as a client would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import MultiPolygon, Point, Polygon, box, shape

from cityops.app import create_app
from cityops.geo import crs as crs_module
from cityops.geo.boundaries import district_outline, unit_points
from cityops.geo.map.mvt import TileLayer, encode_chunks, encode_small, encode_tile
from cityops.geo.map.tiles import EXTENT, TileCache, tile_bounds, tile_of, tiles_covering
from tests.conftest import Backend, Login

PROBLEM = "application/problem+json"
SIJING, SHESHAN = "310117102", "310117103"
#: Songjiang's 18 township-level units of the 1+18+X guideline (all shipped with a polygon).
GUIDELINE_18 = {
    *(f"310117{n:03d}" for n in range(1, 7)),
    *(f"310117{n}" for n in (102, 103, 104, 105, 106, 107, 109, 116, 117, 120, 121, 501)),
}


def _bounds() -> tuple[float, float, float, float]:
    west, south, east, north = district_outline("310117").bounds
    return west, south, east, north


def _tile(client: TestClient, login: Login, user: str, layer: str, z: int, x: int, y: int) -> Any:
    reply = client.get(f"/api/v1/map/tiles/{layer}/{z}/{x}/{y}.mvt", headers=login.headers(user))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return reply


def _tile_cache(client: TestClient, login: Login) -> TileCache:
    """The app's tile cache (made on the first map request), emptied."""
    client.get("/api/v1/map/tiles/district/0/0/0.mvt", headers=login.headers("t_duty"))
    cache: TileCache = client.app.state.map.tiles  # type: ignore[attr-defined]
    cache.clear()
    return cache


def _decode(content: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = mapbox_vector_tile.decode(
        content, default_options={"y_coord_down": True}
    )
    return decoded


def _codes(client: TestClient, login: Login, user: str, layer: str, z: int) -> dict[str, set[str]]:
    """Codes per MVT layer over every zoom-z tile covering the district."""
    found: dict[str, set[str]] = {}
    for x, y in tiles_covering(*_bounds(), z):
        for name, content in _decode(_tile(client, login, user, layer, z, x, y).content).items():
            found.setdefault(name, set()).update(
                f["properties"]["code"] for f in content["features"]
            )
    return found


def test_layers_are_listed(client: TestClient, login: Login) -> None:
    reply = client.get("/api/v1/map/layers", headers=login.headers("t_sijing"))
    assert reply.status_code == 200
    layers = {item["name"]: item for item in reply.json()}
    assert {"district", "units", "communities", "multigrids", "grids"} <= set(layers)
    assert layers["grids"]["tiles"] == "/api/v1/map/tiles/grids/{z}/{x}/{y}.mvt"
    assert layers["grids"]["min_zoom"] == 12


def test_zoom_10_tiles_hold_the_18_units_with_their_flags(client: TestClient, login: Login) -> None:
    tiles = tiles_covering(*_bounds(), 10)
    assert 1 < len(tiles) <= 6
    units: dict[str, dict[str, Any]] = {}
    labels: list[str] = []
    for x, y in tiles:
        decoded = _decode(_tile(client, login, "t_duty", "units", 10, x, y).content)
        assert decoded["units"]["extent"] == EXTENT
        for feature in decoded["units"]["features"]:
            assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
            units[feature["properties"]["code"]] = feature["properties"]
        labels += [f["properties"]["code"] for f in decoded.get("labels", {}).get("features", [])]
    assert set(units) == GUIDELINE_18
    assert all(p["in_guideline_18"] is True and p["approximate"] is True for p in units.values())
    assert units[SIJING]["name"] == "泗泾镇"
    assert sorted(labels) == sorted(GUIDELINE_18)  # each name once, in the tile holding its point


def test_tile_geometry_matches_the_stored_polygon(client: TestClient, login: Login) -> None:
    features = client.get("/api/v1/map/features/units", headers=login.headers("t_duty")).json()[
        "features"
    ]
    sijing = shape(next(f for f in features if f["properties"]["code"] == SIJING)["geometry"])
    z = 12
    point = sijing.representative_point()
    x, y = tile_of(point.x, point.y, z)
    decoded = _decode(_tile(client, login, "t_duty", "units", z, x, y).content)
    drawn = next(f for f in decoded["units"]["features"] if f["properties"]["code"] == SIJING)
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    scale = (maxx - minx) / EXTENT
    in_tile = shapely.transform(
        shape(drawn["geometry"]),
        lambda c: np.column_stack([minx + c[:, 0] * scale, maxy - c[:, 1] * scale]),
    )
    mercator = shapely.transform(
        sijing,
        lambda c: np.column_stack(
            crs_module.transform_array(c[:, 0], c[:, 1], "wgs84", "webmercator")
        ),
    )
    expected = mercator.intersection(box(minx, miny, maxx, maxy))
    got = in_tile.intersection(box(minx, miny, maxx, maxy))
    assert got.symmetric_difference(expected).area / expected.area < 0.01


def test_a_town_gets_only_its_own_communities_grids_and_multigrids(
    client: TestClient, login: Login
) -> None:
    for layer, z in (("communities", 11), ("multigrids", 11), ("grids", 12)):
        mine = _codes(client, login, "t_sijing", layer, z)[layer]
        assert mine and all(code.startswith(SIJING) for code in mine), layer
        everyone = _codes(client, login, "t_duty", layer, z)[layer]
        assert any(code.startswith(SHESHAN) for code in everyone), layer
        assert mine < everyone
    units = _codes(client, login, "t_sijing", "units", 10)["units"]
    assert units == GUIDELINE_18  # the towns' outlines stay as context


def test_features_are_scoped_and_converted(client: TestClient, login: Login) -> None:
    west, south, east, north = _bounds()
    bbox = f"{west},{south},{east},{north}"
    reply = client.get(
        "/api/v1/map/features/communities", params={"bbox": bbox}, headers=login.headers("t_sijing")
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/geo+json"
    body = reply.json()
    assert body["type"] == "FeatureCollection" and body["approximate"] is True
    codes = {f["properties"]["code"] for f in body["features"]}
    assert len(codes) == 42 and all(c.startswith(SIJING) for c in codes)
    first = next(f for f in body["features"] if f["geometry"]["type"] == "Polygon")
    converted = client.get(
        "/api/v1/map/features/communities",
        params={"bbox": bbox, "crs": "gcj02"},
        headers=login.headers("t_sijing"),
    ).json()
    same = next(
        f for f in converted["features"] if f["properties"]["code"] == first["properties"]["code"]
    )
    lon, lat = first["geometry"]["coordinates"][0][0]
    expected = crs_module.transform(lon, lat, "wgs84", "gcj02")
    assert same["geometry"]["coordinates"][0][0] == pytest.approx(list(expected), abs=1e-9)
    assert converted["crs"] == "gcj02"


def test_etag_revalidation_and_the_cache(client: TestClient, login: Login) -> None:
    cache = _tile_cache(client, login)
    x, y = tile_of(121.26, 31.1, 13)
    first = _tile(client, login, "t_sijing", "communities", 13, x, y)
    assert first.headers["x-tile-cache"] == "miss"
    assert first.headers["cache-control"] == "private, no-cache"
    etag = first.headers["etag"]
    again = _tile(client, login, "t_sijing", "communities", 13, x, y)
    assert again.headers["x-tile-cache"] == "hit" and again.content == first.content
    assert again.headers["etag"] == etag
    unchanged = client.get(
        f"/api/v1/map/tiles/communities/13/{x}/{y}.mvt",
        headers={**login.headers("t_sijing"), "If-None-Match": f'W/"other", {etag}'},
    )
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    other_town = _tile(client, login, "t_sheshan", "communities", 13, x, y)
    assert other_town.headers["etag"] != etag  # another scope, another entity
    shared = [_tile(client, login, u, "units", 13, x, y) for u in ("t_sijing", "t_sheshan")]
    assert shared[0].headers["etag"] == shared[1].headers["etag"]  # context: one tile for all
    assert len(cache) >= 3


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/v1/map/tiles/nowhere/10/856/418.mvt", 404, "layer"),
        ("/api/v1/map/tiles/units/23/0/0.mvt", 422, "z"),
        ("/api/v1/map/tiles/units/10/1024/0.mvt", 422, "x"),
        ("/api/v1/map/tiles/units/10/0/-1.mvt", 422, "y"),
        ("/api/v1/map/tiles/units/10/0/north.mvt", 422, "y"),
        ("/api/v1/map/tiles/grids/5/26/13.mvt", 404, "z"),
        ("/api/v1/map/features/nowhere", 404, "layer"),
        ("/api/v1/map/features/units?bbox=1,2,3", 422, "bbox"),
        ("/api/v1/map/features/units?bbox=121.3,31,121.2,31.1", 422, "bbox"),
        ("/api/v1/map/features/units?bbox=100,-89,200,89", 422, "bbox"),
        ("/api/v1/map/features/units?bbox=121,31,nan,31.1", 422, "bbox"),
        ("/api/v1/map/features/units?crs=mars", 422, "crs"),
        ("/api/v1/map/style.json?layers=units,nowhere", 422, "layers"),
        ("/api/v1/map/drawings?crs=sh2000", 422, "crs"),
    ],
)
def test_bad_map_input_is_a_problem(
    client: TestClient, login: Login, path: str, status: int, field: str
) -> None:
    reply = client.get(path, headers=login.headers("t_duty"))
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM
    assert field in json.dumps(reply.json()["errors"])


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_style_uses_only_the_platform_s_own_urls(client: TestClient, login: Login) -> None:
    reply = client.get("/api/v1/map/style.json", headers=login.headers("t_sijing"))
    assert reply.status_code == 200
    style = reply.json()
    assert style["version"] == 8
    assert "glyphs" not in style and "sprite" not in style  # labels are drawn from local fonts
    urls = [s for s in _strings(style) if "://" in s or s.startswith("/")]
    assert urls and all(u.startswith("http://testserver/api/v1/map/") for u in urls), urls
    assert style["sources"]["grids"]["tiles"] == [
        "http://testserver/api/v1/map/tiles/grids/{z}/{x}/{y}.mvt"
    ]
    assert style["sources"]["drawings"]["type"] == "geojson"
    ids = [layer["id"] for layer in style["layers"]]
    assert ids[0] == "background" and "grids-line-synthetic" in ids and "units-highlight" in ids
    kinds = [layer["type"] for layer in style["layers"]]
    assert kinds.index("symbol") > max(i for i, k in enumerate(kinds) if k != "symbol")
    only = client.get(
        "/api/v1/map/style.json", params={"layers": "units"}, headers=login.headers("t_duty")
    ).json()
    assert set(only["sources"]) == {"units"}


def _cordon(lon: float = 121.2646, lat: float = 31.1166, d: float = 0.004) -> dict[str, Any]:
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def test_drawings_crud_and_scope(client: TestClient, login: Login) -> None:
    body = {"name": "警戒区", "geometry": _cordon(), "style": {"color": "#ff0000", "dashed": True}}
    created = client.post("/api/v1/map/drawings", json=body, headers=login.headers("t_sijing"))
    assert created.status_code == 201, created.text
    drawing = created.json()
    path = created.headers["location"]
    assert path == f"/api/v1/map/drawings/{drawing['id']}"
    props = drawing["properties"]
    assert props["org_code"] == SIJING and props["owner"] == "t_sijing" and props["mine"]
    assert props["color"] == "#ff0000" and props["dashed"] and not props["shared"]
    assert drawing["geometry"]["type"] == "Polygon"

    for user in ("t_sheshan", "t_duty"):  # private: not even the district sees it
        assert client.get(path, headers=login.headers(user)).status_code == 404
    shared = client.patch(
        path, json={"shared": True, "name": "泗泾警戒区"}, headers=login.headers("t_sijing")
    )
    assert shared.status_code == 200 and shared.json()["properties"]["shared"]
    seen = client.get(path, headers=login.headers("t_duty"))
    assert seen.status_code == 200 and seen.json()["properties"]["editable"]
    assert client.get(path, headers=login.headers("t_sheshan")).status_code == 404
    listed = client.get("/api/v1/map/drawings", headers=login.headers("t_sheshan")).json()
    assert drawing["id"] not in [f["id"] for f in listed["features"]]
    listed = client.get("/api/v1/map/drawings", headers=login.headers("t_duty")).json()
    assert drawing["id"] in [f["id"] for f in listed["features"]]
    assert client.delete(path, headers=login.headers("t_sheshan")).status_code == 404
    assert client.delete(path, headers=login.headers("t_leader")).status_code == 403

    assert client.delete(path, headers=login.headers("t_sijing")).status_code == 204
    assert client.get(path, headers=login.headers("t_sijing")).status_code == 404


def test_drawings_in_other_crs_and_for_units_in_scope(client: TestClient, login: Login) -> None:
    lon, lat = crs_module.transform(121.2646, 31.1166, "wgs84", "gcj02")
    point = {
        "name": "集合点",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "crs": "gcj02",
    }
    reply = client.post("/api/v1/map/drawings", json=point, headers=login.headers("t_duty"))
    assert reply.status_code == 201, reply.text
    assert reply.json()["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-8)
    assert reply.json()["properties"]["org_code"] == "310117"
    stored = client.get(reply.headers["location"], headers=login.headers("t_duty")).json()
    assert stored["geometry"]["coordinates"] == pytest.approx([121.2646, 31.1166], abs=1e-8)
    line = {
        "name": "疏散路线",
        "geometry": {"type": "LineString", "coordinates": [[121.26, 31.11], [121.27, 31.12]]},
        "org_code": SIJING,
        "shared": True,
    }
    reply = client.post("/api/v1/map/drawings", json=line, headers=login.headers("t_duty"))
    assert reply.status_code == 201
    seen = client.get(
        f"/api/v1/map/drawings/{reply.json()['id']}", headers=login.headers("t_sijing")
    )
    assert seen.status_code == 200
    refused = client.post(
        "/api/v1/map/drawings",
        json={**line, "org_code": SHESHAN},
        headers=login.headers("t_sijing"),
    )
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/out-of-scope"
    leader = client.post("/api/v1/map/drawings", json=line, headers=login.headers("t_leader"))
    assert leader.status_code == 403


@pytest.mark.parametrize(
    "geometry",
    [
        {
            "type": "Polygon",
            "coordinates": [
                [[121.2, 31.0], [121.3, 31.1], [121.3, 31.0], [121.2, 31.1], [121.2, 31.0]]
            ],
        },
        {
            "type": "MultiPolygon",
            "coordinates": [[[[121.2, 31.0], [121.3, 31.0], [121.3, 31.1], [121.2, 31.0]]]],
        },
        {"type": "LineString", "coordinates": [[121.2, 31.0], [121.2, 31.0]]},
        {"type": "Point", "coordinates": [521.2, 31.0]},
        {"type": "Point", "coordinates": ["east", 31.0]},
        {"type": "Polygon", "coordinates": [[[121.2, 31.0], [121.3, 31.0]]]},
        {"type": "Point"},
    ],
)
def test_invalid_drawings_are_refused(
    client: TestClient, login: Login, geometry: dict[str, Any]
) -> None:
    reply = client.post(
        "/api/v1/map/drawings",
        json={"name": "坏图形", "geometry": geometry},
        headers=login.headers("t_sijing"),
    )
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == PROBLEM


def test_embed_page_token_and_frame_ancestors(backend: Backend, login: Login) -> None:
    settings = backend.settings.model_copy(
        update={"map_frame_ancestors": ["https://sijing.example.cn", "javascript:alert(1)"]}
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as embed:
        assert embed.get("/map/embed", params={"token": "cos_wrong"}).status_code == 401
        assert embed.get("/map/embed").status_code == 401
        reply = embed.get(
            "/map/embed",
            params={
                "token": login.token("t_sijing"),
                "layers": "units,grids",
                "center": "121.26,31.11",
                "zoom": 12,
            },
        )
        assert reply.status_code == 200, reply.text
        csp = reply.headers["content-security-policy"]
        assert "frame-ancestors 'self' https://sijing.example.cn;" in csp
        assert "javascript" not in csp and "x-frame-options" not in reply.headers
        assert reply.headers["referrer-policy"] == "no-referrer"
        config = json.loads(reply.text.split('id="cityops-map-config">')[1].split("</script>")[0])
        assert config["layers"] == ["units", "grids"] and config["center"] == [121.26, 31.11]
        assert config["allowedOrigins"] == ["http://testserver", "https://sijing.example.cn"]
        bad = embed.get(
            "/map/embed", params={"token": login.token("t_sijing"), "layers": "nowhere"}
        )
        assert bad.status_code == 400
        assert "没有名为 nowhere 的图层" in bad.text and "units（街镇）" in bad.text
        for params, said in (
            ({"center": "abc,31"}, "中心点（center）应为"),
            ({"center": "121.2"}, "中心点（center）应为"),
            ({"center": "nan,31"}, "中心点（center）应为"),
            ({"zoom": "99"}, "缩放级别（zoom）应为 0 到 22"),
            ({"zoom": "abc"}, "缩放级别（zoom）应为 0 到 22"),
            ({"crs": "mars"}, "不支持的坐标系（crs）：mars"),
        ):
            # Whatever the browser asks for, the page answers in Chinese HTML, no parser text.
            bad = embed.get("/map/embed", params={"token": login.token("t_sijing"), **params})
            assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")
            assert said in bad.text, bad.text
            assert "could not convert" not in bad.text and "Traceback" not in bad.text


def _ring_area(points: list[list[int]]) -> int:
    return sum(
        x1 * y2 - x2 * y1
        for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True)
    )


def test_encoder_round_trips_and_winds_rings() -> None:
    holed = Polygon(
        [(10, 10), (1000, 10), (1000, 1000), (10, 1000)], [[(100, 100), (200, 100), (200, 200)]]
    )
    geometries = [
        holed,
        MultiPolygon(
            [Polygon([(3000, 3000), (3100, 3000), (3100, 3100)]), Polygon([(0, 0), (0, 5), (5, 0)])]
        ),
        Point(12.4, 7.6),
        shapely.LineString([(0, 0), (0.2, 0.1), (40, 40)]),
        Polygon([(0, 0), (0.2, 0), (0.2, 0.2)]),  # collapses on the integer grid
    ]
    props = [{"code": str(i), "n": i, "ok": i % 2 == 0, "w": 0.5} for i in range(len(geometries))]
    tile = encode_tile([TileLayer("t", np.array(geometries, dtype=object), props)])
    raw = mapbox_vector_tile.decode(tile, default_options={"y_coord_down": True, "geojson": False})
    features = raw["t"]["features"]
    assert [f["properties"]["code"] for f in features] == ["0", "1", "2", "3"]
    assert features[1]["properties"] == {"code": "1", "n": 1, "ok": False, "w": 0.5}
    shell, hole = features[0]["geometry"]["coordinates"]
    assert _ring_area(shell[:-1]) > 0 > _ring_area(hole[:-1])  # spec: exterior positive, y down
    assert features[2]["geometry"]["coordinates"] == [12, 8]
    assert features[3]["geometry"]["coordinates"] == [[0, 0], [40, 40]]
    array = np.array(geometries, dtype=object)
    assert encode_small(geometries) == encode_chunks(array)  # plain and vectorised paths agree


async def _add_cases(backend: Backend) -> list[int]:
    from cityops.cases.models import CaseRecord
    from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work, utcnow

    lon, lat = unit_points("310117")[SIJING]
    other_lon, other_lat = unit_points("310117")[SHESHAN]
    now = utcnow()
    rows = [
        (SIJING, lon, lat, "registered"),
        (SHESHAN, other_lon, other_lat, "registered"),
        (SIJING, lon + 0.001, lat, "closed"),
    ]
    engine = create_engine(backend.settings.database_url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            cases = [
                CaseRecord(
                    source="test-map",
                    category="event:map",
                    text="地图图层测试",
                    lon=x,
                    lat=y,
                    owner_code=owner,
                    unit_code=owner,
                    loop_level="town",
                    status=status,
                    created_at=now,
                    updated_at=now,
                )
                for owner, x, y, status in rows
            ]
            session.add_all(cases)
            await session.flush()
            return [case.id for case in cases]
    finally:
        await engine.dispose()


def test_open_cases_layer_is_scoped(client: TestClient, login: Login, backend: Backend) -> None:
    assert "cases" in [
        item["name"]
        for item in client.get("/api/v1/map/layers", headers=login.headers("t_sijing")).json()
    ]
    own, other, closed = asyncio.run(_add_cases(backend))
    _tile_cache(client, login)

    def cases(user: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for x, y in tiles_covering(*_bounds(), 11):
            decoded = _decode(_tile(client, login, user, "cases", 11, x, y).content)
            for feature in decoded.get("cases", {}).get("features", []):
                assert feature["geometry"]["type"] == "Point"
                found[feature["properties"]["code"]] = feature["properties"]
        return found

    mine = cases("t_sijing")
    assert str(own) in mine and str(other) not in mine and str(closed) not in mine
    assert mine[str(own)]["status"] == "registered" and "text" not in mine[str(own)]
    assert {str(own), str(other)} <= set(cases("t_duty"))
    features = client.get("/api/v1/map/features/cases", headers=login.headers("t_sheshan")).json()[
        "features"
    ]
    assert str(other) in [f["properties"]["code"] for f in features]
    assert str(own) not in [f["properties"]["code"] for f in features]
    assert (
        client.get(
            "/api/v1/map/tiles/cases/11/0/0.mvt", headers=login.headers("t_admin")
        ).status_code
        == 403
    )  # a system administrator does not read cases
