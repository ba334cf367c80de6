"""HTTP endpoints of the audit log (/api/v1/audit): query and CSV export, for the audit admin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from cityops.auth.audit import service as audit_service
from cityops.auth.audit.service import AuditFilter
from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.auth.schemas import AuditPage, AuditRead
from cityops.kit.errors import ProblemError
from cityops.kit.web import MAX_INT, NO_NUL, ClientIp, DbSession

audit_router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

AuditReader = Annotated[Principal, Depends(require(Perm.AUDIT_READ))]
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]


def _instant(name: str, value: datetime | None) -> datetime | None:
    """A filter time that has a zone and a UTC instant, else a 422."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ProblemError(
            422,
            "validation",
            f"{name} needs a time zone, e.g. +08:00",
            errors=[{"loc": ["query", name], "msg": "naive datetime", "type": "timezone_required"}],
        )
    try:
        return value.astimezone(UTC)  # 9999-12-31T23:00-14:00 has no UTC instant
    except OverflowError as exc:
        raise ProblemError(
            422,
            "validation",
            f"{name} is out of range",
            errors=[{"loc": ["query", name], "msg": "out of range", "type": "datetime_range"}],
        ) from exc


def audit_filter(
    actor: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    action: Annotated[
        str | None, Query(max_length=64, pattern=NO_NUL, description="Prefix, e.g. auth.")
    ] = None,
    result: Annotated[str | None, Query(pattern="^(success|failure|denied)$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditFilter:
    """The filter of a query or export, times checked."""
    return AuditFilter(
        actor=actor,
        action=action,
        result=result,
        since=_instant("since", since),
        until=_instant("until", until),
    )


Filter = Annotated[AuditFilter, Depends(audit_filter)]


@audit_router.get("", response_model=AuditPage, summary="Query the audit log")
async def query_audit(
    principal: AuditReader,
    session: DbSession,
    ip: ClientIp,
    wanted: Filter,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> AuditPage:
    """Audit entries of actors in your scope, newest first; only the audit admin reads them.

    Each query is itself recorded (action `audit.read`).
    """
    rows, total = await audit_service.read_page(
        session, principal, wanted, limit=limit, offset=offset, client_ip=ip
    )
    return AuditPage(
        items=[AuditRead.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )


@audit_router.get(
    "/export.csv",
    summary="Export the audit log as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_audit(
    principal: AuditReader, session: DbSession, ip: ClientIp, wanted: Filter
) -> Response:
    """The entries matching the filter, oldest first, with their chain fields; audited."""
    body = await audit_service.export_csv(session, principal, wanted, client_ip=ip)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )
