"""Applications over HTTP: apply, review, approve, reject, withdraw, revoke; scope and problems."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cityops.auth.models import AuditEntry
from cityops.kit.db import in_unit_of_work
from cityops.sharing import KindRegistry
from tests.auth.conftest import assert_problem
from tests.conftest import Backend, Login
from tests.sharing.conftest import APPS, SIJING_UNITS, act, application, apply


@pytest.fixture(autouse=True)
def _both(backend: Backend, kinds: KindRegistry) -> None:
    """Every test here runs on SQLite and on PostgreSQL, with the test kind registered."""


def test_kinds_list_the_registered_kind(client: TestClient, login: Login) -> None:
    reply = client.get("/api/v1/sharing/kinds", headers=login.headers("t_sheshan"))
    assert reply.status_code == 200
    assert {"name": "test.unit", "label": "测试：居村单元", "keyed": True} in reply.json()


def test_a_town_applies_and_the_district_approves(client: TestClient, login: Login) -> None:
    made = apply(client, login)
    assert made["status"] == "pending" and made["status_label"] == "待审批"
    assert made["grantee_code"] == "310117103" and made["owner_code"] == "310117102"
    assert made["actions"] == ["withdraw"] and made["grant_ids"] == []
    mine = client.get(APPS, headers=login.headers("t_sheshan")).json()
    assert made["id"] in [a["id"] for a in mine]
    queue = client.get(
        APPS, params={"side": "review", "status": "pending"}, headers=login.headers("t_duty")
    ).json()
    assert made["id"] in [a["id"] for a in queue]
    approved = act(client, login, "t_duty", made["id"], "approve", comment="同意")
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved" and len(body["grant_ids"]) == 2
    held = client.get("/api/v1/sharing/grants", headers=login.headers("t_sheshan")).json()
    ids = {g["id"] for g in held if g["application_id"] == made["id"]}
    assert ids == set(body["grant_ids"])
    assert {g["resource_id"] for g in held if g["id"] in ids} == set(SIJING_UNITS)
    given = client.get(
        "/api/v1/sharing/grants", params={"side": "given"}, headers=login.headers("t_sijing")
    ).json()
    assert ids <= {g["id"] for g in given}, "the owner town sees what was granted of its data"


def test_another_unit_cannot_see_or_decide_an_application(client: TestClient, login: Login) -> None:
    made = apply(client, login)
    # The grid worker holds no sharing permission at all.
    assert_problem(client.get(APPS, headers=login.headers("t_grid")), 403, "forbidden")
    # The applicant cannot approve its own application.
    assert_problem(act(client, login, "t_sheshan", made["id"], "approve"), 403, "forbidden")
    # The owner town sees it (its data) but may not approve: only the district may.
    assert_problem(act(client, login, "t_sijing", made["id"], "approve"), 403, "forbidden")
    assert_problem(act(client, login, "t_sheshan", 2**31 - 1, "withdraw"), 404, "not-found")


def test_reject_needs_a_reason_and_is_final(client: TestClient, login: Login) -> None:
    made = apply(client, login)
    assert_problem(act(client, login, "t_duty", made["id"], "reject"), 422, "validation")
    assert_problem(act(client, login, "t_duty", made["id"], "reject", reason=" "), 422)
    rejected = act(client, login, "t_duty", made["id"], "reject", reason="用途不明确")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["reason"] == "用途不明确"
    assert_problem(act(client, login, "t_duty", made["id"], "approve"), 409, "conflict")


def test_withdraw_while_pending(client: TestClient, login: Login) -> None:
    made = apply(client, login)
    done = act(client, login, "t_sheshan", made["id"], "withdraw")
    assert done.status_code == 200 and done.json()["status"] == "withdrawn"
    assert_problem(act(client, login, "t_duty", made["id"], "approve"), 409, "conflict")


def test_revoke_ends_the_grants_and_cannot_repeat(client: TestClient, login: Login) -> None:
    made = apply(client, login)
    assert act(client, login, "t_duty", made["id"], "approve").status_code == 200
    assert_problem(act(client, login, "t_duty", made["id"], "revoke"), 422)
    revoked = act(client, login, "t_duty", made["id"], "revoke", reason="任务结束")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    held = client.get("/api/v1/sharing/grants", headers=login.headers("t_sheshan")).json()
    assert not set(revoked.json()["grant_ids"]) & {g["id"] for g in held}
    every = client.get(
        "/api/v1/sharing/grants", params={"live": "false"}, headers=login.headers("t_sheshan")
    ).json()
    gone = [g for g in every if g["id"] in revoked.json()["grant_ids"]]
    assert gone and all(g["revoked_at"] and not g["live"] for g in gone)
    assert_problem(act(client, login, "t_duty", made["id"], "revoke", reason="再次"), 409)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "nope.kind"}, "kind"),
        ({"resource_ids": ["310117102999"]}, "resource_ids"),
        ({"resource_ids": ["310117102001", "310117103001"]}, "resource_ids"),
        ({"expires_at": "2020-01-01T00:00:00+00:00"}, "expires_at"),
        (
            {"data_from": "2026-12-08T00:00:00+00:00", "data_until": "2026-12-01T00:00:00+00:00"},
            None,
        ),
        ({"expires_at": "2027-01-01T00:00:00"}, "expires_at"),
        ({"resource_ids": []}, "resource_ids"),
        ({"keys": ["water_level", "no_such_key"]}, "keys"),
        ({"keys": []}, "keys"),
        ({"purpose": "\x00"}, "purpose"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_applications_are_problems(
    client: TestClient, login: Login, changes: dict[str, object], field: str | None
) -> None:
    reply = client.post(APPS, json=application(**changes), headers=login.headers("t_sheshan"))
    body = assert_problem(reply, 422, "validation")
    if field is not None:
        assert any(field in map(str, e["loc"]) for e in body["errors"]), body


def test_applying_for_data_already_in_scope_is_refused(client: TestClient, login: Login) -> None:
    reply = client.post(APPS, json=application(), headers=login.headers("t_sijing"))
    assert_problem(reply, 422, "validation")


def test_every_decision_is_audited(client: TestClient, login: Login, backend: Backend) -> None:
    made = apply(client, login)
    act(client, login, "t_duty", made["id"], "approve")
    act(client, login, "t_duty", made["id"], "revoke", reason="演练结束")
    target = f"share_application:{made['id']}"

    async def actions(session: object) -> list[tuple[str, str]]:
        stmt = select(AuditEntry.action, AuditEntry.actor).where(AuditEntry.target == target)
        return [(a, b) for a, b in (await session.execute(stmt.order_by(AuditEntry.id))).all()]  # type: ignore[attr-defined]

    found = asyncio.run(in_unit_of_work(backend.settings.database_url, actions))
    assert found == [
        ("sharing.apply", "t_sheshan"),
        ("sharing.approve", "t_duty"),
        ("sharing.revoke", "t_duty"),
    ]
