"""Urban-grid intake: 部件 by component ID, 事件 by category, idempotent by 案卷号, scoped."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.auth.conftest import assert_problem
from tests.cases.conftest import Api, FakeClock, Places, counts, sh
from tests.cases.sources.conftest import Systems
from tests.conftest import Backend

GRID = "/api/v1/sources/grid/reports"
COMMUNITY = "310117102001"  # t_grid's community


def _report_no() -> str:
    return f"SJ-{uuid.uuid4().hex[:10]}"


def post(client: TestClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    """POST a grid report."""
    return client.post(GRID, json=body, headers=headers)


def _component(places: Places, **extra: Any) -> dict[str, Any]:
    lon, lat = places[COMMUNITY]
    return {
        "report_no": _report_no(),
        "kind": "component",
        "component_id": "3101170101000123",
        "text": "上水井盖破损",
        "location": {"lon": lon, "lat": lat},
        **extra,
    }


def test_a_component_report_takes_its_class_from_the_id_and_repeats_idempotently(
    client: TestClient, api: Api, systems: Systems, places: Places, clock: FakeClock
) -> None:
    clock.set(sh(2026, 8, 3, 10, 0))
    body = _component(places, reporter={"name": "王五", "phone": "13700001234"})
    first = post(client, systems.grid.headers, **body)
    assert first.status_code == 201, first.text
    case = first.json()
    assert (case["source"], case["source_key"], case["category"], case["component_id"]) == (
        "grid",
        body["report_no"],
        "component:0101",
        "3101170101000123",
    )
    assert case["category_name"] == "上水井盖" and case["reporter"]["phone"] == "137****1234"
    shown = api.detail(case["id"])
    assert shown["component_id"] == "3101170101000123"
    again = post(client, systems.grid.headers, **body)
    assert again.status_code == 200 and again.json()["id"] == case["id"]
    assert [e["action"] for e in api.timeline(case["id"])] == ["created"]
    # The grid system sees its own 案卷 through the case API, the town sees the case too.
    assert api.get("t_duty", "", source="grid", category="component:0101").json()["total"] >= 1
    assert (
        client.get(f"/api/v1/cases/{case['id']}", headers=systems.grid.headers).status_code == 200
    )


@pytest.mark.parametrize(
    ("component_id", "part"),
    [
        ("310117010100012", "format"),
        ("3101180101000123", "county"),
        ("3101170901000123", "major"),
        ("3101170199000123", "minor"),
        ("3101170101000000", "serial"),
        ("31011701010001２3", "format"),
    ],
)
def test_a_faulty_component_id_is_422_naming_the_part(
    client: TestClient,
    systems: Systems,
    places: Places,
    backend: Backend,
    component_id: str,
    part: str,
) -> None:
    before = counts(backend)
    reply = post(client, systems.grid.headers, **_component(places, component_id=component_id))
    problem = assert_problem(reply, 422, "validation")
    assert problem["errors"][0]["loc"] == ["body", "component_id"]
    assert problem["errors"][0]["part"] == part
    assert counts(backend) == before


def test_event_reports_and_the_rules_of_kind(
    client: TestClient, systems: Systems, places: Places, clock: FakeClock
) -> None:
    clock.set(sh(2026, 8, 3, 11, 0))
    lon, lat = places[COMMUNITY]
    base = {"kind": "event", "text": "暴露垃圾", "location": {"lon": lon, "lat": lat}}
    for category in ("event:0102", "0102"):
        reply = post(
            client, systems.grid.headers, report_no=_report_no(), category=category, **base
        )
        assert reply.status_code == 201, reply.text
        assert reply.json()["category"] == "event:0102" and reply.json()["component_id"] is None
    by_name = post(
        client, systems.grid.headers, report_no=_report_no(), category="私搭乱建", **base
    )
    assert by_name.json()["category"] == "event:0101"
    wrong = [
        ({"category": "component:0101"}, "category"),  # not an event class
        ({"category": "event:9999"}, "category"),
        ({}, "category"),  # an event needs its class
        ({"category": "event:0102", "component_id": "3101170101000123"}, "component_id"),
    ]
    for extra, field in wrong:
        reply = post(client, systems.grid.headers, report_no=_report_no(), **base, **extra)
        assert assert_problem(reply, 422, "validation")["errors"][0]["loc"] == ["body", field]
    # A component needs its ID; a category that contradicts it is refused.
    no_id = _component(places)
    del no_id["component_id"]
    assert_problem(post(client, systems.grid.headers, **no_id), 422)
    clash = post(client, systems.grid.headers, **_component(places, category="component:0201"))
    assert "does not match component" in assert_problem(clash, 422)["detail"]
    same = post(client, systems.grid.headers, **_component(places, category="上水井盖"))
    assert same.status_code == 201, same.text


def test_a_grid_code_places_a_report_and_other_codes_do_not(
    client: TestClient, systems: Systems, api: Api, clock: FakeClock
) -> None:
    clock.set(sh(2026, 8, 3, 14, 0))
    grids = api.client.get(
        f"/api/v1/org/{COMMUNITY}/children", headers=api.headers("t_duty")
    ).json()["items"]
    grid = next(g["code"] for g in grids if g["level"] == "grid")
    body = {"kind": "event", "category": "event:0102", "text": "网格内暴露垃圾"}
    reply = post(client, systems.grid.headers, report_no=_report_no(), org_code=grid, **body)
    assert reply.status_code == 201, reply.text
    assert reply.json()["divisions"]["grid"] == grid and reply.json()["location"] is None
    for code in (COMMUNITY, "310117102", "310117999999001"):
        refused = post(client, systems.grid.headers, report_no=_report_no(), org_code=code, **body)
        assert assert_problem(refused, 422)["errors"][0]["loc"] == ["body", "org_code"]
    nowhere = post(client, systems.grid.headers, report_no=_report_no(), **body)
    assert_problem(nowhere, 422, "validation")


def test_who_may_report_and_where(
    client: TestClient, api: Api, systems: Systems, places: Places, clock: FakeClock
) -> None:
    clock.set(sh(2026, 8, 4, 9, 30))
    worker = api.headers("t_grid")
    mine = _component(places, report_no="W-0001")
    first = post(client, worker, **mine)
    assert first.status_code == 201, first.text
    assert first.json()["source_key"].startswith("worker:") and first.json()["source_key"].endswith(
        ":W-0001"
    )
    assert post(client, worker, **mine).json()["id"] == first.json()["id"]
    no_number = _component(places)
    del no_number["report_no"]
    assert post(client, worker, **no_number).status_code == 201
    # Outside the worker's community: the data scope refuses it.
    elsewhere = _component(places)
    elsewhere["location"] = dict(zip(("lon", "lat"), places["310117103001"], strict=True))
    assert_problem(post(client, worker, **elsewhere), 403, "out-of-scope")
    # The urban-grid system must send its 案卷号; other people use the generic endpoint.
    assert_problem(post(client, systems.grid.headers, **no_number), 422)
    for who in ("t_sijing", "t_duty"):
        assert_problem(post(client, api.headers(who), **_component(places)), 403, "forbidden")
    client.cookies.clear()  # a login elsewhere left the portal's session cookie
    assert_problem(post(client, {}, **_component(places)), 401, "unauthenticated")


def test_hostile_grid_input(
    client: TestClient, systems: Systems, places: Places, backend: Backend
) -> None:
    before = counts(backend)
    headers = systems.grid.headers
    for extra in (
        {"text": "坏\x00字"},
        {"text": "长" * 4001},
        {"report_no": "有 空格"},
        {"report_no": "x" * 65},
        {"component_id": "3" * 5000},
        {"location": {"lon": float("nan"), "lat": 31.0}},
        {"location": {"lon": 121.47, "lat": 31.23}},  # 黄浦区: outside the district
        {"location": {"lon": 121.2, "lat": 31.0, "crs": "mars"}},
        {"kind": "thing"},
        {"extra": 1},
    ):
        reply = client.post(
            GRID,
            content=_json(_component(places, **extra)),
            headers={**headers, "content-type": "application/json"},
        )
        assert_problem(reply, 422)
    malformed = client.post(
        GRID, content=b"{", headers={**headers, "content-type": "application/json"}
    )
    assert_problem(malformed, 400, "malformed-body")
    assert counts(backend) == before


def _json(body: dict[str, Any]) -> bytes:
    import json

    return json.dumps(body, allow_nan=True).encode()
