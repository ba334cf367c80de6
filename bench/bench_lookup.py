"""Division lookups per second: cityops's DivisionIndex beside a bare STRtree and PostGIS.

Run: .venv/bin/python bench/bench_lookup.py [--points 1000000] [--postgis-points 200000]

Workload: N points drawn uniformly inside Songjiang's outline (seeded), each placed in its grid,
community, unit and multi-grid unit. Anchors, in the same run on the same polygons:
- a bare Shapely STRtree over the grid polygons (`query(points, predicate="intersects")`), the
  floor of a point-in-polygon index in Python (goal: cityops >= 0.8 of it);
- PostGIS `ST_Contains` joining a points table to a GiST-indexed grid table (points already
  loaded, so this is PostGIS's best case; skipped with a note if PostGIS is not installed).
The polygons are the generated, approximate ones: the timings do not depend on their accuracy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
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


def best_rate(work: Callable[[], object], n: int, repeats: int = 5) -> float:
    """Points per second of the best of several runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return n / min(times)


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
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + "/" + name)
        try:
            try:
                await conn.execute("CREATE EXTENSION postgis")
            except asyncpg.PostgresError as exc:
                return f"skipped: PostGIS not installed ({exc.__class__.__name__}); apt-get install postgresql-15-postgis-3"
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


def main() -> None:
    """Run the benchmark and print the table."""
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
    n_pg = min(args.postgis_points, len(lon))
    pg = asyncio.run(
        postgis_rate(
            [json.dumps(shapely.geometry.mapping(g)) for g in grid_geoms], lon[:n_pg], lat[:n_pg]
        )
    )
    located = index.locate_positions(lon, lat)
    print(f"division lookup, {len(lon):,} points inside 310117, {len(grid_geoms):,} grid polygons")
    print(
        f"  placed in a grid: {(located.grid >= 0).mean():.1%}  (rest: edges of the generated tiling)"
    )
    print(f"  {'workload':<44}{'points/s':>14}{'ratio':>10}")
    print(
        f"  {'cityops DivisionIndex (grid+community+unit+multigrid)':<44}{ours_rate:>14,.0f}{'':>10}"
    )
    print(
        f"  {'bare Shapely STRtree (grids only)':<44}{floor_rate:>14,.0f}{ours_rate / floor_rate:>10.2f}  goal >= 0.8"
    )
    if isinstance(pg, float):
        print(
            f"  {f'PostGIS ST_Contains ({n_pg:,} pts, GiST)':<44}{pg:>14,.0f}{ours_rate / pg:>10.2f}  (cityops / PostGIS)"
        )
    else:
        print(f"  PostGIS: {pg}")


if __name__ == "__main__":
    main()
