"""HTTP endpoints of sharing under /api/v1/sharing: apply, decide, grants and their access log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.kit.web import AwareInstant, ClientIp, DbSession
from cityops.sharing.access import granting
from cityops.sharing.decide import Action, Status
from cityops.sharing.kinds import KindRegistry
from cityops.sharing.schemas import (
    AccessRead,
    ApplicationCreate,
    ApplicationRead,
    Approval,
    CheckRead,
    DataKey,
    GrantRead,
    KindName,
    KindRead,
    Reason,
    ResourceId,
)
from cityops.sharing.service import SharingService

router = APIRouter(prefix="/api/v1/sharing", tags=["sharing"])
Sharer = Annotated[Principal, Depends(require(Perm.SHARING_APPLY, Perm.SHARING_APPROVE))]
Applicant = Annotated[Principal, Depends(require(Perm.SHARING_APPLY))]
Checker = Annotated[
    Principal, Depends(require(Perm.SHARING_APPLY, Perm.SHARING_APPROVE, Perm.IOT_READ))
]
Approver = Annotated[Principal, Depends(require(Perm.SHARING_APPROVE))]
ApplicationId = Annotated[int, Path(ge=1, le=2**31 - 1)]
GrantId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=100_000)]
ListSide = Annotated[
    Literal["mine", "review"],
    Query(description="mine: my unit's applications (我的申请); review: owner side (审批)"),
]
GrantSide = Annotated[
    Literal["held", "given"], Query(description="held: granted to my unit; given: by my side")
]


def service(request: Request, session: DbSession) -> SharingService:
    """The sharing service over the request's session and the app's registered kinds."""
    kinds: KindRegistry = request.app.state.sharing_kinds
    return SharingService(session, kinds)


Service = Annotated[SharingService, Depends(service)]


@router.get("/kinds", response_model=list[KindRead], summary="What can be shared")
async def list_kinds(request: Request, principal: Sharer) -> list[KindRead]:
    """The resource kinds the enabled modules registered."""
    kinds: KindRegistry = request.app.state.sharing_kinds
    return [KindRead(name=k.name, label=k.label, keyed=k.keyed) for k in kinds.all()]


@router.post(
    "/applications", response_model=ApplicationRead, status_code=201, summary="Apply for data"
)
async def apply(
    body: ApplicationCreate, principal: Applicant, svc: Service, ip: ClientIp
) -> ApplicationRead:
    """Apply, for the caller's unit, for resources of one owner outside the caller's scope."""
    return await svc.apply(principal, body, ip)


@router.get("/applications", response_model=list[ApplicationRead], summary="List applications")
async def list_applications(
    principal: Sharer,
    svc: Service,
    side: ListSide = "mine",
    status: Annotated[Status | None, Query()] = None,
    kind: Annotated[KindName | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[ApplicationRead]:
    """My unit's applications, or (review) those for resources owned in my scope."""
    return await svc.applications(
        principal,
        as_owner=side == "review",
        status=status.value if status else None,
        kind=kind,
        limit=limit,
        offset=offset,
    )


@router.get("/applications/{application_id}", response_model=ApplicationRead, summary="One")
async def read_application(
    application_id: ApplicationId, principal: Sharer, svc: Service
) -> ApplicationRead:
    """An application of my unit, or for resources owned in my scope."""
    return await svc.read(principal, application_id)


@router.post(
    "/applications/{application_id}/approve", response_model=ApplicationRead, summary="Approve"
)
async def approve(
    application_id: ApplicationId, body: Approval, principal: Approver, svc: Service, ip: ClientIp
) -> ApplicationRead:
    """Approve a pending application: its grants take effect at once."""
    return await svc.act(principal, application_id, Action.APPROVE, ip, body.comment)


@router.post(
    "/applications/{application_id}/reject", response_model=ApplicationRead, summary="Reject"
)
async def reject(
    application_id: ApplicationId, body: Reason, principal: Approver, svc: Service, ip: ClientIp
) -> ApplicationRead:
    """Reject a pending application, with the reason the applicant will read."""
    return await svc.act(principal, application_id, Action.REJECT, ip, body.reason)


@router.post(
    "/applications/{application_id}/withdraw", response_model=ApplicationRead, summary="Withdraw"
)
async def withdraw(
    application_id: ApplicationId, principal: Applicant, svc: Service, ip: ClientIp
) -> ApplicationRead:
    """Withdraw my unit's application while it is pending."""
    return await svc.act(principal, application_id, Action.WITHDRAW, ip)


@router.post(
    "/applications/{application_id}/revoke", response_model=ApplicationRead, summary="Revoke"
)
async def revoke(
    application_id: ApplicationId, body: Reason, principal: Approver, svc: Service, ip: ClientIp
) -> ApplicationRead:
    """Revoke an approved application's grants: every read path refuses from the next request."""
    return await svc.act(principal, application_id, Action.REVOKE, ip, body.reason)


@router.get("/grants", response_model=list[GrantRead], summary="Grants")
async def list_grants(
    principal: Sharer,
    svc: Service,
    side: GrantSide = "held",
    live: Annotated[bool, Query(description="Only unrevoked, unexpired grants")] = True,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[GrantRead]:
    """Grants my unit holds, or (given) grants of resources owned in my scope."""
    return await svc.grants(
        principal, as_owner=side == "given", live=live, limit=limit, offset=offset
    )


@router.get("/grants/{grant_id}", response_model=GrantRead, summary="One grant")
async def read_grant(grant_id: GrantId, principal: Sharer, svc: Service) -> GrantRead:
    """A grant my unit holds or my side gave."""
    return await svc.grant(principal, grant_id)


@router.get("/grants/{grant_id}/access", response_model=list[AccessRead], summary="Access log")
async def access_log(
    grant_id: GrantId, principal: Sharer, svc: Service, limit: Limit = 100, offset: Offset = 0
) -> list[AccessRead]:
    """Every access through a grant, newest first (共享访问记录)."""
    return await svc.accesses(principal, grant_id, limit, offset)


@router.get("/check", response_model=CheckRead, summary="Does my unit hold a grant")
async def check(
    principal: Checker,
    session: DbSession,
    kind: Annotated[KindName, Query()],
    resource_id: Annotated[ResourceId, Query()],
    key: Annotated[DataKey | None, Query()] = None,
    at: Annotated[AwareInstant | None, Query(description="The data time asked about")] = None,
) -> CheckRead:
    """The read paths' own check over HTTP (a town node, a cascaded platform): live grants only."""
    grant = await granting(session, principal, kind, resource_id, key, at)
    if grant is None:
        return CheckRead(allowed=False)
    return CheckRead(allowed=True, grant_id=grant.id, expires_at=grant.expires_at)
