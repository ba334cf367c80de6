"""Retention and export of the audit log: purge only what is older than the setting, keep an anchor."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.audit import chain as audit_chain
from cityops.auth.models import AuditEntry
from cityops.kit.db import utcnow

#: Columns of an export, in order; the chain fields let a holder of the key re-verify it.
EXPORT_COLUMNS = (
    "id",
    "seq",
    "at",
    "actor",
    "actor_org",
    "action",
    "target",
    "result",
    "client_ip",
    "detail",
    "prev_mac",
    "mac",
)

# The SQLite trigger of revision 0006, taken down and put back around a purge's DELETE.
_SQLITE_NO_DELETE = (
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)


async def _allow_delete(session: AsyncSession, allow: bool) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        verb = "DISABLE" if allow else "ENABLE"
        await session.execute(text(f"ALTER TABLE audit_log {verb} TRIGGER audit_log_no_change"))
    elif dialect == "sqlite":
        await session.execute(
            text("DROP TRIGGER IF EXISTS audit_log_no_delete") if allow else text(_SQLITE_NO_DELETE)
        )


async def purge(session: AsyncSession, retention_days: int, now: datetime | None = None) -> int:
    """Delete the oldest entries older than `retention_days`; the anchor keeps the chain whole.

    Only a prefix of the chain goes (the entries before the first one still kept), so what stays
    is one unbroken run from the new anchor to the head.
    """
    if retention_days < 180:
        raise ValueError("audit entries are kept at least 180 days")
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    head = await audit_chain.lock_head(session)
    first_kept = await session.scalar(
        select(func.min(AuditEntry.seq)).where(AuditEntry.seq.is_not(None), AuditEntry.at >= cutoff)
    )
    last_gone = (first_kept - 1) if first_kept is not None else head.last_seq
    if last_gone <= head.anchor_seq:
        return 0
    boundary = await session.scalar(select(AuditEntry).where(AuditEntry.seq == last_gone))
    if boundary is None or boundary.mac is None:
        raise RuntimeError(f"audit entry seq {last_gone} is missing: run `cityops audit verify`")
    head.anchor_seq, head.anchor_mac, head.anchor_at = last_gone, boundary.mac, cutoff
    audit_chain.retag(head)
    await _allow_delete(session, True)
    gone = await session.execute(
        delete(AuditEntry).where(
            (AuditEntry.seq <= last_gone) | (AuditEntry.seq.is_(None) & (AuditEntry.at < cutoff))
        )
    )
    await _allow_delete(session, False)
    await session.flush()
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]


def to_csv(rows: Iterable[AuditEntry]) -> str:
    """Entries as CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row, column) for column in EXPORT_COLUMNS])
    return out.getvalue()


def _cell(row: AuditEntry, column: str) -> str:
    value = getattr(row, column)
    if column == "at":
        return str(value.isoformat())
    if column == "detail":
        return json.dumps(value or {}, ensure_ascii=False, sort_keys=True)
    text_value = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is quoted (CSV injection).
    return "'" + text_value if text_value[:1] in ("=", "+", "-", "@") else text_value
