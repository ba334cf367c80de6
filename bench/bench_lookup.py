"""Division lookups per second: cityops's DivisionIndex beside a bare STRtree and PostGIS.

Run: .venv/bin/python bench/bench_lookup.py [--points 1000000] [--postgis-points 200000]

Workload: N points drawn uniformly inside Songjiang's outline (seeded), each placed in its grid,
community, unit and multi-grid unit. Anchors, in the same run on the same polygons:
- a bare Shapely STRtree over the grid polygons (`query(points, predicate="intersects")`), the
  floor of a point-in-polygon index in Python (goal: cityops >= 0.8 of it);
- PostGIS `ST_Contains` joining a points table to a GiST-indexed grid table (points already
  loaded, so this is PostGIS's best case). Without PostGIS the script fails (exit 2): `make
  bench` installs it (bench/ensure_tools.sh).
Also one point at a time, as a case intake places its report: `codes_one` (the single-point
path) beside `locate_positions` on one-element arrays (the array path), microseconds per point.
The polygons are the generated, approximate ones: the timings do not depend on their accuracy.
Exit status: 0 goal met, 1 goal missed, 2 an anchor could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely
from shapely.strtree import STRtree

from cityops.bootstrap import seed_district
from cityops.config import Settings
from cityops.geo.boundaries import district_outline
from cityops.geo.lookup import DivisionIndex
from cityops.geo.service import load_division_index
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work
from cityops.kit.migrate import upgrade

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
GOAL_VS_STRTREE = 0.8
SINGLE_POINTS = 20_000


def best_rate(work: Callable[[], object], n: int, repeats: int = 5) -> float:
    """Points per second of the best of several runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return n / min(times)


def single_point_micros(
    index: DivisionIndex, lon: np.ndarray, lat: np.ndarray, repeats: int = 3
) -> tuple[float, float]:
    """Microseconds per point, one point per call: the single-point path and the array path."""
    xs, ys = lon.tolist(), lat.tolist()
    pairs = [(np.array([x]), np.array([y])) for x, y in zip(xs, ys, strict=True)]

    def one_by_one() -> object:
        return [index.codes_one(x, y) for x, y in zip(xs, ys, strict=True)]

    def arrays_of_one() -> object:
        return [index.locate_positions(x, y) for x, y in pairs]

    return 1e6 / best_rate(one_by_one, len(xs), repeats), 1e6 / best_rate(
        arrays_of_one, len(xs), repeats
    )


def points_inside(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """N seeded random points inside the district outline."""
    outline = district_outline("310117")
    shapely.prepare(outline)
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = outline.bounds
    lon: list[np.ndarray] = []
    lat: list[np.ndarray] = []
    got = 0
    while got < n:
        x = rng.uniform(minx, maxx, n)
        y = rng.uniform(miny, maxy, n)
        keep = shapely.contains_xy(outline, x, y)
        lon.append(x[keep])
        lat.append(y[keep])
        got += int(keep.sum())
    return np.concatenate(lon)[:n], np.concatenate(lat)[:n]


async def seeded_index(workdir: Path) -> DivisionIndex:
    """Migrate and seed a SQLite database, then build the index from it."""
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    engine = create_engine(url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            await seed_district(session, settings)
        async with create_sessionmaker(engine)() as session:
            return await load_division_index(session, "310117")
    finally:
        await engine.dispose()


async def postgis_rate(grids: list[str], lon: np.ndarray, lat: np.ndarray) -> float | str:
    """Points per second of PostGIS ST_Contains, or why it could not run."""
    import asyncpg

    name = f"cityops_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = await asyncpg.connect(PG_ADMIN)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL is not reachable at {PG_ADMIN} ({exc.__class__.__name__})"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + "/" + name)
        try:
            try:
                await conn.execute("CREATE EXTENSION postgis")
            except asyncpg.PostgresError as exc:
                return (
                    f"CREATE EXTENSION postgis failed: {str(exc).splitlines()[0]} "
                    "(bench/ensure_tools.sh installs PostGIS)"
                )
            await conn.execute("CREATE TABLE grids (id int, geom geometry(Geometry, 4326))")
            await conn.executemany(
                "INSERT INTO grids VALUES ($1, ST_SetSRID(ST_GeomFromGeoJSON($2), 4326))",
                list(enumerate(grids)),
            )
            await conn.execute("CREATE INDEX ON grids USING gist (geom)")
            await conn.execute("CREATE TABLE pts (id int, geom geometry(Point, 4326))")
            await conn.copy_records_to_table(
                "pts", records=[(i,) for i in range(len(lon))], columns=["id"]
            )
            await conn.execute(
                "UPDATE pts SET geom = ST_SetSRID(ST_MakePoint(x, y), 4326) FROM "
                "unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS u(x, y, k) "
                "WHERE pts.id = u.k - 1",
                lon.tolist(),
                lat.tolist(),
            )
            await conn.execute("ANALYZE")
            query = "SELECT count(*) FROM pts p JOIN grids g ON ST_Contains(g.geom, p.geom)"
            times = []
            for _ in range(3):
                start = time.perf_counter()
                await conn.fetchval(query)
                times.append(time.perf_counter() - start)
            return len(lon) / min(times)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> int:
    """Run the benchmark and print the table; the exit status (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--postgis-points", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        upgrade(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        index = asyncio.run(seeded_index(Path(tmp)))
    lon, lat = points_inside(args.points)
    grid_geoms = index.grid_geometries()
    bare = STRtree(grid_geoms)

    def ours() -> object:
        return index.locate_positions(lon, lat)

    def floor() -> object:
        return bare.query(shapely.points(lon, lat), predicate="intersects")

    rounds = [(best_rate(ours, len(lon)), best_rate(floor, len(lon))) for _ in range(2)]
    ours_rate = statistics.median(r[0] for r in rounds)
    floor_rate = statistics.median(r[1] for r in rounds)
    n_one = min(SINGLE_POINTS, len(lon))
    one_us, array_us = single_point_micros(index, lon[:n_one], lat[:n_one])
    n_pg = min(args.postgis_points, len(lon))
    pg = asyncio.run(
        postgis_rate(
            [json.dumps(shapely.geometry.mapping(g)) for g in grid_geoms], lon[:n_pg], lat[:n_pg]
        )
    )
    located = index.locate_positions(lon, lat)
    ratio = ours_rate / floor_rate
    print(f"division lookup, {len(lon):,} points inside 310117, {len(grid_geoms):,} grid polygons")
    print(
        f"  placed in a grid: {(located.grid >= 0).mean():.1%}  (rest: edges of the generated tiling)"
    )
    print(f"  {'workload':<44}{'points/s':>14}{'ratio':>10}")
    print(
        f"  {'cityops DivisionIndex (grid+community+unit+multigrid)':<44}{ours_rate:>14,.0f}{'':>10}"
    )
    print(
        f"  {'bare Shapely STRtree (grids only)':<44}{floor_rate:>14,.0f}{ratio:>10.2f}"
        f"  goal >= {GOAL_VS_STRTREE}"
    )
    if isinstance(pg, float):
        print(
            f"  {f'PostGIS ST_Contains ({n_pg:,} pts, GiST)':<44}{pg:>14,.0f}{ours_rate / pg:>10.2f}  (cityops / PostGIS)"
        )
    print(f"  one point per call ({n_one:,} points), as a case intake places its report:")
    print(f"    codes_one (single-point path): {one_us:.1f} us per point")
    print(f"    locate_positions on one-element arrays (array path): {array_us:.1f} us per point")
    met = ratio >= GOAL_VS_STRTREE
    print(f"  goal: cityops >= {GOAL_VS_STRTREE} x bare STRtree: {'met' if met else 'NOT met'}")
    if isinstance(pg, str):
        print(f"  FAILED: the PostGIS anchor did not run: {pg}")
        return 2
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
