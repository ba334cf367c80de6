"""A portal on its own SQLite database for the workbench page tests: accounts, points, helpers."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.app import create_app
from cityops.auth.roles import Role
from cityops.config import Settings
from cityops.kit.db import in_unit_of_work
from cityops.kit.migrate import upgrade
from cityops.org.models import OrgUnit
from tests.conftest import seed_with_accounts
from tests.portal import login_form

PASSWORD = "Workbench-Passw0rd!"
ACCOUNTS: dict[str, tuple[Role, str]] = {
    "w_duty": (Role.DISTRICT_OFFICER, "310117"),
    "w_sijing": (Role.TOWN_OPERATOR, "310117102"),
    "w_sheshan": (Role.TOWN_OPERATOR, "310117103"),
    "w_grid": (Role.GRID_WORKER, "310117102001"),
    "w_leader": (Role.LEADER, "310117"),
    "w_auditor": (Role.AUDIT_ADMIN, "310117"),
}
COMMUNITIES = ("310117102001", "310117102002", "310117103001")


async def _points(session: AsyncSession) -> dict[str, tuple[float, float]]:
    found: dict[str, tuple[float, float]] = {}
    for community in COMMUNITIES:
        stmt = (
            select(OrgUnit)
            .where(OrgUnit.parent_code == community, OrgUnit.level == "grid")
            .order_by(OrgUnit.code)
        )
        grid = (await session.scalars(stmt)).first()
        assert grid is not None and grid.geometry
        point = shape(json.loads(grid.geometry)).representative_point()
        found[community] = (round(point.x, 6), round(point.y, 6))
    return found


@dataclass
class Portal:
    """A client of the app, bearer tokens of every account, and points inside communities."""

    client: TestClient
    settings: Settings
    points: dict[str, tuple[float, float]]
    tokens: dict[str, str] = field(default_factory=dict)

    def login(self, username: str) -> None:
        """Log in through the form: the client keeps that session cookie."""
        login_form.login(self.client, username, PASSWORD)

    def headers(self, username: str) -> dict[str, str]:
        """Bearer headers for API calls (they take precedence over the session cookie)."""
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def open_case(self, who: str, community: str = "310117102001", **body: Any) -> int:
        """Open a case through the API at a point of a community."""
        lon, lat = self.points[community]
        payload = {
            "source": "grid",
            "category": "event:0102",
            "text": "路边垃圾堆放",
            "location": {"lon": lon, "lat": lat},
            **body,
        }
        reply = self.client.post("/api/v1/cases", json=payload, headers=self.headers(who))
        assert reply.status_code == 201, reply.text
        case_id: int = reply.json()["id"]
        return case_id

    def act(self, who: str, case_id: int, action: str, **body: Any) -> httpx.Response:
        """Act through the API."""
        return self.client.post(
            f"/api/v1/cases/{case_id}/actions/{action}", json=body, headers=self.headers(who)
        )

    def case(self, case_id: int, who: str = "w_duty") -> dict[str, Any]:
        """A case as the API shows it."""
        reply = self.client.get(f"/api/v1/cases/{case_id}", headers=self.headers(who))
        assert reply.status_code == 200, reply.text
        result: dict[str, Any] = reply.json()
        return result

    def timeline(self, case_id: int) -> list[dict[str, Any]]:
        """A case's timeline as the district officer sees it."""
        reply = self.client.get(f"/api/v1/cases/{case_id}/timeline", headers=self.headers("w_duty"))
        result: list[dict[str, Any]] = reply.json()
        return result


def csrf_of(html: str) -> str:
    """The session's CSRF token on a page."""
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def actions_on(html: str) -> set[str]:
    """The actions a case page offers (buttons and the forms that open on a button)."""
    start = html.index('id="actions"')
    section = html[start : html.index("</section>", start)]
    return set(re.findall(r'data-action="([a-z_]+)"', section))


def case_ids(html: str) -> list[int]:
    """The case ids listed on a page, in order."""
    return [int(v) for v in re.findall(r'data-case-id="(\d+)"', html)]


@contextmanager
def workbench_portal(tmp: Path, **overrides: Any) -> Iterator[Portal]:
    """Migrate and seed a SQLite database in `tmp`, open the accounts, serve the app in-process."""
    url = f"sqlite+aiosqlite:///{tmp / 'cityops.db'}"
    settings = Settings(  # type: ignore[call-arg]
        database_url=url,
        principal_cache_seconds=0,
        media_dir=tmp / "media",
        data_key_file=tmp / "data.key",
        scheduler=False,
        _env_file=None,
        **overrides,
    )
    upgrade(url)

    async def prepare(session: AsyncSession) -> dict[str, tuple[float, float]]:
        await seed_with_accounts(settings, ACCOUNTS, PASSWORD, session)
        return await _points(session)

    points = asyncio.run(in_unit_of_work(url, prepare))
    with TestClient(create_app(settings), follow_redirects=False) as client:
        portal = Portal(client, settings, points)
        for username in ACCOUNTS:
            reply = client.post(
                "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert reply.status_code == 200, reply.text
            portal.tokens[username] = reply.json()["access_token"]
        client.cookies.clear()
        yield portal
