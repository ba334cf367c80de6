"""Fixtures of the source adapters: system clients with their own API keys, one per system."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.accounts import NewAccount, create_account
from cityops.auth.roles import Role
from tests.auth.conftest import bearer, unique
from tests.cases.conftest import in_db
from tests.conftest import Backend, Login

SIJING, SHESHAN = "310117102", "310117103"


@dataclass(frozen=True)
class System:
    """A system client account with one API key."""

    id: int
    username: str
    key: str
    key_id: int

    @property
    def headers(self) -> dict[str, str]:
        """`Authorization: Bearer <key>`."""
        return bearer(self.key)


def make_system(
    client: TestClient,
    backend: Backend,
    login: Login,
    org: str,
    prefix: str,
    sources: tuple[str, ...] = (),
) -> System:
    """Open a system client at `org`; the security admin grants it `sources` and issues a key."""
    username = unique(prefix)

    async def work(session: AsyncSession) -> int:
        account, _ = await create_account(
            session,
            None,
            NewAccount(username=username, role=Role.SYSTEM_CLIENT, org_code=org),
        )
        return account.id

    account_id = in_db(backend, work)
    if sources:
        granted = client.put(
            f"/api/v1/accounts/{account_id}/sources",
            json={"sources": list(sources)},
            headers=login.headers("t_security"),
        )
        assert granted.status_code == 200, granted.text
    reply = client.post(
        f"/api/v1/accounts/{account_id}/api-keys",
        json={"name": f"{prefix} 对接密钥"},
        headers=login.headers("t_security"),
    )
    assert reply.status_code == 201, reply.text
    created = reply.json()
    return System(account_id, username, created["secret"], created["key"]["id"])


def revoke(client: TestClient, login: Login, system: System) -> None:
    """Revoke a system's key as the security admin."""
    reply = client.delete(
        f"/api/v1/accounts/{system.id}/api-keys/{system.key_id}",
        headers=login.headers("t_security"),
    )
    assert reply.status_code == 204, reply.text


@dataclass(frozen=True)
class Systems:
    """The systems the source tests talk as."""

    open311: System  # a district-wide Open311 app
    open311_sijing: System  # an Open311 app scoped to 泗泾
    grid: System  # the urban-grid (数字城管) system
    town_sijing: System  # 泗泾's own dispatch system
    town_sheshan: System  # 佘山's own dispatch system
    district_client: System  # a district-scoped client that is no town system


@pytest.fixture(scope="session")
def systems(client: TestClient, backend: Backend, login: Login) -> Systems:
    """One key per system, made once per backend."""
    return Systems(
        open311=make_system(client, backend, login, "310117", "o311"),
        open311_sijing=make_system(client, backend, login, SIJING, "o311sj"),
        grid=make_system(client, backend, login, "310117", "grid", ("grid",)),
        town_sijing=make_system(client, backend, login, SIJING, "town_sj", ("town_system",)),
        town_sheshan=make_system(client, backend, login, SHESHAN, "town_ss", ("town_system",)),
        district_client=make_system(client, backend, login, "310117", "dist"),
    )
