"""Record audited acts: every change of state and every login, with who, when, what, where, result."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.audit import chain as audit_chain
from cityops.auth.models import AuditEntry
from cityops.auth.principal import Principal
from cityops.kit.db import utcnow


async def record(
    session: AsyncSession,
    *,
    action: str,
    result: str,
    actor: Principal | None = None,
    actor_name: str = "",
    actor_org: str = "",
    target: str = "",
    client_ip: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry, sealed into the chain, in the caller's transaction."""
    await audit_chain.append(
        session,
        AuditEntry(
            at=utcnow(),
            actor_id=actor.account_id if actor else None,
            actor=actor.username if actor else actor_name,
            actor_org=actor.org_code if actor else actor_org,
            action=action,
            target=target,
            result=result,
            client_ip=client_ip,
            detail=detail or {},
        ),
    )
