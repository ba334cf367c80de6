"""Registry changes: devices and gateways with their tokens, CSV provisioning, offline sweep."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.iot.models import Device, DeviceProfile, Gateway
from cityops.iot.registry.tokens import digest, new_token
from cityops.kit.errors import Conflict, ProblemError

#: The columns of a provisioning CSV (header row required; gateway_id may be empty).
CSV_COLUMNS = (
    "id",
    "name",
    "owner_code",
    "profile",
    "lon",
    "lat",
    "site",
    "department",
    "gateway_id",
)
MAX_CSV_ROWS = 10_000
ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
#: Songjiang and its surroundings (a device outside is a typo in the coordinates).
LON_RANGE = (120.8, 122.2)
LAT_RANGE = (30.6, 31.6)


@dataclass(frozen=True, slots=True)
class NewDevice:
    """What registering a device takes."""

    id: str
    name: str
    owner_code: str
    profile: str
    lon: float
    lat: float
    site: str = ""
    department: str = ""
    gateway_id: str | None = None
    synthetic: bool = False


async def create_device(session: AsyncSession, new: NewDevice) -> tuple[Device, str]:
    """Register a device; its token is returned once and stored only as a digest."""
    if await session.get(DeviceProfile, new.profile) is None:
        raise ProblemError(422, "validation", f"no device profile {new.profile}")
    if await session.get(Device, new.id) is not None:
        raise Conflict(f"device {new.id} is already registered")
    if new.gateway_id is not None:
        gateway = await session.get(Gateway, new.gateway_id)
        if gateway is None or gateway.owner_code != new.owner_code:
            raise ProblemError(422, "validation", f"no gateway {new.gateway_id} of this owner")
    token = new_token()
    device = Device(
        id=new.id,
        name=new.name,
        owner_code=new.owner_code,
        profile_code=new.profile,
        lon=new.lon,
        lat=new.lat,
        site=new.site,
        department=new.department,
        gateway_id=new.gateway_id,
        token_hash=digest(token),
        synthetic=new.synthetic,
        online=False,
    )
    session.add(device)
    await session.flush()
    return device, token


async def create_gateway(
    session: AsyncSession, gateway_id: str, name: str, owner_code: str, synthetic: bool = False
) -> tuple[Gateway, str]:
    """Register a gateway; its token is returned once."""
    if await session.get(Gateway, gateway_id) is not None:
        raise Conflict(f"gateway {gateway_id} is already registered")
    token = new_token()
    gateway = Gateway(
        id=gateway_id,
        name=name,
        owner_code=owner_code,
        token_hash=digest(token),
        synthetic=synthetic,
    )
    session.add(gateway)
    await session.flush()
    return gateway, token


async def rotate_token(session: AsyncSession, device: Device) -> str:
    """A new token for a device; the old one stops working on every worker's next reload."""
    token = new_token()
    device.token_hash = digest(token)
    await session.flush()
    return token


def _row_device(row: dict[str, str], line: int, errors: list[dict[str, Any]]) -> NewDevice | None:
    import re

    problems: list[str] = []
    if not re.match(ID_PATTERN, row.get("id") or ""):
        problems.append("id: letters, digits, _ . - (1–64)")
    if not (row.get("name") or "").strip() or len(row.get("name") or "") > 128:
        problems.append("name: required, at most 128 characters")
    if not re.match(r"^\d{6,12}$", row.get("owner_code") or ""):
        problems.append("owner_code: an org code of 6–12 digits")
    lon = lat = 0.0
    try:
        lon, lat = float(row.get("lon") or ""), float(row.get("lat") or "")
        if not (LON_RANGE[0] <= lon <= LON_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1]):
            problems.append("lon/lat: WGS 84 inside Songjiang and its surroundings")
    except ValueError:
        problems.append("lon/lat: numbers (WGS 84)")
    for name in ("site", "department"):
        if len(row.get(name) or "") > (128 if name == "site" else 64):
            problems.append(f"{name}: too long")
    if problems:
        errors.append({"line": line, "id": row.get("id") or "", "problems": problems})
        return None
    return NewDevice(
        id=row["id"],
        name=row["name"].strip(),
        owner_code=row["owner_code"],
        profile=row.get("profile") or "",
        lon=lon,
        lat=lat,
        site=row.get("site") or "",
        department=row.get("department") or "",
        gateway_id=row.get("gateway_id") or None,
    )


def parse_csv(text: str) -> list[tuple[int, dict[str, str]]]:
    """The rows of a provisioning CSV with their line numbers, or 422 on a bad header."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
        missing = [c for c in CSV_COLUMNS if c not in header and c != "gateway_id"]
        if missing:
            raise ProblemError(422, "validation", f"the CSV header lacks {', '.join(missing)}")
        rows = [(reader.line_num, dict(row)) for row in reader]
    except csv.Error as exc:
        raise ProblemError(
            422, "validation", f"not a CSV file (line {reader.line_num}): {exc}"
        ) from None
    if len(rows) > MAX_CSV_ROWS:
        raise ProblemError(422, "validation", f"at most {MAX_CSV_ROWS} rows per file")
    if not rows:
        raise ProblemError(422, "validation", "the CSV has no rows")
    return rows


async def import_csv(
    session: AsyncSession, text: str, may_own: Callable[[str], bool]
) -> list[tuple[str, str]]:
    """Register every row or none: (device id, token) per row; 422 lists every bad line."""
    rows = parse_csv(text)
    errors: list[dict[str, Any]] = []
    news: list[tuple[int, NewDevice]] = []
    for line, row in rows:
        new = _row_device({k: (v or "").strip() for k, v in row.items() if k}, line, errors)
        if new is not None:
            news.append((line, new))
    profiles = set((await session.scalars(select(DeviceProfile.code))).all())
    ids = [n.id for _, n in news]
    taken = set((await session.scalars(select(Device.id).where(Device.id.in_(ids)))).all())
    gateways = {g.id: g.owner_code for g in (await session.scalars(select(Gateway))).all()}
    seen: set[str] = set()
    for line, new in news:
        problems = []
        if new.profile not in profiles:
            problems.append(f"profile: one of {', '.join(sorted(profiles))}")
        if new.id in taken or new.id in seen:
            problems.append("id: already registered")
        if not may_own(new.owner_code):
            problems.append("owner_code: outside your data scope")
        if new.gateway_id is not None and gateways.get(new.gateway_id) != new.owner_code:
            problems.append("gateway_id: no gateway of this owner")
        seen.add(new.id)
        if problems:
            errors.append({"line": line, "id": new.id, "problems": problems})
    if errors:
        errors.sort(key=lambda e: e["line"])
        raise ProblemError(
            422, "validation", f"{len(errors)} bad rows; nothing was registered", errors=errors
        )
    created = []
    for _, new in news:
        _, token = await create_device(session, new)
        created.append((new.id, token))
    return created


async def sweep_offline(session: AsyncSession, now: datetime, after: timedelta) -> int:
    """Mark offline every device unheard for `after`; the number marked."""
    stale = or_(Device.last_seen.is_(None), Device.last_seen < now - after)
    result = await session.execute(
        update(Device).where(and_(Device.online.is_(True), stale)).values(online=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
