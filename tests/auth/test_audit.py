"""The audit log: only the audit admin reads it, its filters, and PostgreSQL keeps it append-only."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cityops.kit.db import create_engine
from tests.auth.conftest import assert_problem, audit_entries, log_in, new_account, unique
from tests.conftest import ACCOUNTS, PASSWORD, Backend, Login

AUDIT = "/api/v1/audit"
SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize("username", sorted(set(ACCOUNTS) - {"t_auditor"}))
def test_only_the_audit_admin_reads_the_audit_log(
    client: TestClient, login: Login, username: str
) -> None:
    body = assert_problem(client.get(AUDIT, headers=login.headers(username)), 403, "forbidden")
    assert "audit.read" in body["detail"]


def test_the_audit_admin_reads_it_and_anonymous_callers_do_not(
    client: TestClient, login: Login
) -> None:
    reply = client.get(AUDIT, headers=login.headers("t_auditor"))
    assert reply.status_code == 200
    page = reply.json()
    assert page["limit"] == 100 and page["offset"] == 0
    assert page["total"] >= len(page["items"]) > 0
    ids = [item["id"] for item in page["items"]]
    assert ids == sorted(ids, reverse=True)
    client.cookies.clear()
    assert_problem(client.get(AUDIT), 401, "unauthenticated")


@pytest.fixture
def trail(client: TestClient, backend: Backend) -> tuple[str, str]:
    """An account with one successful login, and an unknown name with two failed ones."""
    fresh = new_account(backend, prefix="trail")
    ghost = unique("ghost")
    log_in(client, fresh.username)
    for _ in range(2):
        client.post("/api/v1/auth/login", json={"username": ghost, "password": PASSWORD})
    return fresh.username, ghost


def test_filters_by_actor_action_and_result(
    client: TestClient, login: Login, trail: tuple[str, str]
) -> None:
    user, ghost = trail
    failures = audit_entries(client, login, actor=ghost)
    assert [(e["actor"], e["action"], e["result"]) for e in failures] == [
        (ghost, "auth.login", "failure")
    ] * 2
    assert audit_entries(client, login, actor=ghost, result="success") == []
    assert len(audit_entries(client, login, actor=ghost, result="failure")) == 2
    [success] = audit_entries(client, login, actor=user, action="auth.login", result="success")
    assert success["actor"] == user
    # `action` is a prefix, and LIKE wildcards in it are literal characters.
    assert len(audit_entries(client, login, actor=ghost, action="auth.")) == 2
    assert len(audit_entries(client, login, actor=ghost, action="auth")) == 2
    assert audit_entries(client, login, actor=ghost, action="auth%") == []
    assert audit_entries(client, login, actor=ghost, action="auth_login") == []
    assert audit_entries(client, login, actor=ghost, action="_uth") == []
    assert audit_entries(client, login, actor=ghost, action="account.") == []
    # `actor` matches exactly.
    assert audit_entries(client, login, actor=ghost[:-1]) == []
    assert audit_entries(client, login, actor=ghost + "%") == []


def test_paging_is_newest_first(client: TestClient, login: Login, trail: tuple[str, str]) -> None:
    _, ghost = trail
    both = audit_entries(client, login, actor=ghost)
    headers = login.headers("t_auditor")
    first = client.get(AUDIT, params={"actor": ghost, "limit": 1}, headers=headers).json()
    second = client.get(
        AUDIT, params={"actor": ghost, "limit": 1, "offset": 1}, headers=headers
    ).json()
    assert first["total"] == second["total"] == 2
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [e["id"] for e in both]
    assert both[0]["id"] > both[1]["id"]


def test_since_and_until_bound_the_time(
    client: TestClient, login: Login, trail: tuple[str, str]
) -> None:
    _, ghost = trail
    newer, older = audit_entries(client, login, actor=ghost)
    newer_at = datetime.fromisoformat(newer["at"])
    older_at = datetime.fromisoformat(older["at"])
    assert newer_at.utcoffset() == timedelta(0)
    assert older_at <= newer_at

    def ids(**params: str) -> list[int]:
        return [e["id"] for e in audit_entries(client, login, actor=ghost, **params)]

    tick = timedelta(microseconds=1)
    assert ids(since=newer_at.isoformat()) == [newer["id"]]  # since is inclusive
    assert ids(until=newer_at.isoformat()) == [older["id"]]  # until is exclusive
    assert ids(since=(newer_at + tick).isoformat()) == []
    assert ids(since=older_at.isoformat(), until=(newer_at + tick).isoformat()) == [
        newer["id"],
        older["id"],
    ]
    # The same instant written in Shanghai time selects the same entries.
    assert ids(since=newer_at.astimezone(SHANGHAI).isoformat()) == [newer["id"]]
    assert ids(until=(older_at - timedelta(days=1)).isoformat()) == []
    assert ids(since="2000-01-01T00:00:00Z", until="2100-01-01T00:00:00+08:00") == [
        newer["id"],
        older["id"],
    ]


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        ("2024-05-01T08:00:00", "timezone_required"),
        ("2024-05-01 08:00:00", "timezone_required"),
        ("9999-12-31T23:59:59-14:00", "datetime_range"),
        ("0001-01-01T00:00:00+14:00", "datetime_range"),
    ],
)
def test_naive_or_unrepresentable_datetimes_are_422(
    client: TestClient, login: Login, name: str, value: str, error_type: str
) -> None:
    reply = client.get(AUDIT, params={name: value}, headers=login.headers("t_auditor"))
    body = assert_problem(reply, 422, "validation")
    assert body["errors"] == [
        {"loc": ["query", name], "msg": body["errors"][0]["msg"], "type": error_type}
    ]


def test_bad_filter_values_are_422(client: TestClient, login: Login) -> None:
    headers = login.headers("t_auditor")
    for params in (
        {"since": "yesterday"},
        {"result": "maybe"},
        {"limit": "0"},
        {"limit": "501"},
        {"offset": "-1"},
        {"actor": "x" * 65},
    ):
        assert_problem(client.get(AUDIT, params=params, headers=headers), 422, "validation")


def tamper_with_log(backend: Backend, table: str) -> tuple[int, list[str], int]:
    """Try to update, delete (and on PostgreSQL truncate) a log; return rows lost, errors, tries."""
    count = f"SELECT count(*) FROM {table}"  # noqa: S608 - table names are test constants
    statements = [
        f"UPDATE {table} SET id = id",  # noqa: S608
        f"DELETE FROM {table}",  # noqa: S608
        f"DELETE FROM {table} WHERE id = (SELECT max(id) FROM {table})",  # noqa: S608
    ]
    if backend.name == "postgresql":
        statements.append(f"TRUNCATE {table}")

    async def attempt() -> tuple[int, list[str]]:
        engine = create_engine(backend.settings.database_url)
        errors: list[str] = []
        try:
            async with engine.connect() as conn:
                before = (await conn.execute(text(count))).scalar_one()
            assert before > 0, f"{table} needs a row for row triggers to fire"
            for statement in statements:
                try:
                    async with engine.begin() as conn:
                        await conn.execute(text(statement))
                except DBAPIError as exc:
                    errors.append(str(exc.orig))
            async with engine.connect() as conn:
                after = (await conn.execute(text(count))).scalar_one()
            return before - after, errors
        finally:
            await engine.dispose()

    lost, errors = asyncio.run(attempt())
    return lost, errors, len(statements)


def test_the_audit_log_refuses_update_delete_and_truncate(
    client: TestClient, backend: Backend
) -> None:
    client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    lost, errors, tries = tamper_with_log(backend, "audit_log")
    assert lost == 0
    assert len(errors) == tries
    assert all("audit_log is append-only" in error for error in errors)
