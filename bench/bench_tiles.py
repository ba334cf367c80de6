"""Vector tile generation: cityops (uncached and cached) beside PostGIS ST_AsMVT on the same data.

Run: .venv/bin/python bench/bench_tiles.py [--zooms 10-14] [--rounds 3]

Workload: every tile of zooms 10–14 that touches Songjiang, for the layers `units`,
`communities` (from zoom 10) and `grids` (from zoom 12) — the seeded, generated (approximate)
polygons; the timings do not depend on their accuracy. Each tile holds the layer's polygons
and a `labels` layer of one point per polygon, with the same properties, on both sides.

- cityops uncached: what the tile endpoint runs on a cache miss — the layer's `version`,
  `features` (spatial index, scope mask) and `render_tile` (clip, move to tile space, simplify,
  encode) — for a district officer (the whole district in scope).
- cityops cached: what the endpoint runs on a hit — version, scope key, key and an LRU lookup.
- PostGIS: the same polygons and label points, projected to EPSG:3857 and GiST-indexed in a
  fresh database; one prepared `ST_AsMVT(ST_AsMVTGeom(…))` query per tile over asyncpg on
  127.0.0.1, the round trip included (a tile server on PostGIS pays it too).
Goals: uncached ≤ 2× PostGIS's time; cached ≥ 10× faster than PostGIS.
Each side runs the whole set `--rounds` times; the best round counts. HTTP is left out of all
three (it is the same for each).
Exit status: 0 goals met, 1 a goal missed, 2 PostGIS (the anchor) could not run: `make bench`
installs it (bench/ensure_tools.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry import mapping
from sqlalchemy.ext.asyncio import AsyncEngine

from cityops.auth.principal import Principal
from cityops.bootstrap import seed_district
from cityops.config import Settings
from cityops.geo.layers import BBox, FeatureTable, Layer, LayerContext
from cityops.geo.map.tiles import TileCache, TileKey, query_box, render_tile, tiles_covering
from cityops.geo.org_layers import CommunitiesLayer, GridsLayer, UnitsLayer, org_tables
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work
from cityops.kit.migrate import upgrade
from cityops.kit.scope import DataScope
from cityops.org.tree import OrgTreeCache

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
LAYERS: tuple[Layer, ...] = (UnitsLayer(), CommunitiesLayer(), GridsLayer())
Run = Callable[[], Awaitable[object]]
DUTY = Principal(
    account_id=1,
    username="bench",
    display_name="bench",
    role="district_officer",
    org_code="310117",
    department_id=None,
    scope=DataScope.of(["310117"]),
    must_change_password=False,
    token_id=1,
    token_kind="session",
)
#: Property columns per layer, in the order both sides write them.
COLUMNS = {
    "units": ["code", "name", "level", "in_guideline_18", "approximate"],
    "communities": ["code", "name", "level", "unit_code", "multigrid_code", "approximate"],
    "grids": ["code", "name", "community_code", "synthetic", "approximate"],
}
SQL_TYPES = {bool: "boolean", str: "text"}
GOAL_UNCACHED = 2.0  # cityops uncached at most twice PostGIS's time
GOAL_HIT = 10.0  # a cache hit at least ten times faster than PostGIS


@dataclass(frozen=True, slots=True)
class Job:
    """One tile of one layer."""

    layer: Layer
    z: int
    x: int
    y: int


async def prepare(workdir: Path) -> tuple[LayerContext, AsyncEngine]:
    """Migrate and seed a SQLite database and build the layers' context on it."""
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)  # Alembic runs its own event loop
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    engine = create_engine(url)
    async with unit_of_work(create_sessionmaker(engine)) as session:
        await seed_district(session, settings)
    sessions = create_sessionmaker(engine)
    return LayerContext(sessions, OrgTreeCache(sessions), settings), engine


def jobs(bounds: list[float], zooms: range) -> list[Job]:
    """Every tile of the zooms touching the district, per layer within its zoom range."""
    out: list[Job] = []
    for z in zooms:
        for x, y in tiles_covering(*bounds, z):
            out.extend(Job(layer, z, x, y) for layer in LAYERS if layer.min_zoom <= z)
    return out


async def cityops_uncached(ctx: LayerContext, work: list[Job]) -> list[bytes]:
    """Cut and encode every tile."""
    out = []
    for job in work:
        version = await job.layer.version(ctx)
        box = BBox.from_mercator(*query_box(job.z, job.x, job.y))
        batch = await job.layer.features(ctx, box, DUTY, version)
        out.append(render_tile(job.layer.name, job.layer.geometry, batch, job.z, job.x, job.y))
    return out


async def key_of(ctx: LayerContext, job: Job) -> TileKey:
    """The cache key of a tile for the district officer, as the endpoint makes it."""
    version = await job.layer.version(ctx)
    return TileKey(job.layer.name, job.z, job.x, job.y, version, job.layer.scope_key(DUTY))


async def cityops_cached(ctx: LayerContext, work: list[Job], cache: TileCache) -> int:
    """Look every tile up in a warm cache, as the endpoint does on a hit (ETag included)."""
    found = 0
    for job in work:
        key = await key_of(ctx, job)
        key.etag()
        found += cache.get(key) is not None
    return found


def _rows(tables: dict[str, FeatureTable], name: str) -> list[tuple[object, ...]]:
    """Rows for PostGIS: properties, polygon GeoJSON (WGS84) and label point (Mercator)."""
    batch = tables[name].batch
    labels = batch.labels  # Web Mercator points, the very ones cityops writes
    assert labels is not None
    rows = []
    for props, geom, label in zip(batch.properties, batch.wgs84, labels, strict=True):
        values = [props[c] for c in COLUMNS[name]]
        rows.append((*values, json.dumps(mapping(geom)), json.dumps(mapping(label))))
    return rows


@asynccontextmanager
async def postgis(ctx: LayerContext, work: list[Job]) -> AsyncIterator[Run | str]:
    """A fresh PostGIS database with the layers loaded: yields a run over the tiles, or why not."""
    import asyncpg

    tables = (await org_tables(ctx)).tables
    name = f"cityops_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = await asyncpg.connect(PG_ADMIN)
    except (OSError, asyncpg.PostgresError) as exc:
        yield f"PostgreSQL is not reachable at {PG_ADMIN} ({exc.__class__.__name__})"
        return
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + "/" + name)
        try:
            try:
                await conn.execute("CREATE EXTENSION postgis")
            except asyncpg.PostgresError as exc:
                yield (
                    f"CREATE EXTENSION postgis failed: {str(exc).splitlines()[0]} "
                    "(bench/ensure_tools.sh installs PostGIS)"
                )
                return
            for layer in LAYERS:
                await load_layer(conn, layer.name, _rows(tables, layer.name))
            await conn.execute("ANALYZE")
            statements = {layer.name: await conn.prepare(tile_sql(layer.name)) for layer in LAYERS}

            async def run() -> list[bytes]:
                return [await statements[j.layer.name].fetchval(j.z, j.x, j.y) for j in work]

            yield run
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def load_layer(conn: object, name: str, rows: list[tuple[object, ...]]) -> None:
    """A table of the layer's features in EPSG:3857 with GiST indexes on polygon and label."""
    columns = COLUMNS[name]
    sample = rows[0]
    defs = ", ".join(f"{c} {SQL_TYPES[type(v)]}" for c, v in zip(columns, sample, strict=False))
    await conn.execute(  # type: ignore[attr-defined]
        f"CREATE TABLE {name} ({defs}, geom geometry(Geometry, 3857), label geometry(Point, 3857))"
    )
    n = len(columns)
    placeholders = ", ".join(f"${i + 1}" for i in range(n))
    await conn.executemany(  # type: ignore[attr-defined]
        f"INSERT INTO {name} VALUES ({placeholders}, "  # noqa: S608 - names are our constants
        f"ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(${n + 1}), 4326), 3857), "
        f"ST_SetSRID(ST_GeomFromGeoJSON(${n + 2}), 3857))",
        rows,
    )
    await conn.execute(f"CREATE INDEX ON {name} USING gist (geom)")  # type: ignore[attr-defined]
    await conn.execute(f"CREATE INDEX ON {name} USING gist (label)")  # type: ignore[attr-defined]


def tile_sql(name: str) -> str:
    """One tile of a layer: clipped, simplified polygons and the label points inside the tile."""
    cols = ", ".join(COLUMNS[name])
    return f"""
        WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e,
                            ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096) AS m),
        shapes AS (
            SELECT {cols}, ST_AsMVTGeom(t.geom, env.e, 4096, 64, true) AS geom
            FROM {name} t, env WHERE t.geom && env.m),
        labels AS (
            SELECT {cols}, ST_AsMVTGeom(t.label, env.e, 4096, 0, false) AS geom
            FROM {name} t, env WHERE t.label && env.e)
        SELECT coalesce((SELECT ST_AsMVT(shapes, '{name}', 4096, 'geom') FROM shapes), '')
            || coalesce((SELECT ST_AsMVT(labels, 'labels', 4096, 'geom') FROM labels), '')
    """  # noqa: S608 - layer and column names are this script's constants


def forget_zoom_encodings(tables: dict[str, FeatureTable]) -> None:
    """Drop what the tiler derived per zoom, so a run starts from the geometries."""
    for table in tables.values():
        table.derived.clear()


async def timed(run: Run) -> float:
    """Seconds one run takes."""
    start = time.perf_counter()
    await run()
    return time.perf_counter() - start


async def run(zooms: range, rounds: int) -> int:
    """Measure the three sides in alternating rounds (drift cancels); the exit status."""
    with tempfile.TemporaryDirectory() as tmp:
        ctx, engine = await prepare(Path(tmp))
        try:
            tables = (await org_tables(ctx)).tables
            bounds = [float(v) for v in shapely.total_bounds(tables["district"].batch.wgs84)]
            work = jobs(bounds, zooms)
            tiles = await cityops_uncached(ctx, work)  # warm up imports and scope masks
            cache = TileCache()
            for job, data in zip(work, tiles, strict=True):
                cache.put(await key_of(ctx, job), data)
            times: dict[str, list[float]] = {"cold": [], "warm": [], "hit": [], "pg": []}
            async with postgis(ctx, work) as pg:
                pg_tiles = await pg() if not isinstance(pg, str) else []
                for _ in range(rounds):
                    forget_zoom_encodings(tables)
                    times["cold"].append(await timed(lambda: cityops_uncached(ctx, work)))
                    times["warm"].append(await timed(lambda: cityops_uncached(ctx, work)))
                    times["hit"].append(await timed(lambda: cityops_cached(ctx, work, cache)))
                    if not isinstance(pg, str):
                        times["pg"].append(await timed(pg))
        finally:
            await engine.dispose()
    best = {k: min(v) for k, v in times.items() if v}
    return report(work, tiles, best, pg if isinstance(pg, str) else pg_tiles, zooms)


def report(
    work: list[Job],
    tiles: list[bytes],
    best: dict[str, float],
    pg: list[bytes] | str,
    zooms: range,
) -> int:
    """Print times per tile and the ratios against the goals; the exit status."""
    n = len(work)
    per = {layer.name: sum(1 for j in work if j.layer is layer) for layer in LAYERS}
    print(
        f"vector tiles, zooms {zooms.start}-{zooms.stop - 1} over 310117: {n} tiles "
        f"({', '.join(f'{k} {v}' for k, v in per.items())}); best of alternating rounds"
    )
    rows = [
        ("cityops uncached, per-zoom encodings cold", best["cold"]),
        ("cityops uncached, per-zoom encodings warm", best["warm"]),
        ("cityops cache hit (version + key + LRU)", best["hit"]),
    ]
    if "pg" in best:
        rows.append(("PostGIS ST_AsMVT (prepared, asyncpg)", best["pg"]))
    print(f"  {'workload':<46}{'total ms':>10}{'ms/tile':>10}")
    for label, seconds in rows:
        print(f"  {label:<46}{seconds * 1e3:>10.1f}{seconds * 1e3 / n:>10.3f}")
    ours = sum(1 for t in tiles if t)
    print(f"  cityops: {ours} non-empty tiles, {sum(map(len, tiles)) / 1024:,.0f} KiB")
    if isinstance(pg, str):
        print(f"  FAILED: the PostGIS anchor did not run: {pg}")
        return 2
    print(
        f"  PostGIS: {sum(1 for t in pg if t)} non-empty tiles, {sum(len(t or b'') for t in pg) / 1024:,.0f} KiB"
    )
    pg_time = best["pg"]
    uncached, hit = best["cold"] / pg_time, pg_time / best["hit"]
    print(f"  cityops uncached (cold) / PostGIS: {uncached:.2f}   (goal <= {GOAL_UNCACHED:g})")
    print(f"  cityops uncached (warm) / PostGIS: {best['warm'] / pg_time:.2f}")
    print(f"  PostGIS / cityops cache hit: {hit:.0f}x   (goal >= {GOAL_HIT:g})")
    met = uncached <= GOAL_UNCACHED and hit >= GOAL_HIT
    print(f"  goals: {'met' if met else 'NOT met'}")
    return 0 if met else 1


def main() -> int:
    """Parse the arguments and run; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zooms", default="10-14", help="first-last zoom, e.g. 10-14")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    first, last = (int(v) for v in args.zooms.split("-"))
    return asyncio.run(run(range(first, last + 1), args.rounds))


if __name__ == "__main__":
    sys.exit(main())
