"""`cityops audit …`: verify the chain, purge past the retention, export."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cityops.config import Settings
from cityops.kit.cli import run

app = typer.Typer(help="The audit log: verify its chain, purge, export.", no_args_is_help=True)


async def _verify(settings: Settings) -> tuple[bool, list[str]]:
    from cityops.auth.audit import chain as audit_chain
    from cityops.kit.db import in_unit_of_work

    audit_chain.use_key(settings)
    report = await in_unit_of_work(settings.database_url, audit_chain.verify)
    lines = [
        f"checked {report.checked} entries (seq {report.anchor_seq + 1}–{report.last_seq}); "
        f"{report.before_chain} older than the chain"
    ]
    # Kept outside the database, the head MAC shows later that nothing before it was rewritten.
    lines.append(f"head seq {report.last_seq} mac {report.head_mac or '-'}")
    lines += [f"{f.kind}: {f.message}" for f in report.findings]
    lines.append(
        "chain intact" if report.intact else f"chain BROKEN: {len(report.findings)} finding(s)"
    )
    return report.intact, lines


@app.command("verify")
def verify() -> None:
    """Check every entry's SM3-HMAC and link; exit 1 naming each edited, deleted or inserted one."""
    intact, lines = run(_verify)
    for line in lines:
        typer.echo(line)
    if not intact:
        raise typer.Exit(1)


async def _purge(settings: Settings) -> int:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cityops.auth import audit
    from cityops.auth.audit import chain as audit_chain
    from cityops.auth.audit.admin import purge
    from cityops.kit.db import in_unit_of_work

    audit_chain.use_key(settings)

    async def work(session: AsyncSession) -> int:
        count = await purge(session, settings.audit_retention_days)
        await audit.record(
            session,
            action="audit.purge",
            result="success",
            actor_name="cityops-cli",
            actor_org=settings.district_code,
            detail={"deleted": count, "retention_days": settings.audit_retention_days},
        )
        return count

    return await in_unit_of_work(settings.database_url, work)


@app.command("purge")
def purge() -> None:
    """Delete entries older than CITYOPS_AUDIT_RETENTION_DAYS (≥ 180), keeping the chain's anchor."""
    typer.echo(f"purged {run(_purge)} entries")


async def _export(settings: Settings, since: datetime | None, until: datetime | None) -> str:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession

    from cityops.auth import audit
    from cityops.auth.audit import chain as audit_chain
    from cityops.auth.audit.admin import to_csv
    from cityops.auth.models import AuditEntry
    from cityops.kit.db import in_unit_of_work

    audit_chain.use_key(settings)

    async def work(session: AsyncSession) -> str:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        if since:
            stmt = stmt.where(AuditEntry.at >= since)
        if until:
            stmt = stmt.where(AuditEntry.at < until)
        rows = list(await session.scalars(stmt))
        await audit.record(
            session,
            action="audit.export",
            result="success",
            actor_name="cityops-cli",
            actor_org=settings.district_code,
            detail={"rows": len(rows), "format": "csv"},
        )
        return to_csv(rows)

    return await in_unit_of_work(settings.database_url, work)


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    since: Annotated[datetime | None, typer.Option(help="From (ISO 8601, with zone).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Before (ISO 8601, with zone).")] = None,
) -> None:
    """Write the audit log (or a time window of it) as CSV, chain fields included; audited."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise typer.BadParameter(f"{name} needs a time zone, e.g. +08:00")
    out.write_text(run(lambda s: _export(s, since, until)), encoding="utf-8")
    typer.echo(f"wrote {out}")
