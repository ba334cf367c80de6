"""The IoT hub's shareable resource: a device (物联设备), owned by its owner code."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.iot.access import DEVICE_KIND
from cityops.iot.models import Device, DeviceProfile
from cityops.sharing import ResourceKind


class DeviceKind(ResourceKind):
    """Devices, shared by telemetry key and data window."""

    name = DEVICE_KIND
    label = "物联设备"
    keyed = True

    async def owners(self, session: AsyncSession, resource_ids: Iterable[str]) -> dict[str, str]:
        """Each existing device's owner code."""
        wanted = sorted(set(resource_ids))
        rows = await session.execute(
            select(Device.id, Device.owner_code).where(Device.id.in_(wanted))
        )
        return {device_id: owner for device_id, owner in rows.all()}

    async def unknown_keys(
        self, session: AsyncSession, resource_ids: Iterable[str], keys: Iterable[str]
    ) -> list[str]:
        """The asked keys that no profile of these devices measures."""
        wanted = sorted(set(resource_ids))
        profiles = await session.scalars(
            select(DeviceProfile.telemetry)
            .join(Device, Device.profile_code == DeviceProfile.code)
            .where(Device.id.in_(wanted))
        )
        known = {key for telemetry in profiles for key in telemetry}
        return [k for k in keys if k not in known]


#: Contributed to `sharing.kinds` by the iot manifest.
DEVICE_SHARING = DeviceKind()
