"""HTTP endpoints of town pages under /api/v1/towns/{code}: the page and its link tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.geo.layers import registry
from cityops.kit.web import ClientIp, DbSession
from cityops.org.schemas import OrgCodePath
from cityops.org.tree import OrgNode, OrgTreeCache
from cityops.townpage.links import LinkService
from cityops.townpage.schemas import LinkCreate, LinkIssued, LinkRead, PageRead, PageWrite
from cityops.townpage.service import TownPageService, town_of

router = APIRouter(prefix="/api/v1/towns", tags=["town pages"])
Reader = Annotated[Principal, Depends(require(Perm.ORG_READ))]
LinkId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def town(request: Request, code: OrgCodePath, principal: Reader) -> OrgNode:
    """The street/town of the path, in the caller's scope."""
    cache: OrgTreeCache = request.app.state.org_tree
    return town_of(await cache.current(), principal, code)


Town = Annotated[OrgNode, Depends(town)]


@router.get("/{code}/page", response_model=PageRead, summary="A town's page")
async def get_page(node: Town, principal: Reader, session: DbSession) -> PageRead:
    """The town's saved page, or its default (`is_default: true`) composed of overview parts."""
    return await TownPageService(session).read(principal, node, registry.names())


@router.put(
    "/{code}/page",
    response_model=PageRead,
    summary="Save a town's page",
    responses={409: {"description": "The page changed since `version` was read"}},
)
async def put_page(
    node: Town, principal: Reader, session: DbSession, body: PageWrite, ip: ClientIp
) -> PageRead:
    """Save the page (the town's own operator, or a district officer); send the version read."""
    return await TownPageService(session).save(principal, node, body, registry.names(), ip)


@router.post("/{code}/links", response_model=LinkIssued, status_code=201, summary="Issue a link")
async def issue_link(
    request: Request,
    node: Town,
    principal: Reader,
    session: DbSession,
    body: LinkCreate,
    ip: ClientIp,
) -> LinkIssued:
    """Read-only, expiring absolute URLs to the town's page and overview; the token shown only now."""
    base = str(request.base_url)
    return await LinkService(session).issue(principal, node.code, body, base, ip)


@router.get("/{code}/links", response_model=list[LinkRead], summary="A town's links")
async def list_links(node: Town, principal: Reader, session: DbSession) -> list[LinkRead]:
    """The town's links, newest first (without tokens)."""
    return await LinkService(session).list(principal, node.code)


@router.delete("/{code}/links/{link_id}", response_model=LinkRead, summary="Revoke a link")
async def revoke_link(
    node: Town, principal: Reader, session: DbSession, link_id: LinkId, ip: ClientIp
) -> LinkRead:
    """Revoke a link at once; its URLs answer 403 from then on."""
    return await LinkService(session).revoke(principal, node.code, link_id, ip)
