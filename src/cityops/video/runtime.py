"""Run the SIP server inside the app (start/stop hooks) when CITYOPS_SIP_ENABLED is set."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from cityops.config import Settings
from cityops.video.gb28181.config import PlatformConfig
from cityops.video.gb28181.upper import UpperPlatform
from cityops.video.registry.store import SqlDeviceStore, owner_resolver

log = logging.getLogger(__name__)
SYNTHETIC_AGENT = "cityops-simulator"


def platform_config(settings: Settings) -> PlatformConfig:
    """The platform role's settings from the app's."""
    return PlatformConfig(
        platform_id=settings.sip_platform_id,
        domain=settings.sip_domain,
        password=settings.sip_password.get_secret_value(),
        host=settings.sip_host,
        port=settings.sip_port,
        advertised_host=settings.sip_advertised_host,
        keepalive_interval=settings.sip_keepalive_seconds,
        register_limit=settings.sip_register_limit,
        register_window=settings.sip_register_window,
    )


async def start_video(app: FastAPI) -> None:
    """Bind the SIP server and start the keepalive sweep; a bind failure is logged, not fatal."""
    state = app.state
    settings: Settings = state.settings
    state.video_platform = None
    if not settings.sip_enabled:
        return
    store = SqlDeviceStore(
        state.sessions,
        state.bus,
        owner_resolver(settings.sip_owners, settings.district_code),
        alarm_category=settings.video_alarm_category,
        synthetic=lambda agent: agent.startswith(SYNTHETIC_AGENT),
    )
    platform = UpperPlatform(platform_config(settings), store)
    try:
        await platform.start()
    except OSError as exc:
        log.error("video: cannot bind SIP on %s:%s: %s", settings.sip_host, settings.sip_port, exc)
        return
    state.video_platform = platform
    state.video_sweeper = asyncio.create_task(
        platform.run_sweeps(settings.sip_keepalive_seconds / 4)
    )
    log.info("video: GB/T 28181 SIP server on %s:%s (UDP, TCP)", settings.sip_host, platform.port)


async def stop_video(app: FastAPI) -> None:
    """Stop the sweep and the SIP server."""
    platform: UpperPlatform | None = getattr(app.state, "video_platform", None)
    sweeper: asyncio.Task[None] | None = getattr(app.state, "video_sweeper", None)
    if sweeper is not None:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
    if platform is not None:
        await platform.stop()
