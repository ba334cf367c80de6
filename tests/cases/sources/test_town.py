"""Town dispatch systems: own keys, namespaced case numbers, their town only, a lossless feed."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from fastapi import BackgroundTasks
from fastapi.testclient import TestClient

from cityops.auth.principal import Principal
from cityops.cases.intake.opening import NewCase
from cityops.cases.sources.common import open_case
from cityops.kit.db import unit_of_work
from cityops.kit.scope import DataScope
from tests.auth.conftest import assert_problem
from tests.cases.conftest import Api, FakeClock, Places, counts, sh, worker_env
from tests.cases.sources.conftest import System, Systems, make_system, revoke
from tests.conftest import Backend, Login

CASES = "/api/v1/sources/town/cases"
CHANGES = "/api/v1/sources/town/changes"
SIJING_POINT, SHESHAN_POINT = "310117102002", "310117103001"


def report(
    client: TestClient, system: System, case_no: str, point: tuple[float, float], **extra: Any
) -> httpx.Response:
    """POST a town case at a point."""
    body = {
        "case_no": case_no,
        "category": "component:0101",
        "text": "井盖缺失",
        "location": {"lon": point[0], "lat": point[1]},
        **extra,
    }
    return client.post(CASES, json=body, headers=system.headers)


def feed(client: TestClient, system: System, since: int, limit: int = 100) -> dict[str, Any]:
    """One page of a system's changes feed."""
    reply = client.get(CHANGES, params={"since": since, "limit": limit}, headers=system.headers)
    assert reply.status_code == 200, reply.text
    page: dict[str, Any] = reply.json()
    return page


def drain(client: TestClient, system: System, since: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Every settled change after `since`, following has_more; and the last cursor."""
    items: list[dict[str, Any]] = []
    while True:
        page = feed(client, system, since)
        items += page["items"]
        since = page["next"]
        if not page["has_more"]:
            return items, since


def test_two_systems_keep_their_numbers_apart_and_repeats_are_recognised(
    client: TestClient, api: Api, systems: Systems, places: Places, clock: FakeClock
) -> None:
    clock.set(sh(2026, 9, 1, 10, 0))
    number = f"TS-{uuid.uuid4().hex[:8]}"
    sijing = report(client, systems.town_sijing, number, places[SIJING_POINT])
    sheshan = report(client, systems.town_sheshan, number, places[SHESHAN_POINT])
    assert sijing.status_code == sheshan.status_code == 201, (sijing.text, sheshan.text)
    a, b = sijing.json(), sheshan.json()
    assert a["id"] != b["id"] and a["case_no"] == b["case_no"] == number
    assert a["source"] == "town_system"
    assert a["source_key"] == f"{systems.town_sijing.id}:{number}"
    assert (a["owner_code"], b["owner_code"]) == ("310117102", "310117103")
    again = report(client, systems.town_sijing, number, places[SIJING_POINT])
    assert again.status_code == 200 and again.json()["id"] == a["id"]
    # Each system sees only what it opened; the town operator sees the case in its town.
    mine = client.get("/api/v1/cases", params={"limit": 200}, headers=systems.town_sijing.headers)
    assert {c["created_by"] for c in mine.json()["items"]} == {systems.town_sijing.username}
    other = client.get(f"/api/v1/cases/{b['id']}", headers=systems.town_sijing.headers)
    assert_problem(other, 404, "not-found")
    assert api.detail(a["id"], "t_sijing")["source_key"] == a["source_key"]


def test_a_town_system_reports_only_inside_its_town(
    client: TestClient, systems: Systems, places: Places, backend: Backend, api: Api, login: Login
) -> None:
    before = counts(backend)
    system = systems.town_sijing
    assert_problem(report(client, system, "X-1", places[SHESHAN_POINT]), 403, "out-of-scope")
    body = {"case_no": "X-2", "category": "event:0102", "text": "垃圾", "org_code": "310117103"}
    assert_problem(client.post(CASES, json=body, headers=system.headers), 403, "out-of-scope")
    # Not a town system: a district-wide client, or a person.
    for headers in (systems.district_client.headers, api.headers("t_sijing")):
        refused = client.post(CASES, json={**body, "org_code": "310117102"}, headers=headers)
        assert_problem(refused, 403, "forbidden")
        assert_problem(client.get(CHANGES, headers=headers), 403, "forbidden")
    for bad in (
        {**body, "case_no": "有 空格"},
        {**body, "case_no": ""},
        {**body, "text": "\x00"},
        {**body, "category": "event:9999", "org_code": "310117102"},
    ):
        assert_problem(client.post(CASES, json=bad, headers=system.headers), 422, "validation")
    assert counts(backend) == before


def test_the_changes_feed_follows_every_step_in_order_even_after_escalation(
    client: TestClient, api: Api, systems: Systems, places: Places, clock: FakeClock
) -> None:
    clock.set(sh(2026, 9, 2, 10, 0))
    system = systems.town_sijing
    _, cursor = drain(client, system)
    number = f"FEED-{uuid.uuid4().hex[:8]}"
    opened = report(client, system, number, places[SIJING_POINT])
    assert opened.status_code == 201, opened.text
    cid = opened.json()["id"]
    # Not settled yet: the feed waits rather than risk skipping a late commit.
    assert feed(client, system, cursor)["items"] == []
    clock.advance(seconds=11)
    page = feed(client, system, cursor)
    assert [(i["case_id"], i["action"], i["case_no"]) for i in page["items"]] == [
        (cid, "created", number)
    ]
    cursor = page["next"]
    api.ok("t_sijing", cid, "register")
    api.ok("t_sijing", cid, "dispatch", department_key="sw")
    api.ok("t_sijing", cid, "escalate", reason="需区级协调")
    api.ok("t_duty", cid, "supervise", comment="请尽快处置", level="urge")
    clock.advance(seconds=11)
    steps, last = drain(client, system, cursor)
    assert [(s["case_id"], s["action"]) for s in steps] == [
        (cid, "register"),
        (cid, "dispatch"),
        (cid, "escalate"),
        (cid, "supervise"),
    ]
    cursors = [s["cursor"] for s in steps]
    assert cursors == sorted(cursors) and cursors[0] > cursor and last == cursors[-1]
    assert steps[2]["reason"] == "需区级协调" and steps[2]["owner_code"] == "310117"
    assert steps[3]["actor"] == "t_duty" and steps[3]["comment"] == "请尽快处置"
    # Escalated to the district: out of the system's case view, still in its feed and
    # still recognised when resent.
    assert_problem(client.get(f"/api/v1/cases/{cid}", headers=system.headers), 404)
    assert report(client, system, number, places[SIJING_POINT]).json()["id"] == cid
    # Paging: one at a time with has_more, then nothing new.
    first = feed(client, system, cursor, limit=1)
    assert [i["action"] for i in first["items"]] == ["register"] and first["has_more"]
    assert feed(client, system, last) == {"items": [], "next": last, "has_more": False}
    # 佘山's system sees none of it.
    theirs, _ = drain(client, systems.town_sheshan)
    assert cid not in {i["case_id"] for i in theirs}


def test_a_revoked_key_is_refused(
    client: TestClient,
    backend: Backend,
    login: Login,
    places: Places,
    clock: FakeClock,
) -> None:
    clock.set(sh(2026, 9, 3, 10, 0))
    system = make_system(client, backend, login, "310117102", "town_rev", ("town_system",))
    assert report(client, system, "R-1", places[SIJING_POINT]).status_code == 201
    revoke(client, login, system)
    assert_problem(report(client, system, "R-2", places[SIJING_POINT]), 401, "unauthenticated")
    reply = client.get(CHANGES, headers=system.headers)
    assert_problem(reply, 401, "unauthenticated")


def test_feed_query_problems(client: TestClient, systems: Systems) -> None:
    for params in ({"since": -1}, {"since": "x"}, {"since": 2**31}, {"limit": 0}, {"limit": 501}):
        reply = client.get(CHANGES, params=params, headers=systems.town_sijing.headers)
        assert_problem(reply, 422, "validation")


def test_the_same_case_racing_itself_opens_one_case(
    systems: Systems, places: Places, backend: Backend
) -> None:
    system = systems.town_sijing
    principal = Principal(
        account_id=system.id,
        username=system.username,
        display_name=system.username,
        role="system_client",
        org_code="310117102",
        department_id=None,
        scope=DataScope.of(["310117102"]),
        must_change_password=False,
        token_id=0,
        token_kind="api_key",
    )
    lon, lat = places[SIJING_POINT]
    data = NewCase(
        source="town_system",
        category="event:0102",
        text="同一案件并发送达",
        source_key=f"{system.id}:RACE-{uuid.uuid4().hex[:8]}",
        lon=lon,
        lat=lat,
    )

    async def race() -> list[tuple[int, bool]]:
        env, engine = worker_env(backend, lambda: sh(2026, 9, 4, 10, 0))

        async def once() -> tuple[int, bool]:
            async with unit_of_work(env.sessions) as session:
                opened = await open_case(session, env, principal, data, BackgroundTasks())
                return opened.result.case.id, opened.result.created

        try:
            return await asyncio.gather(*(once() for _ in range(3)))
        finally:
            await engine.dispose()

    before = counts(backend)
    results = asyncio.run(race())
    assert len({case_id for case_id, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, False, True]
    assert counts(backend)[0] == before[0] + 1
