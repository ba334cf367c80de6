"""The audit admin's reads of the audit log (API and portal alike); every read is itself audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth import audit
from cityops.auth.audit.admin import to_csv
from cityops.auth.models import AuditEntry
from cityops.auth.principal import Principal
from cityops.auth.repository import AuditRepository
from cityops.auth.roles import Perm
from cityops.kit.errors import ProblemError

#: The most entries one export holds; narrow the window for more.
EXPORT_MAX_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the audit admin asks for."""

    actor: str | None = None
    action: str | None = None
    result: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def described(self) -> dict[str, str]:
        """The filter as the audit entry of the read records it."""
        return {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in asdict(self).items()
            if v
        }


def _require_reader(principal: Principal) -> None:
    if not principal.can(Perm.AUDIT_READ):
        raise ProblemError(403, "forbidden", "this needs the audit.read permission")


async def read_page(
    session: AsyncSession,
    principal: Principal,
    wanted: AuditFilter,
    *,
    limit: int,
    offset: int,
    client_ip: str,
) -> tuple[Sequence[AuditEntry], int]:
    """A page of entries in the reader's scope, newest first; the read is audited."""
    _require_reader(principal)
    rows, total = await AuditRepository(session).query(
        principal.scope, limit=limit, offset=offset, **asdict(wanted)
    )
    await audit.record(
        session,
        action="audit.read",
        result="success",
        actor=principal,
        target="audit_log",
        client_ip=client_ip,
        detail={"filter": wanted.described(), "offset": offset, "rows": len(rows)},
    )
    return rows, total


async def export_csv(
    session: AsyncSession, principal: Principal, wanted: AuditFilter, *, client_ip: str
) -> str:
    """Every entry in the reader's scope matching the filter, oldest first, as CSV; audited."""
    _require_reader(principal)
    rows, total = await AuditRepository(session).query(
        principal.scope, limit=EXPORT_MAX_ROWS, offset=0, **asdict(wanted)
    )
    if total > EXPORT_MAX_ROWS:
        raise ProblemError(
            422, "validation", f"{total} entries match; narrow the window to {EXPORT_MAX_ROWS}"
        )
    await audit.record(
        session,
        action="audit.export",
        result="success",
        actor=principal,
        target="audit_log",
        client_ip=client_ip,
        detail={"filter": wanted.described(), "rows": len(rows), "format": "csv"},
    )
    return to_csv(reversed(rows))
