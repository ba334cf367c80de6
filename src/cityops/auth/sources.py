"""Source grants: which system client may submit cases for which channel (案件来源授权).

A source is a fact about the channel a case came through, and a channel's numbers (a 12345
order number, an urban-grid 案卷号) belong to the system that owns it. The security admin
grants each system client the sources it speaks for; the intake adapters and the generic
intake refuse a system client any source it was not granted (cases/intake/claims.py).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth import audit
from cityops.auth.models import Account
from cityops.auth.principal import Principal
from cityops.auth.repository import AccountRepository
from cityops.auth.roles import Perm, Role
from cityops.kit.errors import Conflict, Forbidden, NotFound, ProblemError

#: The sources a system client can be granted, with their names for people. They are the
#: values of `cityops.cases.Source` that arrive from another system (checked by a test).
GRANTABLE_SOURCES: dict[str, str] = {
    "hotline_12345": "12345市民服务热线",
    "grid": "城市网格化管理系统",
    "town_system": "街镇自建系统",
    "upper_platform": "市级平台",
}


def check_sources(sources: Collection[str]) -> list[str]:
    """The sources sorted and deduplicated; 422 for one nobody can be granted."""
    unknown = sorted(set(sources) - GRANTABLE_SOURCES.keys())
    if unknown:
        raise ProblemError(
            422,
            "validation",
            f"unknown source {', '.join(unknown)}; grantable: {', '.join(GRANTABLE_SOURCES)}",
            errors=[{"loc": ["body", "sources"], "msg": "unknown source", "type": "enum"}],
        )
    return sorted(set(sources))


async def set_source_grants(
    session: AsyncSession,
    actor: Principal | None,
    account: Account,
    sources: Collection[str],
    client_ip: str = "",
    tool: str = "",
) -> Account:
    """Replace the sources a system client may submit for; the security admin's (or a tool's)."""
    if actor is not None and not actor.can(Perm.ACCOUNT_GRANT):
        raise Forbidden("source grants are given by the security admin")
    if account.role != Role.SYSTEM_CLIENT:
        raise Conflict("sources are granted to system client accounts only")
    granted = check_sources(sources)
    before = list(account.source_grants or [])
    account.source_grants = granted
    await audit.record(
        session,
        action="account.source_grants",
        result="success",
        actor=actor,
        actor_name=tool,
        target=account.username,
        client_ip=client_ip,
        detail={"before": before, "after": granted},
    )
    return account


async def grant_by_username(
    session: AsyncSession, username: str, sources: Collection[str], tool: str
) -> Account:
    """Set a system client's sources from an install-time tool (the CLI, the simulator)."""
    account = await AccountRepository(session).by_username(username)
    if account is None:
        raise NotFound("account", username)
    return await set_source_grants(session, None, account, sources, tool=tool)
