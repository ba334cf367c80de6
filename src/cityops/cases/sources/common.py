"""What every inbound source shares: opening a case safely and checking who the caller is."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import BackgroundTasks
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm, Role
from cityops.cases.access import Actor, CaseAccess
from cityops.cases.env import CaseEnv
from cityops.cases.events import publish_all
from cityops.cases.flow.service import CaseService
from cityops.cases.intake.opening import Intake, NewCase, existing_case, intake
from cityops.kit.errors import Forbidden

#: A source's own case or report number: printable, no spaces or control characters.
REPORT_NO = r"^[^\x00-\x20\x7f]{1,64}$"


@dataclass(slots=True)
class Opened:
    """The result of an intake and the service that made it (for rendering)."""

    svc: CaseService
    result: Intake


async def open_case(
    session: AsyncSession,
    env: CaseEnv,
    principal: Principal,
    data: NewCase,
    tasks: BackgroundTasks,
) -> Opened:
    """Open a case for the caller (idempotent), publishing its events after the commit."""
    access = CaseAccess.of(principal)
    svc = CaseService(session, env)
    tree, index = await env.tree.current(), await env.index.current()
    try:
        result = await repeat_of(svc, access, principal, data) or await intake(
            svc, access, Actor.of(principal), data, tree, index
        )
    except IntegrityError:
        # The same source key was opened by another request between our check and our insert.
        await session.rollback()
        svc = CaseService(session, env)
        repeat = await repeat_of(svc, access, principal, data)
        if repeat is None:
            raise
        result = repeat
    # Runs after the response, i.e. after DbSession has committed: never publish a rolled-back case.
    tasks.add_task(publish_all, env.bus, list(svc.events))
    return Opened(svc, result)


async def repeat_of(
    svc: CaseService, access: CaseAccess, principal: Principal, data: NewCase
) -> Intake | None:
    """The case already opened for the source key: the sender's own even if it moved away.

    A grid worker's or town system's report routed (or escalated) above its loop leaves its
    view, yet a resent report must still be recognised as the one accepted, not answered 409.
    """
    if not data.source_key:
        return None
    found = await svc.repo.by_source_key(data.source, data.source_key)
    if found is None:
        return None
    if found.created_by_id == principal.account_id:
        return Intake(found, created=False)
    return await existing_case(svc, access, data)  # visible: 200; someone else's: 409


def require_system_client(principal: Principal, what: str) -> None:
    """Refuse anyone but a system client (对接系统) holding an API key (403)."""
    if principal.role != Role.SYSTEM_CLIENT or principal.token_kind != "api_key":
        raise Forbidden(f"{what} is for system clients with an API key (yours: {principal.role})")
    if not principal.can(Perm.CASE_CREATE):
        raise Forbidden(f"your role ({principal.role}) lacks case.create")
