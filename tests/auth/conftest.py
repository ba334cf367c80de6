"""Helpers for tests that need their own accounts: the shared t_* accounts are never changed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.accounts import NewAccount, create_account
from cityops.auth.roles import Role
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work
from tests.conftest import PASSWORD, Backend, Login

T = TypeVar("T")
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Fresh:
    """An account made for one test."""

    id: int
    username: str
    password: str


def unique(prefix: str = "u") -> str:
    """A username nobody else uses in the shared database."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def in_db(backend: Backend, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction straight on the backend's database."""

    async def run() -> T:
        engine = create_engine(backend.settings.database_url)
        try:
            async with unit_of_work(create_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def new_account(
    backend: Backend,
    role: Role = Role.TOWN_OPERATOR,
    org: str = "310117102",
    *,
    prefix: str = "u",
    password: str | None = PASSWORD,
) -> Fresh:
    """Open an account as the install-time CLI does (no password change required)."""
    username = unique(prefix)

    async def work(session: AsyncSession) -> int:
        account, _ = await create_account(
            session,
            None,
            NewAccount(username=username, role=role, org_code=org, password=password),
        )
        return account.id

    return Fresh(in_db(backend, work), username, password or "")


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in and return the bearer token; the client's cookie jar is left empty."""
    reply = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    client.cookies.clear()
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


def assert_problem(reply: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    """Check that a reply is an RFC 9457 problem document with this status (and type)."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM
    body: dict[str, Any] = reply.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert body["type"].startswith("/problems/")
    if slug is not None:
        assert body["type"] == f"/problems/{slug}", body
    return body


def audit_entries(client: TestClient, login: Login, **params: str) -> list[dict[str, Any]]:
    """Audit entries, newest first, as the audit admin reads them."""
    reply = client.get(
        "/api/v1/audit", params={"limit": "500", **params}, headers=login.headers("t_auditor")
    )
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


def account_id(client: TestClient, login: Login, username: str) -> int:
    """The id of a shared test account, from its own /me."""
    reply = client.get("/api/v1/auth/me", headers=login.headers(username))
    assert reply.status_code == 200, reply.text
    return int(reply.json()["account"]["id"])
