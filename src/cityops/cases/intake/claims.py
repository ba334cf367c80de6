"""Which sources a caller may claim on the generic intake, and whose its source keys are.

A case's source is a fact about the channel it came through, not a field a caller picks: the
public Open311 channel and the town systems have endpoints of their own that check who calls;
IoT, AI, video and command cases arrive on the bus. `POST /api/v1/cases` lets each role claim
only the channels it speaks for, and keeps every caller's source keys apart from everyone
else's (`<account id>:<key>`), so nobody can take a 12345 order number or a town system's case
number before its owner sends it, nor learn from a 409 that someone else used it.

One rule holds for system clients everywhere, here and on the adapters (12345, urban grid,
town systems): a system client submits only for the sources the security admin granted its
account (`PUT /api/v1/accounts/{id}/sources`, `cityops user sources`; auth/sources.py).
"""

from __future__ import annotations

from cityops.auth.principal import Principal
from cityops.auth.roles import Role
from cityops.cases.access import CaseAccess
from cityops.cases.flow.service import CaseService
from cityops.cases.intake.opening import Intake, NewCase, Source, existing_case
from cityops.kit.errors import Forbidden

_STAFF = frozenset({Source.GRID, Source.MOBILE})

#: The sources each role may name on the generic intake; other roles may name none.
GENERIC_CLAIMS: dict[Role, frozenset[Source]] = {
    Role.DISTRICT_OFFICER: _STAFF,
    Role.TOWN_OPERATOR: _STAFF,
    Role.GRID_WORKER: _STAFF,
    Role.SYSTEM_CLIENT: _STAFF | {Source.HOTLINE_12345, Source.UPPER_PLATFORM},
}

#: Where the sources nobody claims on the generic intake come from.
OWN_CHANNEL: dict[Source, str] = {
    Source.OPEN311: "POST /open311/v2/requests.json",
    Source.TOWN_SYSTEM: "POST /api/v1/sources/town/cases (a town system's API key)",
}


def check_grant(principal: Principal, source: Source) -> None:
    """403 unless a system client's account was granted the source (others pass: roles rule)."""
    if principal.role != Role.SYSTEM_CLIENT or principal.may_submit_for(source.value):
        return
    raise Forbidden(
        f"this system client ({principal.username}) is not granted the source {source.value}; "
        "the security admin grants sources (PUT /api/v1/accounts/{id}/sources)"
    )


def check_claim(principal: Principal, source: Source) -> None:
    """403 unless the caller's role may open cases of this source on the generic intake."""
    try:
        allowed = GENERIC_CLAIMS.get(Role(principal.role), frozenset())
    except ValueError:
        allowed = frozenset()
    if source in allowed:
        check_grant(principal, source)
        return
    where = OWN_CHANNEL.get(source, "the system or event feed that owns the channel")
    raise Forbidden(
        f"your role ({principal.role}) may not open {source.value} cases here; they come "
        f"through {where}"
    )


def own_key(principal: Principal, key: str | None) -> str | None:
    """The caller's source key in its own namespace: `<account id>:<key>`."""
    return f"{principal.account_id}:{key}" if key else None


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
