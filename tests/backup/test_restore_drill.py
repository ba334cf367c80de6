"""The restore drill, on SQLite and PostgreSQL: seed, open cases with photos and a reporter, back
up with `cityops backup`, wipe the database, the photos and the data key, restore with `cityops
restore`, and the platform serves the same cases, photos and contact, with the audit chain intact.
A tampered archive or a wrong passphrase is refused before anything is touched."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.app import create_app
from cityops.auth.audit import chain as audit_chain
from cityops.config import Settings
from cityops.kit.db import in_unit_of_work
from cityops.kit.migrate import upgrade
from tests.conftest import (
    ACCOUNTS,
    PASSWORD,
    PG_ADMIN_URL,
    Login,
    _pg_create_database,
    _pg_drop_database,
    require_postgres,
    seed_with_accounts,
)
from tests.media import images
from tests.test_cli import CITYOPS

PASSPHRASE = "drill passphrase 2026"
PHONE = "13912345678"
CASE_FIELDS = ("id", "text", "category", "status", "owner_code", "photos", "reporter", "created_at")


@dataclass
class Drill:
    """One platform's database, photo folder and keys, all under a temporary folder."""

    name: str
    root: Path
    settings: Settings

    def env(self, passphrase: str = PASSPHRASE) -> dict[str, str]:
        """The environment an operator's `cityops` runs with."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOPS_")}
        env.update(
            CITYOPS_DATABASE_URL=self.settings.database_url,
            CITYOPS_MEDIA_DIR=str(self.settings.media_dir),
            CITYOPS_DATA_KEY_FILE=str(self.settings.data_key_file),
            CITYOPS_AUDIT_KEY_FILE=str(self.settings.audit_key_file),
            CITYOPS_BACKUP_PASSPHRASE=passphrase,
        )
        return env

    def cli(self, *args: str, passphrase: str = PASSPHRASE) -> subprocess.CompletedProcess[str]:
        """Run the console script as the operator would."""
        return subprocess.run(
            [CITYOPS, *args],
            capture_output=True,
            text=True,
            env=self.env(passphrase),
            cwd=self.root,
            timeout=600,
            check=False,
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def drill(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Drill]:
    """A fresh, seeded platform of its own (the drill wipes it)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'cityops.db'}"
        (tmp_path / "var").mkdir()
    else:
        require_postgres()
        url = asyncio.run(_pg_create_database(PG_ADMIN_URL))
    settings = Settings(  # type: ignore[call-arg]
        database_url=url,
        media_dir=tmp_path / "media",
        data_key_file=tmp_path / "keys" / "data.key",
        # The process-wide audit key stays the suite's own (the chain tests share it).
        audit_key_file=Path("var/audit.key").resolve(),
        principal_cache_seconds=0,
        outbox_dispatcher=False,
        scheduler=False,
        _env_file=None,
    )
    upgrade(url)

    async def seed(session: AsyncSession) -> None:
        await seed_with_accounts(settings, ACCOUNTS, PASSWORD, session)

    asyncio.run(in_unit_of_work(url, seed))
    yield Drill(request.param, tmp_path, settings)
    if request.param == "postgresql":
        asyncio.run(_pg_drop_database(PG_ADMIN_URL, url))


def what_it_serves(settings: Settings, case_ids: list[int] | None = None) -> dict[str, Any]:
    """Open cases (when none are given) and read back the cases, their photos and the contact."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        login = Login(client)
        if case_ids is None:
            case_ids = []
            for n, size in enumerate(((200, 150), (150, 200))):
                ref = client.post(
                    "/api/v1/media/photos",
                    files={"file": ("p.jpg", images.jpeg_with_gps(*size), "image/jpeg")},
                    headers=login.headers("t_grid"),
                ).json()["ref"]
                created = client.post(
                    "/api/v1/cases",
                    json={
                        "source": "grid",
                        "category": "event:0102",
                        "text": f"演练案件 {n}",
                        "org_code": "310117102001",
                        "photos": [ref],
                        "reporter": {"name": "张三", "phone": PHONE},
                    },
                    headers=login.headers("t_grid"),
                )
                assert created.status_code == 201, created.text
                case_ids.append(created.json()["id"])
        duty = login.headers("t_duty")
        served: dict[str, Any] = {"ids": case_ids, "cases": [], "photos": {}, "contacts": []}
        for case_id in case_ids:
            case = client.get(f"/api/v1/cases/{case_id}", headers=duty)
            assert case.status_code == 200, case.text
            body = case.json()
            served["cases"].append({k: body[k] for k in CASE_FIELDS})
            for ref in body["photos"]:
                photo = client.get(f"/api/v1/media/photos/{ref}", headers=duty)
                assert photo.status_code == 200, photo.text
                served["photos"][ref] = photo.content
            contact = client.get(f"/api/v1/cases/{case_id}/contact", headers=duty)
            assert contact.status_code == 200, contact.text
            served["contacts"].append(contact.json())
        listed = client.get("/api/v1/cases", params={"limit": 100}, headers=duty).json()
        served["total"] = listed["total"]
    return served


def wipe(drill: Drill) -> None:
    """Lose everything the backup should bring back: database, photos, data key."""
    if drill.name == "sqlite":
        for path in (drill.root / "var").glob("cityops.db*"):
            path.unlink()
    else:
        url = drill.settings.database_url
        asyncio.run(_pg_drop_database(PG_ADMIN_URL, url))
        asyncio.run(_recreate(url))
    shutil.rmtree(drill.settings.media_dir)
    drill.settings.data_key_file.unlink()


async def _recreate(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
    finally:
        await conn.close()


def test_a_backup_restores_to_a_platform_with_nothing_missing(drill: Drill) -> None:
    before = what_it_serves(drill.settings)
    assert len(before["photos"]) == 2 and before["contacts"][0]["phone"] == PHONE
    archive = drill.root / "backups" / "cityops.cob"
    archive.parent.mkdir()
    made = drill.cli("backup", str(archive))
    assert made.returncode == 0, made.stdout + made.stderr
    sealed = archive.read_bytes()
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    for plain in (b"SQLite format 3", b"PGDMP", PHONE.encode(), PASSPHRASE.encode()):
        assert plain not in sealed  # encrypted: no database header, phone number or passphrase
    assert not [p for p in archive.parent.iterdir() if p.name != archive.name]  # no temp left

    # A flipped byte, a cut-off tail or a wrong passphrase: refused, nothing touched.
    tampered = archive.with_name("tampered.cob")
    tampered.write_bytes(sealed[:200] + bytes([sealed[200] ^ 1]) + sealed[201:])
    cut = archive.with_name("cut.cob")
    cut.write_bytes(sealed[: len(sealed) // 2])
    for bad, passphrase in ((tampered, PASSPHRASE), (cut, PASSPHRASE), (archive, "wrong")):
        refused = drill.cli("restore", str(bad), "--force", passphrase=passphrase)
        assert refused.returncode == 2 and "restore refused" in refused.stderr, refused.stderr
    assert what_it_serves(drill.settings, before["ids"]) == before
    # Restoring over a live database needs --force.
    kept = drill.cli("restore", str(archive))
    assert kept.returncode == 2 and "--force" in kept.stderr

    wipe(drill)
    restored = drill.cli("restore", str(archive))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "audit chain intact" in restored.stdout

    after = what_it_serves(drill.settings, before["ids"])
    assert after == before
    audit_chain.use_key(drill.settings)
    report = asyncio.run(in_unit_of_work(drill.settings.database_url, audit_chain.verify))
    assert report.intact, report.findings
    verified = drill.cli("audit", "verify")
    assert verified.returncode == 0 and "chain intact" in verified.stdout


def test_backup_refuses_to_run_without_a_passphrase(drill: Drill) -> None:
    done = drill.cli("backup", str(drill.root / "x.cob"), passphrase="")
    assert done.returncode == 2 and "CITYOPS_BACKUP_PASSPHRASE" in done.stderr
    assert not (drill.root / "x.cob").exists()
