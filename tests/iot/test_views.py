"""The device map layer (status colours, scoped) and the overview's 城市运行 sensing figures."""

from __future__ import annotations

from datetime import UTC, datetime

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
