"""The read paths' check: active_grants, allows (keys, window, expiry, revocation), log_access."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.principal import Principal
from cityops.kit.db import in_unit_of_work
from cityops.kit.scope import DataScope
from cityops.sharing import KindRegistry, active_grants, allows, granting, log_access, units_above
from cityops.sharing.decide import Action
from cityops.sharing.service import SharingService
from tests.conftest import Backend, Login
from tests.sharing.conftest import SHESHAN, SIJING_UNITS, act, apply

UNIT = SIJING_UNITS[0]


@pytest.fixture(autouse=True)
def _both(backend: Backend, kinds: KindRegistry, no_live_test_grants: None) -> None:
    """Every test here runs on both backends, with the test kind and no live test grant left."""


def principal(org_code: str = SHESHAN, username: str = "t_sheshan") -> Principal:
    """A town operator of a unit, as the auth module builds one."""
    return Principal(
        account_id=0,
        username=username,
        display_name=username,
        role="town_operator",
        org_code=org_code,
        department_id=None,
        scope=DataScope.of([org_code]),
        must_change_password=False,
        token_id=0,
        token_kind="session",
    )


def run(backend: Backend, work: Any) -> Any:
    """Run `work(session)` in one unit of work on the backend's database."""
    return asyncio.run(in_unit_of_work(backend.settings.database_url, work))


def granted(client: TestClient, login: Login, **changes: Any) -> dict[str, Any]:
    """An approved application of Sheshan for Sijing's units."""
    made = apply(client, login, **changes)
    reply = act(client, login, "t_duty", made["id"], "approve")
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_units_above_a_community_are_its_town_and_district() -> None:
    assert units_above("310117103001") == ["310117", "310117103", "310117103001"]
    assert units_above("310117103") == ["310117", "310117103"]


def test_a_grant_allows_only_its_keys_and_window(
    client: TestClient, login: Login, backend: Backend
) -> None:
    now = datetime.now(UTC)
    granted(
        client, login, data_from=(now - timedelta(days=1)).isoformat(), data_until=now.isoformat()
    )
    sheshan = principal()

    async def check(session: AsyncSession) -> dict[str, bool]:
        def ask(key: str | None, at: datetime | None) -> Any:
            return allows(session, sheshan, "test.unit", UNIT, key, at)

        return {
            "resource": await ask(None, None),
            "key_in_window": await ask("water_level", now - timedelta(hours=1)),
            "other_key": await ask("rainfall", now - timedelta(hours=1)),
            "before_window": await ask("water_level", now - timedelta(days=2)),
            "after_window": await ask("water_level", now + timedelta(hours=1)),
            "other_kind": await allows(session, sheshan, "test.other", UNIT),
            "community_of_grantee": await allows(
                session, principal("310117103001", "t_x"), "test.unit", UNIT
            ),
            "owner_town_is_not_granted": await allows(
                session, principal("310117105", "t_y"), "test.unit", UNIT
            ),
        }

    assert run(backend, check) == {
        "resource": True,
        "key_in_window": True,
        "other_key": False,
        "before_window": False,
        "after_window": False,
        "other_kind": False,
        "community_of_grantee": True,
        "owner_town_is_not_granted": False,
    }


def test_expiry_and_revocation_end_a_grant(
    client: TestClient, login: Login, backend: Backend
) -> None:
    expires = datetime.now(UTC) + timedelta(days=3)
    body = granted(client, login, expires_at=expires.isoformat(), keys=None)
    sheshan = principal()

    async def ids_at(now: datetime) -> set[int]:
        async def read(session: AsyncSession) -> set[int]:
            return {g.id for g in await active_grants(session, SHESHAN, "test.unit", now)}

        return await in_unit_of_work(backend.settings.database_url, read)

    mine = set(body["grant_ids"])
    assert mine <= asyncio.run(ids_at(expires - timedelta(seconds=1)))
    assert not mine & asyncio.run(ids_at(expires)), "a grant ends at its expiry"

    async def effective(session: AsyncSession) -> str:
        svc = SharingService(session, client.app.state.sharing_kinds)  # type: ignore[attr-defined]
        application = await svc.repo.application(body["id"])
        assert application is not None
        return svc.shape(sheshan, application, [], expires).status

    assert run(backend, effective) == "expired"
    act(client, login, "t_duty", body["id"], "revoke", reason="收回")
    assert not mine & asyncio.run(ids_at(datetime.now(UTC)))

    async def refused(session: AsyncSession) -> bool:
        return await allows(session, sheshan, "test.unit", UNIT, "anything")

    assert run(backend, refused) is False


def test_an_expired_application_cannot_be_approved(
    client: TestClient, login: Login, backend: Backend
) -> None:
    expires = datetime.now(UTC) + timedelta(days=1)
    made = apply(client, login, expires_at=expires.isoformat())
    duty = Principal(
        account_id=0,
        username="t_duty",
        display_name="t_duty",
        role="district_officer",
        org_code="310117",
        department_id=None,
        scope=DataScope.of(["310117"]),
        must_change_password=False,
        token_id=0,
        token_kind="session",
    )

    async def late(session: AsyncSession) -> int:
        svc = SharingService(session, client.app.state.sharing_kinds)  # type: ignore[attr-defined]
        try:
            await svc.act(duty, made["id"], Action.APPROVE, "127.0.0.1", now=expires)
        except Exception as exc:  # the ProblemError's status is what matters
            return int(getattr(exc, "status", 0))
        return 200

    assert run(backend, late) == 409


def test_every_access_through_a_grant_is_logged_and_listed(
    client: TestClient, login: Login, backend: Backend
) -> None:
    body = granted(client, login)
    sheshan = principal()

    async def read_twice(session: AsyncSession) -> int:
        grant = await granting(session, sheshan, "test.unit", UNIT, "water_level")
        assert grant is not None
        log_access(session, sheshan, [grant], "telemetry.read", count=24)
        log_access(session, sheshan, [grant.id, grant.id], "latest.read")
        return grant.id

    grant_id = run(backend, read_twice)
    assert grant_id in body["grant_ids"]
    for who in ("t_sheshan", "t_duty", "t_sijing"):
        reply = client.get(f"/api/v1/sharing/grants/{grant_id}/access", headers=login.headers(who))
        assert reply.status_code == 200, (who, reply.text)
        rows = [(r["action"], r["count"], r["actor"]) for r in reply.json()]
        assert rows == [("latest.read", 1, "t_sheshan"), ("telemetry.read", 24, "t_sheshan")]
    assert (
        client.get(
            f"/api/v1/sharing/grants/{grant_id}/access", headers=login.headers("t_sijing_admin")
        ).status_code
        == 403
    )
