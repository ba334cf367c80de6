"""A bounded schemathesis run against /openapi.json, once per role: no answer may be a 5xx.

Every operation of the OpenAPI document gets valid (positive) and invalid (negative) requests
generated from its schema, sent with each role's credentials and without any; the run counts
the cases and fails listing every server error. Generation is derandomised, so a CI run is
reproducible; `CITYOPS_FUZZ_EXAMPLES` raises the examples per operation for a deeper local run.
The platform runs on a database of its own: the admin roles' requests may disable accounts
and revoke keys, which must not reach the shared test accounts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.app import create_app
from cityops.auth.accounts import NewAccount, create_account
from cityops.auth.roles import Role
from cityops.auth.sources import GRANTABLE_SOURCES
from cityops.config import Settings
from cityops.kit.db import in_unit_of_work
from cityops.kit.migrate import upgrade
from cityops.org.models import Department
from tests.conftest import (
    ACCOUNTS,
    PASSWORD,
    PG_ADMIN_URL,
    _pg_create_database,
    _pg_drop_database,
    require_postgres,
    seed_with_accounts,
)

#: Examples per operation and generation mode; a few thousand cases over all roles in all.
POSITIVE = int(os.environ.get("CITYOPS_FUZZ_EXAMPLES", "2"))
NEGATIVE = max(1, POSITIVE // 2)
#: Operations left out: they end the caller's own session (covered by tests/auth).
SKIPPED = frozenset({("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/password")})
#: Roles in the order they run: the admin roles last, since they may disable the others.
ROLES = [
    "anonymous",
    "t_grid",
    "t_sijing",
    "t_duty",
    "t_leader",
    "dept_handler",
    "system_client",
    "t_auditor",
    "t_admin",
    "t_security",
]


@dataclass
class Outcome:
    """What one role's run sent and what went wrong."""

    cases: int = 0
    unsendable: int = 0  # requests no HTTP client can send (a CR in a header)
    errors: list[str] = field(default_factory=list)


@dataclass
class Fuzzed:
    """The platform under fuzzing and each role's headers."""

    client: TestClient
    schema: Any
    headers: dict[str, dict[str, str]]


async def _extra_accounts(session: AsyncSession) -> tuple[str, int]:
    """A 泗泾 水务 handler and a district system client (its key is issued over HTTP)."""
    department = await session.scalar(
        select(Department).where(Department.org_code == "310117102", Department.key == "sw")
    )
    assert department is not None
    handler = NewAccount(
        username="fz_handler",
        role=Role.DEPT_HANDLER,
        org_code="310117102",
        department_id=department.id,
        password=PASSWORD,
    )
    await create_account(session, None, handler)
    system, _ = await create_account(
        session,
        None,
        NewAccount(
            username="fz_system",
            role=Role.SYSTEM_CLIENT,
            org_code="310117",
            sources=tuple(GRANTABLE_SOURCES),
        ),
    )
    return handler.username, system.id


def _prepare(url: str, media: Path) -> tuple[Settings, str, int]:
    settings = Settings(  # type: ignore[call-arg]
        database_url=url,
        principal_cache_seconds=0,
        outbox_dispatcher=False,
        media_dir=media,
        _env_file=None,
    )
    upgrade(url)

    async def work(session: AsyncSession) -> tuple[str, int]:
        await seed_with_accounts(settings, ACCOUNTS, PASSWORD, session)
        return await _extra_accounts(session)

    handler, system_id = asyncio.run(in_unit_of_work(url, work))
    return settings, handler, system_id


def _token(client: TestClient, username: str) -> dict[str, str]:
    reply = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    client.cookies.clear()
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def _headers(client: TestClient, handler: str, system_id: int) -> dict[str, dict[str, str]]:
    headers = {name: _token(client, name) for name in ROLES if name in ACCOUNTS}
    headers["anonymous"] = {}
    headers["dept_handler"] = _token(client, handler)
    key = client.post(
        f"/api/v1/accounts/{system_id}/api-keys",
        json={"name": "fuzz"},
        headers=headers["t_security"],
    )
    assert key.status_code == 201, key.text
    headers["system_client"] = {"Authorization": f"Bearer {key.json()['secret']}"}
    return headers


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzzed]:
    """A platform on a fresh database of its own, with every role's credentials."""
    workdir = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'cityops.db'}"
    else:
        require_postgres()
        url = asyncio.run(_pg_create_database(PG_ADMIN_URL))
    settings, handler, system_id = _prepare(url, workdir / "media")
    try:
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
            yield Fuzzed(client, schema, _headers(client, handler, system_id))
    finally:
        if request.param == "postgresql":
            asyncio.run(_pg_drop_database(PG_ADMIN_URL, url))


def _send(fuzzed: Fuzzed, case: Any, headers: dict[str, str], outcome: Outcome) -> None:
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    kwargs.pop("cookies", None)  # the roles authenticate by header; no cookie jar between cases
    if isinstance(kwargs.get("data"), bytes | str):
        kwargs["content"] = kwargs.pop("data")  # raw bytes: httpx's name for them
    try:
        reply = fuzzed.client.request(**kwargs)
    except (httpx.LocalProtocolError, ValueError, UnicodeEncodeError):
        outcome.unsendable += 1
        return
    finally:
        fuzzed.client.cookies.clear()
    outcome.cases += 1
    if reply.status_code >= 500:
        outcome.errors.append(
            f"{reply.status_code} {case.method} {case.formatted_path} "
            f"query={case.query!r} body={str(case.body)[:300]!r}: {reply.text[:300]}"
        )


def _run(fuzzed: Fuzzed, operation: Any, mode: GenerationMode, role: str, out: Outcome) -> None:
    fixed = {"fmt": "json"} if "{fmt}" in operation.path else None  # Open311's .json suffix
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
    examples = POSITIVE if mode is GenerationMode.POSITIVE else NEGATIVE

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=strategy)
    def one(case: Any) -> None:
        _send(fuzzed, case, fuzzed.headers[role], out)

    with contextlib.suppress(Unsatisfiable):  # no invalid request exists: nothing to send
        one()


@pytest.mark.parametrize("role", ROLES)
def test_no_server_error_for(fuzzed: Fuzzed, role: str) -> None:
    started = time.monotonic()
    outcome = Outcome()
    operations = [result.ok() for result in fuzzed.schema.get_all_operations()]
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(fuzzed, operation, mode, role, outcome)
    took = time.monotonic() - started
    print(
        f"\nfuzz {role}: {outcome.cases} cases over {len(operations)} operations in {took:.0f} s"
        f" ({outcome.unsendable} unsendable), {len(outcome.errors)} server errors"
    )
    assert outcome.cases >= 2 * len(operations), "the run sent too few cases to mean anything"
    assert not outcome.errors, "\n".join(outcome.errors)
