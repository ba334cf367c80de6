"""A resource kind over a real table (org units) registered on the shared app, and helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.kit.db import in_unit_of_work
from cityops.org.models import OrgUnit
from cityops.sharing import KindRegistry, ResourceKind
from cityops.sharing.models import ShareGrant
from tests.conftest import Backend, Login

SIJING = "310117102"
SHESHAN = "310117103"
#: Two real communities of Sijing (泗泾镇) in the seeded tree.
SIJING_UNITS = ("310117102001", "310117102002")
APPS = "/api/v1/sharing/applications"


class UnitKind(ResourceKind):
    """A test kind over the real org_unit table: a community, owned by its street/town."""

    name = "test.unit"
    label = "测试：居村单元"

    async def owners(self, session: AsyncSession, resource_ids: Iterable[str]) -> dict[str, str]:
        """Each existing unit's town code (the first nine digits)."""
        wanted = list(resource_ids)
        rows = await session.scalars(select(OrgUnit.code).where(OrgUnit.code.in_(wanted)))
        return {code: code[:9] for code in rows}

    async def unknown_keys(
        self, session: AsyncSession, resource_ids: Iterable[str], keys: Iterable[str]
    ) -> list[str]:
        """Keys outside the test kind's three."""
        return [k for k in keys if k not in {"water_level", "rainfall", "battery"}]


UNIT_KIND = UnitKind()


@pytest.fixture
def no_live_test_grants(backend: Backend) -> None:
    """End every live grant of the test kind that earlier tests left on the shared database."""

    async def end(session: AsyncSession) -> None:
        await session.execute(
            update(ShareGrant)
            .where(ShareGrant.kind == UNIT_KIND.name, ShareGrant.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )

    asyncio.run(in_unit_of_work(backend.settings.database_url, end))


@pytest.fixture
def kinds(client: TestClient) -> KindRegistry:
    """The shared app's kind registry, with the test kind registered."""
    registry: KindRegistry = client.app.state.sharing_kinds  # type: ignore[attr-defined]
    registry.add(UNIT_KIND)
    return registry


def application(**changes: Any) -> dict[str, Any]:
    """A valid application body for Sijing's two communities, changed as given."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "kind": "test.unit",
        "resource_ids": list(SIJING_UNITS),
        "keys": ["water_level"],
        "data_from": (now - timedelta(days=7)).isoformat(),
        "data_until": (now + timedelta(days=7)).isoformat(),
        "purpose": "防汛联动：跨镇水位监测",
        "expires_at": (now + timedelta(days=30)).isoformat(),
    }
    body.update(changes)
    return body


def apply(
    client: TestClient, login: Login, who: str = "t_sheshan", **changes: Any
) -> dict[str, Any]:
    """File an application and return it (201 expected)."""
    reply = client.post(APPS, json=application(**changes), headers=login.headers(who))
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def act(client: TestClient, login: Login, who: str, app_id: int, action: str, **body: Any) -> Any:
    """Post one action on an application; the raw reply."""
    return client.post(f"{APPS}/{app_id}/{action}", json=body, headers=login.headers(who))
