"""`cityops backup …`: make an encrypted archive, restore one, each audited."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cityops.config import Settings, get_settings

# Two commands of their own, `cityops backup ARCHIVE` and `cityops restore ARCHIVE`: each a
# group without sub-commands whose callback does the work.
backup_app = typer.Typer(add_completion=False, context_settings={"allow_interspersed_args": True})
restore_app = typer.Typer(add_completion=False, context_settings={"allow_interspersed_args": True})


async def _audit(
    settings: Settings, action: str, detail: dict[str, object], result: str = "success"
) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cityops.auth import audit
    from cityops.auth.audit import chain as audit_chain
    from cityops.kit.db import in_unit_of_work

    audit_chain.use_key(settings)

    async def work(session: AsyncSession) -> None:
        await audit.record(
            session,
            action=action,
            result=result,
            actor_name="cityops-cli",
            actor_org=settings.district_code,
            detail=detail,
        )

    await in_unit_of_work(settings.database_url, work)


@backup_app.callback(invoke_without_command=True)
def create(
    out: Annotated[
        Path, typer.Argument(help="Archive to write, e.g. /backup/cityops-2026-12-07.cob")
    ],
) -> None:
    """Back up the database (SQLite online backup or pg_dump), photos and keys, encrypted."""
    import asyncio

    from cityops.backup.sealed import ArchiveError
    from cityops.backup.service import make_backup

    settings = get_settings()
    # Recorded first, so the archive holds the record of its own making (a failure is recorded too).
    asyncio.run(_audit(settings, "backup.create", {"archive": out.name}))
    try:
        summary = make_backup(settings, out)
    except (ArchiveError, OSError, RuntimeError) as exc:
        asyncio.run(_audit(settings, "backup.create", {"archive": out.name}, "failure"))
        typer.echo(f"backup failed: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"wrote {summary.path} ({summary.database}, {summary.files} files, "
        f"{summary.media_files} photos files, {summary.bytes} bytes, encrypted)"
    )


@restore_app.callback(invoke_without_command=True)
def restore(
    archive: Annotated[Path, typer.Argument(help="An archive made by `cityops backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing database and key files.")
    ] = False,
) -> None:
    """Restore an archive; refuses a tampered one, a differing key, or data in the way."""
    import asyncio
    import tarfile

    from cityops.auth.audit import chain as audit_chain
    from cityops.backup.restore import restore_backup
    from cityops.backup.sealed import ArchiveError
    from cityops.backup.service import RestoreRefused
    from cityops.kit.db import in_unit_of_work
    from cityops.kit.migrate import upgrade

    settings = get_settings()
    try:
        summary = restore_backup(settings, archive, force=force)
    except (ArchiveError, RestoreRefused, RuntimeError, OSError, tarfile.TarError) as exc:
        typer.echo(f"restore refused: {exc}", err=True)
        raise typer.Exit(2) from exc
    upgrade(settings.database_url)  # an archive of an older release gets today's schema
    asyncio.run(_audit(settings, "backup.restore", {"archive": archive.name}))
    audit_chain.use_key(settings)
    report = asyncio.run(in_unit_of_work(settings.database_url, audit_chain.verify))
    typer.echo(
        f"restored {summary.database} and {summary.media_files} photo files; "
        f"audit chain {'intact' if report.intact else 'BROKEN'} ({report.checked} entries)"
    )
    if not report.intact:
        raise typer.Exit(1)
