"""Reads of the registry for other modules' pages (the portal): scoped, as API shapes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.kit.scope import DataScope
from cityops.video.registry.repository import VideoRepository
from cityops.video.registry.schemas import ChannelRead, DeviceRead


async def devices_in_scope(
    session: AsyncSession, scope: DataScope, *, limit: int = 500
) -> list[DeviceRead]:
    """Devices a scope may see, by code."""
    rows = await VideoRepository(session).devices(scope, online=None, limit=limit, offset=0)
    return [DeviceRead.model_validate(r) for r in rows]


async def device_with_channels(
    session: AsyncSession, scope: DataScope, device_id: str, *, limit: int = 2000
) -> tuple[DeviceRead, list[ChannelRead]] | None:
    """A device and its channels; None when it is unknown or outside the scope."""
    repo = VideoRepository(session)
    device = await repo.device(device_id)
    if device is None or not scope.allows(device.owner_code):
        return None
    channels = await repo.channels(device, limit=limit, offset=0)
    return DeviceRead.model_validate(device), [ChannelRead.model_validate(c) for c in channels]
