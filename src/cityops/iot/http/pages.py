"""Portal pages of the hub: /iot/devices (设备列表) and /iot/devices/{id} (设备详情, a chart).

Rendered on the server (the chart is an inline SVG), so the portal's strict CSP holds with no
script; the data come through the same access rule as the API (iot/access.py).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select

from cityops.auth.deps import optional_principal
from cityops.auth.roles import Perm
from cityops.iot.access import DeviceAccess
from cityops.iot.http.api import profile_keys, value_of
from cityops.iot.models import Device, DeviceProfile, Telemetry, TelemetryLatest
from cityops.iot.registry.service import ID_PATTERN
from cityops.iot.status import STATUS_LABELS
from cityops.kit.db import unit_of_work, utcnow

router = APIRouter(include_in_schema=False)
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
CHART_W, CHART_H, PAD = 720, 220, 32


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _env.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


async def _reader(request: Request) -> Any:
    principal = await optional_principal(request)
    if principal is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    if not principal.can(Perm.IOT_READ):
        return _page("iot_error.html", 403, message="您的角色无权查看物联感知设备。")
    return principal


def chart(points: list[tuple[Any, float]], lines: dict[str, float]) -> dict[str, Any]:
    """An SVG polyline of (time, value) points with the key's lines, scaled to the box."""
    if not points:
        return {"polyline": "", "lines": [], "min": None, "max": None}
    values = [v for _, v in points] + list(lines.values())
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    t0, t1 = points[0][0].timestamp(), points[-1][0].timestamp()
    width = (t1 - t0) or 1.0

    def y(v: float) -> float:
        return round(CHART_H - PAD - (v - low) / span * (CHART_H - 2 * PAD), 1)

    coords = " ".join(
        f"{round(PAD + (t.timestamp() - t0) / width * (CHART_W - 2 * PAD), 1)},{y(v)}"
        for t, v in points
    )
    marks = [
        {"name": n, "value": v, "y": y(v)} for n, v in sorted(lines.items(), key=lambda x: x[1])
    ]
    return {
        "polyline": coords,
        "lines": marks,
        "min": min(v for _, v in points),
        "max": max(v for _, v in points),
    }


@router.get("/iot/devices")
async def devices_page(
    request: Request,
    profile: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$")] = None,
    online: bool | None = None,
) -> Response:
    """设备列表: the caller's devices with state and last seen."""
    principal = await _reader(request)
    if isinstance(principal, Response):
        return principal
    # A unit of work: reads through a sharing grant are logged and the log must commit.
    async with unit_of_work(request.app.state.sessions) as session:
        access = await DeviceAccess.load(session, principal)
        stmt = access.apply(select(Device))
        if profile:
            stmt = stmt.where(Device.profile_code == profile)
        if online is not None:
            stmt = stmt.where(Device.online.is_(online))
        devices = (
            await session.scalars(stmt.order_by(Device.owner_code, Device.id).limit(500))
        ).all()
        for device in devices:
            access.log(session, device, "device.list")
        profiles = {p.code: p.name for p in (await session.scalars(select(DeviceProfile))).all()}
    return _page(
        "iot_devices.html",
        devices=devices,
        profiles=profiles,
        chosen=profile or "",
        labels=STATUS_LABELS,
        user=principal.display_name or principal.username,
    )


@router.get("/iot/devices/{device_id}")
async def device_page(
    request: Request,
    device_id: str,
    key: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_]{1,64}$")] = None,
) -> Response:
    """设备详情: latest values and a 24-hour chart of one key against its lines."""
    import re

    principal = await _reader(request)
    if isinstance(principal, Response):
        return principal
    if not re.match(ID_PATTERN, device_id):
        return _page("iot_error.html", 404, message="没有这台设备。")
    async with unit_of_work(request.app.state.sessions) as session:
        access = await DeviceAccess.load(session, principal)
        stmt = access.apply(select(Device).where(Device.id == device_id))
        device = await session.scalar(stmt)
        if device is None:
            return _page("iot_error.html", 404, message="没有这台设备，或它不在您的数据范围内。")
        keys = await profile_keys(session, device.profile_code)
        profile = await session.get(DeviceProfile, device.profile_code)
        latest = [
            r
            for r in (
                await session.scalars(
                    select(TelemetryLatest).where(TelemetryLatest.device_id == device.id)
                )
            ).all()
            if access.may_read(device, r.key, r.ts)
        ]
        # Of a granted device, only the granted keys are charted.
        numeric = [k for k, s in keys.items() if s.type == "number" and access.may_read(device, k)]
        chosen = key if key in numeric else (numeric[0] if numeric else None)
        points: list[tuple[Any, float]] = []
        if chosen is not None:
            rows = await session.execute(
                select(Telemetry.ts, Telemetry.value_num)
                .where(Telemetry.device_id == device.id, Telemetry.key == chosen)
                .where(Telemetry.ts >= utcnow() - timedelta(hours=24))
                .where(access.window(device, chosen))
                .order_by(Telemetry.ts.desc())
                .limit(2000)
            )
            points = [(ts, v) for ts, v in reversed(rows.all()) if v is not None]
        access.log(session, device, "device.page", len(latest) + len(points))
    values = [
        {
            "key": r.key,
            "label": keys[r.key].label if r.key in keys else r.key,
            "value": value_of(keys.get(r.key), r.value_num, r.value_text),
            "unit": keys[r.key].unit if r.key in keys else "",
            "ts": r.ts,
        }
        for r in latest
    ]
    spec = keys.get(chosen) if chosen else None
    return _page(
        "iot_device.html",
        device=device,
        profile_name=profile.name if profile else device.profile_code,
        values=values,
        numeric=[(k, keys[k].label) for k in numeric],
        chosen=chosen,
        unit=spec.unit if spec else "",
        chart=chart(points, dict(spec.thresholds) if spec else {}),
        size={"w": CHART_W, "h": CHART_H, "pad": PAD},
        user=principal.display_name or principal.username,
    )
