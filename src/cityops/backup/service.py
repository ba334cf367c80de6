"""Make and restore a backup: the database, the photos and the two keys, in one sealed archive.

SQLite is copied with its online backup API (a consistent copy while the platform runs);
PostgreSQL with pg_dump's custom format and pg_restore. Plain files exist only inside a private
temporary folder (mode 0700) beside the archive, removed when the command ends, however it ends.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cityops import __version__
from cityops.backup.sealed import ArchiveError, open_stream, seal_stream
from cityops.config import Settings
from cityops.kit.crypto import key_from_file

MANIFEST = "manifest.json"
SQLITE_MEMBER = "db/cityops.sqlite3"
PG_MEMBER = "db/cityops.pgdump"
KEY_MEMBERS = {"data": "keys/data.key", "audit": "keys/audit.key"}


class RestoreRefused(RuntimeError):
    """Restoring would lose or mix data: the operator must decide (e.g. with --force)."""


@dataclass(frozen=True, slots=True)
class BackupSummary:
    """What went into an archive."""

    path: Path
    database: str
    files: int
    media_files: int
    bytes: int


def pg_dsn(url: str) -> str:
    """libpq's URL for a SQLAlchemy one (postgresql+asyncpg://… → postgresql://…)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else url


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def private_dir(near: Path) -> Iterator[Path]:
    """A temporary folder only this user can read (mkdtemp makes it 0700), removed afterwards."""
    near.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=".cityops-backup-", dir=near))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _key_text(settings: Settings, which: str) -> str:
    secret = settings.data_key if which == "data" else settings.audit_key
    if secret is not None:
        return secret.get_secret_value().strip()
    path = settings.data_key_file if which == "data" else settings.audit_key_file
    setting = "CITYOPS_DATA_KEY" if which == "data" else "CITYOPS_AUDIT_KEY"
    return base64.b64encode(key_from_file(path, setting)).decode("ascii")


def _dump_database(settings: Settings, work: Path) -> Path:
    if settings.is_sqlite:
        source = settings.sqlite_path()
        if source is None or not source.is_file():
            raise FileNotFoundError(f"no SQLite database at {source}")
        target = work / SQLITE_MEMBER
        target.parent.mkdir(parents=True)
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)  # the online backup API: consistent even while others write
        return target
    target = work / PG_MEMBER
    target.parent.mkdir(parents=True)
    run_tool(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            f"--file={target}",
            pg_dsn(settings.database_url),
        ]
    )
    return target


def run_tool(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        # The DSN is in argv: name only the tool, and libpq's message (it never holds the password).
        raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip()[-2000:]}")


def make_backup(settings: Settings, out: Path) -> BackupSummary:
    """Write an encrypted archive of the database, the photos and the keys to `out`."""
    passphrase = settings.backup_passphrase.get_secret_value() if settings.backup_passphrase else ""
    if not passphrase:
        raise ArchiveError("set CITYOPS_BACKUP_PASSPHRASE: archives are always encrypted")
    with private_dir(out.parent) as work:
        files: dict[str, Path] = {}
        dump = _dump_database(settings, work)
        files[dump.relative_to(work).as_posix()] = dump
        for which, member in KEY_MEMBERS.items():
            path = work / member
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_key_text(settings, which) + "\n", encoding="ascii")
            files[member] = path
        media = 0
        if settings.media_dir.is_dir():
            for path in sorted(p for p in settings.media_dir.rglob("*") if p.is_file()):
                if not path.name.startswith("."):  # no half-written temp files
                    files["media/" + path.relative_to(settings.media_dir).as_posix()] = path
                    media += 1
        manifest = {
            "format": 1,
            "cityops": __version__,
            "database": "sqlite" if settings.is_sqlite else "postgresql",
            "files": {
                name: {"sha256": _sha256(p), "bytes": p.stat().st_size} for name, p in files.items()
            },
        }
        (work / MANIFEST).write_text(
            json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8"
        )
        tar_path = work / "archive.tar"
        with tarfile.open(tar_path, "w") as tar:
            tar.add(work / MANIFEST, arcname=MANIFEST)
            for name, path in files.items():
                tar.add(path, arcname=name)
        partial = out.with_name(out.name + ".partial")
        with tar_path.open("rb") as plain, partial.open("wb") as sealed:
            seal_stream(plain, sealed, passphrase)
        os.chmod(partial, 0o600)
        partial.replace(out)
    return BackupSummary(out, str(manifest["database"]), len(files), media, out.stat().st_size)


def open_archive(archive: Path, passphrase: str, work: Path) -> dict[str, Any]:
    """Decrypt and unpack into `work`; the manifest, after every checksum matched."""
    tar_path = work / "archive.tar"
    with archive.open("rb") as sealed, tar_path.open("wb") as plain:
        for chunk in open_stream(sealed, passphrase):
            plain.write(chunk)
    unpacked = work / "unpacked"
    with tarfile.open(tar_path) as tar:
        tar.extractall(unpacked, filter="data")  # no links, devices or paths out of the folder
    tar_path.unlink()
    manifest: dict[str, Any] = json.loads((unpacked / MANIFEST).read_text("utf-8"))
    listed = set(manifest["files"])
    present = {p.relative_to(unpacked).as_posix() for p in unpacked.rglob("*") if p.is_file()} - {
        MANIFEST
    }
    if present != listed:
        raise ArchiveError(
            f"the archive's files differ from its manifest: {sorted(present ^ listed)[:5]}"
        )
    for name, facts in manifest["files"].items():
        if _sha256(unpacked / name) != facts["sha256"]:
            raise ArchiveError(f"{name} does not match its checksum")
    manifest["root"] = unpacked
    return manifest
