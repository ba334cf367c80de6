"""Receiving 12345 orders: placing them, refusing what is wrong, leaving nothing behind."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases.sources.hotline.models import HotlineOrder
from cityops.cases.sources.hotline.orders import host_allowed
from cityops.kit.outbox.models import OutboxMessage
from tests.cases.conftest import Places, counts, in_db
from tests.cases.sources.hotline_support import (
    ORDERS,
    SHESHAN,
    SYSTEM,
    UNSIGNED,
    Hotline,
)
from tests.cases.sources.test_hotline_flow import order_body
from tests.conftest import Backend

PROBLEM = "application/problem+json"

#: The hotline app and its receivers, registered once for every hotline test module.
pytest_plugins = ["tests.cases.sources.hotline_fixtures"]


def hotline_rows(backend: Backend) -> tuple[int, int, int, int]:
    """Cases, timeline entries, hotline orders and outbox rows: what a refusal leaves untouched."""

    async def work(session: AsyncSession) -> tuple[int, int]:
        orders = await session.scalar(select(func.count()).select_from(HotlineOrder))
        outbox = await session.scalar(select(func.count()).select_from(OutboxMessage))
        return int(orders or 0), int(outbox or 0)

    return (*counts(backend), *in_db(backend, work))


def problem(reply: Any, status: int, loc: str | None = None) -> dict[str, Any]:
    """Insist on a problem+json answer (naming a body field when asked)."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM
    body: dict[str, Any] = reply.json()
    if loc is not None:
        assert any(e["loc"][-1] == loc for e in body.get("errors", [])), body
    return body


def test_the_address_is_geocoded_when_no_point_is_given(hotline: Hotline, places: Places) -> None:
    community = hotline.order(
        **order_body(
            places,
            "SH12345-GEO-0001",
            location=None,
            category=None,
            request_type="求助",
            address="上海市松江区泗泾镇张泾社区居委会附近",
        )
    )
    assert community.status_code == 201, community.text
    found = community.json()
    assert (found["located_by"], found["geocode_level"]) == ("geocoder", "community")
    assert found["request_type"] == found["category"] == "hotline:02"
    case = hotline.client.get(
        f"/api/v1/cases/{found['case_id']}", headers=hotline.headers("t_duty")
    ).json()
    assert case["divisions"]["community"] == "310117102001" and case["location"] is None

    lon, lat = places["310117102002"]
    imported = hotline.client.post(
        "/api/v1/geo/addresses/import",
        files={"file": ("doors.csv", f"address,lon,lat\n松江区泗泾镇江川北路88号,{lon},{lat}\n")},
        headers=hotline.headers("t_admin"),
    )
    assert imported.status_code == 200, imported.text
    door = hotline.order(
        **order_body(places, "SH12345-GEO-0002", location=None, address="泗泾镇江川北路88号")
    )
    assert door.status_code == 201, door.text
    assert (door.json()["geocode_level"], door.json()["geocode_confidence"]) == ("std_address", 1.0)
    case = hotline.client.get(
        f"/api/v1/cases/{door.json()['case_id']}", headers=hotline.headers("t_duty")
    ).json()
    assert case["divisions"]["community"] == "310117102002"
    assert abs(case["location"]["lon"] - lon) < 1e-9 and abs(case["location"]["lat"] - lat) < 1e-9


@pytest.mark.parametrize(
    "address",
    ["上海市徐汇区漕溪北路1号", "上海市松江区", "火星基地三号楼", "某某路"],
    ids=["other-district", "district-only", "nowhere", "unknown-road"],
)
def test_an_address_that_cannot_be_placed_is_refused(
    hotline: Hotline, places: Places, backend: Backend, address: str
) -> None:
    before = hotline_rows(backend)
    reply = hotline.order(**order_body(places, "SH12345-GEO-BAD", location=None, address=address))
    body = problem(reply, 422, "address")
    assert "district" in body["detail"]
    assert hotline_rows(backend) == before


def test_callback_hosts_are_checked_against_the_allowlist(
    hotline: Hotline, places: Places, backend: Backend
) -> None:
    before = hotline_rows(backend)
    for url in (
        "http://169.254.169.254/latest/meta-data",  # cloud metadata: the classic SSRF target
        "http://10.0.0.8/cb",
        "https://evil.example.com/cb",
        "https://12345.sh.gov.cn.evil.example/cb",
    ):
        reply = hotline.order(**order_body(places, "SH12345-SSRF-1", callback_url=url))
        assert "not allowed" in problem(reply, 422, "callback_url")["detail"]
    for url in ("ftp://127.0.0.1/cb", "file:///etc/passwd", "http://user:pw@127.0.0.1/cb", "http:///cb", "http://127.0.0.1:99999/"):  # fmt: skip
        problem(hotline.order(**order_body(places, "SH12345-SSRF-2", callback_url=url)), 422, "callback_url")  # fmt: skip
    assert hotline.client.get(f"{ORDERS}/SH12345-SSRF-1", headers=hotline.headers(SYSTEM)).status_code == 404  # fmt: skip
    assert hotline_rows(backend) == before
    assert host_allowed("https://a.12345.sh.gov.cn/cb", ["*.12345.sh.gov.cn"])
    assert not host_allowed("https://12345.sh.gov.cn/cb", ["*.12345.sh.gov.cn"])
    assert host_allowed("http://127.0.0.1:8080/", ["127.0.0.1:8080"])
    assert not host_allowed("http://127.0.0.1:8081/", ["127.0.0.1:8080"])
    assert host_allowed("https://[::1]/cb", ["[::1]"])


def test_a_system_without_a_secret_gets_no_unsigned_callbacks(
    hotline: Hotline, places: Places, backend: Backend
) -> None:
    before = hotline_rows(backend)
    url = hotline.peer.url("/unsigned")
    reply = hotline.order(UNSIGNED, **order_body(places, "SH12345-UNS-1", callback_url=url))
    assert "no signing secret" in problem(reply, 422, "callback_url")["detail"]
    assert hotline_rows(backend) == before
    quiet = hotline.order(UNSIGNED, **order_body(places, "SH12345-UNS-2"))
    assert quiet.status_code == 201 and quiet.json()["callbacks"] is False


def test_another_towns_key_and_wrong_roles(
    hotline: Hotline, places: Places, backend: Backend
) -> None:
    before = hotline_rows(backend)
    outside = hotline.order(SHESHAN, **order_body(places, "SH12345-TOWN-1"))  # a 泗泾 point
    assert problem(outside, 403)["type"] == "/problems/out-of-scope"
    for who in ("t_duty", "t_sijing", "t_grid", "t_admin"):
        problem(hotline.order(who, **order_body(places, "SH12345-ROLE-1")), 403)
    hotline.client.cookies.clear()  # logging the t_* accounts in left a portal cookie
    unauthenticated = hotline.client.post(ORDERS, json=order_body(places, "SH12345-ROLE-2"))
    problem(unauthenticated, 401)
    assert hotline_rows(backend) == before
    mine = hotline.order(**order_body(places, "SH12345-TOWN-2"))
    assert mine.status_code == 201
    theirs = hotline.client.get(f"{ORDERS}/SH12345-TOWN-2", headers=hotline.headers(SHESHAN))
    problem(theirs, 404)
    stolen = hotline.order(SHESHAN, **order_body(places, "SH12345-TOWN-2"))
    problem(stolen, 409)  # the order number is another system's case
    sheshan = hotline.order(
        SHESHAN,
        **order_body(places, "SH12345-TOWN-3", location=None, address="佘山镇陈坊社区居委会"),
    )
    assert sheshan.status_code == 201, sheshan.text
    assert sheshan.json()["owner_code"].startswith("310117103")


BAD_ORDERS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown request type", {"request_type": "骚扰"}, "request_type"),
    ("hotline code as category", {"category": "hotline:03"}, "category"),
    ("unknown category", {"category": "component:9999"}, "category"),
    ("order number with spaces", {"order_no": "SH 12345"}, "order_no"),
    ("order number too long", {"order_no": "S" * 65}, "order_no"),
    ("NUL in content", {"content": "井盖\x00破损"}, "content"),
    ("empty content", {"content": ""}, "content"),
    ("huge content", {"content": "井" * 4001}, "content"),
    ("naive deadline", {"deadline": "2026-11-23T17:00:00"}, "deadline"),
    ("unknown urgency", {"urgency": "十万火急"}, "urgency"),
    ("extra field", {"priority": 1}, "priority"),
    ("phone with letters", {"caller": {"name": "张三", "phone": "call-me"}}, "phone"),
    ("infinite longitude", {"location": {"lon": "Infinity", "lat": 31.1}}, "lon"),
    ("wrong type", {"address": ["泗泾"]}, "address"),
    ("bad crs", {"location": {"lon": 121.2, "lat": 31.1, "crs": "epsg:99999"}}, "location"),
    ("outside the district", {"location": {"lon": 116.4, "lat": 39.9}}, "location"),
]


@pytest.mark.parametrize(("what", "change", "loc"), BAD_ORDERS, ids=[b[0] for b in BAD_ORDERS])
def test_bad_orders_are_refused_with_a_problem(
    hotline: Hotline, places: Places, what: str, change: dict[str, Any], loc: str
) -> None:
    body = order_body(places, "SH12345-BAD-1")
    body.update(change)
    problem(hotline.order(**body), 422, loc)


def test_malformed_and_oversized_bodies(hotline: Hotline, backend: Backend) -> None:
    before = hotline_rows(backend)
    headers = {**hotline.headers(SYSTEM), "content-type": "application/json"}
    problem(hotline.client.post(ORDERS, content=b'{"order_no": "X1",', headers=headers), 400)
    problem(hotline.client.post(ORDERS, content=b"[1, 2]", headers=headers), 422)
    huge = b'{"order_no": "X2", "content": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    problem(hotline.client.post(ORDERS, content=huge, headers=headers), 413)
    problem(hotline.client.get(f"{ORDERS}/bad%20number", headers=hotline.headers(SYSTEM)), 422)
    evaluation = f"{ORDERS}/SH12345-NOPE/evaluation"
    problem(hotline.client.post(evaluation, json={"satisfaction": 5}, headers=hotline.headers(SYSTEM)), 404)  # fmt: skip
    assert hotline_rows(backend) == before


def test_evaluation_rules(hotline: Hotline, places: Places) -> None:
    reply = hotline.order(**order_body(places, "SH12345-EVAL-1"))
    assert reply.status_code == 201
    url = f"{ORDERS}/SH12345-EVAL-1/evaluation"
    headers = hotline.headers(SYSTEM)
    problem(
        hotline.client.post(url, json={"satisfaction": 9}, headers=headers), 422, "satisfaction"
    )
    early = problem(hotline.client.post(url, json={"satisfaction": 4}, headers=headers), 409)
    assert early["type"] == "/problems/illegal-transition" and early["state"] == "received"
    current = hotline.client.get(f"{ORDERS}/SH12345-EVAL-1", headers=headers)
    assert current.status_code == 200 and current.json()["status_label"] == "已受理"
