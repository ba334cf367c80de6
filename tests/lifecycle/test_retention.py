"""Retention enforced: closed cases' content and settled notices' recipients go when due.

Each test injects the clock (`now`) and dates its rows far in the past, so the job touches only
its own rows whatever else the shared database holds; both run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases import CaseRecord
from cityops.cases.privacy import EXPIRED_TEXT
from cityops.kit.outbox.models import OutboxMessage, OutboxState
from cityops.kit.outbox.queue import enqueue
from cityops.lifecycle.runtime import retention_rules, run_once
from cityops.outbox.retention import MASKED
from tests.auth.conftest import assert_problem, audit_entries, in_db
from tests.conftest import Backend, Login
from tests.lifecycle.test_lifecycle import a_phone, contact, open_case

#: When this test's cases closed and notices settled: older than any other test's rows.
LONG_AGO = datetime(2001, 3, 1, 8, 0, tzinfo=UTC)


def _close_at(backend: Backend, case_id: int, at: datetime) -> None:
    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(CaseRecord)
            .where(CaseRecord.id == case_id)
            .values(status="closed", closed_at=at, lon=121.2, lat=31.1, photos=["photo:ab"])
        )

    in_db(backend, work)


def _run(backend: Backend, now: datetime) -> None:
    asyncio.run(run_once(backend.settings, now=now))


def test_the_modules_register_their_rules_at_the_hook_point(backend: Backend) -> None:
    rules = {r.name: r for r in retention_rules(backend.settings)}
    assert {"case.content", "outbox.recipients"} <= rules.keys()
    assert rules["case.content"].data_class == "case"


def test_closed_cases_lose_their_content_when_the_case_retention_is_over(
    client: TestClient, login: Login, backend: Backend
) -> None:
    days = backend.settings.case_retention_days
    due, kept = open_case(client, login, a_phone()), open_case(client, login, a_phone())
    _close_at(backend, due, LONG_AGO)
    _close_at(backend, kept, LONG_AGO + timedelta(days=2))
    _run(backend, LONG_AGO + timedelta(days=days, hours=-1))  # not yet due
    shown = client.get(f"/api/v1/cases/{due}", headers=login.headers("t_duty")).json()
    assert shown["text"] == "生命周期测试" and shown["location"] is not None

    _run(backend, LONG_AGO + timedelta(days=days, hours=1))
    shown = client.get(f"/api/v1/cases/{due}", headers=login.headers("t_duty")).json()
    assert shown["text"] == EXPIRED_TEXT and shown["address"] == ""
    assert shown["location"] is None and shown["photos"] == [] and shown["reporter"] is None
    assert contact(client, login, due)["phone"] is None
    # What kind of case it was, where in the tree and how it moved stays.
    assert shown["category"] == "event:0102" and shown["status"] == "closed"
    other = client.get(f"/api/v1/cases/{kept}", headers=login.headers("t_duty")).json()
    assert other["text"] == "生命周期测试" and other["location"] is not None
    entry = audit_entries(client, login, action="retention.case.content")[0]
    assert str(due) in entry["detail"]["keys"] and str(kept) not in entry["detail"]["keys"]


def _notice(backend: Backend, state: OutboxState, channel: str = "mp") -> int:
    openid = f"o{uuid.uuid4().hex[:27]}"

    async def work(session: AsyncSession) -> int:
        row = enqueue(
            session,
            channel=channel,
            topic="mp.close",
            payload={"to": {"users": [openid], "parties": []}, "title": "您反映的问题已办结"},
            owner_code="310117102",
            ref="case:0",
            now=LONG_AGO,
            max_attempts=3,
            wake=False,
        )
        await session.flush()
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)
            .values(state=state.value, updated_at=LONG_AGO)
        )
        return row.id

    return in_db(backend, work)


def _payload(backend: Backend, row_id: int) -> dict[str, object]:
    async def work(session: AsyncSession) -> dict[str, object]:
        row = await session.get(OutboxMessage, row_id)
        assert row is not None
        return dict(row.payload)

    return in_db(backend, work)


def test_openids_leave_the_outbox_after_delivery_or_discard(
    client: TestClient, login: Login, backend: Backend
) -> None:
    delivered = _notice(backend, OutboxState.DELIVERED)
    discarded = _notice(backend, OutboxState.DISCARDED, channel="wecom")
    failed = _notice(backend, OutboxState.FAILED)  # an operator may still retry it
    before = {i: _payload(backend, i) for i in (delivered, discarded, failed)}
    days = backend.settings.notice_recipient_retention_days
    _run(backend, LONG_AGO + timedelta(days=days, seconds=-1))
    assert {i: _payload(backend, i) for i in before} == before

    _run(backend, LONG_AGO + timedelta(days=days, seconds=1))
    for row_id in (delivered, discarded):
        payload = _payload(backend, row_id)
        [user] = payload["to"]["users"]  # type: ignore[index]
        [original] = before[row_id]["to"]["users"]  # type: ignore[index]
        assert user != original and "****" in user and MASKED in payload
        assert payload["title"] == before[row_id]["title"]
    assert _payload(backend, failed) == before[failed]
    # A masked row cannot be sent again to a masked address.
    retry = client.post(f"/api/v1/outbox/{discarded}/retry", headers=login.headers("t_admin"))
    assert_problem(retry, 409)
    entry = audit_entries(client, login, action="retention.outbox.recipients")[0]
    assert {str(delivered), str(discarded)} <= set(entry["detail"]["keys"])
