"""The manifest of the video hub (视频中台, R4): GB/T 28181 registry, SIP server, simulator."""

from cityops.kit.module import Module, NavEntry

module = Module(
    name="video",
    title="视频中台",
    requires=("org", "auth", "bus"),
    routers=("cityops.video.registry.api:video_router",),
    tables=("cityops.video.registry.models",),
    migrations="cityops.video.migrations",
    start="cityops.video.runtime:start_video",
    stop="cityops.video.runtime:stop_video",
    permissions=("video.read", "video.manage"),
    nav=(
        NavEntry("视频设备", "/video", order=45, permission="video.read", active_prefix="/video"),
    ),
)
