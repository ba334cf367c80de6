"""The event-flow benchmark's workload: places, categories, reports and the main line.

Shared by the engine path (cases_engine.py), SpiffWorkflow (cases_spiff.py) and HTTP
(cases_http.py), so every side runs the very same cases through the very same steps.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shapely.geometry import Point, shape
from sqlalchemy import select

from cityops.bootstrap import seed_district
from cityops.cases.catalog.codes import all_categories, category_code
from cityops.cases.catalog.shipped import Kind
from cityops.cases.flow.table import MAIN_LINE as WORKFLOW_MAIN_LINE
from cityops.cases.flow.table import Action
from cityops.config import Settings
from cityops.kit.db import in_unit_of_work
from cityops.kit.migrate import upgrade
from cityops.kit.workcal import MissingYearError, default_calendar
from cityops.org.models import OrgUnit

#: What each step of the main line (cases/workflow.py) carries: `handle` (办结) needs a comment;
#: the others take none; `dispatch` goes to the routed default department.
BODIES: dict[Action, dict[str, str]] = {Action.HANDLE: {"comment": "已处置完毕"}}
#: The main line as (action, body) steps: register → dispatch → sign → start → handle → check →
#: verify → close.
MAIN_LINE: tuple[tuple[str, dict[str, str]], ...] = tuple(
    (action.value, BODIES.get(action, {})) for action in WORKFLOW_MAIN_LINE
)
SOURCE = "hotline_12345"
SEED = 20260302
#: The personal-data key of the benchmark database (engine path and server alike): fixed, so
#: both can read what the other wrote; it protects nothing real.
DATA_KEY = base64.b64encode(random.Random(SEED).randbytes(32)).decode()


@dataclass(frozen=True, slots=True)
class Report:
    """One incoming 12345 order: what the intake receives."""

    source_key: str
    category: str
    text: str
    lon: float
    lat: float
    address: str
    name: str
    phone: str

    def body(self) -> dict[str, Any]:
        """The JSON body of POST /api/v1/cases for this report."""
        return {
            "source": SOURCE,
            "source_key": self.source_key,
            "category": self.category,
            "text": self.text,
            "location": {"lon": self.lon, "lat": self.lat},
            "address": self.address,
            "reporter": {"name": self.name, "phone": self.phone},
        }


def bench_settings(url: str) -> Settings:
    """Settings for a benchmark database: no env file, no scheduler, a throwaway data key."""
    return Settings(  # type: ignore[call-arg]
        database_url=url, data_key=DATA_KEY, scheduler=False, _env_file=None
    )


async def prepare_database(url: str) -> None:
    """Migrate and seed Songjiang (units, communities, synthetic grids, departments)."""
    await asyncio.to_thread(upgrade, url)  # Alembic runs its own event loop
    settings = bench_settings(url)
    await in_unit_of_work(url, lambda session: seed_district(session, settings))


async def grid_shapes(url: str) -> list[Any]:
    """The seeded grid polygons (generated, approximate) of the district."""

    async def read(session: Any) -> list[Any]:
        stmt = select(OrgUnit.geometry).where(OrgUnit.level == "grid")
        rows = (await session.scalars(stmt)).all()
        return [shape(json.loads(g)) for g in rows if g]

    shapes: list[Any] = await in_unit_of_work(url, read)
    return shapes


def sample_points(grids: list[Any], count: int, seed: int = SEED) -> list[tuple[float, float]]:
    """`count` random points, each inside a randomly chosen grid (reproducible)."""
    rng = random.Random(seed)
    points: list[tuple[float, float]] = []
    while len(points) < count:
        grid = rng.choice(grids)
        west, south, east, north = grid.bounds
        for _ in range(50):
            x, y = rng.uniform(west, east), rng.uniform(south, north)
            if grid.contains(Point(x, y)):
                points.append((round(x, 7), round(y, 7)))
                break
    return points


def usable_categories(now: datetime | None = None) -> list[str]:
    """Component and event categories whose deadlines the shipped calendar can compute now.

    A deadline that runs into a year without a calendar file arms no timer (an error is
    logged): such a case would do less work, so the benchmark leaves those categories out.
    """
    start = now or datetime.now(UTC)
    calendar = default_calendar()
    usable = []
    for category in all_categories():
        if category.kind is Kind.HOTLINE:
            continue  # hotline types have no department: dispatch would skip the lookup
        try:
            for at in (start, start + timedelta(days=3)):
                category.sign_for.deadline(calendar, at)
                category.handle.deadline(calendar, at)
        except MissingYearError:
            continue
        usable.append(category_code(category))
    return usable


def reports(
    count: int, points: list[tuple[float, float]], categories: list[str], prefix: str
) -> list[Report]:
    """`count` distinct reports: unique source keys, categories in turn, the sampled points."""
    rng = random.Random(SEED + 1)
    out: list[Report] = []
    for i in range(count):
        lon, lat = points[i % len(points)]
        out.append(
            Report(
                source_key=f"{prefix}-{i:07d}",
                category=categories[i % len(categories)],
                text=f"市民来电反映：第{i}号问题，请尽快处理",
                lon=lon,
                lat=lat,
                address=f"松江区某路{rng.randint(1, 999)}号",
                name="张三",
                phone=f"138{rng.randint(0, 99_999_999):08d}",
            )
        )
    return out
