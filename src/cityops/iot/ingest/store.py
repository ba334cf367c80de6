"""One batch into the tables in one transaction: telemetry, latest values, last seen, dead letters.

PostgreSQL gets one multi-row statement per table (arrays through unnest), SQLite a multi-row
insert; both skip a (device, key, ts) already stored, so a redelivered message is stored once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.iot.ingest.accept import DeadRow
from cityops.iot.models import DeadLetter, Device, Telemetry, TelemetryLatest
from cityops.iot.readings import Reading

_PG_TELEMETRY = text(
    "INSERT INTO telemetry (device_id, key, ts, value_num, value_text, received_at) "
    "SELECT * FROM unnest(CAST(:d AS text[]), CAST(:k AS text[]), CAST(:t AS timestamptz[]), "
    "CAST(:n AS float8[]), CAST(:x AS text[]), CAST(:r AS timestamptz[])) "
    "ON CONFLICT DO NOTHING"
)
_PG_LATEST = text(
    "INSERT INTO telemetry_latest (device_id, key, ts, value_num, value_text) "
    "SELECT * FROM unnest(CAST(:d AS text[]), CAST(:k AS text[]), CAST(:t AS timestamptz[]), "
    "CAST(:n AS float8[]), CAST(:x AS text[])) "
    "ON CONFLICT (device_id, key) DO UPDATE SET ts = excluded.ts, "
    "value_num = excluded.value_num, value_text = excluded.value_text "
    "WHERE telemetry_latest.ts < excluded.ts"
)
#: SQLite binds at most 32,766 parameters per statement: 6 per row.
_SQLITE_CHUNK = 5000


def split_value(value: float | bool | str) -> tuple[float | None, str | None]:
    """A value in its two columns: numbers and booleans (1/0) as numbers, text as text."""
    if isinstance(value, str):
        return None, value
    return float(value), None


def newest_per_key(readings: Sequence[Reading]) -> list[Reading]:
    """The newest reading of each (device, key) in a batch (an upsert may touch a row once)."""
    newest: dict[tuple[str, str], Reading] = {}
    for r in readings:
        seen = newest.get((r.device_id, r.key))
        if seen is None or seen.ts < r.ts:
            newest[(r.device_id, r.key)] = r
    return list(newest.values())


def _columns(readings: Sequence[Reading]) -> dict[str, list[Any]]:
    nums: list[float | None] = []
    texts: list[str | None] = []
    for r in readings:
        n, x = split_value(r.value)
        nums.append(n)
        texts.append(x)
    return {
        "d": [r.device_id for r in readings],
        "k": [r.key for r in readings],
        "t": [r.ts for r in readings],
        "n": nums,
        "x": texts,
        "r": [r.received_at for r in readings],
    }


async def _store_pg(session: AsyncSession, readings: Sequence[Reading]) -> int:
    result = await session.execute(_PG_TELEMETRY, _columns(readings))
    latest = _columns(newest_per_key(readings))
    latest.pop("r")
    await session.execute(_PG_LATEST, latest)
    return int(getattr(result, "rowcount", 0) or 0)


async def _store_sqlite(session: AsyncSession, readings: Sequence[Reading]) -> int:
    stored = 0
    for start in range(0, len(readings), _SQLITE_CHUNK):
        chunk = readings[start : start + _SQLITE_CHUNK]
        rows = [
            dict(zip(("value_num", "value_text"), split_value(r.value), strict=True))
            | {"device_id": r.device_id, "key": r.key, "ts": r.ts, "received_at": r.received_at}
            for r in chunk
        ]
        result = await session.execute(
            sqlite_insert(Telemetry).values(rows).on_conflict_do_nothing()
        )
        stored += int(getattr(result, "rowcount", 0) or 0)
    for start in range(0, len(readings), _SQLITE_CHUNK):
        newest = newest_per_key(readings[start : start + _SQLITE_CHUNK])
        rows = [
            dict(zip(("value_num", "value_text"), split_value(r.value), strict=True))
            | {"device_id": r.device_id, "key": r.key, "ts": r.ts}
            for r in newest
        ]
        stmt = sqlite_insert(TelemetryLatest).values(rows)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["device_id", "key"],
                set_={
                    "ts": stmt.excluded.ts,
                    "value_num": stmt.excluded.value_num,
                    "value_text": stmt.excluded.value_text,
                },
                where=TelemetryLatest.ts < stmt.excluded.ts,
            )
        )
    return stored


async def store_batch(
    session: AsyncSession, readings: Sequence[Reading], dead: Sequence[DeadRow], now: datetime
) -> int:
    """Store a batch (the caller commits); the number of readings new to the table."""
    stored = 0
    if readings:
        if session.get_bind().dialect.name == "postgresql":
            stored = await _store_pg(session, readings)
        else:
            stored = await _store_sqlite(session, readings)
        seen = sorted({r.device_id for r in readings})
        await session.execute(
            update(Device).where(Device.id.in_(seen)).values(last_seen=now, online=True)
        )
    if dead:
        await session.execute(
            insert(DeadLetter),
            [
                {
                    "received_at": d.received_at,
                    "channel": d.channel,
                    "topic": d.topic,
                    "owner_code": d.owner_code,
                    "device_id": d.device_id,
                    "reason": d.reason,
                    "raw": d.raw,
                }
                for d in dead
            ],
        )
    return stored
