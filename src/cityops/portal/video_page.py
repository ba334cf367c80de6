"""/video: the video devices and channels in the reader's scope (视频设备, R4)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from starlette.responses import Response

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.kit.db import unit_of_work
from cityops.kit.web import sessionmaker_of
from cityops.portal.gate import gate, tree_of
from cityops.portal.render import Frame, error_page, frame, render
from cityops.video import device_with_channels, devices_in_scope

router = APIRouter(include_in_schema=False)
DEVICE_ID = re.compile(r"^[0-9]{20}$")


async def _reader(request: Request) -> tuple[Principal, Frame] | Response:
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    page = frame(request, await tree_of(request), principal)
    if not principal.can(Perm.VIDEO_READ):
        return error_page(page, 403, "您的角色不能查看视频设备。")
    return principal, page


@router.get("/video")
async def video_devices(request: Request) -> Response:
    """Registered devices and lower platforms, online or not."""
    reader = await _reader(request)
    if isinstance(reader, Response):
        return reader
    principal, page = reader
    async with unit_of_work(sessionmaker_of(request)) as session:
        devices = await devices_in_scope(session, principal.scope)
    online = sum(1 for d in devices if d.online)
    context = {"devices": devices, "online": online}
    return render("video/devices.html", page, context, headers={"Cache-Control": "no-store"})


@router.get("/video/{device_id}")
async def video_device(request: Request, device_id: str) -> Response:
    """One device's catalog: its channels with civil code, address and status."""
    reader = await _reader(request)
    if isinstance(reader, Response):
        return reader
    principal, page = reader
    if not DEVICE_ID.match(device_id):
        return error_page(page, 404, "设备编码应为 20 位数字。")
    async with unit_of_work(sessionmaker_of(request)) as session:
        found = await device_with_channels(session, principal.scope, device_id)
    if found is None:
        return error_page(page, 404, "没有这个设备，或它不在您的数据范围内。")
    device, channels = found
    context = {"device": device, "channels": channels}
    return render("video/device.html", page, context, headers={"Cache-Control": "no-store"})
