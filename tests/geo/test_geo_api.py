"""The map platform's HTTP API: CRS conversion and division lookup."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cityops.geo.boundaries import unit_points
from tests.conftest import Login


def test_lookup_of_a_point_in_sijing(client: TestClient, login: Login) -> None:
    lon, lat = unit_points("310117")["310117102"]
    reply = client.get(
        "/api/v1/geo/divisions", params={"lon": lon, "lat": lat}, headers=login.headers("t_duty")
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["inside_district"] is True
    assert body["district"]["code"] == "310117"
    assert body["unit"] == {"code": "310117102", "name": "泗泾镇", "approximate": True}
    assert body["community"]["code"].startswith("310117102")
    assert body["grid"]["code"].startswith(body["community"]["code"])


def test_lookup_accepts_gcj02_input(client: TestClient, login: Login) -> None:
    lon, lat = unit_points("310117")["310117102"]
    converted = client.get(
        "/api/v1/geo/transform",
        params={"x": lon, "y": lat, "from": "wgs84", "to": "gcj02"},
        headers=login.headers("t_duty"),
    ).json()["points"][0]
    reply = client.get(
        "/api/v1/geo/divisions",
        params={"lon": converted[0], "lat": converted[1], "crs": "gcj02"},
        headers=login.headers("t_duty"),
    )
    assert reply.json()["unit"]["code"] == "310117102"
    assert reply.json()["lon"] == pytest.approx(lon, abs=1e-8)


def test_outside_the_district_is_an_answer_not_an_error(client: TestClient, login: Login) -> None:
    reply = client.post(
        "/api/v1/geo/divisions",
        json={"points": [[121.47, 31.23], [121.265, 31.12]]},
        headers=login.headers("t_duty"),
    )
    assert reply.status_code == 200
    first, second = reply.json()["items"]
    assert first["inside_district"] is False and first["unit"] is None
    assert second["inside_district"] is True
    assert reply.json()["approximate_boundaries"] is True


def test_transform_batch_and_geojson(client: TestClient, login: Login) -> None:
    reply = client.post(
        "/api/v1/geo/transform",
        json={"from": "wgs84", "to": "epsg:4549", "points": [[121.2279, 31.0322]]},
        headers=login.headers("t_duty"),
    )
    assert reply.status_code == 200
    easting, northing = reply.json()["points"][0]
    assert easting == pytest.approx(617234.497, abs=0.001)
    assert northing == pytest.approx(3435191.997, abs=0.001)
    geometry = {"type": "LineString", "coordinates": [[121.2, 31.0], [121.3, 31.1]]}
    reply = client.post(
        "/api/v1/geo/transform",
        json={"from": "wgs84", "to": "bd09", "geometry": geometry},
        headers=login.headers("t_duty"),
    )
    assert reply.status_code == 200
    assert reply.json()["geometry"]["type"] == "LineString"


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/api/v1/geo/divisions", {"params": {"lon": 121.2, "lat": 31.0, "crs": "mars"}}),
        ("GET", "/api/v1/geo/divisions", {"params": {"lon": "nan", "lat": 31.0}}),
        ("GET", "/api/v1/geo/divisions", {"params": {"lon": "east", "lat": 31.0}}),
        ("GET", "/api/v1/geo/transform", {"params": {"x": 1, "y": 2, "from": "sh2000"}}),
        ("POST", "/api/v1/geo/divisions", {"json": {"points": []}}),
        ("POST", "/api/v1/geo/divisions", {"json": {"points": [[1, 2, 3]]}}),
        ("POST", "/api/v1/geo/transform", {"json": {"from": "wgs84", "to": "gcj02"}}),
        (
            "POST",
            "/api/v1/geo/transform",
            {"json": {"from": "wgs84", "to": "gcj02", "geometry": {"type": "Blob"}}},
        ),
    ],
)
def test_bad_geo_input_is_a_problem(
    client: TestClient, login: Login, method: str, path: str, kwargs: dict[str, object]
) -> None:
    reply = client.request(method, path, headers=login.headers("t_duty"), **kwargs)  # type: ignore[arg-type]
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
