"""Probe finding 3 on the adapters: a system client submits only for the sources granted to it.

Before the grants any system client's key could send a 12345 order number or an urban-grid
案卷号 to the adapters as its own; the real system was then refused (or merged into the
squatter's case). Each test here fails with the grant check removed (cases/intake/claims.py
`check_grant`).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.accounts import NewAccount, create_account
from cityops.auth.roles import Role
from cityops.auth.sources import GRANTABLE_SOURCES, grant_by_username
from cityops.cases.intake.opening import Source
from tests.auth.conftest import assert_problem, unique
from tests.cases.conftest import Places, counts, in_db, places
from tests.cases.sources.conftest import make_system
from tests.cases.sources.test_hotline_flow import order_body
from tests.conftest import Backend, Login

__all__ = ["places"]  # fixtures used by name

ORDERS = "/api/v1/sources/12345/orders"
GRID = "/api/v1/sources/grid/reports"
CASES = "/api/v1/cases"
SIJING_COMMUNITY = "310117102001"


def _grid_report(places: Places, report_no: str) -> dict[str, Any]:
    lon, lat = places[SIJING_COMMUNITY]
    return {
        "report_no": report_no,
        "kind": "event",
        "category": "event:0102",
        "text": "暴露垃圾",
        "location": {"lon": lon, "lat": lat},
    }


def test_only_the_granted_12345_system_sends_12345_orders(
    client: TestClient, backend: Backend, login: Login, places: Places
) -> None:
    squatter = make_system(client, backend, login, "310117", "squat12345", ("grid",))
    real = make_system(client, backend, login, "310117", "real12345", ("hotline_12345",))
    order_no = f"SH12345-{uuid.uuid4().hex[:10].upper()}"
    before = counts(backend)
    refused = client.post(ORDERS, json=order_body(places, order_no), headers=squatter.headers)
    problem = assert_problem(refused, 403, "forbidden")
    assert "hotline_12345" in problem["detail"]
    assert counts(backend) == before  # nothing opened, the number still free
    assert_problem(client.get(f"{ORDERS}/{order_no}", headers=squatter.headers), 403)
    owner = client.post(ORDERS, json=order_body(places, order_no), headers=real.headers)
    assert owner.status_code == 201, owner.text
    # Nor may the squatter claim 12345 on the generic intake.
    generic = {
        "source": "hotline_12345",
        "source_key": order_no,
        "category": "hotline:03",
        "text": "投诉",
        "org_code": "310117102",
    }
    assert_problem(client.post(CASES, json=generic, headers=squatter.headers), 403, "forbidden")
    assert client.post(CASES, json=generic, headers=real.headers).status_code in (200, 201)


def test_only_the_granted_urban_grid_system_sends_its_report_numbers(
    client: TestClient, backend: Backend, login: Login, places: Places
) -> None:
    squatter = make_system(client, backend, login, "310117", "squatgrid", ("hotline_12345",))
    real = make_system(client, backend, login, "310117", "realgrid", ("grid",))
    report_no = f"AJ-{uuid.uuid4().hex[:10]}"
    before = counts(backend)
    refused = client.post(GRID, json=_grid_report(places, report_no), headers=squatter.headers)
    assert "grid" in assert_problem(refused, 403, "forbidden")["detail"]
    assert counts(backend) == before
    owner = client.post(GRID, json=_grid_report(places, report_no), headers=real.headers)
    assert owner.status_code == 201, owner.text
    assert owner.json()["source_key"] == report_no
    # A grid worker keeps reporting by role, no grant needed (its numbers are its own).
    worker = client.post(
        GRID, json=_grid_report(places, report_no), headers=login.headers("t_grid")
    )
    assert worker.status_code == 201, worker.text


def test_the_security_admin_alone_grants_sources_audited(
    client: TestClient, backend: Backend, login: Login
) -> None:
    system = make_system(client, backend, login, "310117", "grantee")
    url = f"/api/v1/accounts/{system.id}/sources"
    body = {"sources": ["grid", "hotline_12345", "grid"]}
    for who in ("t_admin", "t_duty", "t_auditor"):
        assert_problem(client.put(url, json=body, headers=login.headers(who)), 403)
    granted = client.put(url, json=body, headers=login.headers("t_security"))
    assert granted.status_code == 200, granted.text
    assert granted.json()["source_grants"] == ["grid", "hotline_12345"]
    shown = client.get(f"/api/v1/accounts/{system.id}", headers=login.headers("t_security"))
    assert shown.json()["source_grants"] == ["grid", "hotline_12345"]
    unknown = client.put(url, json={"sources": ["open311"]}, headers=login.headers("t_security"))
    assert_problem(unknown, 422)
    person = client.get("/api/v1/auth/me", headers=login.headers("t_sijing")).json()["account"]
    refused = client.put(
        f"/api/v1/accounts/{person['id']}/sources",
        json={"sources": ["grid"]},
        headers=login.headers("t_security"),
    )
    assert_problem(refused, 409)
    log = client.get(
        "/api/v1/audit",
        params={"action": "account.source_grants", "limit": 500},
        headers=login.headers("t_auditor"),
    )
    assert log.status_code == 200, log.text
    assert any(e["target"] == system.username for e in log.json()["items"])


def test_a_tool_grants_by_username_and_refuses_people(backend: Backend) -> None:
    name = unique("toolsys")

    async def work(session: AsyncSession) -> list[str]:
        await create_account(session, None, NewAccount(name, Role.SYSTEM_CLIENT, "310117"))
        account = await grant_by_username(session, name, ["upper_platform"], "test")
        return list(account.source_grants)

    assert in_db(backend, work) == ["upper_platform"]


def test_grantable_sources_are_case_sources_from_other_systems() -> None:
    assert set(GRANTABLE_SOURCES) <= {s.value for s in Source}
    assert {"hotline_12345", "grid", "town_system"} <= set(GRANTABLE_SOURCES)
