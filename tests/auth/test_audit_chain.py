"""The audit chain on SQLite and PostgreSQL: entries edited, deleted or inserted straight in the
database are found and named, two writers never fork it, and a purge keeps it verifiable."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth import audit
from cityops.auth.audit import chain as audit_chain
from cityops.auth.audit.admin import purge
from cityops.config import Settings
from cityops.kit.db import create_engine, create_sessionmaker, in_unit_of_work, unit_of_work, utcnow
from cityops.kit.migrate import upgrade
from tests.conftest import PG_ADMIN_URL, _pg_create_database, _pg_drop_database, require_postgres
from tests.test_cli import CITYOPS


@dataclass
class ChainDb:
    """A migrated database of its own (tampering must not touch the shared one)."""

    name: str
    url: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def chain_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChainDb]:
    """A fresh, migrated database per backend for this module."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('chain') / 'chain.db'}"
    else:
        require_postgres()
        url = asyncio.run(_pg_create_database(PG_ADMIN_URL))
    upgrade(url)
    yield ChainDb(request.param, url)
    if request.param == "postgresql":
        asyncio.run(_pg_drop_database(PG_ADMIN_URL, url))


def sql(db: ChainDb, *statements: str) -> None:
    """Run statements straight on the database, as its owner would with psql or sqlite3."""

    async def go() -> None:
        engine = create_engine(db.url)
        try:
            async with engine.begin() as conn:
                for statement in statements:
                    await conn.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(go())


def behind_the_triggers(db: ChainDb, statement: str) -> None:
    """Change audit_log past its append-only triggers, like an intruder with the owner's rights."""
    if db.name == "postgresql":
        sql(
            db,
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
            statement,
            "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change",
        )
    else:
        sql(
            db,
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
            statement,
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        )


def fresh_chain(db: ChainDb, count: int) -> list[int]:
    """Empty the log and head, then append `count` entries; their ids in order."""
    behind_the_triggers(db, "DELETE FROM audit_log")
    sql(db, "UPDATE audit_chain SET last_seq=0, last_mac='', anchor_seq=0, anchor_mac='', tag=''")

    async def work(session: AsyncSession) -> None:
        for n in range(count):
            await audit.record(
                session,
                action="test.act",
                result="success",
                actor_name=f"tester{n}",
                detail={"n": n, "phone_masked": "138****5678"},
            )

    asyncio.run(in_unit_of_work(db.url, work))
    return [int(r) for r in ids(db)]


def ids(db: ChainDb) -> list[int]:
    """The ids of audit_log, in order."""

    async def go() -> list[int]:
        engine = create_engine(db.url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(text("SELECT id FROM audit_log ORDER BY id"))
                return [int(r[0]) for r in rows]
        finally:
            await engine.dispose()

    return asyncio.run(go())


def verify(db: ChainDb) -> audit_chain.Report:
    """Run the verifier in-process."""
    return asyncio.run(in_unit_of_work(db.url, audit_chain.verify))


def cli_verify(db: ChainDb) -> subprocess.CompletedProcess[str]:
    """`cityops audit verify` as an operator runs it, with the same audit key file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOPS_")}
    env["CITYOPS_DATABASE_URL"] = db.url
    env["CITYOPS_AUDIT_KEY_FILE"] = str(Path("var/audit.key").resolve())
    return subprocess.run(
        [CITYOPS, "audit", "verify"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_an_untouched_chain_verifies_and_the_cli_says_so(chain_db: ChainDb) -> None:
    fresh_chain(chain_db, 5)
    report = verify(chain_db)
    assert report.intact and report.checked == 5 and report.last_seq == 5
    done = cli_verify(chain_db)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "chain intact" in done.stdout and "checked 5 entries" in done.stdout
    assert f"head seq 5 mac {report.head_mac}" in done.stdout and len(report.head_mac) == 64


def test_an_entry_edited_in_the_database_is_named(chain_db: ChainDb) -> None:
    entry = fresh_chain(chain_db, 5)[2]
    behind_the_triggers(chain_db, f"UPDATE audit_log SET result='failure' WHERE id={entry}")  # noqa: S608
    report = verify(chain_db)
    assert [(f.kind, f.entry_id) for f in report.findings] == [("edited", entry)]
    done = cli_verify(chain_db)
    assert done.returncode == 1
    assert f"edited: entry id {entry} (seq 3) was edited" in done.stdout


def test_a_detail_edited_in_the_database_is_named(chain_db: ChainDb) -> None:
    entry = fresh_chain(chain_db, 3)[0]
    behind_the_triggers(chain_db, f"""UPDATE audit_log SET detail='{{"n": 9}}' WHERE id={entry}""")  # noqa: S608
    assert [(f.kind, f.entry_id) for f in verify(chain_db).findings] == [("edited", entry)]


def test_an_entry_deleted_in_the_middle_or_at_the_end_is_named(chain_db: ChainDb) -> None:
    entries = fresh_chain(chain_db, 6)
    behind_the_triggers(chain_db, f"DELETE FROM audit_log WHERE id={entries[2]}")  # noqa: S608
    findings = verify(chain_db).findings
    assert [(f.kind, f.entry_id, f.message) for f in findings] == [
        ("deleted", entries[3], f"seq 3–3 deleted before entry id {entries[3]}")
    ]
    behind_the_triggers(chain_db, f"DELETE FROM audit_log WHERE id>={entries[4]}")  # noqa: S608
    kinds = [(f.kind, f.message) for f in verify(chain_db).findings]
    assert kinds[-1] == ("deleted", "seq 5–6 deleted at the end")
    done = cli_verify(chain_db)
    assert done.returncode == 1 and "seq 5–6 deleted at the end" in done.stdout


def test_an_entry_inserted_in_the_database_is_named(chain_db: ChainDb) -> None:
    entries = fresh_chain(chain_db, 4)
    # A forged entry copying a real one's links: without the key its MAC cannot be right.
    sql(
        chain_db,
        "INSERT INTO audit_log (at, actor, actor_org, action, target, result, client_ip, detail,"  # noqa: S608
        " note, seq, prev_mac, mac) SELECT at, 'intruder', actor_org, action, target, result,"
        " client_ip, detail, note, 1000, prev_mac, mac FROM audit_log WHERE id = "
        f"{entries[1]}",
    )
    forged = ids(chain_db)[-1]
    assert [(f.kind, f.entry_id) for f in verify(chain_db).findings] == [("inserted", forged)]
    sql(
        chain_db,
        "INSERT INTO audit_log (at, actor, actor_org, action, target, result, client_ip, detail,"
        " note) VALUES (CURRENT_TIMESTAMP, 'ghost', '', 'x', '', 'success', '', '{}', '')",
    )
    unsealed = ids(chain_db)[-1]
    found = {(f.kind, f.entry_id) for f in verify(chain_db).findings}
    assert found == {("inserted", forged), ("inserted", unsealed)}


def test_a_head_moved_back_to_hide_deleted_entries_is_found(chain_db: ChainDb) -> None:
    entries = fresh_chain(chain_db, 3)
    behind_the_triggers(chain_db, f"DELETE FROM audit_log WHERE id={entries[-1]}")  # noqa: S608
    sql(
        chain_db,
        f"UPDATE audit_chain SET last_seq=2, last_mac=(SELECT mac FROM audit_log WHERE id={entries[1]})",  # noqa: S608
    )
    assert [f.kind for f in verify(chain_db).findings] == ["head"]


def test_concurrent_writers_never_fork_the_chain(chain_db: ChainDb) -> None:
    fresh_chain(chain_db, 0)

    async def go() -> None:
        engine = create_engine(chain_db.url)
        sessions = create_sessionmaker(engine)

        async def writer(name: str) -> None:
            for n in range(15):
                async with unit_of_work(sessions) as session:
                    await audit.record(
                        session, action="test.race", result="success", actor_name=f"{name}{n}"
                    )

        try:
            await asyncio.gather(*(writer(f"w{i}-") for i in range(4)))
        finally:
            await engine.dispose()

    asyncio.run(go())
    report = verify(chain_db)
    assert report.intact, report.findings
    assert report.checked == 60 and report.last_seq == 60


def test_a_purge_keeps_the_young_entries_and_the_chain_verifiable(chain_db: ChainDb) -> None:
    entries = fresh_chain(chain_db, 6)
    old = (utcnow() - timedelta(days=200)).strftime("%Y-%m-%d %H:%M:%S")
    # Age the first three entries (behind the triggers: this edit is the test's, not a finding).
    behind_the_triggers(chain_db, f"UPDATE audit_log SET at='{old}' WHERE id<={entries[2]}")  # noqa: S608
    with pytest.raises(ValueError, match="180 days"):
        asyncio.run(in_unit_of_work(chain_db.url, lambda s: purge(s, 179)))

    async def purge_and_resign(session: AsyncSession) -> int:
        return await purge(session, 180)

    # Aged by hand, those three no longer match their MACs: the verifier says so before the purge…
    assert {f.kind for f in verify(chain_db).findings} == {"edited"}
    assert asyncio.run(in_unit_of_work(chain_db.url, purge_and_resign)) == 3
    assert ids(chain_db) == entries[3:]
    report = verify(chain_db)  # …and after it the chain runs whole from its new anchor.
    assert report.intact, report.findings
    assert report.anchor_seq == 3 and report.checked == 3
    assert asyncio.run(in_unit_of_work(chain_db.url, lambda s: purge(s, 180))) == 0


def test_settings_refuse_a_retention_under_180_days() -> None:
    with pytest.raises(ValueError, match="180"):
        Settings(audit_retention_days=90, _env_file=None)  # type: ignore[call-arg]


def _count_appends(db: ChainDb, appends: int) -> tuple[int, bool]:
    """Statements on the audit tables for `appends` appends in one transaction, and intactness."""
    from sqlalchemy import event

    seen: list[str] = []

    async def go() -> bool:
        engine = create_engine(db.url)

        def count(_c: object, _cur: object, statement: str, *_: object) -> None:
            if "audit_log" in statement or "audit_chain" in statement:
                seen.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            async with unit_of_work(create_sessionmaker(engine)) as session:
                for n in range(appends):
                    await audit.record(session, action="test.fast", result="success", target=f"{n}")
            async with unit_of_work(create_sessionmaker(engine)) as session:
                return (await audit_chain.verify(session)).intact
        finally:
            await engine.dispose()

    intact = asyncio.run(go())
    appended = [s for s in seen if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    return len(appended), intact


def test_an_append_after_this_processs_own_takes_two_statements(chain_db: ChainDb) -> None:
    fresh_chain(chain_db, 1)  # the head was reset behind cityops' back: the slow path ran
    statements, intact = _count_appends(chain_db, 10)
    assert intact and statements == 2 * 10


def test_a_head_moved_by_someone_else_falls_back_to_reading_it(chain_db: ChainDb) -> None:
    fresh_chain(chain_db, 2)
    stale = dict(audit_chain._heads)
    assert _count_appends(chain_db, 1) == (2, True)  # this process moved the head
    audit_chain._heads.update(stale)  # as if another process had appended since
    statements, intact = _count_appends(chain_db, 2)
    # The conditional UPDATE misses; then claim, insert, move; the next append is fast again.
    assert intact and statements == 1 + 3 + 2
