"""Probe finding 5: extreme dates and huge finite coordinates are a 4xx, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Login

#: The instants a probe sent: year 1 at +14:00 and year 9999 at −12:00 leave the range of a
#: datetime once converted to UTC; so do the bare dates at the ends of the calendar.
EARLY = "0001-01-01T00:00:00+14:00"
LATE = "9999-12-31T23:59:59-12:00"
HUGE = 1e308
SIJING = "310117102"


def _case(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": "grid",
        "category": "component:0101",
        "text": "井盖松动",
        "org_code": "310117102001",
    }
    body.update(changes)
    return body


def _grid(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "event", "category": "event:0102", "text": "x"}
    body.update(changes)
    return body


# (id, caller, method, path, request keywords)
# fmt: off
PROBES: list[tuple[str, str | None, str, str, dict[str, Any]]] = [
    ("list-since-early", "t_duty", "GET", "/api/v1/cases", {"params": {"created_since": EARLY}}),
    ("list-since-late", "t_duty", "GET", "/api/v1/cases", {"params": {"created_since": LATE}}),
    ("list-until-early", "t_duty", "GET", "/api/v1/cases", {"params": {"created_until": EARLY}}),
    ("list-until-late", "t_duty", "GET", "/api/v1/cases", {"params": {"created_until": LATE}}),
    ("kpi-since-early", "t_duty", "GET", "/api/v1/cases/kpi", {"params": {"since": EARLY}}),
    ("kpi-until-late", "t_duty", "GET", "/api/v1/cases/kpi", {"params": {"until": LATE}}),
    ("kpi-since-late", "t_duty", "GET", "/api/v1/cases/kpi", {"params": {"since": LATE}}),
    ("kpi-until-early", "t_duty", "GET", "/api/v1/cases/kpi", {"params": {"until": EARLY}}),
    ("intake-occurred-early", "t_duty", "POST", "/api/v1/cases", {"json": _case(occurred_at=EARLY)}),
    ("intake-occurred-late", "t_duty", "POST", "/api/v1/cases", {"json": _case(occurred_at=LATE)}),
    ("grid-occurred-late", "t_grid", "POST", "/api/v1/sources/grid/reports", {"json": _grid(occurred_at=LATE, org_code="310117102001")}),
    ("open311-start-early", None, "GET", "/open311/v2/requests.json", {"params": {"start_date": EARLY}}),
    ("open311-start-late", None, "GET", "/open311/v2/requests.json", {"params": {"start_date": LATE}}),
    ("open311-end-early", None, "GET", "/open311/v2/requests.json", {"params": {"end_date": EARLY}}),
    ("open311-end-late", None, "GET", "/open311/v2/requests.json", {"params": {"end_date": LATE}}),
    ("transform-bd09-get", "t_duty", "GET", "/api/v1/geo/transform", {"params": {"x": HUGE, "y": HUGE, "from": "bd09"}}),
    ("transform-bd09-to", "t_duty", "GET", "/api/v1/geo/transform", {"params": {"x": HUGE, "y": HUGE, "to": "bd09"}}),
    ("transform-bd09-batch", "t_duty", "POST", "/api/v1/geo/transform", {"json": {"from": "bd09", "to": "wgs84", "points": [[HUGE, HUGE]]}}),
    ("transform-bd09-geojson", "t_duty", "POST", "/api/v1/geo/transform", {"json": {"from": "bd09", "to": "wgs84", "geometry": {"type": "Point", "coordinates": [HUGE, HUGE]}}}),
    ("locate-bd09", "t_duty", "GET", "/api/v1/geo/divisions", {"params": {"lon": HUGE, "lat": HUGE, "crs": "bd09"}}),
    ("intake-bd09", "t_duty", "POST", "/api/v1/cases", {"json": _case(org_code=None, location={"lon": HUGE, "lat": HUGE, "crs": "bd09"})}),
    ("grid-bd09", "t_grid", "POST", "/api/v1/sources/grid/reports", {"json": _grid(location={"lon": HUGE, "lat": -HUGE, "crs": "bd09"})}),
]
# fmt: on


@pytest.mark.parametrize(
    ("who", "method", "path", "request_"), [p[1:] for p in PROBES], ids=[p[0] for p in PROBES]
)
def test_extreme_input_is_a_4xx_problem(
    client: TestClient,
    login: Login,
    who: str | None,
    method: str,
    path: str,
    request_: dict[str, Any],
) -> None:
    headers = login.headers(who) if who else {}
    reply = client.request(method, path, headers=headers, **request_)
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text[:300])
    if path.startswith("/open311/"):  # GeoReport v2 has its own error list
        assert reply.json()[0]["code"] == reply.status_code
    else:
        assert reply.headers["content-type"].startswith("application/problem+json"), reply.text


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("name", ["since", "until"])
def test_portal_list_takes_calendar_ends(
    client: TestClient, login: Login, name: str, value: str
) -> None:
    reply = client.get("/cases", params={name: value}, headers=login.headers("t_duty"))
    assert reply.status_code == 200, reply.text[:300]
    assert "已忽略无效的" in reply.text
