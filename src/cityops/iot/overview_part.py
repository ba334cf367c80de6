"""The overview's 城市运行 part, filled with live sensing: online rate, readings, water levels.

Read through iot/access.py with the overview caller's scope, for the area shown (devices whose
owner is the area or inside it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from cityops.iot.access import DeviceAccess
from cityops.iot.models import Device, DeviceProfile, Telemetry, TelemetryLatest
from cityops.iot.profiles import KeySpec
from cityops.iot.status import over_line
from cityops.overview.providers import AreaQuery

WATER_PROFILE = "water_level_gauge"
WATER_KEY = "water_level"
MAX_GAUGES = 12


class SensingPart:
    """物联感知 figures for the 城市运行 part."""

    part = "city_operation"
    module = "物联感知设备"
    permission = "iot.read"  # the overview shows these figures to IoT readers only

    async def data(self, area: AreaQuery) -> dict[str, Any]:
        """Devices, online rate, readings in the last minute, gauges against their lines."""
        access = DeviceAccess(area.scope)
        in_area = access.apply(select(Device.id)).where(
            Device.owner_code.startswith(area.code, autoescape=True)
        )
        session = area.session
        row = (
            await session.execute(
                select(func.count(), func.count().filter(Device.online.is_(True))).where(
                    Device.id.in_(in_area.scalar_subquery())
                )
            )
        ).one()
        devices, online = int(row[0]), int(row[1])
        since = area.now - timedelta(minutes=1)
        per_minute = await session.scalar(
            select(func.count())
            .select_from(Telemetry)
            .where(Telemetry.device_id.in_(in_area.scalar_subquery()), Telemetry.ts >= since)
        )
        gauges = await self._gauges(area, in_area)
        over = sum(1 for g in gauges if g["state"] != "normal")
        return {
            "devices": devices,
            "online": online,
            "online_rate": round(online / devices, 4) if devices else None,
            "readings_per_minute": int(per_minute or 0),
            "water_levels": gauges,
            "tiles": [
                {"label": "感知设备", "value": devices, "unit": "台"},
                {
                    "label": "设备在线率",
                    "value": round(100 * online / devices, 1) if devices else None,
                    "unit": "%",
                    "digits": 1,
                },
                {"label": "近1分钟读数", "value": int(per_minute or 0), "unit": "条"},
                {"label": "超警戒水位", "value": over, "unit": "处"},
            ],
        }

    async def _gauges(self, area: AreaQuery, in_area: Any) -> list[dict[str, Any]]:
        session = area.session
        profile = await session.get(DeviceProfile, WATER_PROFILE)
        spec = KeySpec.of(profile.telemetry[WATER_KEY]) if profile else None
        rows = (
            await session.execute(
                select(
                    Device.id,
                    Device.name,
                    Device.site,
                    TelemetryLatest.value_num,
                    TelemetryLatest.ts,
                )
                .join(TelemetryLatest, TelemetryLatest.device_id == Device.id)
                .where(
                    Device.id.in_(in_area.scalar_subquery()),
                    Device.profile_code == WATER_PROFILE,
                    TelemetryLatest.key == WATER_KEY,
                )
                .order_by(TelemetryLatest.value_num.desc())
                .limit(MAX_GAUGES)
            )
        ).all()
        lines = spec.thresholds if spec else {}
        out = []
        for device_id, name, site, level, ts in rows:
            state = "normal"
            if spec is not None and level is not None:
                if level >= lines.get("danger", float("inf")):
                    state = "danger"
                elif over_line(spec, level):
                    state = "alert"
            out.append(
                {
                    "device_id": device_id,
                    "name": name,
                    "site": site,
                    "level": level,
                    "alert": lines.get("alert"),
                    "danger": lines.get("danger"),
                    "state": state,
                    "ts": ts.isoformat(),
                }
            )
        return out


#: The provider the hub's manifest gives the overview.
PART = SensingPart()
