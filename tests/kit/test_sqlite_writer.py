"""SQLite writers take turns: in arrival order within a process, by a file lock across processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from cityops.kit import sqlite_writer
from cityops.kit.db import create_engine
from cityops.kit.sqlite_writer import writes


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("SELECT 1", False),
        ("  select * from t", False),
        ("PRAGMA table_info(t)", False),
        ("SAVEPOINT sa_savepoint_1", False),
        ("RELEASE SAVEPOINT sa_savepoint_1", False),
        ("ROLLBACK TO SAVEPOINT sa_savepoint_1", False),
        ("WITH RECURSIVE up(code) AS (SELECT 1) SELECT * FROM up", False),
        ("INSERT INTO t VALUES (1)", True),
        ("UPDATE t SET a = 1", True),
        ("DELETE FROM t", True),
        ("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", True),
        ("CREATE TABLE u (a INT)", True),
    ],
)
def test_what_counts_as_a_write(statement: str, expected: bool) -> None:
    assert writes(statement) is expected


async def _engine(path: Path) -> AsyncEngine:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE turn (n INTEGER, at REAL)"))
    return engine


async def _write(engine: AsyncEngine, n: int, hold_s: float) -> None:
    """Insert a row, keep the transaction open a while (work after the write), commit."""
    async with engine.begin() as conn:
        await conn.execute(text("SELECT count(*) FROM turn"))  # reads first, as services do
        await conn.execute(text("INSERT INTO turn VALUES (:n, :at)"), {"n": n, "at": time.time()})
        await asyncio.sleep(hold_s)


def test_writers_go_in_the_order_they_asked(tmp_path: Path) -> None:
    async def run() -> list[int]:
        engine = await _engine(tmp_path / "w.db")
        try:

            async def writer(n: int) -> None:
                await asyncio.sleep(0.01 * n)  # arrive one after another, faster than turns go
                await _write(engine, n, 0.03)

            await asyncio.gather(*(writer(n) for n in range(10)))
            async with engine.connect() as conn:
                rows = await conn.execute(text("SELECT n FROM turn ORDER BY rowid"))  # as written
                return [int(r[0]) for r in rows]
        finally:
            await engine.dispose()

    began = time.perf_counter()
    order = asyncio.run(run())
    assert order == list(range(10))
    # Ten turns of ~30 ms each, back to back: no busy-handler sleeps stretched them.
    assert time.perf_counter() - began < 1.5


def test_readers_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    async def run() -> float:
        engine = await _engine(tmp_path / "r.db")
        try:
            writer = asyncio.create_task(_write(engine, 1, 0.5))
            await asyncio.sleep(0.05)  # the writer holds its turn, uncommitted
            began = time.perf_counter()
            async with engine.connect() as conn:
                await conn.execute(text("SELECT count(*) FROM turn"))
            took = time.perf_counter() - began
            await writer
            return took
        finally:
            await engine.dispose()

    assert asyncio.run(run()) < 0.25


def test_a_rolled_back_writer_gives_its_turn_up(tmp_path: Path) -> None:
    async def run() -> int:
        engine = await _engine(tmp_path / "b.db")
        try:
            with pytest.raises(RuntimeError):
                async with engine.begin() as conn:
                    await conn.execute(text("INSERT INTO turn VALUES (1, 0)"))
                    raise RuntimeError("the work failed after writing")
            await asyncio.wait_for(_write(engine, 2, 0), 2)
            async with engine.connect() as conn:
                return int((await conn.execute(text("SELECT count(*) FROM turn"))).scalar_one())
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == 1


def test_a_second_writer_in_the_same_task_fails_instead_of_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_writer, "WRITE_WAIT_S", 0.3)

    async def run() -> None:
        engine = await _engine(tmp_path / "d.db")
        try:
            async with engine.begin() as outer:
                await outer.execute(text("INSERT INTO turn VALUES (1, 0)"))
                began = time.perf_counter()
                with pytest.raises(OperationalError, match="database is locked"):
                    async with engine.begin() as inner:
                        await inner.execute(text("INSERT INTO turn VALUES (2, 0)"))
                assert time.perf_counter() - began < 2  # its own wait, not busy_timeout's 10 s
            await asyncio.wait_for(_write(engine, 3, 0), 2)  # turns still work afterwards
        finally:
            await engine.dispose()

    asyncio.run(run())


# Another worker process: writes row 1, says so, keeps its transaction open, then commits.
_HOLDER = """
import asyncio, sys, time
from sqlalchemy import text
from cityops.kit.db import create_engine

async def main(path, hold_s):
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO turn VALUES (1, :at)"), {"at": time.time()})
        print("holding", flush=True)
        await asyncio.sleep(hold_s)
    await engine.dispose()

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


def _make_table(path: Path) -> None:
    async def make() -> None:
        await (await _engine(path)).dispose()

    asyncio.run(make())


@contextmanager
def _other_process_writing(path: Path, hold_s: float) -> Iterator[subprocess.Popen[str]]:
    """Run a second process that holds the write turn for `hold_s` seconds."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), str(hold_s)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        holder.wait(timeout=30)


def _impatient_engine(path: Path) -> AsyncEngine:
    """An engine whose connections fail at once if SQLite finds the file locked (no busy wait)."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")

    @event.listens_for(engine.sync_engine, "connect")
    def no_busy_wait(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.close()

    return engine


async def _rows(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return [int(r[0]) for r in await conn.execute(text("SELECT n FROM turn ORDER BY rowid"))]


def test_a_writer_waits_for_another_processs_writer_instead_of_meeting_sqlite_busy(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.db"
    _make_table(path)

    async def write_while_held() -> tuple[float, list[int]]:
        engine = _impatient_engine(path)
        try:
            began = time.perf_counter()
            await _write(engine, 2, 0)  # without the file lock: "database is locked" at once
            return time.perf_counter() - began, await _rows(engine)
        finally:
            await engine.dispose()

    with _other_process_writing(path, 0.6) as holder:
        waited, rows = asyncio.run(write_while_held())
    assert holder.returncode == 0
    assert rows == [1, 2]
    assert waited > 0.3  # it waited for the other process's commit


def test_a_writer_that_gives_up_on_another_process_leaves_the_file_unlocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_writer, "WRITE_WAIT_S", 0.3)
    path = tmp_path / "g.db"
    _make_table(path)

    async def give_up_then_write(holder: subprocess.Popen[str]) -> list[int]:
        engine = _impatient_engine(path)
        try:
            with pytest.raises(OperationalError, match="another process's writer"):
                await _write(engine, 2, 0)
            await asyncio.to_thread(holder.wait, 30)
            # The abandoned wait got the lock when the holder let go, and let it go at once.
            await asyncio.wait_for(_write(engine, 3, 0), 2)
            return await _rows(engine)
        finally:
            await engine.dispose()

    with _other_process_writing(path, 1.0) as holder:
        rows = asyncio.run(give_up_then_write(holder))
    assert rows == [1, 3]
