"""The registry as the platform role's store: each call one unit of work in the database."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.kit.bus import Bus
from cityops.kit.db import unit_of_work
from cityops.video.events import VideoAlarm
from cityops.video.gb28181.catalog import Catalog
from cityops.video.gb28181.ids import InvalidId, parse_id
from cityops.video.gb28181.manscdp import Command
from cityops.video.gb28181.store import Registration
from cityops.video.registry.channels import apply_catalog
from cityops.video.registry.group import GroupWriter
from cityops.video.registry.models import VideoChannel, VideoDevice

log = logging.getLogger(__name__)


def owner_resolver(prefixes: Mapping[str, str], default: str) -> Callable[[str], str]:
    """Device code → org code: the longest configured code prefix wins, else the default."""
    ordered = sorted(prefixes.items(), key=lambda kv: -len(kv[0]))

    def owner_of(device_id: str) -> str:
        return next((org for prefix, org in ordered if device_id.startswith(prefix)), default)

    return owner_of


class SqlDeviceStore:
    """Implements gb28181.store.DeviceStore over the registry tables and the bus."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: Bus,
        owner_of: Callable[[str], str],
        *,
        alarm_category: str,
        synthetic: Callable[[str], bool] = lambda _id: False,
    ) -> None:
        self.sessions = sessions
        self.bus = bus
        self.owner_of = owner_of
        self.alarm_category = alarm_category
        self.synthetic = synthetic
        self._registrations = GroupWriter(sessions, self._write_registrations)
        self._infos = GroupWriter(sessions, self._write_infos)

    async def registered(self, registration: Registration) -> None:
        await self._registrations.submit(registration)

    async def _write_registrations(self, session: AsyncSession, batch: list[Registration]) -> None:
        """Insert or update the devices of a batch (the last registration of each wins)."""
        latest = {r.device_id: r for r in batch}
        known = await _devices(session, list(latest))
        for device_id, r in latest.items():
            device = known.get(device_id)
            if device is None:
                device = VideoDevice(
                    device_id=device_id,
                    kind=parse_id(device_id).kind.value,
                    owner_code=self.owner_of(device_id),
                    civil_code=device_id[:8],
                    synthetic=self.synthetic(r.user_agent),
                    name="",
                    manufacturer="",
                    model="",
                    firmware="",
                    user_agent="",
                    channel_count=0,
                    catalog_complete=False,
                )
                session.add(device)
            device.transport, device.host, device.port = r.transport, r.host, r.port
            device.expires, device.online, device.offline_at = r.expires, True, None
            device.registered_at = r.at
            if r.user_agent:
                device.user_agent = r.user_agent

    async def unregistered(self, device_id: str, at: datetime) -> None:
        await self.offline([device_id], at)

    async def seen(self, last_keepalive: Mapping[str, datetime]) -> None:
        rows = [{"b_id": k, "b_at": v} for k, v in last_keepalive.items()]
        table = VideoDevice.__table__
        assert isinstance(table, Table)
        stmt = (
            update(table)
            .where(table.c.device_id == bindparam("b_id"))
            .values(last_keepalive=bindparam("b_at"), online=True)
        )
        async with unit_of_work(self.sessions) as session:
            for start in range(0, len(rows), 1000):
                await session.execute(stmt, rows[start : start + 1000])

    async def offline(self, device_ids: list[str], at: datetime) -> None:
        async with unit_of_work(self.sessions) as session:
            for start in range(0, len(device_ids), 500):
                chunk = device_ids[start : start + 500]
                await session.execute(
                    update(VideoDevice)
                    .where(VideoDevice.device_id.in_(chunk))
                    .values(online=False, offline_at=at)
                )

    async def catalog(self, catalog: Catalog) -> None:
        async with unit_of_work(self.sessions) as session:
            device = await _device(session, catalog.device_id)
            if device is None:
                return
            await apply_catalog(session, device, catalog)

    async def device_info(self, device_id: str, fields: Mapping[str, str]) -> None:
        await self._infos.submit((device_id, dict(fields)))

    async def _write_infos(
        self, session: AsyncSession, batch: list[tuple[str, dict[str, str]]]
    ) -> None:
        """Name, maker, model and firmware from DeviceInfo answers."""
        latest = dict(batch)
        for device_id, device in (await _devices(session, list(latest))).items():
            fields = latest[device_id]
            device.name = fields.get("DeviceName", device.name)[:128]
            device.manufacturer = fields.get("Manufacturer", device.manufacturer)[:64]
            device.model = fields.get("Model", device.model)[:64]
            device.firmware = fields.get("Firmware", device.firmware)[:64]

    async def alarm(self, device_id: str, command: Command) -> None:
        """Stage a VideoAlarm with the alarm's or the channel's position; unplaced ones are logged."""
        channel_id = command.device_id if _valid(command.device_id) else device_id
        async with unit_of_work(self.sessions) as session:
            device = await _device(session, device_id)
            if device is None:
                return
            place = _position(command) or await _channel_position(session, device, channel_id)
            if place is None:
                log.warning("video: alarm of %s has no position; no case opened", channel_id)
                return
            fields = command.fields
            text = " ".join(
                v
                for v in (
                    fields.get("AlarmDescription", ""),
                    f"报警方式 {fields.get('AlarmMethod', '')}",
                )
                if v.strip()
            )
            event = VideoAlarm(
                owner_code=device.owner_code,
                key=f"gb28181:{channel_id}:{fields.get('AlarmTime', '')}:{command.sn}"[:200],
                occurred_at=datetime.now().astimezone(),
                category=self.alarm_category,
                lon=place[0],
                lat=place[1],
                text=f"视频报警 {channel_id} {text}"[:2000],
                channel_id=channel_id,
            )
            self.bus.stage(session, event)
        await self.bus.publish(event)


def _valid(code: str) -> bool:
    try:
        parse_id(code)
    except InvalidId:
        return False
    return True


def _position(command: Command) -> tuple[float, float] | None:
    """Longitude and latitude of the alarm itself, when it has a plausible one."""
    try:
        lon = float(command.fields.get("Longitude", ""))
        lat = float(command.fields.get("Latitude", ""))
    except ValueError:
        return None
    return (lon, lat) if -180 <= lon <= 180 and -90 <= lat <= 90 and (lon or lat) else None


async def _channel_position(
    session: AsyncSession, device: VideoDevice, channel_id: str
) -> tuple[float, float] | None:
    row = (
        await session.execute(
            select(VideoChannel.longitude, VideoChannel.latitude).where(
                VideoChannel.device_pk == device.id, VideoChannel.channel_id == channel_id
            )
        )
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return (row[0], row[1])


async def _devices(session: AsyncSession, device_ids: list[str]) -> dict[str, VideoDevice]:
    found: dict[str, VideoDevice] = {}
    for start in range(0, len(device_ids), 500):
        chunk = device_ids[start : start + 500]
        rows = await session.execute(select(VideoDevice).where(VideoDevice.device_id.in_(chunk)))
        found.update({d.device_id: d for d in rows.scalars()})
    return found


async def _device(session: AsyncSession, device_id: str) -> VideoDevice | None:
    return (
        await session.execute(select(VideoDevice).where(VideoDevice.device_id == device_id))
    ).scalar_one_or_none()
