"""/api/v1/video: devices, their channels, the catalog tree; scope-checked, problem+json."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.kit.errors import Conflict, NotFound, OutOfScope
from cityops.kit.web import DbSession
from cityops.video.gb28181.queries import DeviceUnavailable
from cityops.video.gb28181.upper import UpperPlatform
from cityops.video.registry.models import VideoDevice
from cityops.video.registry.repository import VideoRepository
from cityops.video.registry.schemas import (
    ID_PATTERN,
    CatalogQueryRead,
    ChannelRead,
    DeviceRead,
    DeviceUpdate,
    RegionRead,
)

video_router = APIRouter(prefix="/api/v1/video", tags=["video"])
Reader = Annotated[Principal, Depends(require(Perm.VIDEO_READ))]
Manager = Annotated[Principal, Depends(require(Perm.VIDEO_MANAGE))]
DeviceId = Annotated[str, Path(pattern=ID_PATTERN, description="20-digit GB/T 28181 code")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


async def _visible(repo: VideoRepository, principal: Principal, device_id: str) -> VideoDevice:
    device = await repo.device(device_id)
    if device is None:
        raise NotFound("device", device_id)
    if not principal.scope.allows(device.owner_code):
        raise OutOfScope(device.owner_code)
    return device


@video_router.get("/devices", response_model=list[DeviceRead], summary="Video devices")
async def list_devices(
    principal: Reader,
    session: DbSession,
    online: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[DeviceRead]:
    """Registered devices and lower platforms in your scope."""
    rows = await VideoRepository(session).devices(
        principal.scope, online=online, limit=limit, offset=offset
    )
    return [DeviceRead.model_validate(r) for r in rows]


@video_router.get("/devices/{device_id}", response_model=DeviceRead, summary="One device")
async def get_device(principal: Reader, session: DbSession, device_id: DeviceId) -> DeviceRead:
    """A device by its 20-digit code."""
    return DeviceRead.model_validate(await _visible(VideoRepository(session), principal, device_id))


@video_router.get(
    "/devices/{device_id}/channels", response_model=list[ChannelRead], summary="Its channels"
)
async def list_channels(
    principal: Reader,
    session: DbSession,
    device_id: DeviceId,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[ChannelRead]:
    """The catalog entries a device reported."""
    repo = VideoRepository(session)
    device = await _visible(repo, principal, device_id)
    return [
        ChannelRead.model_validate(c)
        for c in await repo.channels(device, limit=limit, offset=offset)
    ]


@video_router.get("/tree", response_model=list[RegionRead], summary="Catalog by civil code")
async def catalog_tree(
    principal: Reader,
    session: DbSession,
    civil_code: Annotated[str | None, Query(pattern=r"^[0-9]{2,8}$")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 2000,
) -> list[RegionRead]:
    """Channels in scope grouped by civil code; region entries of the catalogs give the names."""
    rows = await VideoRepository(session).tree_rows(principal.scope, civil_code, limit)
    names = {r.channel_id: r.name for r in rows if r.kind == "region"}
    regions: dict[str, RegionRead] = {}
    for row in rows:
        if row.kind == "region":
            continue
        node = regions.get(row.civil_code)
        if node is None:
            node = RegionRead(
                civil_code=row.civil_code, name=names.get(row.civil_code, ""), channels=[]
            )
            regions[row.civil_code] = node
        node.channels.append(ChannelRead.model_validate(row))
    return list(regions.values())


@video_router.patch("/devices/{device_id}", response_model=DeviceRead, summary="Set its owner")
async def update_device(
    principal: Manager, session: DbSession, device_id: DeviceId, body: DeviceUpdate
) -> DeviceRead:
    """Give a device (and its channels) to an org unit inside your scope."""
    repo = VideoRepository(session)
    device = await _visible(repo, principal, device_id)
    if not principal.scope.allows(body.owner_code):
        raise OutOfScope(body.owner_code)
    await repo.set_owner(device, body.owner_code)
    return DeviceRead.model_validate(device)


def _platform(request: Request) -> UpperPlatform:
    platform: UpperPlatform | None = getattr(request.app.state, "video_platform", None)
    if platform is None:
        raise Conflict("the SIP server is not running in this process (CITYOPS_SIP_ENABLED)")
    return platform


@video_router.post(
    "/devices/{device_id}/catalog-query", response_model=CatalogQueryRead, summary="Ask its catalog"
)
async def query_catalog(
    principal: Manager, session: DbSession, request: Request, device_id: DeviceId
) -> CatalogQueryRead:
    """Send Query/Catalog now and wait for every packet (or the quiet timeout)."""
    await _visible(VideoRepository(session), principal, device_id)
    platform = _platform(request)
    try:
        catalog = await platform.queries.catalog(device_id)
    except (DeviceUnavailable, ConnectionError, TimeoutError) as exc:
        raise Conflict(f"device {device_id} did not answer: it is offline or unreachable") from exc
    return CatalogQueryRead(
        device_id=device_id,
        sum_num=catalog.sum_num,
        received=len(catalog.items),
        complete=catalog.complete,
    )
