"""What every inbound source shares: opening a case safely and checking who the caller is."""

from __future__ import annotations

from fastapi import BackgroundTasks
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm, Role
from cityops.cases.access import Actor, CaseAccess
from cityops.cases.flow.env import CaseEnv
from cityops.cases.flow.service import CaseService
from cityops.cases.intake import once
from cityops.cases.intake.claims import repeat_of
from cityops.cases.intake.once import Opened, publish_after_response
from cityops.cases.intake.opening import Intake, NewCase
from cityops.kit.errors import Forbidden
from cityops.media.service import MediaService

#: A source's own case or report number: printable, no spaces or control characters.
REPORT_NO = r"^[^\x00-\x20\x7f]{1,64}$"


async def open_case(
    session: AsyncSession,
    env: CaseEnv,
    principal: Principal,
    data: NewCase,
    tasks: BackgroundTasks,
) -> Opened[Intake]:
    """Open a case for a system (idempotent), publishing its events after the commit.

    Every `photo:` reference must name a photo the caller may read itself (422 otherwise):
    attaching a photo to one's own case must not open another town's photo to one.
    """
    media = MediaService(session, env.settings)
    await media.check_refs(list(data.photos), principal.scope, principal.account_id)
    access = CaseAccess.of(principal)

    async def own_or_visible(svc: CaseService) -> Intake | None:
        return await repeat_of(svc, access, principal, data)

    opened = await once.open_case(
        session, env, access, Actor.of(principal), data, recognise=own_or_visible
    )
    publish_after_response(tasks, env, opened)
    return opened


def require_system_client(principal: Principal, what: str) -> None:
    """Refuse anyone but a system client (对接系统) holding an API key (403)."""
    if principal.role != Role.SYSTEM_CLIENT or principal.token_kind != "api_key":
        raise Forbidden(f"{what} is for system clients with an API key (yours: {principal.role})")
    if not principal.can(Perm.CASE_CREATE):
        raise Forbidden(f"your role ({principal.role}) lacks case.create")
