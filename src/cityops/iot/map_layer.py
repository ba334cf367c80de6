"""The `iot_devices` map layer: devices as points coloured by state (在线/离线/告警).

It reads the registry through iot/access.py (the caller's scope and its unit's sharing grants)
and needs iot.read. The data version is the device count, the device grants' state and a
15-second bucket: a state change shows within 15 s, a revoked grant on the next tile.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, cast

from shapely import points
from sqlalchemy import Select, func, select

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.geo.layers import BaseLayer, BBox, FeatureBatch, GeometryKind, LayerContext, StyleLayer
from cityops.iot.access import DEVICE_KIND, DeviceAccess
from cityops.iot.models import Device, DeviceProfile, TelemetryLatest
from cityops.iot.profiles import KeySpec
from cityops.iot.status import STATUS_LABELS, device_status
from cityops.kit.db import unit_of_work
from cityops.sharing import grants_state

STALE_SECONDS = 15
MAX_DEVICES = 20_000
COLORS = {"online": "#34d399", "offline": "#94a3b8", "alert": "#ef4444"}


class DevicesLayer(BaseLayer):
    """Registered devices the caller may see, coloured by state."""

    name = "iot_devices"
    title = "物联感知设备"
    geometry = GeometryKind.POINT
    min_zoom = 0
    max_zoom = 16
    order = 310
    color = "#34d399"

    def visible_to(self, principal: Principal) -> bool:
        """Readers of the IoT hub only."""
        return principal.can(Perm.IOT_READ)

    def scope_key(self, principal: Principal) -> str:
        """Who sees the same devices: the same scope and the same unit (whose grants they hold)."""
        return f"{DeviceAccess.of(principal).key()}|{principal.org_code}"

    async def version(self, ctx: LayerContext) -> str:
        """Device count, the device grants' state and the current 15-second bucket.

        The grants' state (live count, newest id) is in the version so that a tile drawn
        through a grant is never served from the cache after the grant is revoked or expires.
        """
        async with ctx.sessions() as session:
            count = await session.scalar(select(func.count()).select_from(Device))
            grants = await grants_state(session, DEVICE_KIND)
        return f"{count or 0}:{grants}:{int(time.time() // STALE_SECONDS)}"

    async def features(
        self, ctx: LayerContext, bbox: BBox | None, principal: Principal, version: str
    ) -> FeatureBatch:
        """The caller's devices in the box, with their state."""
        stmt = select(Device)
        if bbox is not None:
            west, south, east, north = bbox.wgs84
            stmt = stmt.where(Device.lon.between(west, east), Device.lat.between(south, north))
        # A unit of work: reads through a sharing grant are logged and the log must commit.
        async with unit_of_work(ctx.sessions) as session:
            access = await DeviceAccess.load(session, principal)
            stmt = access.apply(cast("Select[Any]", stmt))
            devices = (await session.scalars(stmt.order_by(Device.id).limit(MAX_DEVICES))).all()
            if not devices:
                return FeatureBatch.empty()
            for device in devices:
                access.log(session, device, "map.read")
            profiles = {
                p.code: {k: KeySpec.of(v) for k, v in p.telemetry.items()}
                for p in (await session.scalars(select(DeviceProfile))).all()
            }
            latest: dict[str, dict[str, float | None]] = defaultdict(dict)
            ids = [d.id for d in devices]
            for start in range(0, len(ids), 1000):
                rows = await session.execute(
                    select(
                        TelemetryLatest.device_id, TelemetryLatest.key, TelemetryLatest.value_num
                    ).where(TelemetryLatest.device_id.in_(ids[start : start + 1000]))
                )
                for device_id, key, value in rows:
                    latest[device_id][key] = value
        props: list[dict[str, str | bool | int | float | None]] = []
        for d in devices:
            state = device_status(d.online, profiles.get(d.profile_code, {}), latest[d.id])
            props.append(
                {
                    "code": d.id,
                    "name": d.name,
                    "profile": d.profile_code,
                    "status": state,
                    "status_label": STATUS_LABELS[state],
                    "owner_code": d.owner_code,
                    "synthetic": d.synthetic,
                }
            )
        return FeatureBatch.from_wgs84(
            points([d.lon for d in devices], [d.lat for d in devices]), props
        )

    def style_layers(self, source: str, principal: Principal) -> list[StyleLayer]:
        """Green online, grey offline, red (larger) in alert."""
        colour = ["match", ["get", "status"], *[x for kv in COLORS.items() for x in kv], "#38bdf8"]
        return [
            {
                "id": f"{source}-circle",
                "type": "circle",
                "source": source,
                "source-layer": self.name,
                "paint": {
                    "circle-radius": ["case", ["==", ["get", "status"], "alert"], 7, 5],
                    "circle-color": colour,
                    "circle-stroke-color": "#0b1220",
                    "circle-stroke-width": 1.5,
                },
            }
        ]


#: The layer the hub's manifest gives the map's registry.
DEVICES_LAYER = DevicesLayer()
