"""Fixtures: a migrated, seeded cityops per database backend, and accounts of every role."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.app import create_app
from cityops.auth.accounts import NewAccount, create_account
from cityops.auth.roles import Role
from cityops.bootstrap import seed_district
from cityops.config import Settings
from cityops.kit.db import in_unit_of_work
from cityops.kit.migrate import upgrade

#: Every run watches the logs for secrets and personal data (tests/residual.py).
pytest_plugins = ["tests.residual"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get(
    "CITYOPS_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "Test-Passw0rd!"
# The suite's accounts of every role sign in with a password alone; the tests of two-factor
# sign-in (tests/auth/test_two_factor.py) build their Settings with the roles that must enrol.
os.environ["CITYOPS_TOTP_REQUIRED_ROLES"] = "[]"

#: username → (role, org code): one account per role, plus a second town.
ACCOUNTS: dict[str, tuple[Role, str]] = {
    "t_admin": (Role.SYS_ADMIN, "310117"),
    "t_security": (Role.SECURITY_ADMIN, "310117"),
    "t_auditor": (Role.AUDIT_ADMIN, "310117"),
    "t_duty": (Role.DISTRICT_OFFICER, "310117"),
    "t_leader": (Role.LEADER, "310117"),
    "t_sijing": (Role.TOWN_OPERATOR, "310117102"),
    "t_sheshan": (Role.TOWN_OPERATOR, "310117103"),
    "t_grid": (Role.GRID_WORKER, "310117102001"),
    "t_sijing_admin": (Role.SYS_ADMIN, "310117102"),
}


async def _pg_reachable(url: str) -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"), timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


def require_postgres() -> None:
    """Go on only if PostgreSQL answers: fail when CI=true (it never skips there), else skip."""
    if not asyncio.run(_pg_reachable(PG_ADMIN_URL)):
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable (set CI=true to make this a failure)")


async def _pg_create_database(admin_url: str) -> str:
    import asyncpg

    name = f"cityops_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


async def _pg_drop_database(admin_url: str, url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def seed_with_accounts(
    settings: Settings,
    accounts: dict[str, tuple[Role, str]],
    password: str,
    session: AsyncSession,
) -> None:
    """Seed the district and open each (role, org) account with one password, in one session."""
    await seed_district(session, settings)
    for username, (role, org) in accounts.items():
        await create_account(
            session,
            None,
            NewAccount(username=username, role=role, org_code=org, password=password),
        )


async def _prepare(settings: Settings) -> None:
    await in_unit_of_work(
        settings.database_url,
        lambda session: seed_with_accounts(settings, ACCOUNTS, PASSWORD, session),
    )


@dataclass
class Backend:
    """A prepared database and its settings."""

    name: str
    settings: Settings


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """A migrated and seeded database: SQLite always, PostgreSQL when reachable (always in CI)."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "cityops.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        require_postgres()
        url = asyncio.run(_pg_create_database(PG_ADMIN_URL))
    # No outbox dispatcher in the shared app: outbox tests drive their own, and a second one
    # polling the same database would take their rows.
    settings = Settings(  # type: ignore[call-arg]
        database_url=url, principal_cache_seconds=0, outbox_dispatcher=False, _env_file=None
    )
    upgrade(url)
    asyncio.run(_prepare(settings))
    yield Backend(request.param, settings)
    if request.param == "postgresql":
        asyncio.run(_pg_drop_database(PG_ADMIN_URL, url))


@pytest.fixture(scope="session")
def client(backend: Backend) -> Iterator[TestClient]:
    """An HTTP client bound to an app on the backend (lifespan running)."""
    with TestClient(create_app(backend.settings), raise_server_exceptions=False) as test_client:
        yield test_client


class Login:
    """Log in test accounts once per backend and hand out their auth headers."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        """A bearer token of a test account."""
        if username not in self._tokens:
            reply = self.client.post(
                "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert reply.status_code == 200, reply.text
            self._tokens[username] = reply.json()["access_token"]
        return self._tokens[username]

    def headers(self, username: str) -> dict[str, str]:
        """`Authorization: Bearer …` of a test account."""
        return {"Authorization": f"Bearer {self.token(username)}"}


@pytest.fixture(scope="session")
def login(client: TestClient) -> Login:
    """Bearer headers per test account."""
    return Login(client)
