"""Phone pages for grid workers (/m/…): my tasks, one case with its actions, and the frame.

Sized for a 375 × 667 screen: one column, touch targets of at least 48 px, no table wider than
the screen. Acting posts to the same form endpoint as the desktop (/cases/act, view=m).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.cases import TRANSITIONS, CaseAccess, CaseFilter, CaseRecord, CaseService, env_of
from cityops.kit.db import unit_of_work
from cityops.kit.web import sessionmaker_of
from cityops.portal.case_page import case_id_of, load_case_view
from cityops.portal.gate import tree_of
from cityops.portal.render import error_page, frame
from cityops.portal.workbench import NOT_VISIBLE, case_reader, respond
from cityops.portal.workbench_views import case_row

router = APIRouter(include_in_schema=False)
#: The work a phone user does on a case: handle it or verify it.
TASK_PERMS = frozenset({Perm.CASE_HANDLE, Perm.CASE_VERIFY})
MAX_TASKS = 100
RECENT = 10


def task_statuses(permissions: Iterable[Perm]) -> tuple[str, ...]:
    """States in which these permissions can move a case by handling or verifying it."""
    held = TASK_PERMS & set(permissions)
    found = {row.source.value for row in TRANSITIONS if row.changes_state and row.perms & held}
    return tuple(sorted(found))


def _urgency(case: CaseRecord) -> tuple[bool, datetime]:
    """Overdue first, then the nearest deadline."""
    due = [d for d in (case.sign_due_at, case.handle_due_at) if d is not None]
    return (
        not case.overdue,
        min(due) if due else datetime.max.replace(tzinfo=case.created_at.tzinfo),
    )


@router.get("/m")
async def phone_root() -> Response:
    """The phone pages start at /m/."""
    return RedirectResponse("/m/", status_code=307)


@router.get("/m/")
async def my_tasks(request: Request) -> Response:
    """My tasks: cases in my area waiting for me to sign, handle or verify; then recent cases."""
    principal = await case_reader(request)
    if not isinstance(principal, Principal):
        return principal
    tree, env = await tree_of(request), env_of(request)
    access = CaseAccess.of(principal)
    statuses = task_statuses(principal.permissions)
    async with unit_of_work(sessionmaker_of(request)) as session:
        svc = CaseService(session, env)
        tasks = []
        if statuses:
            found, _ = await svc.list_cases(access, CaseFilter(statuses=statuses), MAX_TASKS, 0)
            tasks = sorted(found, key=_urgency)
        recent, _ = await svc.list_cases(access, CaseFilter(), RECENT, 0)
        timers = await svc.timers_of(sorted({c.id for c in [*tasks, *recent]}))
    now = env.now()
    context = {
        "tasks": [case_row(c, tree, timers[c.id], now) for c in tasks],
        "recent": [case_row(c, tree, timers[c.id], now) for c in recent],
        "can_report": principal.can(Perm.CASE_CREATE),
    }
    return respond(request, "m/tasks.html", frame(request, tree, principal), context)


@router.get("/m/cases/{case_id}")
async def phone_case(request: Request, case_id: str) -> Response:
    """One case on a phone: what and where, photos, deadlines, the steps so far, my actions."""
    principal = await case_reader(request)
    if not isinstance(principal, Principal):
        return principal
    page = frame(request, await tree_of(request), principal)
    number = case_id_of(case_id)
    view = await load_case_view(request, principal, number) if number else None
    if view is None:
        return error_page(page, 404, NOT_VISIBLE)
    return respond(request, "m/case.html", page, {"view": view})
