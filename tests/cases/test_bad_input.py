"""Bad input to the case API: a clear 4xx problem, and nothing half-written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.auth.conftest import assert_problem
from tests.cases.conftest import CASES, Api, FakeClock, Places, counts, sh
from tests.conftest import Backend

POINT = "310117102004"


def _body(places: Places, **changes: Any) -> dict[str, Any]:
    lon, lat = places[POINT]
    body: dict[str, Any] = {
        "source": "grid",
        "category": "component:0101",
        "text": "井盖松动",
        "location": {"lon": lon, "lat": lat},
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"category": "component:9999"}, "category", "no component category '9999'"),
        ({"category": "飞碟降落"}, "category", "no category with code or name"),
        ({"location": {"lon": 121.47, "lat": 31.23}}, "location", "outside district 310117"),
        ({"location": {"lon": 1, "lat": 2, "crs": "mars"}}, "location", "unknown coordinate"),
        ({"location": None}, "location", "give a location"),
        ({"location": None, "org_code": "310117999999"}, "org_code", "does not exist"),
        ({"location": None, "org_code": "310116100000"}, "org_code", "does not exist"),
    ],
)
def test_refused_intake_writes_nothing(
    api: Api,
    places: Places,
    backend: Backend,
    changes: dict[str, Any],
    field: str,
    words: str,
) -> None:
    before = counts(backend)
    reply = api.create("t_duty", **_body(places, **changes))
    body = assert_problem(reply, 422, "validation")
    assert words in body["detail"], body
    assert body["errors"][0]["loc"] == ["body", field]
    assert counts(backend) == before


@pytest.mark.parametrize(
    "body",
    [
        {"source": "fax", "category": "component:0101", "text": "x", "org_code": "310117102"},
        {"source": "grid", "category": "component:0101", "text": "", "org_code": "310117102"},
        {
            "source": "grid",
            "category": "component:0101",
            "text": "x\u0000",
            "org_code": "310117102",
        },
        {"source": "grid", "category": "component:0101", "text": "x", "location": {"lon": "nan"}},
        {"source": "grid", "category": "x", "text": "x", "reporter": {"phone": "call me"}},
        {"source": "grid", "category": "x", "text": "x", "urgency": "now!"},
        {"source": "grid", "category": "x", "text": "x", "occurred_at": "2026-01-01T08:00:00"},
        {"source": "grid", "category": "x", "text": "x", "surprise": 1},
    ],
)
def test_malformed_intake_is_422(api: Api, backend: Backend, body: dict[str, Any]) -> None:
    before = counts(backend)
    assert_problem(api.create("t_duty", **body), 422, "validation")
    assert counts(backend) == before


def test_malformed_json_is_400(api: Api, backend: Backend) -> None:
    before = counts(backend)
    reply = api.client.post(
        CASES,
        content=b'{"source": "grid",',
        headers={**api.headers("t_duty"), "content-type": "application/json"},
    )
    assert_problem(reply, 400, "malformed-body")
    assert counts(backend) == before


def test_repeated_source_key_returns_the_same_case(
    api: Api, places: Places, backend: Backend, clock: FakeClock
) -> None:
    clock.set(sh(2026, 4, 1, 10, 0))
    body = _body(places, source="grid", source_key="SJ-2026-04-01-0007")
    first = api.create("t_sijing", **body)
    assert first.status_code == 201, first.text
    after_first = counts(backend)
    clock.advance(minutes=5)
    again = api.create("t_sijing", **{**body, "text": "同一工单的重复推送"})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    assert again.json()["text"] == "井盖松动"
    assert counts(backend) == after_first
    # The same key from another source is another case.
    other = api.create("t_sijing", **{**body, "source": "mobile"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    # The same key from another caller is that caller's own (keys are kept per account), so
    # nobody learns from a 409 that someone else used it (issue 20, finding 3).
    theirs = api.create("t_duty", **body)
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    assert first.json()["source_key"] != theirs.json()["source_key"]


def test_illegal_transition_is_409_and_changes_nothing(
    api: Api, places: Places, backend: Backend, clock: FakeClock
) -> None:
    clock.set(sh(2026, 4, 1, 11, 0))
    cid = api.open_case("t_duty", places[POINT])
    api.ok("t_duty", cid, "register")
    api.ok("t_duty", cid, "dispatch")
    before, detail = counts(backend), api.detail(cid)
    reply = api.act("t_duty", cid, "close")
    problem = assert_problem(reply, 409, "illegal-transition")
    assert problem["state"] == "dispatched" and problem["action"] == "close"
    assert set(problem["allowed_actions"]) >= {"sign", "return", "escalate", "suspend"}
    assert "dispatched" in problem["detail"]
    assert counts(backend) == before
    assert api.detail(cid) == detail
    assert api.client.get("/problems/illegal-transition").status_code == 200


def test_guards_and_missing_reasons(api: Api, places: Places, clock: FakeClock) -> None:
    clock.set(sh(2026, 4, 1, 14, 0))
    cid = api.open_case("t_duty", places[POINT])
    api.ok("t_duty", cid, "register")
    api.ok("t_duty", cid, "dispatch")
    assert_problem(api.act("t_duty", cid, "return"), 422, "validation")  # no reason
    for _ in range(2):
        api.ok("t_duty", cid, "return", reason="不属于本部门")
        api.ok("t_duty", cid, "dispatch")
    capped = assert_problem(api.act("t_duty", cid, "return", reason="再退"), 409)
    assert "limit 2" in capped["detail"] and "escalate" in capped["allowed_actions"]
    assert_problem(api.act("t_duty", cid, "approve_extension"), 409, "illegal-transition")
    assert_problem(api.act("t_duty", cid, "unsupervise"), 409, "illegal-transition")
    assert_problem(api.act("t_duty", cid, "evaluate", satisfaction=9), 422, "validation")
    assert_problem(api.act("t_duty", cid, "teleport"), 422, "validation")
    assert_problem(api.act("t_duty", 2**31 - 1, "sign"), 404, "not-found")


def test_wrong_role_is_403_and_changes_nothing(
    api: Api, places: Places, backend: Backend, clock: FakeClock
) -> None:
    clock.set(sh(2026, 4, 1, 15, 0))
    before = counts(backend)
    assert_problem(api.create("t_leader", **_body(places)), 403, "forbidden")
    assert_problem(api.create("t_auditor", **_body(places)), 403, "forbidden")
    assert counts(backend) == before
    cid = api.open_case("t_sijing", places["310117102001"], "event:0102")  # t_grid's own
    before = counts(backend)
    denied = assert_problem(api.act("t_grid", cid, "register"), 403, "forbidden")
    assert "register" in denied["detail"]
    assert_problem(api.act("t_leader", cid, "register"), 403, "forbidden")
    assert_problem(api.act("t_sijing", cid, "sign"), 403, "forbidden")  # no case.handle
    assert counts(backend) == before
    assert api.detail(cid)["status"] == "received"
    supervised = api.ok("t_leader", cid, "supervise", level="listed", comment="挂牌督办")
    assert supervised["supervision"] == "listed" and supervised["status"] == "received"


def test_query_problems(api: Api) -> None:
    assert_problem(api.get("t_duty", "", created_since="2026-01-01T00:00:00"), 422)
    assert_problem(api.get("t_duty", "", status="lost"), 422)
    assert_problem(api.get("t_duty", "/1", crs="mars"), 422)
    assert_problem(
        api.get("t_duty", "/kpi", since="2026-02-01T00:00:00Z", until="2026-01-01T00:00:00Z"), 422
    )
    assert_problem(api.get("t_duty", "/kpi", since="2026-02-01T00:00:00"), 422)
