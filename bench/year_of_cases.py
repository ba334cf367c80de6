"""A year of synthetic district cases for load benchmarks (default 500,000), labelled synthetic.

Run: .venv/bin/python bench/year_of_cases.py --url sqlite+aiosqlite:///var/bench-year.db

The database must be migrated and seeded (`cityops migrate && cityops seed`). Every row says
what it is: text `【合成基准数据】…`, source key `BENCH-<n>`, created_by `bench-synthetic`.
Places are uniform over the communities' (approximate) boundaries and placed and routed by the
platform's own division index and routing; categories, sources, the daily and hourly rhythm,
the share still open and the overdue share are illustrative, not measured. Timelines
(case_event) are not generated: the overview and KPIs read the case rows only.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry import shape
from sqlalchemy import insert, select, text

from cityops.cases.catalog.codes import all_categories, category_code
from cityops.cases.flow.routing import divisions_at_point, route
from cityops.cases.models import CaseRecord
from cityops.config import Settings
from cityops.geo.service import DivisionIndexCache
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work
from cityops.org.models import OrgUnit
from cityops.org.tree import OrgTreeCache

MARK = "【合成基准数据】"
SOURCES = (("hotline_12345", 0.45), ("grid", 0.35), ("mobile", 0.08), ("iot", 0.05),
           ("video", 0.03), ("town_system", 0.03), ("open311", 0.01))  # fmt: skip
#: Share of cases per hour of day (Shanghai time): quiet at night, busy in the working day.
HOURLY = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.6, 1.5, 3, 5, 6.5, 7, 6.5,
                   5.5, 6, 6.5, 6.5, 6, 5.5, 4.5, 4, 3.5, 3, 2.2, 1.5])  # fmt: skip
COMMUNITY_LEVELS = ("residents_committee", "village_committee", "virtual_community")
BATCH = 5_000


def random_points(areas: list[Any], picks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniform point inside the picked area for each pick (vectorised rejection sampling)."""
    out = np.empty((len(picks), 2))
    for index in np.unique(picks):
        rows = np.flatnonzero(picks == index)
        area = areas[index]
        minx, miny, maxx, maxy = area.bounds
        found = np.empty((0, 2))
        while len(found) < len(rows):
            need = (len(rows) - len(found)) * 2 + 8
            xy = np.column_stack([rng.uniform(minx, maxx, need), rng.uniform(miny, maxy, need)])
            found = np.vstack([found, xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])]])
        out[rows] = found[: len(rows)]
    return out


def created_times(n: int, days: int, now: datetime, rng: np.random.Generator) -> list[datetime]:
    """Creation instants over the last `days`, by the hourly rhythm, oldest first."""
    day = rng.integers(0, days, n)
    hour = rng.choice(24, n, p=HOURLY / HOURLY.sum())
    second = rng.integers(0, 3600, n)
    offsets = day * 86400 + (23 - hour) * 3600 + second  # seconds before `now`
    return sorted(now - timedelta(seconds=int(s)) for s in offsets)


def lifecycle(row: dict[str, Any], age_h: float, rng: random.Random) -> None:
    """Status and milestone times for a case of this age (illustrative shares)."""
    created: datetime = row["created_at"]
    row.update(returns=0, reworks=0, overdue=False, updated_at=created)
    handle_h = rng.lognormvariate(math.log(20), 0.8)  # hours from 立案 to 办结
    row["sign_due_at"] = created + timedelta(hours=4)
    row["handle_due_at"] = created + timedelta(days=rng.choice((1, 3, 5, 7)))
    if rng.random() < 0.03:
        row.update(status="voided", closed_at=None)
        return
    stages = [("registered", 0.3), ("dispatched", 1.0), ("signed", 2.5), ("in_progress", 4),
              ("handled", handle_h), ("verified", handle_h + 6), ("closed", handle_h + 10),
              ("evaluated", handle_h + 40)]  # fmt: skip
    status = "received"
    for stage, at_h in stages:
        if age_h < at_h or (stage == "closed" and rng.random() < 0.01):  # a few stay open long
            break
        status = stage
        stamp = created + timedelta(hours=at_h)
        column = {"in_progress": None, "verified": None}.get(stage, f"{stage}_at")
        if column:
            row[column] = stamp
    row["status"] = status
    row["updated_at"] = row.get("evaluated_at") or row.get("closed_at") or created
    if status in ("closed", "evaluated"):
        row["handling_hours"] = handle_h
        row["overdue"] = created + timedelta(hours=handle_h) > row["handle_due_at"]
        row["satisfaction"] = (
            rng.choices([5, 4, 3, 2, 1], [60, 25, 9, 4, 2])[0] if status == "evaluated" else None
        )
    else:
        row["overdue"] = row["handle_due_at"] < created + timedelta(hours=age_h)
    row["returns"] = int(rng.random() < 0.05)
    row["reworks"] = int(rng.random() < 0.04)


def rows(
    n: int, days: int, now: datetime, context: dict[str, Any], seed: int
) -> Iterator[dict[str, Any]]:
    """The synthetic case rows, oldest first."""
    rng, prng = np.random.default_rng(seed), random.Random(seed)
    areas: list[Any] = context["areas"]
    points = random_points(areas, rng.integers(0, len(areas), n), rng)
    categories = context["categories"]
    sources = [s for s, _ in SOURCES]
    source_weights = [w for _, w in SOURCES]
    for i, created in enumerate(created_times(n, days, now, rng)):
        lon, lat = float(points[i, 0]), float(points[i, 1])
        divisions = divisions_at_point(context["index"], lon, lat, context["district"])
        category = prng.choice(categories)
        routed = route(category, divisions, [])
        source = prng.choices(sources, source_weights)[0]
        row: dict[str, Any] = {
            "version": 1, "source": source, "source_key": f"BENCH-{i}",
            "category": category_code(category), "text": f"{MARK}{category.name}",
            "lon": lon, "lat": lat, "address": "", "unit_code": divisions.unit_code,
            "community_code": divisions.community_code, "grid_code": divisions.grid_code,
            "multigrid_code": divisions.multigrid_code, "owner_code": routed.owner_code,
            "loop_level": routed.loop_level.value, "department_key": routed.department_key,
            "escalate_on_breach": routed.escalate_on_breach, "urgency": "normal", "photos": [],
            "created_by": "bench-synthetic", "created_at": created,
        }  # fmt: skip
        lifecycle(row, (now - created).total_seconds() / 3600, prng)
        yield row


async def load_year(url: str, n: int, days: int = 365, seed: int = 1) -> float:
    """Insert n synthetic cases into a migrated, seeded database; the seconds it took."""
    settings = Settings(database_url=url)
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    tree = OrgTreeCache(sessions)
    index = await DivisionIndexCache(sessions, tree, settings.district_code).current()
    async with unit_of_work(sessions) as session:
        units = (
            await session.scalars(select(OrgUnit).where(OrgUnit.level.in_(COMMUNITY_LEVELS)))
        ).all()
    areas = [shape(orjson.loads(u.geometry)) for u in units if u.geometry]
    context = {"areas": areas, "index": index, "district": settings.district_code,
               "categories": all_categories()}  # fmt: skip
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    table = CaseRecord.__table__
    defaults = {c.name: None for c in table.columns if c.name != "id"}
    async with engine.begin() as conn:
        for row in rows(n, days, datetime.now(UTC), context, seed):
            batch.append({**defaults, **row})
            if len(batch) >= BATCH:
                await conn.execute(insert(table), batch)
                batch.clear()
        if batch:
            await conn.execute(insert(table), batch)
    async with engine.begin() as conn:
        # A live database has planner statistics; a bulk load must gather them, as autovacuum
        # would later, or the first queries are planned blind.
        await conn.execute(text("ANALYZE"))
    await engine.dispose()
    return time.perf_counter() - started


def main() -> None:
    """Command line: load a year of synthetic cases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", required=True, help="SQLAlchemy URL of a migrated, seeded database"
    )
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    seconds = asyncio.run(load_year(args.url, args.cases, args.days, args.seed))
    print(f"loaded {args.cases:,} synthetic cases in {seconds:.1f} s")


if __name__ == "__main__":
    main()
