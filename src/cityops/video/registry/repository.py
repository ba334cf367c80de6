"""Queries of the registry, every one through the data scope (kit.scope.scoped)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.kit.scope import DataScope, scoped
from cityops.video.registry.models import VideoChannel, VideoDevice


class VideoRepository:
    """Reads and the few writes the API makes."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def devices(
        self, scope: DataScope, *, online: bool | None, limit: int, offset: int
    ) -> Sequence[VideoDevice]:
        stmt = scoped(select(VideoDevice), VideoDevice.owner_code, scope)
        if online is not None:
            stmt = stmt.where(VideoDevice.online.is_(online))
        stmt = stmt.order_by(VideoDevice.device_id).limit(limit).offset(offset)
        return (await self.session.execute(stmt)).scalars().all()

    async def device(self, device_id: str) -> VideoDevice | None:
        """A device by code, unscoped: the caller checks the scope to tell 404 from 403."""
        stmt = select(VideoDevice).where(VideoDevice.device_id == device_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def channels(
        self, device: VideoDevice, *, limit: int, offset: int
    ) -> Sequence[VideoChannel]:
        stmt = (
            select(VideoChannel)
            .where(VideoChannel.device_pk == device.id)
            .order_by(VideoChannel.channel_id)
            .limit(limit)
            .offset(offset)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def tree_rows(
        self, scope: DataScope, civil_code: str | None, limit: int
    ) -> Sequence[VideoChannel]:
        """Catalog entries in scope (optionally under a civil code), by civil code."""
        stmt = scoped(select(VideoChannel), VideoChannel.owner_code, scope)
        if civil_code:
            stmt = stmt.where(VideoChannel.civil_code.startswith(civil_code, autoescape=True))
        stmt = stmt.order_by(VideoChannel.civil_code, VideoChannel.channel_id).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def set_owner(self, device: VideoDevice, owner_code: str) -> None:
        device.owner_code = owner_code
        await self.session.execute(
            update(VideoChannel)
            .where(VideoChannel.device_pk == device.id)
            .values(owner_code=owner_code)
        )
