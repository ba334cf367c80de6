"""The device map layer (status colours, scoped) and the overview's 城市运行 sensing figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.conftest import Login
from tests.iot.test_http import SIJING, push, register


def test_the_device_layer_shows_state_and_only_what_the_caller_sees(
    client: TestClient, login: Login
) -> None:
    device, token = register(client, login, "t_sijing", SIJING)
    assert push(client, device, token, {"water_level": 3.9}, datetime.now(UTC)) == 202  # over 3.5
    quiet, _ = register(client, login, "t_sijing", SIJING)
    mine = client.get("/api/v1/map/features/iot_devices", headers=login.headers("t_sijing"))
    assert mine.status_code == 200, mine.text
    states = {f["properties"]["code"]: f["properties"]["status"] for f in mine.json()["features"]}
    assert states[device] == "alert" and states[quiet] == "offline"
    other = client.get("/api/v1/map/features/iot_devices", headers=login.headers("t_sheshan"))
    codes = {f["properties"]["code"] for f in other.json()["features"]}
    assert device not in codes and quiet not in codes
    layers = client.get("/api/v1/map/layers", headers=login.headers("t_sijing")).json()
    assert "iot_devices" in {layer["name"] for layer in layers}


def test_the_city_operation_part_carries_live_sensing(client: TestClient, login: Login) -> None:
    device, token = register(client, login, "t_sijing", SIJING)
    assert push(client, device, token, {"water_level": 4.2}, datetime.now(UTC)) == 202
    reply = client.get(
        f"/api/v1/overview/{SIJING}",
        params={"parts": "city_operation", "cache": "false"},
        headers=login.headers("t_sijing"),
    )
    assert reply.status_code == 200, reply.text
    part = reply.json()["parts"]["city_operation"]
    provided = part["data"]["provided"]
    assert provided["devices"] >= 1 and provided["readings_per_minute"] >= 1
    gauge = next(g for g in provided["water_levels"] if g["device_id"] == device)
    assert gauge["state"] == "danger" and gauge["alert"] == 3.5
    assert "物联感知设备" not in part["missing"]


def test_the_device_pages_show_values_and_a_chart_in_scope_only(
    client: TestClient, login: Login
) -> None:
    device, token = register(client, login, "t_sijing", SIJING)
    now = datetime.now(UTC)
    for i, level in enumerate((3.1, 3.4, 3.8)):
        assert (
            push(client, device, token, {"water_level": level}, now - timedelta(minutes=10 - i))
            == 202
        )
    headers = login.headers("t_sijing")
    listing = client.get("/iot/devices", headers=headers)
    assert listing.status_code == 200 and device in listing.text and "物联感知设备" in listing.text
    page = client.get(f"/iot/devices/{device}", headers=headers)
    assert page.status_code == 200
    assert "<polyline" in page.text and "警戒线" in page.text and "3.8 m" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert (
        client.get(f"/iot/devices/{device}", headers=login.headers("t_sheshan")).status_code == 404
    )
    assert client.get("/iot/devices", headers=login.headers("t_grid")).status_code == 403
    kept = dict(client.cookies)
    client.cookies.clear()  # a session cookie a login left behind
    anonymous = client.get("/iot/devices", follow_redirects=False)
    client.cookies.update(kept)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
