"""Restore an archive: refuse a tampered one, a key that differs, or data in the way (unless forced)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from cityops.backup.sealed import ArchiveError
from cityops.backup.service import (
    KEY_MEMBERS,
    PG_MEMBER,
    SQLITE_MEMBER,
    RestoreRefused,
    open_archive,
    pg_dsn,
    private_dir,
    run_tool,
)
from cityops.config import Settings
from cityops.kit.crypto import decode_key
from cityops.kit.db import create_engine


@dataclass(frozen=True, slots=True)
class RestoreSummary:
    """What a restore put back."""

    database: str
    media_files: int
    keys_written: tuple[str, ...]


async def _pg_has_tables(url: str) -> bool:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            count = await conn.scalar(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            )
    finally:
        await engine.dispose()
    return bool(count)


def _check_keys(settings: Settings, root: Path, force: bool) -> list[tuple[Path, str]]:
    """The key files to write; refuse a configured key that differs from the archived one."""
    writes: list[tuple[Path, str]] = []
    for which, member in KEY_MEMBERS.items():
        archived = (root / member).read_text("ascii").strip()
        secret = settings.data_key if which == "data" else settings.audit_key
        path = settings.data_key_file if which == "data" else settings.audit_key_file
        setting = "CITYOPS_DATA_KEY" if which == "data" else "CITYOPS_AUDIT_KEY"
        if secret is not None:
            if decode_key(secret.get_secret_value()) != decode_key(archived):
                raise RestoreRefused(f"{setting} differs from the key in the archive")
            continue
        differs = path.exists() and decode_key(path.read_text("ascii")) != decode_key(archived)
        if differs and not force:
            raise RestoreRefused(f"{path} holds another key; --force replaces it")
        writes.append((path, archived))
    return writes


def _write_key(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".restoring")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text + "\n")
    temp.replace(path)


def _restore_sqlite(settings: Settings, root: Path, force: bool) -> None:
    target = settings.sqlite_path()
    if target is None:
        raise RestoreRefused("an in-memory SQLite database cannot be restored into")
    if target.exists() and not force:
        raise RestoreRefused(f"{target} exists; --force replaces it")
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(root / SQLITE_MEMBER) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _restore_postgres(settings: Settings, root: Path, force: bool) -> None:
    if asyncio.run(_pg_has_tables(settings.database_url)) and not force:
        raise RestoreRefused("the PostgreSQL database has tables; --force replaces them")
    run_tool(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={pg_dsn(settings.database_url)}",
            str(root / PG_MEMBER),
        ]
    )


def restore_backup(settings: Settings, archive: Path, *, force: bool = False) -> RestoreSummary:
    """Put the archive's database, photos and keys back where `settings` say they live."""
    passphrase = settings.backup_passphrase.get_secret_value() if settings.backup_passphrase else ""
    if not passphrase:
        raise ArchiveError("set CITYOPS_BACKUP_PASSPHRASE to the archive's passphrase")
    with private_dir(archive.parent) as work:
        manifest: dict[str, Any] = open_archive(archive, passphrase, work)
        root: Path = manifest["root"]
        kind = manifest["database"]
        if kind != ("sqlite" if settings.is_sqlite else "postgresql"):
            raise RestoreRefused(f"the archive holds a {kind} database; the settings name another")
        keys = _check_keys(settings, root, force)
        if kind == "sqlite":
            _restore_sqlite(settings, root, force)
        else:
            _restore_postgres(settings, root, force)
        for path, text in keys:
            _write_key(path, text)
        media = 0
        media_root = root / "media"
        if media_root.is_dir():
            for source in media_root.rglob("*"):
                if source.is_file():
                    target = settings.media_dir / source.relative_to(media_root)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
                    media += 1
    return RestoreSummary(kind, media, tuple(str(p) for p, _ in keys))
