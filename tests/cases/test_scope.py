"""Data scope on every case endpoint: 泗泾 (310117102) never sees or touches 佘山's (310117103)."""

from __future__ import annotations

import uuid

import pytest

from tests.auth.conftest import assert_problem
from tests.cases.conftest import Api, FakeClock, Places, counts, sh
from tests.conftest import Backend

SHESHAN = "310117103001"


@pytest.fixture
def sheshan_case(api: Api, places: Places, clock: FakeClock) -> int:
    """A registered town-loop case in 佘山镇, opened by its own operator."""
    clock.set(sh(2026, 5, 6, 10, 0))
    cid = api.open_case(
        "t_sheshan",
        places[SHESHAN],
        source_key=f"SS-{uuid.uuid4().hex[:10]}",
        source="grid",
        reporter={"name": "李四", "phone": "13900001111"},
    )
    api.ok("t_sheshan", cid, "register")
    return cid


def test_sijing_cannot_read_sheshan_cases(api: Api, sheshan_case: int) -> None:
    cid = sheshan_case
    assert api.detail(cid, "t_sheshan")["owner_code"] == "310117103"
    for path in (f"/{cid}", f"/{cid}/timeline"):
        assert_problem(api.get("t_sijing", path), 404, "not-found")
    listed = api.get("t_sijing", "", limit=200).json()
    assert cid not in [c["id"] for c in listed["items"]]
    assert all(c["owner_code"].startswith("310117102") for c in listed["items"])
    assert api.get("t_sijing", "", unit="310117103").json()["total"] == 0
    kpi = api.get(
        "t_sijing",
        "/kpi",
        unit="310117103",
        since="2026-05-06T00:00:00+08:00",
        until="2026-05-07T00:00:00+08:00",
    ).json()
    assert kpi["registered"] == 0
    theirs = api.get(
        "t_sheshan",
        "/kpi",
        unit="310117103",
        since="2026-05-06T00:00:00+08:00",
        until="2026-05-07T00:00:00+08:00",
    ).json()
    assert theirs["registered"] >= 1
    # The district sees both towns.
    assert api.detail(cid, "t_duty")["id"] == cid


def test_sijing_cannot_act_on_sheshan_cases(
    api: Api, sheshan_case: int, backend: Backend, places: Places
) -> None:
    cid = sheshan_case
    before = counts(backend)
    for action, body in [
        ("dispatch", {}),
        ("void", {"reason": "x"}),
        ("supervise", {"comment": "x"}),
        ("escalate", {"reason": "x"}),
    ]:
        assert_problem(api.act("t_sijing", cid, action, **body), 404, "not-found")
    assert counts(backend) == before
    assert api.detail(cid)["status"] == "registered"

    # Nor can a case of its own be merged into theirs.
    own = api.open_case("t_sijing", places["310117102004"])
    assert_problem(api.act("t_sijing", own, "merge", parent_id=cid), 422, "validation")
    assert api.detail(own)["status"] == "received"


def test_sijing_cannot_open_cases_in_sheshan(api: Api, places: Places, backend: Backend) -> None:
    before = counts(backend)
    reply = api.create(
        "t_sijing",
        source="grid",
        category="component:0101",
        text="越界上报",
        location={"lon": places[SHESHAN][0], "lat": places[SHESHAN][1]},
    )
    assert_problem(reply, 403, "out-of-scope")
    assert counts(backend) == before


def test_contact_is_masked_scoped_permissioned_and_audited(
    api: Api, sheshan_case: int, backend: Backend
) -> None:
    cid = sheshan_case
    assert api.detail(cid, "t_sheshan")["reporter"] == {
        "name": "李*",
        "phone": "139****1111",
        "email": None,
    }
    assert_problem(api.get("t_sheshan", f"/{cid}/contact"), 403, "forbidden")  # no case.contact
    assert_problem(api.get("t_sijing", f"/{cid}/contact"), 403, "forbidden")
    plain = api.get("t_duty", f"/{cid}/contact")
    assert plain.status_code == 200, plain.text
    assert plain.json() == {"name": "李四", "phone": "13900001111", "email": None}
    audit = api.client.get(
        "/api/v1/audit",
        params={"action": "case.contact_read", "limit": "500"},
        headers=api.headers("t_auditor"),
    ).json()["items"]
    mine = [e for e in audit if e["target"] == f"case:{cid}"]
    assert {(e["actor"], e["result"]) for e in mine} == {
        ("t_duty", "success"),
        ("t_sheshan", "denied"),
        ("t_sijing", "denied"),
    }
