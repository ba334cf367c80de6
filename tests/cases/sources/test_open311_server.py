"""A plain GeoReport v2 client against a real `cityops serve`: list, report, follow the status.

The client below knows the GeoReport v2 spec, the endpoint's base URL and an api_key — nothing
about cityops. The setup around it (accounts, the key, a point inside the district, the
operator's decision) uses the platform the way its staff would.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from shapely.geometry import shape

from tests.real_server import running_cityops

PASSWORD = "O311-Passw0rd!"
ACCOUNTS = {
    "o311_security": ("security_admin", "310117", "安全管理员（Open311 测试）"),
    "o311_duty": ("district_officer", "310117", "区值班员（Open311 测试）"),
    "o311_app": ("system_client", "310117", "随手拍 Open311 应用"),
}


@dataclass
class Platform:
    """The running server, the Open311 app's key, a point in the district, the duty officer."""

    base: str
    api_key: str
    lat: float
    long: float
    duty: dict[str, str]


def _login(http: httpx.Client, username: str) -> dict[str, str]:
    reply = http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    reply.raise_for_status()
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def _issue_key(http: httpx.Client) -> str:
    security = _login(http, "o311_security")
    found = http.get("/api/v1/accounts", params={"q": "o311_app"}, headers=security).json()
    account = next(a for a in found["items"] if a["username"] == "o311_app")
    reply = http.post(
        f"/api/v1/accounts/{account['id']}/api-keys", json={"name": "随手拍"}, headers=security
    )
    reply.raise_for_status()
    secret: str = reply.json()["secret"]
    return secret


def _a_point(database: Path) -> tuple[float, float]:
    """A point inside a grid of 泗泾, read from the server's own database."""
    with sqlite3.connect(database) as db:
        row = db.execute(
            "SELECT geometry FROM org_unit WHERE level = 'grid' AND code LIKE '310117102%' "
            "AND geometry IS NOT NULL ORDER BY code LIMIT 1"
        ).fetchone()
    point = shape(json.loads(row[0])).representative_point()
    return float(point.x), float(point.y)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A migrated, seeded server with a security admin, a duty officer and an Open311 app."""
    workdir = tmp_path_factory.mktemp("open311")
    with running_cityops(workdir, ACCOUNTS, PASSWORD) as base, httpx.Client(base_url=base) as http:
        lon, lat = _a_point(workdir / "cityops.db")
        yield Platform(base, _issue_key(http), lat, lon, _login(http, "o311_duty"))


class GeoReportClient:
    """What any GeoReport v2 client does: JSON format, form-encoded POST, api_key in the form."""

    def __init__(self, endpoint: str, api_key: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.api_key = api_key

    def services(self) -> list[dict[str, Any]]:
        """GET services.json."""
        reply = httpx.get(f"{self.endpoint}/services.json", timeout=10)
        reply.raise_for_status()
        result: list[dict[str, Any]] = reply.json()
        return result

    def definition(self, code: str) -> dict[str, Any]:
        """GET services/{code}.json."""
        reply = httpx.get(f"{self.endpoint}/services/{code}.json", timeout=10)
        reply.raise_for_status()
        result: dict[str, Any] = reply.json()
        return result

    def report(self, **fields: str) -> dict[str, Any]:
        """POST requests.json as application/x-www-form-urlencoded."""
        reply = httpx.post(
            f"{self.endpoint}/requests.json",
            data={"api_key": self.api_key, **fields},
            timeout=10,
        )
        assert reply.request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert reply.status_code in (200, 201), reply.text
        (created,) = reply.json()
        result: dict[str, Any] = created
        return result

    def status(self, request_id: str) -> dict[str, Any]:
        """GET requests/{id}.json."""
        reply = httpx.get(f"{self.endpoint}/requests/{request_id}.json", timeout=10)
        reply.raise_for_status()
        (request,) = reply.json()
        result: dict[str, Any] = request
        return result


def test_a_plain_georeport_client_lists_reports_and_follows_a_request(platform: Platform) -> None:
    client = GeoReportClient(f"{platform.base}/open311/v2", platform.api_key)
    services = client.services()
    litter = next(s for s in services if s["service_name"] == "暴露垃圾")
    assert litter["metadata"] is False and litter["type"] == "realtime"
    with_fields = next(s for s in services if s["metadata"])
    assert client.definition(with_fields["service_code"])["attributes"][0]["code"]
    created = client.report(
        service_code=litter["service_code"],
        lat=str(platform.lat),
        long=str(platform.long),
        address_string="泗泾镇 路口东侧",
        description="路口东侧有一堆生活垃圾",
        first_name="小明",
        last_name="李",
        phone="13900002222",
    )
    request_id = created["service_request_id"]
    assert request_id and created["service_notice"]
    status = client.status(request_id)
    assert (status["service_request_id"], status["status"]) == (request_id, "open")
    assert status["service_code"] == litter["service_code"]
    assert status["description"] == "路口东侧有一堆生活垃圾"
    assert "13900002222" not in json.dumps(status, ensure_ascii=False)
    assert status["requested_datetime"].endswith("+08:00")
    # The operations hall voids it as a duplicate; the client sees the request closed.
    voided = httpx.post(
        f"{platform.base}/api/v1/cases/{request_id}/actions/void",
        json={"reason": "已有同一问题的报告"},
        headers=platform.duty,
        timeout=10,
    )
    assert voided.status_code == 200, voided.text
    closed = client.status(request_id)
    assert (closed["status"], closed["status_notes"]) == ("closed", "经核实不予立案")
