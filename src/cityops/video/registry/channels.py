"""Writing a catalog answer into the channel table: insert, update, and (when complete) remove."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.video.gb28181.catalog import Catalog
from cityops.video.gb28181.ids import InvalidId, parse_id
from cityops.video.registry.models import VideoChannel, VideoDevice


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) <= 180 and value != 0 else None


def channel_values(item: dict[str, str]) -> dict[str, object] | None:
    """The columns of one catalog <Item>; None for an item without a valid code."""
    code = item.get("DeviceID", "")
    try:
        kind = parse_id(code, regions=True).kind.value
    except InvalidId:
        return None
    civil = item.get("CivilCode", "") or (code[:8] if len(code) == 20 else code)
    return {
        "kind": kind,
        "name": item.get("Name", "")[:128],
        "manufacturer": item.get("Manufacturer", "")[:64],
        "model": item.get("Model", "")[:64],
        "owner": item.get("Owner", "")[:64],
        "civil_code": civil[:8] if civil.isdigit() else "",
        "parent_id": item.get("ParentID", "")[:64],
        "business_group_id": item.get("BusinessGroupID", "")[:20],
        "address": item.get("Address", "")[:256],
        "parental": item.get("Parental", "0") == "1",
        "status": item.get("Status", "")[:8].upper(),
        "longitude": _float(item.get("Longitude", "")),
        "latitude": _float(item.get("Latitude", "")),
    }


async def apply_catalog(session: AsyncSession, device: VideoDevice, catalog: Catalog) -> None:
    """Upsert every item; a complete catalog also removes the channels it no longer lists."""
    existing = {
        c.channel_id: c
        for c in (
            await session.execute(select(VideoChannel).where(VideoChannel.device_pk == device.id))
        ).scalars()
    }
    now = datetime.now(UTC)
    for code, item in catalog.items.items():
        values = channel_values(item)
        if values is None:
            continue
        row = existing.get(code)
        if row is None:
            session.add(
                VideoChannel(
                    device_pk=device.id,
                    channel_id=code,
                    owner_code=device.owner_code,
                    updated_at=now,
                    **values,
                )
            )
            continue
        for key, value in values.items():
            setattr(row, key, value)
        row.owner_code, row.updated_at = device.owner_code, now
    if catalog.complete:
        gone = [code for code in existing if code not in catalog.items]
        for start in range(0, len(gone), 500):
            await session.execute(
                delete(VideoChannel).where(
                    VideoChannel.device_pk == device.id,
                    VideoChannel.channel_id.in_(gone[start : start + 500]),
                )
            )
    device.channel_count = (
        len(set(existing) | set(catalog.items)) if not catalog.complete else len(catalog.items)
    )
    device.catalog_complete = catalog.complete
    device.catalog_at = now
