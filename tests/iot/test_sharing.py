"""Must-show (issue 15): a town without a grant cannot read another town's device by any path;
with a grant it reads only the granted keys and window; after revocation it is refused on the
next request, by this worker and by a second `cityops serve` process within 1 s (no sleeping).
"""

from __future__ import annotations

import math
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Backend, Login
from tests.iot.test_http import push, register
from tests.real_server import cityops_command, free_port, wait_ready

SIJING = "310117102"
IOT = "/api/v1/iot"
APPS = "/api/v1/sharing/applications"


@pytest.fixture
def second_worker(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """A real `cityops serve` process on the shared app's database; its base URL."""
    env = {**os.environ, "CITYOPS_DATABASE_URL": backend.settings.database_url}
    base = f"http://127.0.0.1:{free_port()}"
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            [cityops_command(), "serve", "--port", base.rsplit(":", 1)[1]],
            cwd=tmp_path, env=env, stdout=log, stderr=log,
        )  # fmt: skip
        try:
            wait_ready(base, process)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


LON, LAT = 121.265, 31.12  # where tests.iot.test_http.register puts a device
ZOOM = 12


def tile_of(lon: float, lat: float, z: int) -> str:
    """The z/x/y of the Web-Mercator tile holding a point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"{z}/{x}/{y}"


def paths(device: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Every read path of one device: (path, query)."""
    return {
        "detail": (f"{IOT}/devices/{device}", {}),
        "latest": (f"{IOT}/devices/{device}/latest", {}),
        "telemetry": (f"{IOT}/devices/{device}/telemetry", {"key": "water_level"}),
        "page": (f"/iot/devices/{device}", {}),
    }


def seen(client: Any, headers: dict[str, str], device: str) -> dict[str, bool]:
    """Whether each listing path shows the device: API list, portal list, map features, tile."""
    api = client.get(f"{IOT}/devices", params={"limit": 1000}, headers=headers)
    page = client.get("/iot/devices", headers=headers)
    features = client.get("/api/v1/map/features/iot_devices", headers=headers)
    tile = client.get(f"/api/v1/map/tiles/iot_devices/{tile_of(LON, LAT, ZOOM)}.mvt",
                      headers=headers)  # fmt: skip
    for reply in (api, page, features):
        assert reply.status_code == 200, reply.text[:300]
    assert tile.status_code in (200, 204), tile.text[:300]
    return {
        "list": device in {d["id"] for d in api.json()["items"]},
        "page": device in page.text,
        "features": device in {f["properties"]["code"] for f in features.json()["features"]},
        "tile": device.encode() in tile.content,
    }


def refused_everywhere(client: Any, headers: dict[str, str], device: str) -> None:
    """No path shows the device: 404 on each read, absent from every listing."""
    for name, (path, query) in paths(device).items():
        reply = client.get(path, params=query, headers=headers)
        assert reply.status_code == 404, (name, reply.status_code, reply.text[:200])
    assert seen(client, headers, device) == dict.fromkeys(
        ("list", "page", "features", "tile"), False
    )


def test_a_town_reads_another_towns_device_only_through_a_live_grant(
    client: TestClient, login: Login, second_worker: str
) -> None:
    device, token = register(client, login, "t_sijing", SIJING)
    now = datetime.now(UTC).replace(microsecond=0)
    old, recent = now - timedelta(days=3), now - timedelta(hours=1)
    for ts, level in ((old, 2.5), (recent, 3.2)):
        assert push(client, device, token, {"water_level": level, "battery": 80}, ts) == 202
    sheshan = login.headers("t_sheshan")
    refused_everywhere(client, sheshan, device)

    body = {
        "kind": "iot.device", "resource_ids": [device], "keys": ["water_level"],
        "data_from": (now - timedelta(days=1)).isoformat(), "data_until": None,
        "purpose": "防汛联动：查看泗泾塘水位", "expires_at": (now + timedelta(days=30)).isoformat(),
    }  # fmt: skip
    made = client.post(APPS, json=body, headers=sheshan)
    assert made.status_code == 201, made.text
    app_id = made.json()["id"]
    refused_everywhere(client, sheshan, device)  # pending is not granted

    approved = client.post(f"{APPS}/{app_id}/approve", json={}, headers=login.headers("t_duty"))
    assert approved.status_code == 200, approved.text
    assert seen(client, sheshan, device) == dict.fromkeys(
        ("list", "page", "features", "tile"), True
    )
    assert client.get(f"{IOT}/devices/{device}", headers=sheshan).status_code == 200
    page = client.get(f"/iot/devices/{device}", headers=sheshan)
    assert page.status_code == 200 and "3.2" in page.text
    latest = client.get(f"{IOT}/devices/{device}/latest", headers=sheshan).json()
    assert [v["key"] for v in latest] == ["water_level"], "battery was not granted"
    series = client.get(
        f"{IOT}/devices/{device}/telemetry",
        params={"key": "water_level", "from": (now - timedelta(days=5)).isoformat()},
        headers=sheshan,
    )
    assert series.status_code == 200, series.text
    assert [p["value"] for p in series.json()["points"]] == [3.2], "the old reading is outside"
    battery = client.get(
        f"{IOT}/devices/{device}/telemetry", params={"key": "battery"}, headers=sheshan
    )
    assert battery.status_code == 403, battery.text
    # The owner still reads everything.
    own = client.get(
        f"{IOT}/devices/{device}/telemetry",
        params={"key": "water_level", "from": (now - timedelta(days=5)).isoformat()},
        headers=login.headers("t_sijing"),
    )
    assert [p["value"] for p in own.json()["points"]] == [2.5, 3.2]
    # Management stays with the owner: a grant is no right to rotate the token.
    rotate = client.post(f"{IOT}/devices/{device}/token", headers=login.headers("t_sheshan"))
    assert rotate.status_code in (403, 404)

    grant_id = approved.json()["grant_ids"][0]
    log = client.get(f"/api/v1/sharing/grants/{grant_id}/access", headers=login.headers("t_duty"))
    actions = {r["action"] for r in log.json()}
    wanted = {
        "device.list",
        "device.read",
        "device.page",
        "latest.read",
        "telemetry.read",
        "map.read",
    }
    assert wanted <= actions, actions

    with httpx.Client(base_url=second_worker, timeout=30) as worker:
        assert worker.get(f"{IOT}/devices/{device}", headers=sheshan).status_code == 200
        revoked = client.post(
            f"{APPS}/{app_id}/revoke", json={"reason": "汛期结束"}, headers=login.headers("t_duty")
        )
        assert revoked.status_code == 200, revoked.text
        at = time.monotonic()
        second = worker.get(f"{IOT}/devices/{device}", headers=sheshan)
        took = time.monotonic() - at
        assert second.status_code == 404, second.text
        assert took < 1.0
        refused_everywhere(worker, sheshan, device)
    refused_everywhere(client, sheshan, device)


def test_applications_for_devices_name_real_devices_and_keys(
    client: TestClient, login: Login
) -> None:
    device, _ = register(client, login, "t_sijing", SIJING)
    kinds = client.get("/api/v1/sharing/kinds", headers=login.headers("t_sheshan")).json()
    assert {"name": "iot.device", "label": "物联设备", "keyed": True} in kinds
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    body = {"kind": "iot.device", "purpose": "防汛联动", "expires_at": expires}
    sheshan = login.headers("t_sheshan")
    cases = {
        "unknown key": {"resource_ids": [device], "keys": ["water_level", "rainfall_24h"]},
        "unknown device": {"resource_ids": [device, "t-none-00000000"]},
    }
    for name, changes in cases.items():
        reply = client.post(APPS, json={**body, **changes}, headers=sheshan)
        assert reply.status_code == 422, (name, reply.text)
        assert reply.headers["content-type"] == "application/problem+json"
    ok = client.post(APPS, json={**body, "resource_ids": [device], "keys": ["battery"]},
                     headers=sheshan)  # fmt: skip
    assert ok.status_code == 201, ok.text
    assert ok.json()["owner_code"] == SIJING and ok.json()["kind_label"] == "物联设备"
