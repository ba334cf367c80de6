"""Fixtures of the event-flow tests: a controllable clock, places, and the accounts cases need."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.accounts import NewAccount, create_account
from cityops.auth.roles import Role
from cityops.cases.flow.env import CaseEnv
from cityops.cases.flow.scheduler import CaseScheduler
from cityops.cases.models import CaseEvent, CaseRecord
from cityops.geo.service import DivisionIndexCache
from cityops.kit.bus import InProcessBus
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work
from cityops.kit.events import Event
from cityops.kit.workcal import SHANGHAI
from cityops.org.models import Department, OrgUnit
from cityops.org.tree import OrgTreeCache
from tests.auth.conftest import bearer, unique
from tests.conftest import PASSWORD, Backend, Login

T = TypeVar("T")
CASES = "/api/v1/cases"


def sh(*parts: int) -> datetime:
    """An instant given in Shanghai wall-clock time."""
    return datetime(*parts, tzinfo=SHANGHAI)  # type: ignore[misc]


def utc_text(value: datetime) -> str:
    """How the API writes an instant (UTC, ISO 8601 with Z)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class FakeClock:
    """A clock the test moves by hand: no sleeping."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at.astimezone(UTC)

    def set(self, at: datetime) -> None:
        """Jump to an instant."""
        self.at = at

    def advance(self, **delta: float) -> None:
        """Move forward by a timedelta's keywords."""
        self.at += timedelta(**delta)


def in_db(backend: Backend, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on a fresh engine of the backend."""

    async def run() -> T:
        engine = create_engine(backend.settings.database_url)
        try:
            async with unit_of_work(create_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def counts(backend: Backend) -> tuple[int, int]:
    """How many case rows and timeline rows exist."""

    async def work(session: AsyncSession) -> tuple[int, int]:
        cases = await session.scalar(select(func.count()).select_from(CaseRecord))
        events = await session.scalar(select(func.count()).select_from(CaseEvent))
        return int(cases or 0), int(events or 0)

    return in_db(backend, work)


@dataclass
class Places:
    """Points inside known units (from the stored, generated polygons)."""

    points: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __getitem__(self, code: str) -> tuple[float, float]:
        return self.points[code]


@pytest.fixture(scope="session")
def places(backend: Backend) -> Places:
    """A point inside one grid of each community used by the tests."""
    wanted = ["310117102001", "310117102002", "310117102003", "310117103001", "310117102004"]

    async def work(session: AsyncSession) -> dict[str, tuple[float, float]]:
        found: dict[str, tuple[float, float]] = {}
        for community in wanted:
            stmt = (
                select(OrgUnit)
                .where(OrgUnit.parent_code == community, OrgUnit.level == "grid")
                .order_by(OrgUnit.code)
            )
            grid = (await session.scalars(stmt)).first()
            assert grid is not None and grid.geometry, community
            point = shape(json.loads(grid.geometry)).representative_point()
            found[community] = (point.x, point.y)
        return found

    return Places(in_db(backend, work))


@pytest.fixture(scope="session")
def env(client: TestClient) -> CaseEnv:
    """The app's case environment, with its wall-clock scheduler stopped: tests drive time."""
    scheduler: CaseScheduler | None = client.app.state.case_scheduler  # type: ignore[attr-defined]
    if scheduler is not None:
        client.portal.call(scheduler.stop)  # type: ignore[union-attr]
    case_env: CaseEnv = client.app.state.cases  # type: ignore[attr-defined]
    return case_env


@pytest.fixture
def clock(env: CaseEnv) -> Iterator[FakeClock]:
    """Control the app's case clock for one test (restored afterwards)."""
    fake = FakeClock(sh(2026, 6, 1, 9, 0))
    previous = env.clock
    env.clock = fake
    yield fake
    env.clock = previous


@dataclass
class People:
    """Accounts beyond the shared t_* ones: a department handler and the 12345 system."""

    dept_sw_sijing: int
    handler: dict[str, str]
    hotline: dict[str, str]
    hotline_id: int


@pytest.fixture(scope="session")
def people(client: TestClient, backend: Backend, login: Login) -> People:
    """A 泗泾 水务站 handler, and a 12345 system client with an API key."""

    async def work(session: AsyncSession) -> tuple[int, str, int, str]:
        stmt = select(Department).where(Department.org_code == "310117102", Department.key == "sw")
        department = await session.scalar(stmt)
        assert department is not None
        handler, _ = await create_account(
            session,
            None,
            NewAccount(
                username=unique("sw"),
                role=Role.DEPT_HANDLER,
                org_code="310117102",
                department_id=department.id,
                password=PASSWORD,
            ),
        )
        system, _ = await create_account(
            session,
            None,
            NewAccount(
                username=unique("hotline"),
                role=Role.SYSTEM_CLIENT,
                org_code="310117",
                sources=("hotline_12345",),
            ),
        )
        return department.id, handler.username, system.id, system.username

    department_id, handler_name, system_id, _ = in_db(backend, work)
    reply = client.post("/api/v1/auth/login", json={"username": handler_name, "password": PASSWORD})
    client.cookies.clear()
    assert reply.status_code == 200, reply.text
    handler = bearer(reply.json()["access_token"])
    key = client.post(
        f"/api/v1/accounts/{system_id}/api-keys",
        json={"name": "12345 热线系统"},
        headers=login.headers("t_security"),
    )
    assert key.status_code == 201, key.text
    return People(department_id, handler, bearer(key.json()["secret"]), system_id)


class Api:
    """Short calls to the case API."""

    def __init__(self, client: TestClient, login: Login, people: People) -> None:
        self.client = client
        self.login = login
        self.people = people

    def headers(self, who: str) -> dict[str, str]:
        """Auth headers by name: a t_* account, "handler" or "hotline"."""
        if who == "handler":
            return self.people.handler
        if who == "hotline":
            return self.people.hotline
        return self.login.headers(who)

    def create(self, who: str, **body: Any) -> httpx.Response:
        """POST /api/v1/cases."""
        return self.client.post(CASES, json=body, headers=self.headers(who))

    def act(self, who: str, case_id: int, action: str, **body: Any) -> httpx.Response:
        """POST /api/v1/cases/{id}/actions/{action}."""
        return self.client.post(
            f"{CASES}/{case_id}/actions/{action}", json=body, headers=self.headers(who)
        )

    def ok(self, who: str, case_id: int, action: str, **body: Any) -> dict[str, Any]:
        """Act and insist on success."""
        reply = self.act(who, case_id, action, **body)
        assert reply.status_code == 200, reply.text
        result: dict[str, Any] = reply.json()
        return result

    def get(self, who: str, path: str, **params: Any) -> httpx.Response:
        """GET under /api/v1/cases."""
        return self.client.get(f"{CASES}{path}", params=params, headers=self.headers(who))

    def detail(self, case_id: int, who: str = "t_duty") -> dict[str, Any]:
        """A case as the district officer sees it."""
        reply = self.get(who, f"/{case_id}")
        assert reply.status_code == 200, reply.text
        result: dict[str, Any] = reply.json()
        return result

    def timeline(self, case_id: int, who: str = "t_duty") -> list[dict[str, Any]]:
        """A case's timeline."""
        reply = self.get(who, f"/{case_id}/timeline")
        assert reply.status_code == 200, reply.text
        result: list[dict[str, Any]] = reply.json()
        return result

    def open_case(
        self, who: str, point: tuple[float, float], category: str = "component:0101", **extra: Any
    ) -> int:
        """Open a case at a point and return its id."""
        reply = self.create(
            who,
            source=extra.pop("source", "grid"),
            category=category,
            text=extra.pop("text", "测试案件"),
            location={"lon": point[0], "lat": point[1]},
            **extra,
        )
        assert reply.status_code == 201, reply.text
        case_id: int = reply.json()["id"]
        return case_id


@pytest.fixture
def api(client: TestClient, login: Login, people: People, clock: FakeClock) -> Api:
    """The case API with the test clock in control."""
    return Api(client, login, people)


class Collector:
    """Remember the domain events of some subjects published on a bus."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, subject: str, case_id: int | None = None) -> list[Event]:
        """Events of a subject (about one case)."""
        return [
            e
            for e in self.events
            if e.subject == subject and (case_id is None or e.payload.get("id") == case_id)
        ]


@pytest.fixture(scope="session")
def collector(env: CaseEnv) -> Collector:
    """Every domain event published on the app's bus from now on."""
    seen = Collector()
    env.bus.subscribe("*", seen)
    return seen


def worker_env(backend: Backend, clock: Callable[[], datetime]) -> tuple[CaseEnv, Any]:
    """A case environment on its own engine (a second process, as it were), and the engine."""
    engine = create_engine(backend.settings.database_url)
    sessions = create_sessionmaker(engine)
    tree = OrgTreeCache(sessions)
    index = DivisionIndexCache(sessions, tree, backend.settings.district_code)
    return CaseEnv(backend.settings, sessions, InProcessBus(), tree, index, clock=clock), engine
