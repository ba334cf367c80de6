"""Registry and read endpoints under /api/v1/iot: every read goes through iot/access.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.iot.access import DeviceAccess, may_manage
from cityops.iot.http.deps import DeviceId, Manager, Reader, Runtime
from cityops.iot.http.schemas import (
    Credential,
    DeadLetterRead,
    DeviceCreate,
    DevicePage,
    DeviceRead,
    GatewayCreate,
    HubStats,
    LatestRead,
    PointRead,
    ProfileRead,
    SeriesRead,
)
from cityops.iot.models import DeadLetter, Device, DeviceProfile, Telemetry, TelemetryLatest
from cityops.iot.profiles import KeySpec
from cityops.iot.registry.service import (
    NewDevice,
    create_device,
    create_gateway,
    import_csv,
    rotate_token,
)
from cityops.kit.db import utcnow
from cityops.kit.errors import Forbidden, NotFound, OutOfScope, ProblemError
from cityops.kit.web import MAX_INT, DbSession, Instant

router = APIRouter(prefix="/api/v1/iot", tags=["iot"])

MAX_POINTS = 10_000


def device_read(d: Device) -> DeviceRead:
    """The API form of a device."""
    return DeviceRead(
        id=d.id,
        name=d.name,
        owner_code=d.owner_code,
        profile=d.profile_code,
        lon=d.lon,
        lat=d.lat,
        site=d.site,
        department=d.department,
        gateway_id=d.gateway_id,
        synthetic=d.synthetic,
        online=d.online,
        last_seen=d.last_seen,
    )


def value_of(
    spec: KeySpec | None, num: float | None, text: str | None
) -> float | bool | str | None:
    """A stored value back in its key's type."""
    if text is not None:
        return text
    if num is None:
        return None
    if spec is not None and spec.type == "bool":
        return num != 0
    return num


async def visible_device(session: AsyncSession, access: DeviceAccess, device_id: str) -> Device:
    """A device the caller may see, or 404 (whether it exists elsewhere is not told)."""
    device = await session.scalar(access.apply(select(Device).where(Device.id == device_id)))
    if device is None:
        raise NotFound("device", device_id)
    return device


async def profile_keys(session: AsyncSession, code: str) -> dict[str, KeySpec]:
    """The keys of a profile."""
    profile = await session.get(DeviceProfile, code)
    return {k: KeySpec.of(v) for k, v in (profile.telemetry if profile else {}).items()}


@router.get("/profiles", response_model=list[ProfileRead])
async def list_profiles(session: DbSession, _: Reader) -> list[ProfileRead]:
    """The device profiles: keys, units, ranges, default thresholds."""
    rows = (await session.scalars(select(DeviceProfile).order_by(DeviceProfile.code))).all()
    return [
        ProfileRead(code=p.code, name=p.name, telemetry=p.telemetry, sources=p.sources)
        for p in rows
    ]


@router.get("/devices", response_model=DevicePage)
async def list_devices(
    session: DbSession,
    principal: Reader,
    owner: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
    profile: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$")] = None,
    online: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> DevicePage:
    """Devices the caller may see (its own and granted ones), by owner unit, profile, status."""
    access = await DeviceAccess.load(session, principal)
    stmt = access.apply(select(Device))
    if owner is not None:
        stmt = stmt.where(Device.owner_code.startswith(owner, autoescape=True))
    if profile is not None:
        stmt = stmt.where(Device.profile_code == profile)
    if online is not None:
        stmt = stmt.where(Device.online.is_(online))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = (await session.scalars(stmt.order_by(Device.id).limit(limit).offset(offset))).all()
    for device in rows:
        access.log(session, device, "device.list")
    return DevicePage(items=[device_read(d) for d in rows], total=total)


@router.get("/devices/{device_id}", response_model=DeviceRead)
async def get_device(device_id: DeviceId, session: DbSession, principal: Reader) -> DeviceRead:
    """One device."""
    access = await DeviceAccess.load(session, principal)
    device = await visible_device(session, access, device_id)
    access.log(session, device, "device.read")
    return device_read(device)


@router.get("/devices/{device_id}/latest", response_model=list[LatestRead])
async def latest_values(
    device_id: DeviceId, session: DbSession, principal: Reader
) -> list[LatestRead]:
    """The newest value of each key of a device (of a granted device: granted keys and window)."""
    access = await DeviceAccess.load(session, principal)
    device = await visible_device(session, access, device_id)
    keys = await profile_keys(session, device.profile_code)
    rows = (
        await session.scalars(
            select(TelemetryLatest)
            .where(TelemetryLatest.device_id == device.id)
            .order_by(TelemetryLatest.key)
        )
    ).all()
    rows = [r for r in rows if access.may_read(device, r.key, r.ts)]
    access.log(session, device, "latest.read", len(rows))
    return [
        LatestRead(
            key=r.key,
            value=value_of(keys.get(r.key), r.value_num, r.value_text),
            unit=keys[r.key].unit if r.key in keys else "",
            label=keys[r.key].label if r.key in keys else r.key,
            ts=r.ts,
        )
        for r in rows
    ]


@router.get("/devices/{device_id}/telemetry", response_model=SeriesRead)
async def telemetry(
    device_id: DeviceId,
    session: DbSession,
    principal: Reader,
    key: Annotated[str, Query(pattern=r"^[A-Za-z0-9_]{1,64}$")],
    from_: Annotated[Instant | None, Query(alias="from")] = None,
    to: Annotated[Instant | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_POINTS)] = 2000,
) -> SeriesRead:
    """Readings of one key in [from, to) (default: the last 24 hours), oldest first.

    Of a granted device: only a granted key (403 otherwise), only readings in the granted window.
    """
    access = await DeviceAccess.load(session, principal)
    device = await visible_device(session, access, device_id)
    end = to or utcnow()
    start = from_ or end - timedelta(hours=24)
    if start.tzinfo is None or end.tzinfo is None:
        raise ProblemError(422, "validation", "give from and to with a time zone")
    keys = await profile_keys(session, device.profile_code)
    if key not in keys:
        raise ProblemError(
            422, "validation", f"{key} is not a key of profile {device.profile_code}"
        )
    if not access.may_read(device, key):
        raise Forbidden(f"{key} of {device.id} is not shared with your unit")
    rows = (
        await session.execute(
            select(Telemetry.ts, Telemetry.value_num, Telemetry.value_text)
            .where(Telemetry.device_id == device.id, Telemetry.key == key)
            .where(Telemetry.ts >= start, Telemetry.ts < end, access.window(device, key))
            .order_by(Telemetry.ts.desc())
            .limit(limit)
        )
    ).all()
    access.log(session, device, "telemetry.read", len(rows))
    points = [PointRead(ts=ts, value=value_of(keys[key], n, x)) for ts, n, x in reversed(rows)]
    return SeriesRead(device_id=device.id, key=key, unit=keys[key].unit, points=points)


@router.get("/dead-letters", response_model=list[DeadLetterRead])
async def dead_letters(
    session: DbSession,
    principal: Manager,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
) -> list[DeadLetterRead]:
    """Refused messages of the caller's units, newest first (a topic naming no unit: district)."""
    stmt = select(DeadLetter).where(principal.scope.clause(DeadLetter.owner_code))
    if before is not None:
        stmt = stmt.where(DeadLetter.id < before)
    rows = (await session.scalars(stmt.order_by(DeadLetter.id.desc()).limit(limit))).all()
    return [
        DeadLetterRead(
            id=r.id,
            received_at=r.received_at,
            channel=r.channel,
            topic=r.topic,
            owner_code=r.owner_code,
            device_id=r.device_id,
            reason=r.reason,
            raw=r.raw.decode("utf-8", "replace")[:4000],
        )
        for r in rows
    ]


@router.get("/stats", response_model=HubStats)
async def hub_stats(session: DbSession, principal: Reader) -> HubStats:
    """Devices, online rate and readings in the last minute of what the caller sees."""
    return await stats_of(session, await DeviceAccess.load(session, principal))


async def stats_of(session: AsyncSession, access: DeviceAccess) -> HubStats:
    """The live figures of the devices an access sees."""
    row = (
        await session.execute(
            access.apply(
                select(func.count(), func.count().filter(Device.online.is_(True)))
            ).select_from(Device)
        )
    ).one()
    devices, online = int(row[0]), int(row[1])
    since = utcnow() - timedelta(minutes=1)
    visible = access.apply(select(Device.id)).scalar_subquery()
    recent = await session.scalar(
        select(func.count())
        .select_from(TelemetryLatest)
        .where(TelemetryLatest.ts >= since, TelemetryLatest.device_id.in_(visible))
    )
    return HubStats(
        devices=devices,
        online=online,
        online_rate=round(online / devices, 4) if devices else 0.0,
        readings_last_minute=int(recent or 0),
    )


def _check_owner(principal: Any, owner_code: str) -> None:
    if not may_manage(principal, owner_code):
        raise OutOfScope(owner_code)


@router.post("/devices", status_code=status.HTTP_201_CREATED, response_model=Credential)
async def register_device(
    body: DeviceCreate, session: DbSession, principal: Manager, runtime: Runtime
) -> Credential:
    """Register a device of the caller's units; its token is shown this once."""
    _check_owner(principal, body.owner_code)
    _, token = await create_device(session, NewDevice(**body.model_dump()))
    await session.commit()  # the token must not be shown for a device that was not stored
    runtime.cache.invalidate()
    return Credential(id=body.id, token=token)


@router.post("/gateways", status_code=status.HTTP_201_CREATED, response_model=Credential)
async def register_gateway(
    body: GatewayCreate, session: DbSession, principal: Manager, runtime: Runtime
) -> Credential:
    """Register a gateway of the caller's units; its token is shown this once."""
    _check_owner(principal, body.owner_code)
    _, token = await create_gateway(session, body.id, body.name, body.owner_code)
    await session.commit()
    runtime.cache.invalidate()
    return Credential(id=body.id, token=token)


@router.post("/devices/{device_id}/token", response_model=Credential)
async def new_device_token(
    device_id: DeviceId, session: DbSession, principal: Manager, runtime: Runtime
) -> Credential:
    """Replace a device's token (the old one stops working)."""
    device = await visible_device(session, DeviceAccess.of(principal), device_id)
    token = await rotate_token(session, device)
    await session.commit()
    runtime.cache.invalidate()
    return Credential(id=device.id, token=token)


@router.post(
    "/devices/import", status_code=status.HTTP_201_CREATED, response_model=list[Credential]
)
async def import_devices(
    session: DbSession,
    principal: Manager,
    runtime: Runtime,
    csv_text: Annotated[str, Body(media_type="text/csv", max_length=2_000_000)],
) -> list[Credential]:
    """Bulk provisioning from CSV (all rows or none; 422 names each bad line)."""
    created = await import_csv(session, csv_text, lambda owner: may_manage(principal, owner))
    await session.commit()
    runtime.cache.invalidate()
    return [Credential(id=i, token=t) for i, t in created]
