"""SQLite writers take turns: in arrival order within a process, by a file lock across processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
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


async def _write(engine: AsyncEngine, n: int, hold: asyncio.Event | None = None) -> None:
    """Insert a row, keep the transaction open until `hold` is set (work after the write), commit."""
    async with engine.begin() as conn:
        await conn.execute(text("SELECT count(*) FROM turn"))  # reads first, as services do
        await conn.execute(text("INSERT INTO turn VALUES (:n, :at)"), {"n": n, "at": time.time()})
        if hold is not None:
            await hold.wait()


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


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Let the loop run until `condition` holds; a bounded count of turns, not a clock."""
    for _ in range(100_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")


def _waiting(lock: asyncio.Lock) -> int:
    """How many writers queue on a process's turn (asyncio keeps them in `_waiters`)."""
    return len(getattr(lock, "_waiters", None) or ())


def test_writers_go_in_the_order_they_asked(tmp_path: Path) -> None:
    async def run() -> list[int]:
        path = tmp_path / "w.db"
        await (await _engine(path)).dispose()
        # No busy wait: a writer that met another in SQLite's busy handler would fail at once.
        engine = _impatient_engine(path)
        turn = sqlite_writer._lock(str(path.resolve()))
        first_holds = asyncio.Event()
        try:
            writers = [asyncio.create_task(_write(engine, 0, first_holds))]
            await _until(turn.locked, "the first writer has the turn")
            for n in range(1, 10):  # each asks only once the one before it queues
                writers.append(asyncio.create_task(_write(engine, n)))
                await _until(lambda n=n: _waiting(turn) == n, f"writer {n} queues")
            first_holds.set()
            await asyncio.wait_for(asyncio.gather(*writers), 60)  # a hang guard, not a bound
            return await _rows(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == list(range(10))


def test_readers_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    async def run() -> tuple[int, list[int]]:
        path = tmp_path / "r.db"
        await (await _engine(path)).dispose()
        engine = _impatient_engine(path)
        holding = asyncio.Event()
        try:
            writer = asyncio.create_task(_write(engine, 1, holding))
            turn = sqlite_writer._lock(str(path.resolve()))
            await _until(turn.locked, "the writer holds its turn, uncommitted")
            # The writer commits only after the read: a read that waited for it would hang.
            async with engine.connect() as conn:
                seen = int(
                    (await asyncio.wait_for(conn.scalar(text("SELECT count(*) FROM turn")), 60))
                    or 0
                )
            holding.set()
            await writer
            return seen, await _rows(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == (0, [1])  # the read ran beside the writer and saw its snapshot


def test_a_rolled_back_writer_gives_its_turn_up(tmp_path: Path) -> None:
    async def run() -> int:
        engine = await _engine(tmp_path / "b.db")
        try:
            with pytest.raises(RuntimeError):
                async with engine.begin() as conn:
                    await conn.execute(text("INSERT INTO turn VALUES (1, 0)"))
                    raise RuntimeError("the work failed after writing")
            await asyncio.wait_for(_write(engine, 2), 60)
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
                # Its own wait for a turn gives up (not SQLite's busy_timeout of 10 s).
                with pytest.raises(OperationalError, match=r"no write turn within 0\.3 s"):
                    async with engine.begin() as inner:
                        await inner.execute(text("INSERT INTO turn VALUES (2, 0)"))
            await asyncio.wait_for(_write(engine, 3), 60)  # turns still work afterwards
        finally:
            await engine.dispose()

    asyncio.run(run())


# Another worker process: writes row 1, says so, keeps its transaction open until told, commits.
_HOLDER = """
import asyncio, sys, time
from sqlalchemy import text
from cityops.kit.db import create_engine

async def main(path):
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO turn VALUES (1, :at)"), {"at": time.time()})
        print("holding", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
    await engine.dispose()

asyncio.run(main(sys.argv[1]))
"""


def _make_table(path: Path) -> None:
    async def make() -> None:
        await (await _engine(path)).dispose()

    asyncio.run(make())


class _Holder:
    """A second process that holds the write turn until `commit` is called."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "holding"

    def commit(self) -> int:
        """Let the holder commit and exit; its exit status."""
        assert self.process.stdin is not None
        self.process.stdin.write("commit\n")
        self.process.stdin.flush()
        return self.process.wait(timeout=60)


@contextmanager
def _other_process_writing(path: Path) -> Iterator[_Holder]:
    holder = _Holder(path)
    try:
        yield holder
    finally:
        if holder.process.poll() is None:
            holder.process.kill()
            holder.process.wait()


def _flock_waits_seen(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An event set when a writer starts waiting for another process's flock."""
    began = threading.Event()
    real = sqlite_writer._FlockWait.run

    def run(self: sqlite_writer._FlockWait) -> None:
        began.set()
        real(self)

    monkeypatch.setattr(sqlite_writer._FlockWait, "run", run)
    return began


def test_a_writer_waits_for_another_processs_writer_instead_of_meeting_sqlite_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.db"
    _make_table(path)
    waiting = _flock_waits_seen(monkeypatch)

    async def write_while_held(holder: _Holder) -> tuple[int, list[int]]:
        engine = _impatient_engine(path)
        try:
            # Without the file lock: "database is locked" at once (busy_timeout=0).
            write = asyncio.create_task(_write(engine, 2))
            assert await asyncio.to_thread(waiting.wait, 60), "the writer never waited"
            assert not write.done()  # it waits for the other process, uncommitted
            status = await asyncio.to_thread(holder.commit)
            await asyncio.wait_for(write, 60)
            return status, await _rows(engine)
        finally:
            await engine.dispose()

    with _other_process_writing(path) as holder:
        assert asyncio.run(write_while_held(holder)) == (0, [1, 2])


def test_a_writer_that_gives_up_on_another_process_leaves_the_file_unlocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_writer, "WRITE_WAIT_S", 0.3)
    path = tmp_path / "g.db"
    _make_table(path)

    async def give_up_then_write(holder: _Holder) -> list[int]:
        engine = _impatient_engine(path)
        try:
            with pytest.raises(OperationalError, match="another process's writer"):
                await _write(engine, 2)  # the holder keeps the turn until told
            assert await asyncio.to_thread(holder.commit) == 0
            # The abandoned wait got the lock when the holder let go, and let it go at once.
            await asyncio.wait_for(_write(engine, 3), 60)
            return await _rows(engine)
        finally:
            await engine.dispose()

    with _other_process_writing(path) as holder:
        assert asyncio.run(give_up_then_write(holder)) == [1, 3]
