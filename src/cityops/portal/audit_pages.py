"""The audit log page (/audit) for the audit admin: filters, pages and CSV export, each read audited."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cityops.auth.audit import service as audit_service
from cityops.auth.audit.service import AuditFilter
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.kit.db import unit_of_work
from cityops.kit.web import client_ip, sessionmaker_of
from cityops.portal.gate import gate, tree_of
from cityops.portal.render import error_page, frame, render

router = APIRouter(include_in_schema=False)

SHANGHAI = timezone(timedelta(hours=8))
PAGE_SIZE = 50
RESULTS = {"success": "成功", "failure": "失败", "denied": "拒绝"}
Text = Annotated[str, Query(max_length=64)]


def _day(text: str, *, end: bool) -> datetime | None:
    """A yyyy-mm-dd date as the start of that day (or of the next, for `end`) in Shanghai."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
        start = datetime.combine(day, time(), SHANGHAI)
        return start + timedelta(days=1) if end else start
    except (ValueError, OverflowError):
        return None


def _filter(actor: str, action: str, result: str, since: str, until: str) -> AuditFilter:
    return AuditFilter(
        actor=actor.strip() or None,
        action=action.strip() or None,
        result=result if result in RESULTS else None,
        since=_day(since, end=False),
        until=_day(until, end=True),
    )


async def _reader(request: Request) -> Principal | Response:
    principal = await gate(request)
    if isinstance(principal, Principal) and not principal.can(Perm.AUDIT_READ):
        return error_page(frame(request, await tree_of(request), principal), 403)
    return principal


@router.get("/audit")
async def audit_page(
    request: Request,
    actor: Text = "",
    action: Text = "",
    result: Text = "",
    since: Text = "",
    until: Text = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """A page of the audit log, newest first, with filters and a CSV link."""
    principal = await _reader(request)
    if not isinstance(principal, Principal):
        return principal
    wanted = _filter(actor, action, result, since, until)
    async with unit_of_work(sessionmaker_of(request)) as session:
        rows, total = await audit_service.read_page(
            session,
            principal,
            wanted,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            client_ip=client_ip(request),
        )
    query = {"actor": actor, "action": action, "result": result, "since": since, "until": until}
    kept = {k: v for k, v in query.items() if v}
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        "rows": [
            {
                "entry": r,
                "at": r.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
                "result": RESULTS.get(r.result, r.result),
            }
            for r in rows
        ],
        "total": total,
        "query": query,
        "results": RESULTS,
        "page": page,
        "pages": pages,
        "prev": f"/audit?{urlencode({**kept, 'page': page - 1})}" if page > 1 else None,
        "next": f"/audit?{urlencode({**kept, 'page': page + 1})}" if page < pages else None,
        "export": f"/audit/export.csv?{urlencode(kept)}",
    }
    return render("audit.html", frame(request, await tree_of(request), principal), context)


@router.get("/audit/export.csv")
async def audit_export(
    request: Request,
    actor: Text = "",
    action: Text = "",
    result: Text = "",
    since: Text = "",
    until: Text = "",
) -> Response:
    """The filtered log as CSV (oldest first, with chain fields); the export is audited."""
    principal = await _reader(request)
    if not isinstance(principal, Principal):
        return principal
    async with unit_of_work(sessionmaker_of(request)) as session:
        body = await audit_service.export_csv(
            session,
            principal,
            _filter(actor, action, result, since, until),
            client_ip=client_ip(request),
        )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="audit-log.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
