"""The data life cycle: the register, contacts anonymised after their retention, and one person's
export and erasure by phone number, each audited without the number in the clear."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases import CaseRecord
from cityops.kit.db import Base, utcnow
from cityops.lifecycle.register import REGISTER, DataClass
from cityops.lifecycle.runtime import run_lifecycle
from cityops.models import load_all_models
from tests.auth.conftest import assert_problem, audit_entries, in_db
from tests.conftest import ACCOUNTS, Backend, Login

PRIVACY = "/api/v1/privacy"


def a_phone() -> str:
    """A mobile number no other test uses."""
    return "139" + "".join(random.choices("0123456789", k=8))


def open_case(client: TestClient, login: Login, phone: str) -> int:
    """A grid worker's case whose reporter left this phone number."""
    reply = client.post(
        "/api/v1/cases",
        json={
            "source": "grid",
            "category": "event:0102",
            "text": "生命周期测试",
            "org_code": "310117102001",
            "reporter": {"name": "李四", "phone": phone},
        },
        headers=login.headers("t_grid"),
    )
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


def contact(client: TestClient, login: Login, case_id: int) -> dict[str, Any]:
    """The unmasked contact of a case, as the duty officer reads it."""
    reply = client.get(f"/api/v1/cases/{case_id}/contact", headers=login.headers("t_duty"))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def close_days_ago(backend: Backend, case_id: int, days: int) -> None:
    """Mark a case closed `days` ago (the flow to 结案 is tested elsewhere; only the date counts)."""

    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(CaseRecord)
            .where(CaseRecord.id == case_id)
            .values(status="closed", closed_at=utcnow() - timedelta(days=days))
        )

    in_db(backend, work)


def test_the_register_names_real_tables_and_columns() -> None:
    load_all_models()
    tables = Base.metadata.tables
    for holding in REGISTER:
        assert holding.table in tables, holding.table
        names = {c.name for c in tables[holding.table].columns}
        assert set(holding.columns) <= names, (holding.table, holding.columns)
    assert {h.data_class for h in REGISTER} >= {DataClass.PERSONAL, DataClass.AUDIT}


def test_the_register_endpoint_is_for_the_security_admin(client: TestClient, login: Login) -> None:
    reply = client.get(f"{PRIVACY}/register", headers=login.headers("t_security"))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["retention_days"]["audit"] >= 180 and set(body["retention_days"]) == {
        "personal",
        "case",
        "telemetry",
        "audit",
    }
    assert any(h["table"] == "case_record" for h in body["holdings"])
    for username in sorted(set(ACCOUNTS) - {"t_security"}):
        assert_problem(client.get(f"{PRIVACY}/register", headers=login.headers(username)), 403)


def test_contacts_are_anonymised_after_their_retention(
    client: TestClient, login: Login, backend: Backend
) -> None:
    due, recent, still_open = (open_case(client, login, a_phone()) for _ in range(3))
    close_days_ago(backend, due, backend.settings.personal_retention_days + 1)
    close_days_ago(backend, recent, backend.settings.personal_retention_days - 1)
    summary = asyncio.run(run_lifecycle(backend.settings, interval=None, once=True))
    assert summary.startswith("life cycle: anonymised")
    assert contact(client, login, due)["phone"] is None
    case = client.get(f"/api/v1/cases/{due}", headers=login.headers("t_duty")).json()
    assert case["reporter"] is None and case["text"] == "生命周期测试"  # the case itself stays
    for kept in (recent, still_open):
        assert contact(client, login, kept)["phone"] is not None
    entry = audit_entries(client, login, action="privacy.anonymise")[0]
    assert due in entry["detail"]["cases"] and recent not in entry["detail"]["cases"]


def test_one_persons_data_is_exported_and_erased_by_phone(client: TestClient, login: Login) -> None:
    phone, other = a_phone(), a_phone()
    mine = [open_case(client, login, phone) for _ in range(2)]
    theirs = open_case(client, login, other)
    security = login.headers("t_security")

    exported = client.post(f"{PRIVACY}/subject-export", json={"phone": phone}, headers=security)
    assert exported.status_code == 200, exported.text
    cases = exported.json()["cases"]
    assert [c["case_id"] for c in cases] == mine
    assert cases[0]["contact"] == {"name": "李四", "phone": phone, "email": None}

    erased = client.post(f"{PRIVACY}/subject-erase", json={"phone": phone}, headers=security)
    assert erased.status_code == 200 and erased.json() == {"cases": mine}
    for case_id in mine:
        assert contact(client, login, case_id)["phone"] is None
    assert contact(client, login, theirs)["phone"] == other
    again = client.post(f"{PRIVACY}/subject-export", json={"phone": phone}, headers=security)
    assert again.json()["cases"] == []

    trail = audit_entries(client, login, action="privacy.")
    acts = [(e["action"], e["target"]) for e in trail[:3]]
    masked = f"{phone[:3]}****{phone[-4:]}"
    assert acts == [
        ("privacy.export", masked),
        ("privacy.erase", masked),
        ("privacy.export", masked),
    ]
    assert all(phone not in str(e) for e in trail)  # the audit log never holds the number


@pytest.mark.parametrize("body", [{"phone": "12345"}, {"phone": "1391234567x"}, {}, {"phone": 1}])
def test_a_bad_subject_request_is_a_422(client: TestClient, login: Login, body: Any) -> None:
    reply = client.post(f"{PRIVACY}/subject-export", json=body, headers=login.headers("t_security"))
    assert_problem(reply, 422, "validation")


@pytest.mark.parametrize("username", ["t_duty", "t_auditor", "t_admin", "t_grid"])
def test_only_the_security_admin_makes_subject_requests(
    client: TestClient, login: Login, username: str
) -> None:
    for path in ("subject-export", "subject-erase"):
        reply = client.post(
            f"{PRIVACY}/{path}", json={"phone": a_phone()}, headers=login.headers(username)
        )
        assert_problem(reply, 403, "forbidden")
